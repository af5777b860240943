"""The data pipguard reasons about, in one place: frozen values, no I/O.

Distributions (what the probe read), roots (what the user asked for),
transactions (what each run did), standing constraints, the ledger's
current state, and a plan (what an engine would install). Storage (JSON,
the journal) is ``pipguard.ledger``'s business; the rules that combine these
values live in ``constraints``, ``decide`` and ``transactions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from pipguard.core.names import NormalizedName

Policy = Literal["strict", "compatible", "replan"]
POLICIES: tuple[Policy, ...] = ("strict", "compatible", "replan")

EngineName = Literal["pip", "uv", "auto"]
ENGINES: tuple[EngineName, ...] = ("pip", "uv", "auto")

# How distributions seen only from outside the environment (a
# --system-site-packages venv's base interpreter, the user site, PYTHONPATH)
# are treated: "ignore" (the default) reports them and never lets them block;
# "protect" guards their requirements like the environment's own.
OutsidePolicy = Literal["ignore", "protect"]
OUTSIDE_POLICIES: tuple[OutsidePolicy, ...] = ("ignore", "protect")

Status = Literal["pending", "committed", "failed", "rejected", "unguarded", "interrupted", "drift"]
STATUSES: tuple[Status, ...] = ("pending", "committed", "failed", "rejected", "unguarded", "interrupted", "drift")

RootKind = Literal["requested", "baseline"]
ROOT_KINDS: tuple[RootKind, ...] = ("requested", "baseline")

# Tools pip itself manages; never a user's project, never removed by autoremove.
TOOLING = frozenset({"pip", "setuptools", "wheel", "distribute"})

MarkerEnvironment = Mapping[str, str]

# The default of a mapping field: one shared empty mapping, which nothing can change. The
# records are NamedTuples, not dataclasses: a command starts in a fraction of the time
# (a frozen dataclass costs about 1 ms to define, and ``dataclasses`` 11 ms to import).
EMPTY: Mapping[Any, Any] = MappingProxyType({})
# The source of what was given on the command line (a pip setting, a standing constraint), where
# a file's path or an environment variable's name is the source of the rest.
COMMAND_LINE = "command line"


class Distribution(NamedTuple):
    """One installed distribution, as the probe read it."""

    name: NormalizedName
    version: str
    requires: tuple[str, ...] = ()
    display_name: str = ""
    editable: str | None = None
    url: str | None = None
    # Seen only from outside the environment's own site-packages.
    outside: bool = False

    @property
    def label(self) -> str:
        return f"{self.display_name or self.name} {self.version}"


class Root(NamedTuple):
    """A project the user asked for, and how."""

    name: NormalizedName
    display_name: str
    specifier: str = ""
    extras: tuple[str, ...] = ()
    editable: str | None = None
    url: str | None = None
    added_by: int = 0
    added_at: str = ""
    kind: RootKind = "requested"  # "baseline": there before pipguard

    @property
    def requirement(self) -> str:
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        return f"{self.display_name}{extras}{self.specifier}"


class Change(NamedTuple):
    """One distribution's version before and after a transaction (None: absent)."""

    name: NormalizedName
    before: str | None
    after: str | None

    def describe(self) -> str:
        return f"{self.name}: {_version_text(self.before, '(none)')} -> {_version_text(self.after, '(removed)')}"


def _version_text(version: str | None, absent: str) -> str:
    # "": installed, but its metadata gives no version (a broken METADATA header)
    return absent if version is None else (version or "(no version)")


class RootChange(NamedTuple):
    """One root as it was before and after a transaction (None: not a root)."""

    name: NormalizedName
    before: Root | None
    after: Root | None


class StandingConstraint(NamedTuple):
    """One constraint line applied to every install (e.g. from upper-constraints).

    *source* is ``"command line"`` or the absolute path of the file it was read
    from; lines of a file are read from that file again on every run.
    """

    requirement: str
    source: str
    added_by: int = 0


class StandingFile(NamedTuple):
    """A constraints file the ledger applies to every install, read afresh each run."""

    path: str  # absolute
    added_by: int = 0


class Transaction(NamedTuple):
    """One run that changed (or tried to change) the environment."""

    id: int
    command: str
    argv: tuple[str, ...] = ()
    status: Status = "pending"
    started: str = ""
    finished: str | None = None
    pip_version: str | None = None
    policy: str = "compatible"  # a Policy, or "none" for an unguarded run
    changes: tuple[Change, ...] = ()
    constraints: tuple[str, ...] = ()
    reason: str = ""
    engine: str = "pip"
    # How the roots changed, so that rollback can restore them.
    roots: tuple[RootChange, ...] = ()
    # The standing constraints after this transaction, when it changed them.
    standing: tuple[StandingConstraint, ...] | None = None
    standing_files: tuple[StandingFile, ...] | None = None


class LedgerState(NamedTuple):
    """The ledger's current state: small, and independent of the history's length.

    The history itself (every ``Transaction``) is in the journal.
    """

    environment: Mapping[str, str] = EMPTY  # prefix, python, python_version
    policy: Policy = "compatible"
    engine: EngineName = "pip"
    outside: OutsidePolicy = "ignore"
    roots: Mapping[NormalizedName, Root] = EMPTY
    standing: tuple[StandingConstraint, ...] = ()  # given on the command line
    standing_files: tuple[StandingFile, ...] = ()
    distributions: Mapping[NormalizedName, str] = EMPTY  # own, as last recorded
    shim: Mapping[str, Any] = EMPTY
    last_id: int = 0  # the newest transaction in the journal
    pending: Transaction | None = None  # begun, not yet finished
    said: tuple[str, ...] = ()  # one-time notes already given (keys)

    @property
    def next_id(self) -> int:
        return self.last_id + 1


class PlannedInstall(NamedTuple):
    """One item of an engine's plan (pip's installation report)."""

    name: NormalizedName
    display_name: str
    version: str
    requires: tuple[str, ...] = ()
    requested: bool = False
    requested_extras: tuple[str, ...] = ()
    editable: str | None = None
    url: str | None = None
    # The file the engine would install from (a wheel or an sdist), when known.
    archive: str | None = None

    def as_distribution(self) -> Distribution:
        return Distribution(self.name, self.version, self.requires, self.display_name, self.editable, self.url)

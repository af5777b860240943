"""The engine port: what the decision core asks of a resolver-installer.

An engine (pip, or uv's pip interface) does two things for the core: resolve
a request without changing anything (a dry run: the plan, or why there is
none), and install one, stopping before it changes anything if the core
does not approve of the plan it found. The core never runs a process, never
reads a report, never writes a file: engines do, behind this port.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal, NamedTuple, Protocol

from packaging.specifiers import SpecifierSet

from pipguard.core.model import EMPTY, PlannedInstall
from pipguard.core.names import NormalizedName
from pipguard.pip.request import InstallRequest, PipRequest

# Why an engine run found no plan or did not finish:
# impossible  -- no versions fit together (pip's ResolutionImpossible)
# no-match    -- no version of something matches at all ("No matching distribution")
# build       -- building or preparing a source distribution failed
# not-found   -- a file or page the engine needed was missing (HTTP 404, no such file)
# killed      -- the engine was stopped by a signal
# stopped     -- pipguard stopped it before it changed anything (the core did not approve)
# other       -- anything else (usage errors, network, permissions...)
FailureKind = Literal["impossible", "no-match", "build", "not-found", "killed", "stopped", "other"]

Constraints = Mapping[NormalizedName, SpecifierSet]

# How long a run started ahead (``start``) and then not needed has to end on SIGINT (it cleans
# up its temporary files) before it is killed.
AHEAD_GRACE = 5.0


class Failure(NamedTuple):
    """Why an engine run ended without the plan it was asked for."""

    kind: FailureKind
    returncode: int
    summary: str = ""  # the engine's own one-line account ("ERROR: ..."), when it gave one
    candidate: str = ""  # for "build": the distribution it could not build ("PyYAML 5.4.1")
    conflict: str = ""  # for "impossible": pip's "The conflict is caused by:" block
    signal: int | None = None  # for "killed": the signal pipguard received and passed on

    @property
    def from_older_candidate(self) -> bool:
        """A failure that looking for other versions can cause (and plain pip may avoid)."""
        return self.kind in ("build", "not-found", "no-match")


class Resolution(NamedTuple):
    """The answer of one engine run: a plan, or a failure, and what the engine printed."""

    plan: tuple[PlannedInstall, ...] = ()
    failure: Failure | None = None
    output: str = ""  # everything the engine printed (kept for -v and the log)
    report: str | None = None  # the plan as pip's --report JSON, when the engine wrote one
    backtracked: bool = False  # the engine looked at several versions of something
    held: str = ""  # what the engine printed that was not shown yet (warnings, errors)
    # distributions the engine looked at while resolving, as (name, version)
    considered: tuple[tuple[NormalizedName, str], ...] = ()
    # what the engine printed on stdout before its plan was approved, and never showed (a run
    # that ended before its gate: shown with its failure, as the engine would have shown it)
    unshown: str = ""

    @property
    def ok(self) -> bool:
        return self.failure is None

    def stopped(self, reason: str) -> Resolution:
        """This plan, found by a run that changed nothing, refused by the core: an install
        that ends here (the engines that resolve first and install second)."""
        return self._replace(failure=Failure("stopped", 0, reason))


class Invocation(NamedTuple):
    """One engine run: the user's request, and what pipguard adds to it."""

    request: InstallRequest
    # pipguard's constraints (earlier projects' needs, standing constraints), one
    # specifier per name; an exact plan is a mapping of ``==version`` pins.
    constraints: Constraints = EMPTY
    # constraints for isolated build environments (where the engine supports them)
    build_constraints: Constraints = EMPTY
    # more requirements resolved together with the request (the replan policy's roots)
    also: tuple[str, ...] = ()
    # how the engine should show its output while it runs (what it prints while resolving
    # is held until the plan is approved: a refusal comes before any of it)
    show_output: bool = True
    # whether what it printed while resolving is shown once the plan is approved (plain pip's
    # run: yes, exactly as pip shows it; a re-plan: no, pipguard's verdict says what was chosen)
    show_resolution: bool = True
    # whether the plan given for approval must say each item's requirements: the install's own
    # core judges without them (an engine's plan meets them by construction); an engine that
    # must ask for them separately (uv) then does so only for a plan that is refused
    needs_requirements: bool = True
    # the names whose planned version the judgement reads (a need with a specifier names each);
    # None: every name. An engine that could learn a direct reference's version only by building
    # it (uv, for a local project with dynamic metadata) then leaves the version out of the plan
    # it gives for approval, where the name is not among these, and takes it from the install.
    versions_read: frozenset[NormalizedName] | None = None


class Approval(NamedTuple):
    """The core's answer to a plan found by ``install``: go on, or stop before any change."""

    proceed: bool
    reason: str = ""
    # A refused plan: is it still read in full (every planned distribution's requirements) by
    # what the core says next? False where the refusal's words are already written (the core's
    # rejection of the plan found inside the protections): an engine that described the plan
    # only in part (uv's) then does not ask for the rest.
    described_again: bool = True


Approver = Callable[[Resolution], Approval]


def approve_all(_: Resolution) -> Approval:
    return Approval(True)


class Engine(Protocol):
    """What the decision core needs from pip or uv."""

    name: str

    def resolve(self, invocation: Invocation) -> Resolution:
        """A dry run: the plan, changing nothing."""
        ...

    def install(self, invocation: Invocation, approve: Approver) -> Resolution:
        """Resolve, ask *approve* about the plan, then install it (or stop, changing nothing)."""
        ...

    def supports_build_constraints(self) -> bool:
        """Can constraints reach isolated build environments?"""
        ...


class UsableEngine(Engine, Protocol):
    """What the command edge asks of a real engine besides the core's needs."""

    def ready(self) -> None:
        """Make sure the engine can run here (found, its version readable and supported), or raise
        ``EnvironmentUnusable``: called before anything is recorded, never on the fast path."""
        ...

    def start(self, invocation: Invocation) -> None:
        """Start the first run of installing *invocation* before the core asks for it (it changes
        nothing before the core approves); ``install`` takes it over when the core asks for the
        same run."""
        ...

    def cancel(self) -> None:
        """End a run started ahead that the core did not take over (nothing was changed)."""
        ...

    def release_dates(self, request: PipRequest, names: Sequence[str]) -> dict[str, dict[str, str]]:
        """name -> version -> release day, where the index the request would use says (best effort:
        empty when unknown). For the words of a re-plan only; never for resolving."""
        ...

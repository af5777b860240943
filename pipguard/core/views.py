"""What the ledger knows, computed for a reader (pure).

``pipguard ledger``, ``why``, ``history`` and ``export`` each turn a ledger
and the probed environment into a frozen result object here; rendering
(text or JSON) is ``render.py``'s business, reading files and holding the
lock the command's.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from pipguard.core.constraints import (
    Distribution,
    MarkerEnvironment,
    Need,
    all_needs,
    dependency_needs,
    export_markers_of,
    extras_in_use,
    merge_specifiers,
    root_specs,
    version_satisfies,
)
from pipguard.core.model import TOOLING, Change, LedgerState, Root, StandingConstraint, Transaction
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.core.redaction import redact
from pipguard.core.transactions import changes_between

if TYPE_CHECKING:
    from packaging.markers import Marker

_PROJECT_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


def is_project_name(text: str) -> bool:
    """A valid distribution name (PEP 508), without specifier or extras."""
    return bool(_PROJECT_NAME.match(text))


# -- ledger --------------------------------------------------------------------


class RootRow(NamedTuple):
    """One root of the ledger, with what is installed for it now."""

    root: Root
    installed: str | None  # None: not installed
    recorded: str | None  # the version the ledger last recorded

    @property
    def satisfied(self) -> bool:
        if self.installed is None:
            return False
        return version_satisfies(self.installed, SpecifierSet(self.root.specifier))

    @property
    def drifted(self) -> bool:
        """Installed differs from what the ledger last recorded."""
        return self.installed != self.recorded

    @property
    def source(self) -> str:
        if self.root.editable:
            return f"editable {self.root.editable}"
        if self.root.url:
            return self.root.url
        return ""


class LedgerView(NamedTuple):
    ledger_path: str
    has_ledger: bool
    policy: str
    rows: tuple[RootRow, ...]
    standing: tuple[StandingConstraint, ...]


def ledger_view(
    ledger: LedgerState,
    installed: Mapping[NormalizedName, str],
    ledger_path: str,
    has_ledger: bool,
    standing: Sequence[StandingConstraint] = (),
) -> LedgerView:
    """The roots, sorted by name, and the standing constraints in force (*standing*);
    none when there is no ledger yet."""
    if not has_ledger:
        return LedgerView(ledger_path, False, ledger.policy, (), ())
    rows = tuple(
        RootRow(root, installed.get(name), ledger.distributions.get(name))
        for name, root in sorted(ledger.roots.items())
    )
    return LedgerView(ledger_path, True, ledger.policy, rows, tuple(standing))


# -- why -------------------------------------------------------------------------


class Requirer(NamedTuple):
    """Someone who needs the name asked about: a root, a distribution or a standing constraint."""

    need: Need
    version: str | None  # the requiring distribution's installed version (dependencies only)
    satisfied: bool


class Link(NamedTuple):
    """*display* (installed) needs *requires* at *specifier*."""

    name: NormalizedName
    display: str
    requires: NormalizedName
    specifier: str

    def describe(self) -> str:
        return f"{self.display} needs {self.requires}{self.specifier}"


class Chain(NamedTuple):
    """How a root reaches the name: the root itself, then one link per hop."""

    root: NormalizedName
    root_requirement: str
    links: tuple[Link, ...]

    def describe(self) -> str:
        head = f"{self.root_requirement} (root)"
        if not self.links:
            return head
        return " -> ".join([head, *(link.describe() for link in self.links)])


class WhyResult(NamedTuple):
    name: NormalizedName
    display_name: str
    installed: str | None
    root: Root | None
    requirers: tuple[Requirer, ...]
    merged_specifier: str
    chains: tuple[Chain, ...]

    @property
    def needed(self) -> bool:
        return bool(self.requirers)

    @property
    def known(self) -> bool:
        """Installed, a root, or needed by something: anything to say about it."""
        return self.installed is not None or self.root is not None or self.needed

    @property
    def satisfied(self) -> bool:
        return all(r.satisfied for r in self.requirers)


def _graph(
    dists: Mapping[NormalizedName, Distribution],
    roots: Mapping[NormalizedName, Root],
    markers: MarkerEnvironment,
) -> dict[NormalizedName, list[Need]]:
    """Installed distribution -> what it needs (markers evaluated, extras in use expanded)."""
    extras = extras_in_use(dists, root_specs(roots), markers)
    graph: dict[NormalizedName, list[Need]] = {}
    for need in dependency_needs(dists, markers, extras):
        graph.setdefault(canonicalize_name(need.source), []).append(need)
    return graph


def _chain(
    root: Root,
    target: NormalizedName,
    graph: Mapping[NormalizedName, Sequence[Need]],
    dists: Mapping[NormalizedName, Distribution],
) -> Chain | None:
    """The shortest path from *root* to *target* through installed distributions."""
    if root.name == target:
        return Chain(root.name, root.requirement, ())
    if root.name not in dists:
        return None
    parents: dict[NormalizedName, tuple[NormalizedName, Need] | None] = {root.name: None}
    queue = deque([root.name])
    while queue:
        current = queue.popleft()
        for need in graph.get(current, ()):
            if need.name in parents:
                continue
            parents[need.name] = (current, need)
            if need.name == target:
                return Chain(root.name, root.requirement, tuple(_walk_back(target, parents, dists)))
            if need.name in dists:
                queue.append(need.name)
    return None


def _walk_back(
    target: NormalizedName,
    parents: Mapping[NormalizedName, tuple[NormalizedName, Need] | None],
    dists: Mapping[NormalizedName, Distribution],
) -> list[Link]:
    links = []
    node = target
    step = parents[node]
    while step is not None:
        parent, need = step
        links.append(Link(parent, dists[parent].label, need.name, need.specifier))
        node = parent
        step = parents[node]
    return list(reversed(links))


def why(
    name: str,
    dists: Mapping[NormalizedName, Distribution],
    roots: Mapping[NormalizedName, Root],
    standing: Sequence[StandingConstraint],
    markers: MarkerEnvironment,
) -> WhyResult:
    """Everything that needs *name* (roots, installed distributions, the standing
    constraints in force), how each root reaches it, and whether it holds."""
    key = canonicalize_name(name)
    installed = dists.get(key)
    version = installed.version if installed else None
    needs = [n for n in all_needs(dists, roots, standing, markers) if n.name == key]
    order = {"root": 0, "dependency": 1, "standing": 2}
    requirers = tuple(
        Requirer(
            need,
            dists[canonicalize_name(need.source)].version if need.kind == "dependency" else None,
            # a standing constraint only limits a version; it does not ask for one
            version_satisfies(version, need.specifier_set)
            if version is not None
            else need.kind == "standing",
        )
        for need in sorted(needs, key=lambda n: (order.get(n.kind, 3), n.source, n.specifier))
    )
    merged = merge_specifiers(needs).get(key)
    graph = _graph(dists, roots, markers)
    chains = []
    for _, each in sorted(roots.items()):
        chain = _chain(each, key, graph, dists)
        if chain is not None:
            chains.append(chain)
    display = installed.display_name if installed and installed.display_name else name
    root = roots.get(key)
    if root is not None:
        display = root.display_name
    return WhyResult(key, display, version, root, requirers, str(merged or ""), tuple(chains))


# -- history ---------------------------------------------------------------------


class Compacted(NamedTuple):
    """Transactions ``first``..``last`` were replaced by a summary on ``at``."""

    first: int
    last: int
    at: str


class HistoryView(NamedTuple):
    ledger_path: str
    has_ledger: bool
    # The ones shown, oldest first; streamed (read once) when every transaction is shown.
    transactions: Iterable[Transaction]
    total: int  # transactions in the journal (ids first_id..last_id)
    detail: bool  # one transaction asked for by id: show everything
    unrecorded: tuple[Change, ...]  # changed since the last recorded state, not yet in the ledger
    last_id: int = 0  # the ledger's newest transaction (0: none)
    first_id: int = 0  # the journal's oldest transaction (0: none)
    compacted: Compacted | None = None


def history_view(
    transactions: Iterable[Transaction],
    ledger: LedgerState,
    installed: Mapping[NormalizedName, str],
    ledger_path: str,
    has_ledger: bool,
    *,
    detail: bool = False,
    first_id: int = 0,
    compacted: Compacted | None = None,
) -> HistoryView:
    """The transactions read from the journal (all, one in *detail*, or the last few),
    with what changed since the ledger's last record."""
    if not has_ledger:
        return HistoryView(ledger_path, False, (), 0, detail, ())
    last_id = ledger.last_id
    total = last_id - first_id + 1 if first_id else 0
    unrecorded = changes_between(ledger.distributions, installed)
    return HistoryView(ledger_path, True, transactions, total, detail, unrecorded, last_id, first_id, compacted)


def transaction_range(first_id: int, last_id: int) -> str:
    """'1-7' (or '7', or 'none') for messages."""
    if not first_id or not last_id:
        return "none"
    return f"{first_id}-{last_id}" if last_id > first_id else str(last_id)


# -- export ------------------------------------------------------------------------


class Pin(NamedTuple):
    """One line of the known-good constraints file."""

    name: NormalizedName
    version: str
    marker: str | None = None
    note: str = ""

    @property
    def line(self) -> str:
        text = f"{self.name}=={self.version}"
        if self.marker:
            text += f"; {self.marker}"
        if self.note:
            text += f"  # {self.note}"
        return text


def _atom_text(atom: tuple[Any, Any, Any]) -> str | None:
    """One comparison, or None when it tests ``extra`` (true wherever the pin is needed)."""
    lhs, op, rhs = atom
    if getattr(lhs, "value", None) == "extra" or getattr(rhs, "value", None) == "extra":
        return None
    return f"{lhs.serialize()} {op.serialize()} {rhs.serialize()}"


def _simplify(tree: Sequence[Any]) -> str | None:
    """Marker text with ``extra`` comparisons taken as true; None: always true."""
    groups: list[list[Any]] = [[]]
    for item in tree:
        if item == "or":
            groups.append([])
        elif item != "and":
            groups[-1].append(item)
    rendered = []
    for group in groups:
        parts = []
        for atom in group:
            text = _simplify(atom) if isinstance(atom, list) else _atom_text(atom)
            if text is not None:
                parts.append(f"({text})" if isinstance(atom, list) else text)
        if not parts:
            return None  # this alternative always holds, so the whole marker does
        rendered.append(" and ".join(parts))
    return " or ".join(rendered)


def marker_without_extras(marker: Marker | None) -> str | None:
    """*marker* for a constraints file: ``extra`` clauses dropped (pip refuses them there).

    A clause ``extra == "x"`` is taken as true: the pin is written because
    the extra is in use. Returns None when nothing is left (always applies).
    """
    if marker is None:
        return None
    tree = getattr(marker, "_markers", None)
    if not isinstance(tree, list):
        return None  # a packaging we cannot read: leave the line unconditional
    from packaging.markers import Marker  # only here: it loads packaging.tags (see core/names.py)

    try:
        text = _simplify(tree)
        return str(Marker(text)) if text else None
    except (AttributeError, TypeError, ValueError):
        return None


def _markers_needed(
    dists: Mapping[NormalizedName, Distribution],
    roots: Mapping[NormalizedName, Root],
    markers: MarkerEnvironment,
) -> dict[NormalizedName, str | None]:
    """For each name some requirement needs: the marker it is needed under (None: always)."""
    extras = extras_in_use(dists, root_specs(roots), markers)
    found: dict[NormalizedName, set[str] | None] = {name: None for name in roots}
    for dist in dists.values():
        # each requirement's marker, simplified once per state (kept with the needs between runs)
        for name, marker in export_markers_of(dist, markers, extras.get(dist.name, ()),
                                              lambda req: marker_without_extras(req.marker)):
            if marker is None:
                found[name] = None
            elif name not in found:
                found[name] = {marker}
            else:
                current = found[name]
                if current is not None:
                    current.add(marker)
    result: dict[NormalizedName, str | None] = {}
    for name, conditions in found.items():
        if not conditions:
            result[name] = None
        elif len(conditions) == 1:
            result[name] = next(iter(conditions))
        else:
            result[name] = " or ".join(f"({c})" for c in sorted(conditions))
    return result


def export_pins(
    dists: Mapping[NormalizedName, Distribution],
    roots: Mapping[NormalizedName, Root],
    markers: MarkerEnvironment,
    include_tooling: bool = False,
) -> list[Pin]:
    """The known-good set: every installed distribution at its version.

    A distribution needed only through requirements with markers carries
    those markers (so a pin for a platform- or version-specific dependency
    only applies where it is needed); everything else applies everywhere.
    Like ``pip freeze``, pip, setuptools, wheel and distribute are left out
    unless *include_tooling*.
    """
    needed = _markers_needed(dists, roots, markers)
    pins = []
    for name, dist in sorted(dists.items()):
        if (name in TOOLING and not include_tooling) or unexportable(dist):
            continue
        note = ""
        if dist.editable:
            note = f"editable, from {redact(dist.editable)}"
        elif dist.url:
            note = f"from {redact(dist.url)}"
        pins.append(Pin(name, dist.version, needed.get(name), note))
    return pins


def unexportable(dist: Distribution) -> str:
    """Why *dist* cannot be a line of a constraints file ("" when it can): its metadata gives a
    name or version that is not valid (pip would not read the line, and it may hold anything)."""
    if not is_project_name(dist.display_name or dist.name):
        return "its name is not a valid distribution name"
    if not dist.version:
        return "its metadata gives no version"
    if not _valid_version(dist.version):
        return "its version is not a valid (PEP 440) version"
    return ""


def _valid_version(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    # Version() allows surrounding whitespace, which a constraints line would carry along.
    return text == text.strip()


def not_exported(
    dists: Mapping[NormalizedName, Distribution], include_tooling: bool = False
) -> list[tuple[Distribution, str]]:
    """The distributions ``export_pins`` leaves out as unreadable, each with the reason."""
    return [(dist, reason) for name, dist in sorted(dists.items())
            if (include_tooling or name not in TOOLING) and (reason := unexportable(dist))]


def close_matches(name: str, candidates: Iterable[str]) -> list[str]:
    import difflib

    return difflib.get_close_matches(canonicalize_name(name), sorted(set(candidates)), n=3, cutoff=0.6)

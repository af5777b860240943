"""Requirement algebra: who needs what, merged, evaluated and rendered.

Pure: data in, data out. Names are canonical inside; the user's spelling
only reaches messages through ``display_name``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

MarkerEnvironment = Mapping[str, str]


@dataclass(frozen=True)
class Distribution:
    """One installed distribution, as the probe read it."""

    name: NormalizedName
    version: str
    requires: tuple[str, ...] = ()
    display_name: str = ""
    editable: str | None = None
    url: str | None = None

    @property
    def label(self) -> str:
        return f"{self.display_name or self.name} {self.version}"


@dataclass(frozen=True, order=True)
class Need:
    """*required_by* needs *name* at *specifier* (the smallest unit of a check)."""

    name: NormalizedName
    specifier: str
    required_by: str
    kind: str = "dependency"  # "dependency", "root" or "standing"
    source: str = ""  # canonical name of the distribution or root that needs it
    extras: tuple[str, ...] = ()

    @property
    def specifier_set(self) -> SpecifierSet:
        return SpecifierSet(self.specifier)

    def describe(self) -> str:
        return f"{self.name}{self.specifier}" if self.specifier else self.name


@dataclass(frozen=True, order=True)
class Violation:
    need: Need
    installed: str | None  # None: not installed at all

    def describe(self) -> str:
        have = f"{self.need.name} {self.installed} is installed" if self.installed else (
            f"{self.need.name} is not installed"
        )
        return f"{self.need.required_by} needs {self.need.describe()}, but {have}"


@dataclass(frozen=True)
class RootSpec:
    """What the algebra needs to know of a ledger root."""

    name: NormalizedName
    specifier: str = ""
    extras: tuple[str, ...] = ()
    label: str = ""


def parse_requirement(text: str) -> Requirement:
    """Parse a PEP 508 string; raises ``ValueError`` with a readable reason."""
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise ValueError(str(exc)) from None


def marker_applies(marker: Marker | None, environment: MarkerEnvironment, extras: Iterable[str] = ()) -> bool:
    if marker is None:
        return True
    return any(marker.evaluate({**environment, "extra": extra}) for extra in ("", *sorted(extras)))


def active_requirements(
    dist: Distribution, environment: MarkerEnvironment, extras: Iterable[str] = ()
) -> list[Requirement]:
    """The distribution's requirements that apply on the target with *extras* in use."""
    wanted = tuple(extras)
    active = []
    for text in dist.requires:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue  # pip ignores unparseable metadata lines too
        if marker_applies(req.marker, environment, wanted):
            active.append(req)
    return active


def extras_in_use(
    dists: Mapping[NormalizedName, Distribution],
    roots: Iterable[RootSpec],
    environment: MarkerEnvironment,
) -> dict[NormalizedName, frozenset[str]]:
    """Extras requested by roots or by installed requirements, to a fixed point."""
    in_use: dict[NormalizedName, set[str]] = {}
    for root in roots:
        if root.extras:
            in_use.setdefault(root.name, set()).update(canonicalize_name(e) for e in root.extras)
    changed = True
    while changed:
        changed = False
        for dist in dists.values():
            for req in active_requirements(dist, environment, in_use.get(dist.name, ())):
                if not req.extras:
                    continue
                target = in_use.setdefault(canonicalize_name(req.name), set())
                new = {canonicalize_name(e) for e in req.extras} - target
                if new:
                    target.update(new)
                    changed = True
    return {name: frozenset(extras) for name, extras in in_use.items()}


def dependency_needs(
    dists: Mapping[NormalizedName, Distribution],
    environment: MarkerEnvironment,
    extras: Mapping[NormalizedName, frozenset[str]],
) -> list[Need]:
    needs = []
    for dist in dists.values():
        for req in active_requirements(dist, environment, extras.get(dist.name, ())):
            needs.append(
                Need(
                    name=canonicalize_name(req.name),
                    specifier=str(req.specifier),
                    required_by=dist.label,
                    kind="dependency",
                    source=dist.name,
                    extras=tuple(sorted(req.extras)),
                )
            )
    return sorted(needs)


def root_needs(roots: Iterable[RootSpec]) -> list[Need]:
    return sorted(
        Need(
            name=root.name,
            specifier=root.specifier,
            required_by=root.label or f"root {root.name}",
            kind="root",
            source=root.name,
            extras=tuple(sorted(root.extras)),
        )
        for root in roots
    )


def standing_needs(
    requirements: Iterable[str], source: str, environment: MarkerEnvironment
) -> list[Need]:
    """Constraint lines remembered by the user (e.g. upper-constraints)."""
    needs = []
    for text in requirements:
        req = parse_requirement(text)
        if not marker_applies(req.marker, environment):
            continue
        needs.append(
            Need(
                name=canonicalize_name(req.name),
                specifier=str(req.specifier),
                required_by=f"constraint {source}",
                kind="standing",
                source=source,
            )
        )
    return sorted(needs)


def merge_specifiers(needs: Iterable[Need]) -> dict[NormalizedName, SpecifierSet]:
    """One specifier per name: the intersection of every need for it."""
    merged: dict[NormalizedName, SpecifierSet] = {}
    for need in needs:
        merged[need.name] = merged.get(need.name, SpecifierSet()) & need.specifier_set
    return dict(sorted(merged.items()))


def render_constraints(merged: Mapping[NormalizedName, SpecifierSet], header: str = "") -> str:
    """A pip constraints file: one line per name, no extras, no markers.

    Markers are already evaluated for the target, and pip refuses extras on
    constraint lines, so neither is written. Names with no specifier are
    left out: a bare name constrains nothing.
    """
    lines = [f"# {line}" for line in header.splitlines()]
    for name, spec in sorted(merged.items()):
        if str(spec):
            lines.append(f"{name}{spec}")
    return "\n".join(lines) + ("\n" if lines else "")


def parse_constraints(text: str) -> dict[NormalizedName, SpecifierSet]:
    """Read back a file written by ``render_constraints`` (or any simple one)."""
    needs = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        req = parse_requirement(line)
        needs.append(Need(canonicalize_name(req.name), str(req.specifier), "file"))
    return merge_specifiers(needs)


def version_satisfies(version: str, specifier: SpecifierSet) -> bool:
    if not str(specifier):
        return True
    try:
        parsed = Version(version)
    except InvalidVersion:
        return False
    return specifier.contains(parsed, prereleases=True)


def find_violations(versions: Mapping[NormalizedName, str], needs: Iterable[Need]) -> list[Violation]:
    """Every need the given installed versions do not meet, sorted."""
    found = []
    for need in needs:
        installed = versions.get(need.name)
        if installed is None:
            if need.kind != "standing":
                found.append(Violation(need, None))
        elif not version_satisfies(installed, need.specifier_set):
            found.append(Violation(need, installed))
    return sorted(found)

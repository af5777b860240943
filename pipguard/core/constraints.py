"""Requirement algebra: who needs what, merged, evaluated and rendered.

Pure: data in, data out. Names are canonical inside; the user's spelling
only reaches messages through ``display_name``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from pipguard.core.model import Distribution as Distribution
from pipguard.core.model import MarkerEnvironment as MarkerEnvironment
from pipguard.core.model import OutsidePolicy, PlannedInstall, Root, StandingConstraint
from pipguard.core.names import NormalizedName, canonicalize_name

if TYPE_CHECKING:
    # Parsing requirements is imported only where a command parses one: packaging.markers
    # loads packaging.utils and, through it, packaging.tags (logging, platform, subprocess),
    # which the commands answered from the needs kept beside the probe's cache never need.
    from packaging.markers import Marker
    from packaging.requirements import Requirement


class Need(NamedTuple):
    """*required_by* needs *name* at *specifier* (the smallest unit of a check)."""

    name: NormalizedName
    specifier: str
    required_by: str
    kind: str = "dependency"  # "dependency", "root", "standing" or "strict"
    source: str = ""  # canonical name of the distribution or root that needs it
    extras: tuple[str, ...] = ()

    @property
    def specifier_set(self) -> SpecifierSet:
        return _specifier_set(self.specifier)

    def describe(self) -> str:
        return f"{self.name}{self.specifier}" if self.specifier else self.name


def need_order(need: Need) -> tuple[str, str, str, str, str, tuple[str, ...]]:
    """The sort key of a Need: the same order as comparing Needs, much cheaper."""
    return (need.name, need.specifier, need.required_by, need.kind, need.source, need.extras)


def sorted_needs(needs: Iterable[Need]) -> list[Need]:
    return sorted(needs, key=need_order)


# Parsing is the algebra's main cost: an environment of 575 distributions has
# thousands of requirement strings, read several times per command (before
# and after a plan, extras to a fixed point). Each string is parsed once per
# process; the parsed objects are shared, so treat them as read-only.


@functools.lru_cache(maxsize=16384)
def _specifier_set(text: str) -> SpecifierSet:
    return SpecifierSet(text)


@functools.lru_cache(maxsize=16384)
def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


# Requirements parsed elsewhere, by the text they print as (a constraints file's lines are
# parsed when the file is read, and kept as str(requirement)): not parsed a second time.
_PARSED: dict[str, Requirement] = {}


def remember_requirement(requirement: Requirement) -> str:
    """*requirement*'s text, remembered as parsed (``str`` of a Requirement parses back to an
    equal one); returns the text."""
    text = requirement_text(requirement)
    _PARSED.setdefault(text, requirement)
    return text


@functools.lru_cache(maxsize=16384)
def _requirement(text: str) -> Requirement | None:
    known = _PARSED.get(text)
    if known is not None:
        return known
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


class Violation(NamedTuple):
    need: Need
    installed: str | None  # None: not installed at all

    def describe(self) -> str:
        have = f"{self.need.name} {self.installed} is installed" if self.installed else (
            f"{self.need.name} is not installed"
        )
        return f"{self.need.required_by} needs {self.need.describe()}, but {have}"


class RootSpec(NamedTuple):
    """What the algebra needs to know of a ledger root."""

    name: NormalizedName
    specifier: str = ""
    extras: tuple[str, ...] = ()
    label: str = ""


def parse_requirement(text: str) -> Requirement:
    """Parse a PEP 508 string; raises ``ValueError`` with a readable reason."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise ValueError(str(exc)) from None


def exact_pin(version: str) -> SpecifierSet:
    """The specifier that admits exactly *version* (``===`` for one PEP 440 cannot parse)."""
    return SpecifierSet(f"=={version}" if _version(version) is not None else f"==={version}")


def plan_pins(plan: Iterable[PlannedInstall]) -> dict[NormalizedName, SpecifierSet]:
    """Constraints that make an engine install exactly *plan* (by version; URLs and
    editables are fixed by the request itself)."""
    return {item.name: exact_pin(item.version) for item in plan if not (item.editable or item.url)}


def requirement_text(req: Requirement) -> str:
    """A requirement as text, the same whatever packaging renders (22 and 23 write
    ``name@ url``; later releases ``name @ url``): ledgers and messages stay alike."""
    text = req.name
    if req.extras:
        text += f"[{','.join(sorted(req.extras))}]"
    text += str(req.specifier)
    if req.url:
        text += f" @ {req.url}" + (" " if req.marker else "")
    if req.marker:
        text += f"; {req.marker}"
    return text


def marker_applies(marker: Marker | None, environment: MarkerEnvironment, extras: Iterable[str] = ()) -> bool:
    """Whether *marker* holds on the target; one that cannot be evaluated there (``python_version
    ~= 'zzz'``: packaging's UndefinedComparison) does not (``unreadable_requirements`` says so)."""
    return _evaluate(marker, environment, extras)[0]


def _evaluate(marker: Marker | None, environment: MarkerEnvironment, extras: Iterable[str] = ()) -> tuple[bool, str]:
    """Whether *marker* holds, and why it could not be evaluated ("" when it could)."""
    if marker is None:
        return True, ""
    error = ""
    for extra in ("", *sorted(extras)):
        try:
            if marker.evaluate({**environment, "extra": extra}):
                return True, ""
        except ValueError as exc:  # UndefinedComparison, UndefinedEnvironmentName
            error = str(exc)
    return False, error


# Requirement texts whose marker could not be evaluated, with packaging's reason: noted as the
# requirements are evaluated (the target is one interpreter per process), read by
# ``unreadable_requirements`` without evaluating anything again.
_UNEVALUABLE: dict[str, str] = {}


class Unreadable(NamedTuple):
    """A requirement of an installed distribution that cannot be read or evaluated on the target."""

    source: NormalizedName  # the distribution that declares it
    required_by: str  # its label (name and version)
    requirement: str
    reason: str

    def describe(self) -> str:
        return f"{self.required_by} requires {self.requirement!r}, which {self.reason}"


# Distributions every requirement of which was found readable on a marker environment (in this
# process, or in an earlier run kept beside the probe's cache with the needs): not read again.
_READABLE: set[tuple[Distribution, tuple[tuple[str, str], ...]]] = set()


def unreadable_requirements(
    dists: Mapping[NormalizedName, Distribution], environment: MarkerEnvironment
) -> list[Unreadable]:
    """Every requirement of *dists* that cannot be parsed, or whose marker cannot be evaluated
    on the target: pipguard cannot protect it (pip ignores it too), so it is reported."""
    found: list[Unreadable] = []
    try:
        env: tuple[tuple[str, str], ...] | None = _environment_key(environment)
        hash(env)
    except TypeError:  # an unhashable marker environment: nothing remembered
        env = None
    for dist in dists.values():
        if env is not None and (dist, env) in _READABLE:
            continue
        active_requirements(dist, environment)  # evaluated once (cached): notes what cannot be
        before = len(found)
        for text in dist.requires:
            if _requirement(text) is None:
                found.append(Unreadable(dist.name, dist.label, text, "is not a valid requirement (PEP 508)"))
            elif text in _UNEVALUABLE:
                found.append(Unreadable(dist.name, dist.label, text,
                                        f"cannot be evaluated on this interpreter ({_UNEVALUABLE[text]})"))
        if env is not None and len(found) == before:
            _READABLE.add((dist, env))
    return sorted(found)


# What ``export`` takes from each distribution's requirements in use, on one marker environment:
# (canonical name, the marker it is needed under for a constraints file, or None: always).
# Derived by ``pipguard.core.views`` (it parses every requirement and simplifies its marker),
# remembered per process and kept with the needs beside the probe's cache.
_ExportKey = tuple[Distribution, tuple[tuple[str, str], ...], tuple[str, ...]]
_EXPORT_MARKERS: dict[_ExportKey, tuple[tuple[NormalizedName, str | None], ...]] = {}


def export_markers_of(
    dist: Distribution, environment: MarkerEnvironment, extras: Iterable[str],
    derive: Callable[[Requirement], str | None],
) -> tuple[tuple[NormalizedName, str | None], ...]:
    """For each requirement of *dist* in use: its name and ``derive(requirement)`` (remembered)."""
    in_use = tuple(sorted(set(extras)))
    try:
        key: _ExportKey | None = (dist, _environment_key(environment), in_use)
        found = _EXPORT_MARKERS.get(key)  # type: ignore[arg-type]
    except TypeError:  # an unhashable marker environment: no caching
        key, found = None, None
    if found is None:
        found = tuple((canonicalize_name(req.name), derive(req))
                      for req in active_requirements(dist, environment, in_use))
        if key is not None:
            _EXPORT_MARKERS[key] = found
    return found


def known_export_markers(
    dists: Iterable[Distribution], environment: MarkerEnvironment
) -> list[tuple[Distribution, tuple[str, ...], tuple[tuple[NormalizedName, str | None], ...]]]:
    wanted, env = set(dists), _environment_key(environment)
    return [(dist, extras, found) for (dist, key, extras), found in _EXPORT_MARKERS.items()
            if key == env and dist in wanted]


def remember_export_markers(
    known: Iterable[tuple[Distribution, tuple[str, ...], tuple[tuple[NormalizedName, str | None], ...]]],
    environment: MarkerEnvironment,
) -> None:
    env = _environment_key(environment)
    for dist, extras, found in known:
        _EXPORT_MARKERS.setdefault((dist, env, tuple(sorted(extras))), tuple(found))


def known_readable(dists: Iterable[Distribution], environment: MarkerEnvironment) -> list[Distribution]:
    """Those of *dists* already found to have every requirement readable on *environment*."""
    env = _environment_key(environment)
    return [dist for dist in dists if (dist, env) in _READABLE]


def remember_readable(dists: Iterable[Distribution], environment: MarkerEnvironment) -> None:
    """Take *dists* as found, in an earlier run, to have every requirement readable on *environment*."""
    env = _environment_key(environment)
    _READABLE.update((dist, env) for dist in dists)


def active_requirements(
    dist: Distribution, environment: MarkerEnvironment, extras: Iterable[str] = ()
) -> list[Requirement]:
    """The distribution's requirements that apply on the target with *extras* in use.

    The Requirement objects are shared between calls: do not modify them.
    """
    wanted = tuple(sorted(set(extras)))
    try:
        return list(_active_cached(dist.requires, _environment_key(environment), wanted))
    except TypeError:  # an unhashable marker environment: no caching
        return list(_active(dist.requires, environment, wanted))


def _environment_key(environment: MarkerEnvironment) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(environment.items()))


@functools.lru_cache(maxsize=16384)
def _active_cached(
    requires: tuple[str, ...], environment: tuple[tuple[str, str], ...], extras: tuple[str, ...]
) -> tuple[Requirement, ...]:
    return _active(requires, dict(environment), extras)


def _active(
    requires: Iterable[str], environment: MarkerEnvironment, extras: tuple[str, ...]
) -> tuple[Requirement, ...]:
    active = []
    for text in requires:
        req = _requirement(text)
        if req is None:
            continue  # pip ignores unparseable metadata lines too
        applies, error = _evaluate(req.marker, environment, extras)
        if error:
            _UNEVALUABLE[text] = error
        if applies:
            active.append(req)
    return tuple(active)


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
            for need in _needs_in_use(dist, environment, in_use.get(dist.name, ())):
                if not need.extras:
                    continue
                target = in_use.setdefault(need.name, set())
                new = {canonicalize_name(e) for e in need.extras} - target
                if new:
                    target.update(new)
                    changed = True
    return {name: frozenset(extras) for name, extras in in_use.items()}


def dependency_needs(
    dists: Mapping[NormalizedName, Distribution],
    environment: MarkerEnvironment,
    extras: Mapping[NormalizedName, frozenset[str]],
) -> list[Need]:
    needs: list[Need] = []
    for dist in dists.values():
        needs += _needs_in_use(dist, environment, extras.get(dist.name, ()))
    return sorted_needs(needs)


# What each distribution needs, with the extras in use, on one marker environment: the
# derivation of the needs costs the parsing of every Requires-Dist line (~60 ms for an
# environment of 575 distributions). Remembered per process, and kept between runs by the
# edge beside the probe's cache (``known_needs`` / ``remember_needs``), under its signature.
_NeedsKey = tuple[Distribution, tuple[tuple[str, str], ...], tuple[str, ...]]
_DIST_NEEDS: dict[_NeedsKey, tuple[Need, ...]] = {}


def _needs_in_use(dist: Distribution, environment: MarkerEnvironment, extras: Iterable[str]) -> tuple[Need, ...]:
    in_use = tuple(sorted(set(extras)))
    try:
        key = (dist, _environment_key(environment), in_use)
        found = _DIST_NEEDS.get(key)
    except TypeError:  # an unhashable marker environment: no caching
        return _needs_of(dist, active_requirements(dist, environment, in_use))
    if found is None:
        found = _DIST_NEEDS[key] = _needs_of(dist, _active_cached(dist.requires, key[1], in_use))
    return found


def known_needs(
    dists: Iterable[Distribution], environment: MarkerEnvironment
) -> list[tuple[Distribution, tuple[str, ...], tuple[Need, ...]]]:
    """What is already derived for *dists* on *environment*: (distribution, extras, needs)."""
    wanted, env = set(dists), _environment_key(environment)
    return [(dist, extras, needs) for (dist, key, extras), needs in _DIST_NEEDS.items()
            if key == env and dist in wanted]


def remember_needs(
    known: Iterable[tuple[Distribution, tuple[str, ...], tuple[Need, ...]]], environment: MarkerEnvironment
) -> None:
    """Take needs derived earlier (by ``known_needs``, in an earlier run) as derived here."""
    env = _environment_key(environment)
    for dist, extras, needs in known:
        _DIST_NEEDS.setdefault((dist, env, tuple(sorted(extras))), tuple(needs))


def _needs_of(dist: Distribution, requirements: Iterable[Requirement]) -> tuple[Need, ...]:
    return tuple(
        Need(
            name=canonicalize_name(req.name),
            specifier=str(req.specifier),
            required_by=dist.label,
            kind="dependency",
            source=dist.name,
            extras=tuple(sorted(req.extras)),
        )
        for req in requirements
    )


def root_needs(roots: Iterable[RootSpec]) -> list[Need]:
    return sorted_needs(
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


# Standing constraint lines without a marker, as packaging parsed them in an earlier run that
# read the same file (kept beside the probe's cache by ``pipguard.ledger.standing``):
# text -> (canonical name, specifier). A line in here is not parsed again.
_STANDING_PARSED: dict[str, tuple[NormalizedName, str]] = {}


def standing_line_parts(requirement: Requirement) -> tuple[NormalizedName, str] | None:
    """What a standing need takes from a marker-less line (None: it has a marker)."""
    if requirement.marker is not None:
        return None
    return canonicalize_name(requirement.name), str(requirement.specifier)


def remember_standing_line(text: str, name: NormalizedName, specifier: str) -> None:
    """Take *text* (a standing line without a marker) as parsed into *name* and *specifier*."""
    _STANDING_PARSED.setdefault(text, (name, specifier))


def standing_needs(
    requirements: Iterable[str], source: str, environment: MarkerEnvironment
) -> list[Need]:
    """Constraint lines remembered by the user (e.g. upper-constraints)."""
    needs = []
    for text in requirements:
        known = _STANDING_PARSED.get(text)
        if known is not None:
            needs.append(Need(name=known[0], specifier=known[1], required_by=f"constraint {source}",
                              kind="standing", source=source))
            continue
        req = _requirement(text) or parse_requirement(text)  # the latter raises, with the reason
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
    return sorted_needs(needs)


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
    parsed = _version(version)
    if parsed is None:
        return False
    return specifier.contains(parsed, prereleases=True)


@functools.lru_cache(maxsize=65536)
def _satisfies(version: str, specifier: str) -> bool:
    return version_satisfies(version, _specifier_set(specifier))


def find_violations(versions: Mapping[NormalizedName, str], needs: Iterable[Need]) -> list[Violation]:
    """Every need the given installed versions do not meet, sorted."""
    found = []
    for need in needs:
        installed = versions.get(need.name)
        if installed is None:
            if need.kind != "standing":
                found.append(Violation(need, None))
        elif not _satisfies(installed, need.specifier):
            found.append(Violation(need, installed))
    return sorted(found)


# -- what must hold in an environment -------------------------------------------------


def root_specs(roots: Mapping[NormalizedName, Root]) -> list[RootSpec]:
    return [
        RootSpec(
            name=root.name,
            specifier=root.specifier,
            extras=root.extras,
            label=f"{root.display_name} (root, transaction {root.added_by})"
            if root.added_by
            else f"{root.display_name} (root)",
        )
        for root in roots.values()
    ]


def guarded_distributions(
    dists: Mapping[NormalizedName, Distribution], outside: OutsidePolicy
) -> dict[NormalizedName, Distribution]:
    """The distributions whose requirements are protected (outside ones only when asked)."""
    if outside == "protect":
        return dict(dists)
    return {name: dist for name, dist in dists.items() if not dist.outside}


def unguarded_names(
    dists: Mapping[NormalizedName, Distribution], outside: OutsidePolicy
) -> frozenset[NormalizedName]:
    """Names seen only from outside the environment, and not protected (the ``ignore`` policy)."""
    if outside == "protect":
        return frozenset()
    return frozenset(name for name, dist in dists.items() if dist.outside)


def guarded_violations(
    dists: Mapping[NormalizedName, Distribution], needs: Iterable[Need], outside: OutsidePolicy
) -> list[Violation]:
    """Every need *dists* do not meet, standing constraints judged against the environment's own.

    A standing constraint never requires a project to be installed, and a
    distribution seen only from outside is not this environment's (unless the
    user protects what is outside): for it, the constraint waits until the
    environment installs the project itself. Requirements of the environment's
    own distributions on an outside one still see it: imports do.
    """
    unguarded = unguarded_names(dists, outside)
    versions = {name: dist.version for name, dist in dists.items()}
    if unguarded:
        needs = [need for need in needs if not (need.kind == "standing" and need.name in unguarded)]
    return find_violations(versions, needs)


def outside_standing_violations(
    dists: Mapping[NormalizedName, Distribution], needs: Iterable[Need], outside: OutsidePolicy
) -> list[Violation]:
    """The standing constraints that distributions seen from outside do not meet (reported, not judged)."""
    unguarded = unguarded_names(dists, outside)
    if not unguarded:
        return []
    versions = {name: dist.version for name, dist in dists.items() if name in unguarded}
    return find_violations(versions, [need for need in needs if need.kind == "standing" and need.name in unguarded])


def all_needs(
    dists: Mapping[NormalizedName, Distribution],
    roots: Mapping[NormalizedName, Root],
    standing: Sequence[StandingConstraint],
    markers: MarkerEnvironment,
    outside: OutsidePolicy = "protect",
) -> list[Need]:
    """Everything that must hold in an environment with *dists* installed."""
    guarded = guarded_distributions(dists, outside)
    specs = root_specs(roots)
    extras = extras_in_use(guarded, specs, markers)
    needs = root_needs(specs) + dependency_needs(guarded, markers, extras)
    for item in standing:
        needs += standing_needs([item.requirement], item.source, markers)
    return sorted_needs(needs)

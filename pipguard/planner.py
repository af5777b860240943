"""The guarded plan: what must keep holding, and whether a plan keeps it (pure).

Simulate, then check (as pip's own check_install_conflicts does): start from
what is installed, lay the plan from pip's report on top, check every need
of the end state. "Never make it worse": a need that was already unmet
before is reported, not blocking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name

from pipguard.constraints import (
    Distribution,
    MarkerEnvironment,
    Need,
    RootSpec,
    Violation,
    active_requirements,
    dependency_needs,
    extras_in_use,
    find_violations,
    merge_specifiers,
    root_needs,
    sorted_needs,
    standing_needs,
    version_satisfies,
)
from pipguard.model import Change, Root, StandingConstraint
from pipguard.pip_runner import PlannedInstall

# Tools pip itself manages; pipguard does not treat them as a user's projects.
TOOLING = frozenset({"pip", "setuptools", "wheel", "distribute"})


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


def all_needs(
    dists: Mapping[NormalizedName, Distribution],
    roots: Mapping[NormalizedName, Root],
    standing: Sequence[StandingConstraint],
    markers: MarkerEnvironment,
) -> list[Need]:
    """Everything that must hold in an environment with *dists* installed."""
    specs = root_specs(roots)
    extras = extras_in_use(dists, specs, markers)
    needs = root_needs(specs) + dependency_needs(dists, markers, extras)
    for item in standing:
        needs += standing_needs([item.requirement], item.source, markers)
    return sorted_needs(needs)


def _key(violation: Violation) -> tuple[str, str, str, str]:
    need = violation.need
    return (need.kind, need.source, need.name, need.specifier)


@dataclass(frozen=True)
class Judgement:
    """How an end state compares with the state before."""

    blocking: tuple[Violation, ...]  # earlier projects that would break
    warnings: tuple[Violation, ...]  # needs of what this install brings, unmet
    preexisting: tuple[Violation, ...]  # already broken before: reported only

    @property
    def ok(self) -> bool:
        return not self.blocking


def judge(
    before: Mapping[NormalizedName, Distribution],
    after: Mapping[NormalizedName, Distribution],
    roots_before: Mapping[NormalizedName, Root],
    roots_after: Mapping[NormalizedName, Root],
    standing: Sequence[StandingConstraint],
    markers: MarkerEnvironment,
) -> Judgement:
    old = find_violations(_versions(before), all_needs(before, roots_before, standing, markers))
    new = find_violations(_versions(after), all_needs(after, roots_after, standing, markers))
    old_keys = {_key(v) for v in old}
    changed = {name for name in after if before.get(name) != after.get(name)}
    blocking, warnings = [], []
    for violation in new:
        if _key(violation) in old_keys:
            continue
        if violation.need.kind == "dependency" and violation.need.source in changed:
            warnings.append(violation)
        else:
            blocking.append(violation)
    still_broken = [v for v in new if _key(v) in old_keys]
    return Judgement(tuple(blocking), tuple(warnings), tuple(still_broken))


def _versions(dists: Mapping[NormalizedName, Distribution]) -> dict[NormalizedName, str]:
    return {name: dist.version for name, dist in dists.items()}


def overlay(
    before: Mapping[NormalizedName, Distribution], plan: Iterable[PlannedInstall]
) -> dict[NormalizedName, Distribution]:
    """The end state: what is installed, with pip's plan laid on top."""
    after = dict(before)
    for item in plan:
        after[item.name] = Distribution(
            name=item.name,
            version=item.version,
            requires=item.requires,
            display_name=item.display_name,
            editable=item.editable,
            url=item.url,
        )
    return after


def changes_between(
    before: Mapping[NormalizedName, str], after: Mapping[NormalizedName, str]
) -> tuple[Change, ...]:
    names = sorted(set(before) | set(after))
    return tuple(
        Change(name, before.get(name), after.get(name))
        for name in names
        if before.get(name) != after.get(name)
    )


@dataclass(frozen=True)
class ProtectedSet:
    """The needs turned into pip constraints for a guarded install."""

    needs: tuple[Need, ...]
    preexisting: tuple[Violation, ...]

    def merged(self) -> dict[NormalizedName, SpecifierSet]:
        return merge_specifiers(self.needs)


def protected_needs(
    dists: Mapping[NormalizedName, Distribution],
    roots: Mapping[NormalizedName, Root],
    standing: Sequence[StandingConstraint],
    markers: MarkerEnvironment,
    requested: Iterable[NormalizedName],
    policy: str = "compatible",
) -> ProtectedSet:
    """What pip must not be allowed to break, as constraints.

    A requested project's own old needs are dropped (the user is asking for
    it again, maybe at another version: its new needs are checked after),
    and so are needs that were already unmet (never make it worse, but do
    not demand a repair either). ``strict`` pins everything installed;
    ``replan`` keeps only roots and standing constraints.
    """
    asked = set(requested)
    needs = all_needs(dists, roots, standing, markers)
    broken = find_violations(_versions(dists), needs)
    broken_keys = {_key(v) for v in broken}
    kept = [
        need
        for need in needs
        if need.source not in asked
        and (need.kind, need.source, need.name, need.specifier) not in broken_keys
    ]
    if policy == "replan":
        # Roots are re-resolved together with the request; the end state is
        # judged in full before anything is installed.
        kept = [need for need in kept if need.kind in ("root", "standing")]
    if policy == "strict":
        kept += [
            Need(name, f"=={dist.version}", f"{dist.label} (strict policy)", kind="root", source=name)
            for name, dist in dists.items()
        ]
    return ProtectedSet(tuple(sorted_needs(kept)), tuple(broken))


# -- explaining ----------------------------------------------------------------


def _who_brings(name: NormalizedName, plan: Iterable[PlannedInstall], markers: MarkerEnvironment) -> list[str]:
    reasons = []
    for item in plan:
        dist = Distribution(item.name, item.version, item.requires, item.display_name)
        for req in active_requirements(dist, markers, item.requested_extras):
            if canonicalize_name(req.name) == name:
                reasons.append(f"{item.display_name} {item.version} needs {req.name}{req.specifier}")
    return reasons


def explain_rejection(
    request: str,
    blocking: Sequence[Violation],
    plan: Sequence[PlannedInstall],
    markers: MarkerEnvironment,
) -> str:
    """One paragraph: what would break, who needs what, and that nothing changed."""
    lines = [f"pipguard: not installing {request}: it would break earlier projects."]
    for violation in blocking:
        need = violation.need
        brought = "remove it" if violation.installed is None else f"bring {need.name} {violation.installed}"
        why = _who_brings(need.name, plan, markers)
        because = f" ({'; '.join(why)})" if why else ""
        lines.append(f"  {need.required_by} needs {need.describe()}; this install would {brought}{because}.")
    lines.append("Nothing was changed.")
    return "\n".join(lines)


def explain_impossible(request: str, protected: ProtectedSet, plan: Sequence[PlannedInstall]) -> str:
    """pip found no plan inside the protections, though it found one outside them."""
    touched = {item.name for item in plan}
    relevant = [need for need in protected.needs if need.name in touched]
    lines = [
        f"pipguard: not installing {request}: pip found no versions that keep every "
        "earlier project working."
    ]
    for need in relevant[:20]:
        lines.append(f"  {need.required_by} needs {need.describe()}")
    lines.append("Nothing was changed.")
    return "\n".join(lines)


@dataclass(frozen=True)
class Replan:
    """pipguard installed *chosen* where plain pip would have taken *preferred*."""

    name: NormalizedName
    display_name: str
    chosen: str
    preferred: str
    reasons: tuple[str, ...]

    def describe(self) -> str:
        text = (
            f"pipguard: installed {self.display_name} {self.chosen} instead of "
            f"{self.display_name} {self.preferred}"
        )
        if self.reasons:
            return text + ": " + "; ".join(self.reasons) + "."
        return text + " to keep earlier projects working."


def find_replans(
    chosen: Mapping[NormalizedName, str],
    preferred: Sequence[PlannedInstall],
    protected: ProtectedSet,
    installed: Mapping[NormalizedName, Distribution],
    markers: MarkerEnvironment,
) -> list[Replan]:
    """Where the protections made pip choose differently, and why.

    *preferred* is what pip picks for the requested projects on its own
    (a dry run without pipguard's constraints); *chosen* what it installed.
    """
    by_name: dict[NormalizedName, list[Need]] = {}
    for need in protected.needs:
        by_name.setdefault(need.name, []).append(need)
    replans = []
    for item in preferred:
        got = chosen.get(item.name)
        if got is None or got == item.version:
            continue
        reasons = []
        for need in by_name.get(item.name, []):
            if not version_satisfies(item.version, need.specifier_set):
                reasons.append(f"{need.required_by} needs {need.describe()}")
        dist = Distribution(item.name, item.version, item.requires, item.display_name)
        for req in active_requirements(dist, markers, item.requested_extras):
            dep = canonicalize_name(req.name)
            clashing = [
                need for need in by_name.get(dep, []) if _clashes(req, need, installed.get(dep))
            ]
            for need in clashing:
                reasons.append(
                    f"{item.display_name} {item.version} needs {req.name}{req.specifier}, "
                    f"but {need.required_by} needs {need.describe()}"
                )
        replans.append(Replan(item.name, item.display_name, got, item.version, tuple(reasons)))
    return replans


def _clashes(req: Requirement, need: Need, installed: Distribution | None) -> bool:
    """Would meeting *req* likely mean breaking *need*?

    Without the index's version list this is judged on what is installed:
    the installed version meets the need but not the requirement, so pip
    would have had to move it outside the need.
    """
    if installed is None:
        return False
    return version_satisfies(installed.version, need.specifier_set) and not version_satisfies(
        installed.version, req.specifier
    )

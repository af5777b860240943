"""Upgrading an environment safely: what to ask the engine, and what came of it (pure).

``pipguard upgrade`` moves every root (or the named projects) and what they
need to the newest versions that keep the rest of the environment working.
The engine resolves, once, for all of it (``-U --upgrade-strategy eager``
with the roots' recorded requirements); this module decides what goes into
that run and reads its plan:

* the *targets*: the roots (or named projects) installed by name; an
  editable or URL root cannot be upgraded by name, so its own requirements
  are asked for instead (its dependencies move, it stays);
* the *moving* distributions: the targets and everything they need, whose
  own requirements the engine re-resolves;
* the *protections* (pip constraints): every root's recorded specifier, the
  standing constraints, the requirements of every distribution that is not
  moving; and, so that nothing moves the wrong way, a floor for every
  installed distribution (an upgrade never downgrades), a pin for every
  distribution seen from outside the environment (never moved), a pin for
  every root not named, and a cap below the next major version for every
  root (unless ``--allow-major``).

Every protection holds for what is installed now, so the engine always has
a plan (at worst: nothing moves). The plan is then judged like an install's
(simulate, then check), and for each target that did not reach its newest
release (looked up beforehand, without constraints, the way pip sees it),
the one requirement that held it back is named, with whose it is.

The decision over the engine port (``decide_upgrade``; the engine runs
processes, not this module):

1. look up the newest release of everything that may move (``-U --no-deps``,
   no constraints: the newest the way pip sees it); when nothing is newer,
   stop there (one engine run, nothing to record);
2. resolve all of it at once (``-U --upgrade-strategy eager``, the roots'
   recorded requirements, the spec's protections as constraints);
3. judge the plan (simulate, then check), name what held each target back,
   and *show* it before anything changes; a plan that would break an earlier
   project is refused, an empty one ends the run (nothing recorded);
4. otherwise *begin* (the command records the pending transaction) and let
   the engine install exactly that plan.

With ``dry_run`` it stops after 3. The command turns the outcome into effects.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from pipguard.core.constraints import (
    Need,
    Violation,
    active_requirements,
    all_needs,
    exact_pin,
    find_violations,
    merge_specifiers,
    sorted_needs,
    version_satisfies,
)
from pipguard.core.decide import judge_states, overlay
from pipguard.core.model import (
    Distribution,
    MarkerEnvironment,
    OutsidePolicy,
    PlannedInstall,
    Root,
    StandingConstraint,
)
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.core.verdicts import Explainer
from pipguard.engines.base import Approval, Constraints, Engine, Failure, Invocation, Resolution
from pipguard.pip.request import InstallRequest

ALLOW_MAJOR = "--allow-major"

# Kinds of needs pipguard adds for an upgrade (beside the algebra's root,
# standing and dependency needs): see the module's docstring.
FLOOR = "floor"
OUTSIDE = "outside"
HELD = "held"
MAJOR = "major"

# Which party is named first when several hold a project back.
_BLAME_ORDER = {"root": 0, "standing": 1, "dependency": 2, HELD: 3, OUTSIDE: 4, FLOOR: 5, MAJOR: 6}


# Names the party a need belongs to, as the user knows it.
Who = Callable[[Need], str]


def default_who(need: Need) -> str:
    return need.required_by


class UnknownTarget(ValueError):
    """A name given to ``upgrade`` that it cannot move (not installed, or outside)."""


@dataclass(frozen=True)
class UpgradeSituation:
    """What the upgrade planner is given, read at the edge."""

    distributions: Mapping[NormalizedName, Distribution]  # visible: own, and outside ones
    markers: MarkerEnvironment
    roots: Mapping[NormalizedName, Root] = field(default_factory=dict)
    standing: tuple[StandingConstraint, ...] = ()
    outside: OutsidePolicy = "ignore"
    names: tuple[str, ...] = ()  # as the user spelled them; empty: every root
    allow_major: bool = False

    @property
    def own(self) -> dict[NormalizedName, Distribution]:
        return {name: dist for name, dist in self.distributions.items() if not dist.outside}


@dataclass(frozen=True)
class Target:
    """One project asked to move."""

    name: NormalizedName
    display_name: str
    requirement: str  # what the engine is asked for (the root's recorded requirement)
    installed: str
    root: Root | None = None


@dataclass(frozen=True)
class Skipped:
    name: NormalizedName
    display_name: str
    reason: str


@dataclass(frozen=True)
class UpgradeSpec:
    """What to ask the engine, and under which protections."""

    targets: tuple[Target, ...]
    via: tuple[str, ...]  # requirements asked for on behalf of editable and URL roots
    skipped: tuple[Skipped, ...]
    moving: frozenset[NormalizedName]
    protection: tuple[Need, ...]
    preexisting: tuple[Violation, ...]
    lookup: tuple[str, ...]  # names whose newest release is looked up

    @property
    def requirements(self) -> tuple[str, ...]:
        return (*(t.requirement for t in self.targets), *self.via)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def constraints(self) -> Constraints:
        return merge_specifiers(self.protection)


# -- planning --------------------------------------------------------------------------


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def next_major(version: str) -> str | None:
    """``<N+1`` for a version of major N (None when it has no major number)."""
    parsed = _version(version)
    if parsed is None or not parsed.release:
        return None
    return f"<{parsed.release[0] + 1}"


def major_of(version: str) -> int | None:
    parsed = _version(version)
    return parsed.release[0] if parsed is not None and parsed.release else None


def closure(
    start: Iterable[tuple[NormalizedName, Iterable[str]]],
    dists: Mapping[NormalizedName, Distribution],
    markers: MarkerEnvironment,
) -> dict[NormalizedName, frozenset[str]]:
    """Every distribution reached from *start* (name, extras in use), following active
    requirements with their extras, to a fixed point: name -> extras in use."""
    reached: dict[NormalizedName, frozenset[str]] = {}
    queue: deque[tuple[NormalizedName, frozenset[str]]] = deque(
        (name, frozenset(str(canonicalize_name(e)) for e in extras)) for name, extras in start)
    while queue:
        name, extras = queue.popleft()
        known = reached.get(name)
        if known is not None and extras <= known:
            continue
        extras = extras | (known or frozenset())
        reached[name] = extras
        dist = dists.get(name)
        if dist is None:
            continue
        for req in active_requirements(dist, markers, extras):
            queue.append((canonicalize_name(req.name), frozenset(str(canonicalize_name(e)) for e in req.extras)))
    return reached


def _is_named(root: Root) -> bool:
    return not (root.editable or root.url)


def _chosen(s: UpgradeSituation) -> tuple[list[Target], list[Root], list[Skipped]]:
    """The targets (installed by name), the editable/URL roots, and what is skipped."""
    own = s.own
    targets: list[Target] = []
    others: list[Root] = []
    skipped: list[Skipped] = []
    if s.names:
        picked: list[tuple[NormalizedName, str]] = []
        for spelled in s.names:
            name = canonicalize_name(spelled)
            if name not in s.distributions:
                raise UnknownTarget(f"{spelled} is not installed in this environment")
            if name not in own:
                raise UnknownTarget(f"{spelled} is seen from outside this environment, and pipguard never moves "
                                    "what is outside it")
            picked.append((name, spelled))
    else:
        picked = [(name, root.display_name) for name, root in sorted(s.roots.items())]
    for name, spelled in dict(picked).items():
        root = s.roots.get(name)
        dist = own.get(name)
        if dist is None:
            skipped.append(Skipped(name, spelled, "not installed (pipguard check reports it)"))
        elif root is not None and not _is_named(root):
            others.append(root)
        elif dist.editable or dist.url:
            skipped.append(Skipped(name, dist.display_name or spelled,
                                   "installed from a path or URL, not from an index"))
        else:
            requirement = root.requirement if root is not None else (dist.display_name or name)
            targets.append(Target(name, dist.display_name or spelled, requirement, dist.version, root))
    return targets, others, skipped


def _via(roots: Sequence[Root], s: UpgradeSituation) -> list[str]:
    """An editable or URL root's own named requirements, asked for in its place."""
    found: list[str] = []
    for root in roots:
        dist = s.own.get(root.name)
        if dist is None:
            continue
        for req in active_requirements(dist, s.markers, root.extras):
            if req.url:
                continue
            extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
            found.append(f"{req.name}{extras}{req.specifier}")
    return sorted(dict.fromkeys(found))


def _floors(s: UpgradeSituation) -> list[Need]:
    """An upgrade never downgrades: every own distribution at its installed version or newer."""
    needs = []
    for name, dist in s.own.items():
        parsed = _version(dist.version)
        if parsed is None or dist.editable or dist.url:
            continue
        needs.append(Need(name, f">={parsed.public}", f"{dist.label} (installed; an upgrade never downgrades)",
                          kind=FLOOR, source=name))
    return needs


def _outside_pins(s: UpgradeSituation) -> list[Need]:
    return [Need(name, str(exact_pin(dist.version)), f"{dist.label} (outside the environment; never moved)",
                 kind=OUTSIDE, source=name)
            for name, dist in s.distributions.items() if dist.outside]


def _held_roots(s: UpgradeSituation, targets: Sequence[Target], others: Sequence[Root]) -> list[Need]:
    """With names given, every other root stays as it is."""
    if not s.names:
        return []
    moving = {t.name for t in targets} | {r.name for r in others}
    needs = []
    for name, root in s.roots.items():
        dist = s.own.get(name)
        if name in moving or dist is None or not _is_named(root):
            continue
        needs.append(Need(name, str(exact_pin(dist.version)), f"{dist.label} (a root not named; kept as it is)",
                          kind=HELD, source=name))
    return needs


def _majors(s: UpgradeSituation, targets: Sequence[Target]) -> list[Need]:
    """Each root stays in its major version unless --allow-major."""
    if s.allow_major:
        return []
    needs = []
    for target in targets:
        cap = next_major(target.installed)
        if target.root is None or cap is None:
            continue
        if not version_satisfies(target.installed, _spec(target.root.specifier)):
            continue  # already outside its own specifier: do not make the plan impossible
        needs.append(Need(target.name, cap, f"{target.display_name} {target.installed} (stays in major version "
                          f"{major_of(target.installed)} without {ALLOW_MAJOR})", kind=MAJOR, source=target.name))
    return needs


def _spec(text: str) -> SpecifierSet:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return SpecifierSet()


def plan_upgrade(s: UpgradeSituation) -> UpgradeSpec:
    """What to ask the engine for, and the protections it resolves under."""
    targets, others, skipped = _chosen(s)
    own = s.own
    start = [(t.name, t.root.extras if t.root else ()) for t in targets]
    start += [(r.name, r.extras) for r in others]
    reached = closure(start, own, s.markers)
    moving = frozenset(name for name in reached if name in own) - {r.name for r in others}
    needs = all_needs(s.distributions, s.roots, s.standing, s.markers, s.outside)
    broken = find_violations({n: d.version for n, d in s.distributions.items()}, needs)
    broken_needs = {v.need for v in broken}
    kept = [need for need in needs
            if need not in broken_needs and not (need.kind == "dependency" and need.source in moving)]
    kept += _floors(s) + _outside_pins(s) + _held_roots(s, targets, others) + _majors(s, targets)
    lookup = sorted({own[name].display_name or name for name in moving
                     if not (own[name].editable or own[name].url)} | {t.display_name for t in targets})
    return UpgradeSpec(tuple(targets), tuple(_via(others, s)), tuple(skipped), moving,
                       tuple(sorted_needs(kept)), tuple(broken), tuple(lookup))


def newer_exists(newest: Iterable[PlannedInstall], installed: Mapping[NormalizedName, Distribution]) -> bool:
    """Does the lookup show a release newer than what is installed, for anything?"""
    for item in newest:
        have = installed.get(item.name)
        new, old = _version(item.version), _version(have.version) if have else None
        if have is None or new is None or old is None or new > old:
            return True
    return False


# -- reading the plan --------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """One row of the plan: a distribution from one version to another (None: absent)."""

    name: NormalizedName
    display_name: str
    before: str | None
    after: str


@dataclass(frozen=True)
class Hold:
    """Why a target did not reach its newest release: the one requirement, and whose it is."""

    name: NormalizedName
    display_name: str
    installed: str
    reached: str
    newest: str
    kind: str  # root, standing, dependency, held, outside, floor, major, requirement, unknown
    reason: str  # one sentence


@dataclass(frozen=True)
class UpgradeAssessment:
    moves: tuple[Move, ...]
    holds: tuple[Hold, ...]
    blocking: tuple[Violation, ...]
    warnings: tuple[Violation, ...]

    @property
    def changes(self) -> bool:
        return bool(self.moves)


def moves_of(before: Mapping[NormalizedName, Distribution], plan: Sequence[PlannedInstall]) -> tuple[Move, ...]:
    rows = []
    for item in plan:
        old = before.get(item.name)
        version = old.version if old is not None and not old.outside else None
        if version == item.version and not (old is not None and (old.editable or old.url)):
            continue
        rows.append(Move(item.name, item.display_name, version, item.version))
    return tuple(sorted(rows, key=lambda m: m.name))


def assess(s: UpgradeSituation, spec: UpgradeSpec, plan: Sequence[PlannedInstall],
           newest: Mapping[NormalizedName, PlannedInstall], who: Who = default_who) -> UpgradeAssessment:
    """The plan's rows, what would break (blocking), and why each target stopped short.

    *who* names the party a need belongs to (the command passes one that knows
    roots and their transactions)."""
    after = overlay(s.distributions, plan)
    judgement = judge_states(s.distributions, after, s.roots, s.roots, s.standing, s.markers, s.outside)
    needs_after = all_needs(after, s.roots, s.standing, s.markers, s.outside)
    added = [n for n in spec.protection if n.kind in (FLOOR, OUTSIDE, HELD, MAJOR)]
    holds = []
    for target in spec.targets:
        found = newest.get(target.name)
        if found is None:
            continue
        reached = after[target.name].version if target.name in after else target.installed
        if not _older(reached, found.version):
            continue
        holds.append(hold_reason(s, target, reached, found, after, [*needs_after, *added], who))
    return UpgradeAssessment(moves_of(s.distributions, plan), tuple(holds), judgement.blocking,
                             judgement.warnings)


def _older(version: str, than: str) -> bool:
    a, b = _version(version), _version(than)
    return a is not None and b is not None and a < b


def _party(need: Need, who: Who) -> str:
    """Whose a need is: pipguard's own protections name themselves."""
    return need.required_by if need.kind in (FLOOR, OUTSIDE, HELD, MAJOR) else who(need)


def _wants(need: Need) -> str:
    verb = "allows only" if need.kind in ("standing", OUTSIDE, HELD, MAJOR) else "needs"
    return f"{verb} {need.name}{need.specifier}"


def _blame_key(need: Need) -> tuple[int, str, str]:
    return (_BLAME_ORDER.get(need.kind, 9), need.source, need.specifier)


def _boundaries(spec: SpecifierSet) -> set[str]:
    """Each version a specifier names, and one just above it (1.0 -> 1.0.1): where ranges meet."""
    found = set()
    for item in spec:
        parsed = _version(item.version.removesuffix(".*"))
        if parsed is not None:
            found |= {str(parsed), ".".join(map(str, (*parsed.release, 1)))}
    return found


def _compatible(a: SpecifierSet, b: SpecifierSet, known: Iterable[str]) -> bool:
    """Could one version satisfy both? Judged on the versions in sight (installed, planned,
    and the specifiers' own boundaries): never a resolver, only a way to name the clash."""
    return any(version_satisfies(v, a) and version_satisfies(v, b)
               for v in {*known, *_boundaries(a), *_boundaries(b)})


def hold_reason(s: UpgradeSituation, target: Target, reached: str, newest: PlannedInstall,
                after: Mapping[NormalizedName, Distribution], needs: Sequence[Need], who: Who) -> Hold:
    """The one requirement that kept *target* from its newest release, and whose it is.

    In order: a requirement on the target itself that excludes the newest
    release (its own recorded specifier first, then a standing constraint,
    then another project's requirement); the newest release being of
    another major version; a requirement of the newest release that another
    party's requirement leaves no room for.
    """

    def hold(kind: str, reason: str) -> Hold:
        return Hold(target.name, target.display_name, target.installed, reached, newest.version, kind, reason)

    on_target = sorted((n for n in needs if n.name == target.name and n.kind not in (FLOOR, MAJOR)
                        and (n.kind != "dependency" or n.source != target.name)), key=_blame_key)
    for need in on_target:
        if version_satisfies(newest.version, need.specifier_set):
            continue
        if need.kind == "root" and target.root is not None:
            return hold("root", f"{who(need)} was asked for as {target.root.requirement}")
        return hold(need.kind, f"{_party(need, who)} {_wants(need)}")
    if not s.allow_major and target.root is not None:
        have, new = major_of(target.installed), major_of(newest.version)
        if have is not None and new is not None and new > have and major_of(reached) == have:
            return hold(MAJOR, f"{newest.display_name} {newest.version} is another major version than "
                               f"{target.installed} (upgrade {ALLOW_MAJOR} takes it)")
    extras = target.root.extras if target.root else ()
    for req in active_requirements(newest.as_distribution(), s.markers, extras):
        dep = canonicalize_name(req.name)
        present = after.get(dep)
        if present is not None and version_satisfies(present.version, req.specifier):
            continue
        known = [present.version] if present is not None else []
        # pipguard's own pins and floors first: they are exact, so a clash with them is certain
        holders = sorted((n for n in needs if n.name == dep and n.source != target.name),
                         key=lambda n: (n.kind not in (HELD, OUTSIDE, FLOOR), _blame_key(n)))
        for need in holders:
            if not _compatible(req.specifier, need.specifier_set, known):
                return hold("requirement", f"{newest.display_name} {newest.version} needs {req.name}{req.specifier}, "
                                           f"but {_party(need, who)} {_wants(need)}")
    return hold("unknown", f"the engine found no plan with {newest.display_name} {newest.version} that keeps "
                           "every other requirement of the environment")


# -- deciding, over the engine port ---------------------------------------------------------


# The request for one engine run: (requirements, upgrade's own pip options) -> the request.
RequestFor = Callable[[Sequence[str], Sequence[str]], InstallRequest]

LOOKUP_OPTIONS = ("--upgrade", "--no-deps")
UPGRADE_OPTIONS = ("--upgrade", "--upgrade-strategy", "eager")

UpgradeKind = Literal["nothing", "dry-run", "upgraded", "rejected", "failed"]


@dataclass(frozen=True)
class UpgradeOutcome:
    kind: UpgradeKind
    assessment: UpgradeAssessment | None = None
    plan: tuple[PlannedInstall, ...] = ()
    message: str = ""  # the refusal, or why there is nothing to do
    failure: Failure | None = None  # the engine's, for "failed"
    held: str = ""  # what the engine printed and was not shown
    began: bool = False  # the pending transaction was begun (the engine may have changed things)
    newest_known: bool = True
    lookup_failure: str = ""  # why the newest releases are unknown


def blocking_message(explainer: Explainer, blocking: Sequence[Violation]) -> str:
    """The refusal: who needs what, and what the upgrade would have brought."""
    lines = ["pipguard: not upgrading: the plan would break earlier projects."]
    for violation in blocking:
        need = violation.need
        wanted = f"{need.name}{need.specifier}" if need.specifier else need.name
        brought = f"bring {need.name} {violation.installed}" if violation.installed else f"remove {need.name}"
        verb = "allows only" if need.kind == "standing" else "needs"
        lines.append(f"  {explainer.who(violation)} {verb} {wanted}; the upgrade would {brought}.")
    return "\n".join([*lines, "Nothing was changed."])


def who_after(explainer: Explainer, plan: Sequence[PlannedInstall]) -> Who:
    """Names parties as they will be after *plan* (the versions the requirements come from)."""
    after = explainer._replace(distributions=overlay(explainer.distributions, plan))
    return lambda need: after.who(Violation(need, None))


@dataclass
class _Upgrade:
    """One upgrade being decided (mutable only while the engine runs)."""

    s: UpgradeSituation
    spec: UpgradeSpec
    explainer: Explainer
    newest: Mapping[NormalizedName, PlannedInstall]
    show: Callable[[UpgradeAssessment], None]
    begin: Callable[[], None]
    assessment: UpgradeAssessment | None = None
    refusal: str = ""
    began: bool = False
    nothing: bool = False

    def judge(self, found: Resolution) -> UpgradeAssessment:
        self.assessment = assess(self.s, self.spec, found.plan, self.newest, who_after(self.explainer, found.plan))
        if self.assessment.blocking:
            self.refusal = blocking_message(self.explainer, self.assessment.blocking)
        return self.assessment

    def approve(self, found: Resolution) -> Approval:
        assessment = self.judge(found)
        if assessment.blocking:
            return Approval(False, self.refusal)
        self.show(assessment)
        if not assessment.moves:
            self.nothing = True
            return Approval(False, "")
        self.begin()
        self.began = True
        return Approval(True)


def decide_upgrade(
    s: UpgradeSituation,
    spec: UpgradeSpec,
    engine: Engine,
    request_for: RequestFor,
    explainer: Explainer,
    *,
    dry_run: bool = False,
    show_output: bool = False,
    show: Callable[[UpgradeAssessment], None] = lambda _: None,
    begin: Callable[[], None] = lambda: None,
) -> UpgradeOutcome:
    """One upgrade: the whole decision, the engine's runs included (see the module's docstring)."""
    lookup = engine.resolve(Invocation(request_for(spec.lookup, LOOKUP_OPTIONS), show_output=False))
    newest = {item.name: item for item in lookup.plan} if lookup.ok else {}
    lookup_failure = ""
    if lookup.failure is not None:
        lookup_failure = lookup.failure.summary or f"{engine.name} exited with {lookup.failure.returncode}"
    elif not newer_exists(newest.values(), s.own):
        return UpgradeOutcome("nothing", message="everything is at the newest release the index offers.")
    run = _Upgrade(s, spec, explainer, newest, show, begin)
    constraints = spec.constraints()
    invocation = Invocation(request_for(spec.requirements, UPGRADE_OPTIONS), constraints, constraints,
                            show_output=show_output)
    known = lookup.ok
    if dry_run:
        found = engine.resolve(invocation)
        if not found.ok:
            return UpgradeOutcome("failed", failure=found.failure, held=found.held, newest_known=known,
                                  lookup_failure=lookup_failure)
        assessment = run.judge(found)
        if assessment.blocking:
            return UpgradeOutcome("rejected", assessment, found.plan, run.refusal, newest_known=known,
                                  lookup_failure=lookup_failure)
        show(assessment)
        return UpgradeOutcome("dry-run", assessment, found.plan, newest_known=known, lookup_failure=lookup_failure)
    found = engine.install(invocation, run.approve)
    if found.ok:
        return UpgradeOutcome("upgraded", run.assessment, found.plan, began=True, newest_known=known,
                              lookup_failure=lookup_failure)
    failure = found.failure
    assert failure is not None
    if failure.kind == "stopped" and not run.began:
        if run.refusal:
            return UpgradeOutcome("rejected", run.assessment, found.plan, run.refusal, newest_known=known,
                                  lookup_failure=lookup_failure)
        if run.nothing:
            return UpgradeOutcome("nothing", run.assessment, message="nothing can be upgraded: what is newer is "
                                  "held back (above).", newest_known=known, lookup_failure=lookup_failure)
    return UpgradeOutcome("failed", run.assessment, found.plan, failure=failure, held=found.held, began=run.began,
                          newest_known=known, lookup_failure=lookup_failure)


"""The decision core: what is protected, whether a plan keeps it, and what to do.

Pure, over an engine port (``pipguard.engines.base``): given the request,
what is installed, the ledger's roots and standing constraints, and an
engine, it decides between

* satisfied -- nothing to do, proved without running the engine (the fast path);
* installed -- plain pip's own plan keeps every earlier project working: it
  is installed as it is, in one engine run; or it does not, and the plan
  found inside the protections (pipguard's constraints) does: that one is
  installed, and the user is told what was chosen instead of plain pip's
  plan, and why;
* rejected -- plain pip's plan breaks an earlier project and no plan inside
  the protections is found, or the only one is of another major version
  (taken only when the user allows it): nothing is changed;
* failed -- the engine itself fails: its failure is passed on.

Effects happen at the edge: the engine runs processes; ``begin`` (given by
the command) records the pending transaction before anything can change;
the command prints the outcome's messages and records it.

Simulate, then check (as pip's ``check_install_conflicts``): start from what
is installed, lay the plan on top, check every need of the end state. Never
make it worse: a need that was already unmet before is reported, not
blocking.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Literal, NamedTuple

from packaging.version import InvalidVersion, Version

from pipguard.core.constraints import (
    Need,
    Violation,
    all_needs,
    guarded_distributions,
    guarded_violations,
    marker_applies,
    merge_specifiers,
    sorted_needs,
    standing_needs,
    version_satisfies,
)
from pipguard.core.model import (
    EMPTY,
    Distribution,
    MarkerEnvironment,
    OutsidePolicy,
    PlannedInstall,
    Policy,
    Root,
    StandingConstraint,
)
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.core.redaction import redact
from pipguard.core.run_end import exit_status
from pipguard.core.verdicts import (
    Explainer,
    held_back_message,
    major_rejection,
    rejection,
    replan_message,
    shadow_notes,
)
from pipguard.engines.base import (
    Approval,
    Approver,
    Constraints,
    Engine,
    Invocation,
    Resolution,
    approve_all,
)
from pipguard.pip.request import InstallRequest, Requested

# pip settings that cannot make pip act on an already-satisfied request: where
# to look, how to talk, how loud. Any other setting, from the command line or
# pip's configuration, means pip runs (it may upgrade, reinstall, or refuse).
FAST_PATH_SETTINGS = frozenset({
    "constraint", "build-constraint", "index-url", "extra-index-url", "no-index", "find-links",
    "trusted-host", "pre", "prefer-binary", "only-binary", "no-binary", "quiet", "verbose", "no-input",
    "disable-pip-version-check", "no-color", "cache-dir", "no-cache-dir", "timeout", "retries", "proxy",
    "cert", "client-cert", "keyring-provider", "exists-action", "log", "no-build-isolation",
    "no-warn-script-location", "no-warn-conflicts", "compile", "no-compile", "progress-bar",
    "root-user-action", "upgrade-strategy", "no-clean", "src", "config-settings", "resume-retries",
    "isolated", "requirement", "editable", "no-python-version-warning", "use-feature", "use-deprecated",
    "debug", "require-virtualenv", "no-proxy-env", "break-system-packages", "check-build-dependencies",
    "use-pep517", "uploaded-prior-to", "refresh-package", "all-releases", "only-final",
})

OutcomeKind = Literal["satisfied", "installed", "dry-run", "rejected", "failed"]
DateLookup = Callable[[Sequence[str]], Mapping[str, Mapping[str, str]]]

EXIT_REJECTED = 10


# -- what the core is given ------------------------------------------------------------


class Situation:
    """Everything the core knows about one guarded install, read at the edge.

    A plain class, read-only by convention (nothing sets its attributes): not a NamedTuple, as
    ``cached_property`` needs an instance ``__dict__``; not a dataclass, which costs a command's
    start-up (docs/development.md).
    """

    def __init__(self, request: InstallRequest, distributions: Mapping[NormalizedName, Distribution],
                 markers: MarkerEnvironment, roots: Mapping[NormalizedName, Root] = EMPTY,
                 standing: tuple[StandingConstraint, ...] = (), policy: Policy = "compatible",
                 outside: OutsidePolicy = "ignore", allow_older_major: bool = False, txn_id: int = 0,
                 now: str = "", pipguard_here: str = "", release_dates: DateLookup | None = None,
                 standing_passed: frozenset[str] = frozenset()) -> None:
        self.request = request
        self.distributions = distributions  # what imports see: own, and outside ones
        self.markers = markers
        self.roots = roots
        self.standing = standing
        self.policy = policy
        self.outside = outside
        self.allow_older_major = allow_older_major
        self.txn_id = txn_id  # the id this run's transaction gets (stamped on roots it adds)
        self.now = now  # when (stamped on roots it adds)
        # the target interpreter, when pipguard itself is installed in its environment
        self.pipguard_here = pipguard_here
        # name -> version -> release day, for the words of a re-plan (given by the command from the
        # engine port; asked only when a re-plan is explained, with the names it needs)
        self.release_dates = release_dates
        # the standing files this command line itself passes to pip (-c FILE, as devstack passes its
        # upper-constraints): plain pip reads them there, so their lines are not passed again
        self.standing_passed = standing_passed

    @property
    def versions(self) -> dict[NormalizedName, str]:
        return {name: dist.version for name, dist in self.distributions.items()}

    @functools.cached_property
    def needs_before(self) -> tuple[Need, ...]:
        """Every need of the state before this install (derived once: protecting and judging share it)."""
        return tuple(all_needs(self.distributions, self.roots, self.standing, self.markers, self.outside))

    @functools.cached_property
    def versions_read(self) -> frozenset[NormalizedName]:
        """The names whose planned version a judgement of this install reads: those a need with a
        specifier names (an earlier project's, a root's, a standing line, a strict pin). A new
        distribution no such need names is judged by its own requirements, which the engine's plan
        meets by construction."""
        needs = (*self.needs_before, *strict_needs(self))
        names = {need.name for need in needs if need.specifier}
        return frozenset(names | {name for name, root in roots_after(self).items() if root.specifier})

    @functools.cached_property
    def broken_before(self) -> tuple[Violation, ...]:
        """The needs already unmet before this install."""
        return tuple(guarded_violations(self.distributions, self.needs_before, self.outside))


# -- what must keep holding ------------------------------------------------------------


def _key(violation: Violation) -> tuple[str, str, str, str]:
    need = violation.need
    return (need.kind, need.source, need.name, need.specifier)


class Protection(NamedTuple):
    """What pip must not be allowed to break, as needs (and as constraints)."""

    needs: tuple[Need, ...]
    preexisting: tuple[Violation, ...]  # already unmet: reported, never demanded

    def constraints(self, passed: Collection[str] = ()) -> Constraints:
        """Every need as a constraint, but the standing ones of the files in *passed*, which
        the command line passes to pip itself (``Situation.standing_passed``)."""
        return merge_specifiers(n for n in self.needs if not (n.kind == "standing" and n.source in passed))

    def standing_constraints(self, passed: Collection[str] = ()) -> Constraints:
        """The standing constraints alone: applied to plain pip's runs too, but for those of the
        files in *passed*, which the command line passes to pip itself."""
        return merge_specifiers(n for n in self.needs if n.kind == "standing" and n.source not in passed)

    def binding(self, name: NormalizedName) -> list[Need]:
        """Needs on *name* that plain pip would not have (earlier projects, strict pins)."""
        return [n for n in self.needs if n.name == name and n.kind != "standing" and n.specifier]


def protect(s: Situation) -> Protection:
    """The needs turned into constraints for a guarded run.

    A requested project's own old needs are dropped (the user is asking for it
    again, maybe at another version: its new needs are checked after), and so
    are needs already unmet (never make it worse, but do not demand a repair).
    ``strict`` pins everything installed; ``replan`` keeps only roots and
    standing constraints (the roots are resolved again with the request).
    """
    asked = set(s.request.names)
    needs = s.needs_before
    broken = s.broken_before
    broken_keys = {_key(v) for v in broken}
    kept = [
        need for need in needs
        if need.source not in asked and (need.kind, need.source, need.name, need.specifier) not in broken_keys
    ]
    if s.policy == "replan":
        kept = [need for need in kept if need.kind in ("root", "standing")]
    kept += strict_needs(s)
    return Protection(tuple(sorted_needs(kept)), tuple(broken))


def strict_needs(s: Situation) -> list[Need]:
    """Under ``strict``, every installed version stays as it is."""
    if s.policy != "strict":
        return []
    return [
        Need(name, f"=={dist.version}" if _is_version(dist.version) else f"==={dist.version}",
             "the strict policy", kind="strict", source=name)
        for name, dist in guarded_distributions(s.distributions, s.outside).items()
    ]


def _is_version(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


# -- judging a plan ---------------------------------------------------------------------


def overlay(
    before: Mapping[NormalizedName, Distribution], plan: Iterable[PlannedInstall]
) -> dict[NormalizedName, Distribution]:
    """The end state: what is installed, with the plan laid on top (inside the environment)."""
    after = dict(before)
    for item in plan:
        after[item.name] = item.as_distribution()
    return after


class Judgement(NamedTuple):
    """How an end state compares with the state before."""

    blocking: tuple[Violation, ...]  # earlier projects that would break
    warnings: tuple[Violation, ...]  # needs of what this install brings, unmet
    preexisting: tuple[Violation, ...]  # already broken before: reported only


def judge_states(
    before: Mapping[NormalizedName, Distribution],
    after: Mapping[NormalizedName, Distribution],
    roots_before: Mapping[NormalizedName, Root],
    roots_after: Mapping[NormalizedName, Root],
    standing: Sequence[StandingConstraint],
    markers: MarkerEnvironment,
    outside: OutsidePolicy = "ignore",
    pinned: Sequence[Need] = (),
    old: Sequence[Violation] | None = None,
) -> Judgement:
    """*pinned*: needs that hold before by definition (the strict policy's pins); *old*: the
    violations of the state before, when they are known already."""
    if old is None:
        old = guarded_violations(before, all_needs(before, roots_before, standing, markers, outside), outside)
    new = guarded_violations(after, [*all_needs(after, roots_after, standing, markers, outside), *pinned], outside)
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


def judge(s: Situation, plan: Sequence[PlannedInstall]) -> Judgement:
    """Would installing *plan* here break an earlier project?"""
    return judge_states(s.distributions, overlay(s.distributions, plan), s.roots,
                        roots_after(s, plan), s.standing, s.markers, s.outside, strict_needs(s), s.broken_before)


# -- roots ------------------------------------------------------------------------------


def _root_for(item: Requested, s: Situation) -> Root | None:
    req = item.requirement
    if req is None or not marker_applies(req.marker, s.markers):
        return None
    return Root(
        name=canonicalize_name(req.name),
        display_name=req.name,
        specifier=str(req.specifier),
        extras=tuple(sorted(req.extras)),
        url=redact(req.url) if req.url else None,
        added_by=s.txn_id,
        added_at=s.now,
    )


def _same(old: Root, new: Root) -> bool:
    return (old.specifier, old.extras, old.url, old.editable, old.kind) == (
        new.specifier, new.extras, new.url, new.editable, new.kind)


def _keeping_source(old: Root | None, new: Root, installed: Distribution | None) -> Root:
    """An editable or URL root asked for again by name (devstack's ``pip_install_gr_extras`` after
    ``setup_dev_lib``): pip keeps the checkout that is installed when it satisfies the request, so
    the root keeps its source (a rollback or upgrade puts that back), with the extras of both."""
    if old is None or installed is None:
        return new
    if old.editable:
        still = installed.editable == old.editable
    else:
        still = old.url is not None and installed.url is not None and redact(installed.url) == old.url
    if not still:
        return new  # not (or no longer) installed from there
    extras = tuple(sorted(set(old.extras) | set(new.extras)))
    return new._replace(editable=old.editable, url=old.url, extras=extras)


def roots_after(s: Situation, plan: Sequence[PlannedInstall] = ()) -> dict[NormalizedName, Root]:
    """The ledger's roots after this request: what the user asked for, and how.

    A root asked for again keeps its transaction unless something about it
    changed; an editable asked for again without the extras recorded earlier
    keeps them (the user removes extras by asking with others, or uninstalling).
    """
    result = dict(s.roots)
    by_name: dict[NormalizedName, Root] = {}
    for item in s.request.requested:
        if item.kind in ("named", "url"):
            new = _root_for(item, s)
            if new is None:
                continue
            old = result.get(new.name)
            if item.kind == "named":
                by_name[new.name] = new
                new = _keeping_source(old, new, s.distributions.get(new.name))
            if old is None or not _same(old, new):
                result[new.name] = new
    for planned in plan:
        named, kept = by_name.get(planned.name), result.get(planned.name)
        if named is not None and kept is not None and (kept.editable or kept.url) \
                and not (planned.editable or planned.url):
            result[planned.name] = named  # the engine installs it by name after all: the source goes
        if not planned.requested or not (planned.editable or planned.url) or planned.name in s.request.names:
            continue
        old = result.get(planned.name)
        extras = tuple(sorted(set(planned.requested_extras) | set(old.extras if old else ())))
        new = Root(planned.name, planned.display_name, extras=extras, editable=planned.editable,
                   url=redact(planned.url) if planned.url else None, added_by=s.txn_id, added_at=s.now)
        if old is not None and _same(old, new._replace(kind=old.kind)):
            continue
        result[planned.name] = new if old is None else new._replace(added_by=s.txn_id)
    return result


# -- the fast path ----------------------------------------------------------------------


def fast_path_settings_only(request: InstallRequest) -> bool:
    return set(request.settings) <= FAST_PATH_SETTINGS and not request.unknown_options


def versions_satisfy(request: InstallRequest, versions: Mapping[NormalizedName, str], markers: MarkerEnvironment,
                     policy: str) -> bool:
    """Do these installed *versions* already meet the request, as far as versions alone can tell?

    The first half of ``satisfied``; the command also asks it of the environment as it was last
    seen, to guess whether an install will need pip at all before the environment is read again.
    """
    if policy == "replan" or request.dry_run or request.report or request.remote_files:
        return False
    if not request.requested or any(r.kind != "named" for r in request.requested):
        return False
    if not fast_path_settings_only(request):
        return False
    for item in request.requested:
        req = item.requirement
        assert req is not None
        if not marker_applies(req.marker, markers):
            continue
        installed = versions.get(canonicalize_name(req.name))
        if installed is None or not version_satisfies(installed, req.specifier):
            return False
    for line in request.constraints:
        limit = line.requirement
        name = canonicalize_name(limit.name)
        if name in versions and marker_applies(limit.marker, markers) and (
                limit.url or not version_satisfies(versions[name], limit.specifier)):
            return False
    return True


def satisfied(s: Situation) -> bool:
    """Can it be proved, without the engine, that pip would change nothing?"""
    if not versions_satisfy(s.request, s.versions, s.markers, s.policy):
        return False
    # Nothing would change, so one look at the end state is the whole judgement:
    # every need met (none new, none already broken for pip to repair).
    after = roots_after(s)
    if after == s.roots:  # asked for again as it was: the end state is the state before, derived once
        return not s.broken_before
    needs = all_needs(s.distributions, after, s.standing, s.markers, s.outside)
    return not guarded_violations(s.distributions, needs, s.outside)


# -- the outcome ------------------------------------------------------------------------


class Outcome(NamedTuple):
    """What happened, what to say, and what to record."""

    kind: OutcomeKind
    returncode: int = 0
    messages: tuple[str, ...] = ()  # pipguard's words for the user (stderr), the verdict first
    stdout: tuple[str, ...] = ()  # lines pip would have printed itself (stdout)
    roots: Mapping[NormalizedName, Root] | None = None  # the roots to record
    plan: tuple[PlannedInstall, ...] = ()
    reason: str = ""  # recorded with the transaction
    engine_output: str = ""  # everything the engine printed (for -v and the log)
    held_output: str = ""  # what the engine printed and was not shown yet
    show_engine_output: bool = False  # the engine's own words are passed on: show held_output once
    report: str | None = None  # the installed plan as pip's --report JSON
    began: bool = False  # a transaction was begun (the engine was asked to install)
    signal: int | None = None  # pipguard was told to stop (SIGINT, SIGTERM) while the engine ran
    killed: bool = False  # the engine was killed by someone else


# -- choosing ----------------------------------------------------------------------------


def _major(version: str) -> int | None:
    try:
        return Version(version).release[0]
    except (InvalidVersion, IndexError):
        return None


class Difference(NamedTuple):
    """Where pipguard's plan and plain pip's differ, for one project."""

    name: NormalizedName
    display_name: str
    chosen: str | None  # what pipguard installs (None: left as it is)
    plain: str  # what plain pip would install
    installed: str | None  # what is installed now
    requested: bool
    from_source: bool = False  # what pipguard installs is built from a source distribution

    @property
    def held_back(self) -> bool:
        return self.chosen is None

    @property
    def older_major(self) -> bool:
        chosen = _major(self.chosen or self.installed or "")
        plain = _major(self.plain)
        return chosen is not None and plain is not None and chosen < plain


def differences(s: Situation, chosen: Sequence[PlannedInstall], plain: Sequence[PlannedInstall]) -> list[Difference]:
    ours = {item.name: item for item in chosen}
    installed = s.versions
    found = []
    for item in plain:
        mine = ours.get(item.name)
        if mine is not None and mine.version == item.version:
            continue
        if mine is None and installed.get(item.name) == item.version:
            continue
        found.append(Difference(item.name, item.display_name, mine.version if mine else None, item.version,
                                installed.get(item.name), item.requested or item.name in s.request.names,
                                mine is not None and built_from_source(mine)))
    return found


_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar")


def built_from_source(item: PlannedInstall) -> bool:
    """Is the file the engine chose a source distribution (built here, maybe for long)?"""
    archive = (item.archive or "").split("#", 1)[0].split("?", 1)[0].lower()
    return not (item.editable or item.url) and archive.endswith(_SDIST_SUFFIXES)


def may_have_replanned(s: Situation, protection: Protection, found: Resolution) -> bool:
    """Could pipguard's constraints have made the engine choose differently from plain pip?

    Cheap signs, read before plain pip's plan is computed: the engine looked
    at several versions of something, a requested project is itself
    constrained by an earlier one, an upgrade was asked for, or a planned
    distribution moved where an earlier project's needs bound it.
    """
    request = s.request
    if found.backtracked or request.upgrade or request.value("upgrade-strategy") == "eager":
        return True
    if any(protection.binding(name) for name in request.names):
        return True
    installed = s.versions
    if any(protection.binding(item.name) for item in found.plan
           if item.name in installed and installed[item.name] != item.version):
        return True
    chosen = {**installed, **{item.name: item.version for item in found.plan}}
    return any(_newer(version, chosen.get(name)) for name, version in found.considered)


def _newer(version: str, than: str | None) -> bool:
    """Is *version* newer than *than* (a candidate the engine turned down)?"""
    if than is None:
        return False
    try:
        return Version(version) > Version(than)
    except InvalidVersion:
        return False


class _Run:
    """One guarded install being decided (mutable only while the engine runs)."""

    def __init__(self, s: Situation, engine: Engine, protection: Protection, explainer: Explainer) -> None:
        self.s = s
        self.engine = engine
        self.protection = protection
        self.explainer = explainer
        self.notes: list[str] = []
        self.stop_reason = ""
        # plain pip's plan, when it would break an earlier project (what a re-plan is explained against)
        self.plain_blocking: tuple[Violation, ...] = ()
        self._judged: dict[tuple[PlannedInstall, ...], Judgement] = {}

    def judge(self, plan: Sequence[PlannedInstall]) -> Judgement:
        """``judge``, once per plan (the approval's judgement is the outcome's too)."""
        key = tuple(plan)
        if key not in self._judged:
            self._judged[key] = judge(self.s, key)
        return self._judged[key]

    def plain_invocation(self, show_output: bool = False) -> Invocation:
        # a standing file the command line passes itself reaches pip from there, but not pip's
        # isolated builds (a -c file does not): those still get every standing line
        build = self.protection.standing_constraints()
        passed = self.s.standing_passed
        runtime = self.protection.standing_constraints(passed) if passed else build  # merged once when equal
        return Invocation(self.s.request, runtime, build, show_output=show_output, needs_requirements=False,
                          versions_read=self.s.versions_read)

    def guarded_invocation(self, show_resolution: bool = True) -> Invocation:
        # as in plain pip's run: a standing file the command line passes reaches pip from there
        # (its builds, which a -c file does not reach, get everything)
        build = self.protection.constraints()
        passed = self.s.standing_passed
        runtime = self.protection.constraints(passed) if passed else build  # merged once when equal
        return Invocation(self.s.request, runtime, build, joint_roots(self.s),
                          show_resolution=show_resolution, needs_requirements=False,
                          versions_read=self.s.versions_read)

    def approve_plain(self, found: Resolution) -> Approval:
        """Plain pip's own plan: installed as it is when it keeps every earlier project."""
        verdict = self.judge(found.plan)
        if not verdict.blocking:
            return Approval(True)
        self.plain_blocking = verdict.blocking
        return Approval(False, "plain pip's plan would break an earlier project")

    def approve_against(self, plain: Resolution) -> Approver:
        """The guarded plan, found after plain pip's plan (*plain*) was stopped: take it, or stop."""
        def approve(found: Resolution) -> Approval:
            verdict = self.judge(found.plan)
            if verdict.blocking:
                self.stop_reason = rejection(self.explainer, verdict.blocking, found.plan)
                return Approval(False, self.stop_reason, described_again=False)
            return self.explain(found, plain.plan, self.plain_blocking)
        return approve

    def approve(self, found: Resolution) -> Approval:
        """The engine found a plan inside the protections first (the replan policy): take it, or stop."""
        verdict = self.judge(found.plan)
        if verdict.blocking:
            self.stop_reason = rejection(self.explainer, verdict.blocking, found.plan)
            return Approval(False, self.stop_reason, described_again=False)
        if not may_have_replanned(self.s, self.protection, found):
            return Approval(True)
        plain = self.engine.resolve(self.plain_invocation())
        if not plain.ok:
            return Approval(True)  # plain pip has no plan here: pipguard's is the only one
        plain_verdict = self.judge(plain.plan)
        if not plain_verdict.blocking:
            return Approval(True)  # plain pip's plan is as good: nothing to tell
        return self.explain(found, plain.plan, plain_verdict.blocking)

    def explain(self, found: Resolution, plain_plan: Sequence[PlannedInstall],
                plain_blocking: Sequence[Violation]) -> Approval:
        """Plain pip's plan breaks an earlier project; *found* does not: say what was chosen instead."""
        found_differences = differences(self.s, found.plan, plain_plan)
        majors = [d for d in found_differences if d.requested and d.older_major and not d.held_back]
        if majors and not self.s.allow_older_major:
            dates = self.dates([d.display_name for d in majors])
            self.stop_reason = major_rejection(self.explainer, majors, plain_blocking, plain_plan, dates)
            return Approval(False, self.stop_reason, described_again=False)
        told = [d for d in found_differences if d.requested]
        dates = self.dates([d.display_name for d in told if not d.held_back])
        for difference in told:
            if difference.held_back:
                self.notes.append(held_back_message(self.explainer, difference, plain_blocking, plain_plan))
            else:
                self.notes.append(replan_message(self.explainer, difference, plain_blocking, plain_plan,
                                                 dates.get(difference.name)))
        return Approval(True)

    def dates(self, names: Sequence[str]) -> dict[str, Mapping[str, str]]:
        """Release days of *names* (by canonical name), where the command gave a way to know them."""
        lookup = self.s.release_dates
        if lookup is None or not names:
            return {}
        return {canonicalize_name(name): days for name, days in lookup(names).items()}


def plain_invocation_ahead(request: InstallRequest, standing: Sequence[StandingConstraint],
                           markers: MarkerEnvironment, passed: Collection[str] = ()) -> Invocation:
    """Plain pip's first run of an install, as ``decide_install`` will ask for it, known before the
    environment is read: the user's request with the standing constraints, markers evaluated for
    *markers* (the target's, as last seen), but for those of the files in *passed* (the command
    line passes them to pip itself: ``Situation.standing_passed``; its isolated builds still get
    them). Only a standing constraint the environment already breaks (left out of that run) makes
    the two differ; the engine then starts again."""
    needs = [need for item in standing for need in standing_needs([item.requirement], item.source, markers)]
    build = merge_specifiers(needs)
    runtime = merge_specifiers(need for need in needs if need.source not in passed) if passed else build
    return Invocation(request, runtime, build, show_output=True, needs_requirements=False)


def joint_roots(s: Situation) -> tuple[str, ...]:
    """Under ``replan``, every earlier root is resolved again with the request."""
    if s.policy != "replan":
        return ()
    return tuple(
        root.requirement
        for root in sorted(s.roots.values(), key=lambda r: r.name)
        if not (root.editable or root.url) and root.name not in s.request.names and root.kind == "requested"
    )


def _preexisting_notes(protection: Protection) -> list[str]:
    return [f"pipguard: already broken before this install (not blocking): {v.describe()}."
            for v in protection.preexisting]


def decide_satisfied(s: Situation) -> Outcome | None:
    """The fast path alone: the outcome of an install already satisfied (proved without any
    engine, so none need be made), or None when the engine must run."""
    if not satisfied(s):
        return None
    return _satisfied(s, _preexisting_notes(protect(s)))


def decide_install(s: Situation, engine: Engine, begin: Callable[[Mapping[NormalizedName, Root]], None]) -> Outcome:
    """One guarded ``pip install``: the whole decision, the engine's runs included.

    *begin* is called, with the roots the request means to add, right before
    the engine may change anything (the command records a pending transaction).

    Plain first: the engine resolves the user's own command as plain pip
    would, and that plan is judged before anything changes. When it keeps
    every earlier project, it is installed as it is (one run, nothing added).
    Only when it would break one is it stopped, and the request resolved
    again inside the protections: a re-plan, explained against the plain plan
    already in hand, or a rejection. Under ``replan`` every root is resolved
    again with the request, which plain pip never does: the guarded run comes
    first there.
    """
    protection = protect(s)
    explainer = Explainer(s.request, s.distributions, s.roots, s.markers, s.request.constraints,
                          pipguard_here=s.pipguard_here)
    notes = _preexisting_notes(protection)
    if satisfied(s):
        return _satisfied(s, notes)
    run = _Run(s, engine, protection, explainer)
    if s.request.dry_run:
        return _dry_run(run, notes)
    begin(roots_after(s))
    if s.policy == "replan":
        return _guarded_first(run, notes)
    first = engine.install(run.plain_invocation(show_output=True), run.approve_plain)
    if first.ok:
        return _installed(run, first, notes)
    failure = first.failure
    assert failure is not None
    if failure.kind != "stopped":
        if failure.kind == "impossible":
            return _explain_plain_failure(run, first, notes)
        return _failed(first, notes)
    # plain pip's plan would break an earlier project: nothing changed; look inside the protections
    guarded = engine.install(run.guarded_invocation(show_resolution=False), run.approve_against(first))
    logged = first.output + guarded.output
    if guarded.ok:
        return _installed(run, guarded, notes)._replace(engine_output=logged)
    failure = guarded.failure
    assert failure is not None
    if failure.kind == "stopped":
        return Outcome("rejected", EXIT_REJECTED, (*notes, run.stop_reason), reason=run.stop_reason,
                       engine_output=logged, began=True)
    if failure.kind in ("impossible", "no-match") or failure.from_older_candidate:
        message = rejection(explainer, run.plain_blocking, first.plan, failure=failure)
        return Outcome("rejected", EXIT_REJECTED, (*notes, message), reason=message, engine_output=logged,
                       began=True)
    return _failed(guarded, notes)


def _guarded_first(run: _Run, notes: list[str]) -> Outcome:
    """The replan policy: every root resolved again with the request, inside the protections."""
    found = run.engine.install(run.guarded_invocation(), run.approve)
    if found.ok:
        return _installed(run, found, notes)
    failure = found.failure
    assert failure is not None
    if failure.kind == "stopped":
        # pip was stopped by pipguard before it changed anything: it has no failure of its own to tell
        return Outcome("rejected", EXIT_REJECTED, (*notes, run.stop_reason), reason=run.stop_reason, began=True)
    if failure.kind in ("impossible", "no-match") or failure.from_older_candidate:
        return _outside_protections(run, found, notes)
    return _failed(found, notes)


def _satisfied(s: Situation, notes: list[str]) -> Outcome:
    lines = []
    if not s.request.quiet:
        versions = s.versions
        for item in s.request.requested:
            name = item.name
            if name is not None and name in versions:
                lines.append(f"Requirement already satisfied: {item.text} ({versions[name]})")
    roots = roots_after(s)
    return Outcome("satisfied", 0, tuple(notes), tuple(lines), roots if roots != dict(s.roots) else None)


def _installed(run: _Run, found: Resolution, notes: list[str]) -> Outcome:
    s = run.s
    verdict = run.judge(found.plan)
    messages = [*notes, *run.notes]
    for violation in verdict.warnings:
        messages.append(f"pipguard: warning: {violation.describe()} (installed with unmet requirements).")
    messages += run.explainer.moved_roots(found.plan)
    messages += shadow_notes(s.distributions, found.plan)
    return Outcome("installed", 0, tuple(messages), roots=roots_after(s, found.plan), plan=found.plan,
                   engine_output=found.output, held_output=found.held, show_engine_output=True,
                   report=found.report, began=True)


def _failed(found: Resolution, notes: list[str], began: bool = True) -> Outcome:
    failure = found.failure
    assert failure is not None
    code = exit_status(failure.returncode, failed=True)
    reason = failure.summary or f"pip exited with {failure.returncode}"
    killed = failure.kind == "killed" and failure.signal is None and failure.returncode < 0
    if killed:
        reason = f"pip was killed by signal {_signal_name(-failure.returncode)}"
        notes = [*notes, f"pipguard: {reason}; what it changed before it stopped is recorded in the ledger. "
                 "Run 'pipguard check' to see the environment's state."]
    return Outcome("failed", code, tuple(notes), tuple(found.unshown.splitlines()), reason=reason,
                   engine_output=found.output, held_output=found.held, show_engine_output=True, began=began,
                   signal=failure.signal, killed=killed)


def _signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _outside_protections(run: _Run, guarded: Resolution, notes: list[str]) -> Outcome:
    """No plan inside the protections: judge plain pip's own plan.

    The protections are a little stricter than "every earlier project keeps
    working" (an old need stays in force even when pip would move the one who
    needs it), and looking for older versions can fail for reasons of its own
    (an old source release that no longer builds): plain pip's plan decides.
    """
    s = run.s
    plain = run.engine.resolve(run.plain_invocation())
    if not plain.ok:
        return _explain_plain_failure(run, plain, notes)
    verdict = judge(s, plain.plan)
    failure = guarded.failure
    assert failure is not None
    if verdict.blocking:
        message = rejection(run.explainer, verdict.blocking, plain.plan, failure=failure)
        return Outcome("rejected", EXIT_REJECTED, (*notes, message), reason=message,
                       engine_output=guarded.output + plain.output, began=True)
    exact = Invocation(s.request, _pins(plain.plan), run.protection.constraints(), joint_roots(s))
    installed = run.engine.install(exact, approve_all)
    if not installed.ok:
        return _failed(installed, notes)
    return _installed(run, installed, notes)


def _explain_plain_failure(run: _Run, plain: Resolution, notes: list[str]) -> Outcome:
    """Plain pip cannot install the request here either: say whose requirements clash."""
    failure = plain.failure
    assert failure is not None
    blame = run.explainer.blame_conflict(failure, run.s.standing)
    if blame:
        return Outcome("rejected", EXIT_REJECTED, (*notes, blame), reason=blame, engine_output=plain.output,
                       began=True)
    return _failed(plain, notes)


def _pins(plan: Sequence[PlannedInstall]) -> Constraints:
    from packaging.specifiers import SpecifierSet

    return {
        item.name: SpecifierSet(f"=={item.version}" if _is_version(item.version) else f"==={item.version}")
        for item in plan if not (item.editable or item.url)
    }


def _dry_run(run: _Run, notes: list[str]) -> Outcome:
    """The user asked for --dry-run: say what would happen, change nothing (plain first, as an install)."""
    s = run.s
    if s.policy == "replan":
        return _dry_run_guarded_first(run, notes)
    plain = run.engine.resolve(run.plain_invocation())
    if not plain.ok:
        failure = plain.failure
        assert failure is not None
        if failure.kind == "impossible":
            return _explain_plain_failure(run, plain, notes)._replace(began=False)
        return _failed(plain, notes, began=False)
    if run.approve_plain(plain).proceed:
        return Outcome("dry-run", 0, tuple(notes), _would_install(plain.plan), plan=plain.plan,
                       engine_output=plain.output, report=plain.report)
    found = run.engine.resolve(run.guarded_invocation())
    answered = _guarded_dry_run(run, found, run.approve_against(plain), notes, plain.output)
    if answered is not None:
        return answered
    assert found.failure is not None
    message = rejection(run.explainer, run.plain_blocking, plain.plan, failure=found.failure)
    return Outcome("rejected", EXIT_REJECTED, (*notes, message), reason=message,
                   engine_output=plain.output + found.output)


def _guarded_dry_run(run: _Run, found: Resolution, approve: Approver, notes: list[str],
                     earlier_output: str = "") -> Outcome | None:
    """A guarded dry run's answer: its plan (approved or refused), or its own failure passed on;
    None when it found no plan within the protections (the caller explains that)."""
    if found.ok:
        if not approve(found).proceed:
            return Outcome("rejected", EXIT_REJECTED, (*notes, run.stop_reason), reason=run.stop_reason,
                           engine_output=earlier_output + found.output)
        return Outcome("dry-run", 0, (*notes, *run.notes), _would_install(found.plan), plan=found.plan,
                       engine_output=found.output, report=found.report)
    failure = found.failure
    assert failure is not None
    if not (failure.kind in ("impossible", "no-match") or failure.from_older_candidate):
        return _failed(found, notes, began=False)
    return None


def _dry_run_guarded_first(run: _Run, notes: list[str]) -> Outcome:
    """--dry-run under the replan policy: every root resolved again with the request."""
    s = run.s
    found = run.engine.resolve(run.guarded_invocation())
    answered = _guarded_dry_run(run, found, run.approve, notes)
    if answered is not None:
        return answered
    failure = found.failure
    assert failure is not None
    plain = run.engine.resolve(run.plain_invocation())
    if not plain.ok:
        outcome = _explain_plain_failure(run, plain, notes)
        return outcome._replace(began=False)
    verdict = judge(s, plain.plan)
    if verdict.blocking:
        message = rejection(run.explainer, verdict.blocking, plain.plan, failure=failure)
        return Outcome("rejected", EXIT_REJECTED, (*notes, message), reason=message,
                       engine_output=found.output + plain.output)
    return Outcome("dry-run", 0, tuple(notes), _would_install(plain.plan), plan=plain.plan,
                   engine_output=plain.output, report=plain.report)


def _would_install(plan: Sequence[PlannedInstall]) -> tuple[str, ...]:
    if not plan:
        return ()
    items = sorted((item.display_name, item.version) for item in plan)
    return ("Would install " + " ".join(f"{name}-{version}" for name, version in items),)


# -- uninstalling ------------------------------------------------------------------------


def removal_blockers(
    dists: Mapping[NormalizedName, Distribution],
    roots: Mapping[NormalizedName, Root],
    standing: Sequence[StandingConstraint],
    markers: MarkerEnvironment,
    removed: set[NormalizedName],
    outside: OutsidePolicy = "ignore",
) -> tuple[Violation, ...]:
    """What would lose something it needs if *removed* were uninstalled."""
    after = {name: dist for name, dist in dists.items() if name not in removed}
    roots_left = {name: root for name, root in roots.items() if name not in removed}
    return judge_states(dists, after, roots, roots_left, standing, markers, outside).blocking

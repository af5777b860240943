"""The upgrade decision over the engine port (pure: the engine runs processes, not this).

Given the planner's spec (``upgrade_plan``) and an engine:

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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from pipguard.core.constraints import Violation
from pipguard.core.decide import overlay
from pipguard.core.model import PlannedInstall
from pipguard.core.names import NormalizedName
from pipguard.core.verdicts import Explainer
from pipguard.engines.base import Approval, Engine, Failure, Invocation, Resolution
from pipguard.maintenance.upgrade import UpgradeAssessment, UpgradeSituation, UpgradeSpec, Who, assess, newer_exists
from pipguard.pip.request import InstallRequest

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
    after = replace(explainer, distributions=overlay(explainer.distributions, plan))
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


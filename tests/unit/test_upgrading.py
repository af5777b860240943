"""maintenance/upgrade.py, the decision: decide_upgrade over a fake engine (every branch, no pip runs).

The fake engine tells the look-up run (``--no-deps``) from the upgrade's
resolve by the request's settings, and answers each from a table.
"""

from __future__ import annotations

from collections.abc import Sequence

from packaging.utils import canonicalize_name as cn

from pipguard.core.verdicts import Explainer
from pipguard.engines.base import Invocation, Resolution
from pipguard.maintenance.upgrade import (
    UpgradeAssessment,
    UpgradeOutcome,
    UpgradeSituation,
    decide_upgrade,
    plan_upgrade,
)
from pipguard.pip.request import InstallRequest, read_install
from tests.support.fakes import FakeEngine, fails, ok, planned
from tests.unit.test_upgrade_plan import DISTS, ENV, ROOTS, situation

NO_CONFIG = {"PIP_CONFIG_FILE": "/dev/null"}


def request_for(requirements: Sequence[str], extra: Sequence[str]) -> InstallRequest:
    return read_install([*extra, *requirements], "/nonexistent", NO_CONFIG)


def is_lookup(invocation: Invocation) -> bool:
    return invocation.request.flag("no-deps")


class Terminal:
    """Stands for the command's edge: what was shown, and when the transaction began."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.shown: list[UpgradeAssessment] = []

    def show(self, assessment: UpgradeAssessment) -> None:
        self.events.append("show")
        self.shown.append(assessment)

    def begin(self) -> None:
        self.events.append("begin")


def decide(engine: FakeEngine, s: UpgradeSituation | None = None, dry_run: bool = False,
           terminal: Terminal | None = None) -> UpgradeOutcome:
    s = s or situation(DISTS, ROOTS)
    terminal = terminal or Terminal()
    explainer = Explainer(request_for((), ()), s.distributions, s.roots, ENV)
    return decide_upgrade(s, plan_upgrade(s), engine, request_for, explainer, dry_run=dry_run,
                          show=terminal.show, begin=terminal.begin)


def answers(lookup: Resolution, plan: Resolution) -> FakeEngine:
    return FakeEngine(lambda inv: lookup if is_lookup(inv) else plan)


NEWER = ok(planned("A", "2.0", "B>=1.0"), planned("B", "2.0"), planned("C", "1.1", "B>=2.0"), planned("G", "1.2", "K"),
           planned("K", "1.1"))


def test_nothing_newer_ends_after_one_cheap_look_up() -> None:
    engine = answers(ok(), ok(planned("K", "1.1")))
    terminal = Terminal()
    outcome = decide(engine, terminal=terminal)
    assert outcome.kind == "nothing" and "newest release" in outcome.message
    assert engine.kinds() == ["resolve"] and terminal.events == []
    lookup = engine.calls[0][1]
    assert lookup.request.flag("upgrade") and not lookup.constraints  # the newest the way pip sees it
    assert [r.text for r in lookup.request.requested] == ["A", "B", "C", "G", "K"]


def test_the_upgrade_is_one_eager_resolve_of_every_root_under_the_protections() -> None:
    engine = answers(NEWER, ok(planned("A", "1.5", "B>1.0,<2.0"), planned("K", "1.1")))
    terminal = Terminal()
    outcome = decide(engine, terminal=terminal)
    assert outcome.kind == "upgraded" and outcome.began
    assert engine.kinds() == ["resolve", "install"]
    upgrade = engine.calls[1][1]
    assert upgrade.request.value("upgrade-strategy") == "eager"
    assert [r.text for r in upgrade.request.requested] == ["A>=1.0", "C", "G==1.0"]
    assert str(upgrade.constraints[cn("a")]) == "<2,>=1.0"
    assert terminal.events == ["show", "begin"]  # the plan is shown before the transaction begins
    assessment = terminal.shown[0]
    assert [(m.name, m.before, m.after) for m in assessment.moves] == [("a", "1.0", "1.5"), ("k", "1.0", "1.1")]
    assert {h.name: h.kind for h in assessment.holds} == {"a": "major", "c": "requirement", "g": "root"}


def test_a_dry_run_resolves_shows_and_never_installs() -> None:
    engine = answers(NEWER, ok(planned("K", "1.1")))
    terminal = Terminal()
    outcome = decide(engine, dry_run=True, terminal=terminal)
    assert outcome.kind == "dry-run" and not outcome.began
    assert engine.kinds() == ["resolve", "resolve"] and terminal.events == ["show"]


def test_a_plan_that_would_break_an_earlier_project_is_refused_before_anything_changes() -> None:
    # an engine that ignored a constraint: the core judges the plan anyway
    s = situation(DISTS, ROOTS, names=("C",))
    engine = answers(NEWER, ok(planned("C", "1.1", "B>=2.0"), planned("B", "2.0")))
    terminal = Terminal()
    outcome = decide(engine, s, terminal=terminal)
    assert outcome.kind == "rejected" and not outcome.began and terminal.events == []
    assert engine.approvals[0].proceed is False
    assert outcome.message.splitlines() == [
        "pipguard: not upgrading: the plan would break earlier projects.",
        "  A 1.0 (root, transaction 2) needs b<2.0,>1.0; the upgrade would bring b 2.0.",
        "Nothing was changed.",
    ]
    dry = decide(answers(NEWER, ok(planned("C", "1.1", "B>=2.0"), planned("B", "2.0"))), s, dry_run=True)
    assert dry.kind == "rejected" and dry.message == outcome.message


def test_newer_releases_that_are_all_held_back_end_with_nothing_to_record() -> None:
    engine = answers(NEWER, ok())
    terminal = Terminal()
    outcome = decide(engine, terminal=terminal)
    assert outcome.kind == "nothing" and not outcome.began
    assert terminal.events == ["show"]  # what held them back is still shown
    assert outcome.assessment is not None and {h.name for h in outcome.assessment.holds} == {"a", "c", "g"}


def test_a_failed_look_up_still_upgrades_without_explanations() -> None:
    engine = answers(fails("other", summary="ERROR: index down"), ok(planned("K", "1.1")))
    outcome = decide(engine)
    assert outcome.kind == "upgraded" and not outcome.newest_known
    assert outcome.lookup_failure == "ERROR: index down"
    assert outcome.assessment is not None and outcome.assessment.holds == ()


def test_an_engine_failure_is_passed_on_and_says_whether_anything_may_have_changed() -> None:
    before = decide(answers(NEWER, fails("impossible")))
    assert before.kind == "failed" and not before.began and before.failure is not None

    class FailsWhileInstalling(FakeEngine):
        def install(self, invocation: Invocation, approve: object) -> Resolution:
            found = super().install(invocation, approve)  # type: ignore[arg-type]
            return fails("other") if found.ok else found

    during = decide(FailsWhileInstalling(lambda inv: NEWER if is_lookup(inv) else ok(planned("K", "1.1"))))
    assert during.kind == "failed" and during.began

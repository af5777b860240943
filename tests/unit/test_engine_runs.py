"""Plain first (issue 18): how many engine runs each install costs, and what each run carries.

Over the fake engine of test_decide (the core's own logic); the real pip and
uv engines are counted end to end in tests/integration/test_engine_runs.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from packaging.utils import canonicalize_name as cn

from pipguard.core.decide import decide_install
from pipguard.core.model import PlannedInstall, StandingConstraint
from pipguard.engines.base import Invocation, Resolution
from tests.unit.test_decide import (
    SEED,
    SEED_ROOTS,
    FakeEngine,
    Recorder,
    fails,
    guarded,
    ok,
    planned,
    situation,
)


def replan(inv: Invocation) -> Resolution:
    """Plain pip takes C 1.1 (B>=2.0, breaking A); inside the protections C 1.0 fits."""
    if guarded(inv):
        return ok(planned("C", "1.0", "B>=1.0", requested=True))
    return ok(planned("C", "1.1", "B>=2.0", requested=True), planned("B", "2.0"))


def test_an_install_that_breaks_nothing_is_one_plain_run_without_constraints() -> None:
    engine = FakeEngine(lambda inv: ok(planned("C", "1.0", "B>=1.0", requested=True)))
    begin = Recorder()
    outcome = decide_install(situation("C", dists=SEED, roots=SEED_ROOTS), engine, begin)
    assert outcome.kind == "installed" and outcome.messages == ()
    assert engine.kinds() == ["install"]
    invocation = engine.calls[0][1]
    assert invocation.constraints == {} and invocation.build_constraints == {} and invocation.also == ()
    assert invocation.show_output and invocation.show_resolution  # plain pip's own output, as pip shows it
    assert len(begin.begun) == 1


def test_plain_first_carries_only_the_standing_constraints() -> None:
    standing = (StandingConstraint("B<3", "/etc/uc.txt", 3),)
    engine = FakeEngine(lambda inv: ok(planned("C", "1.0", "B>=1.0", requested=True)))
    decide_install(situation("C", dists=SEED, roots=SEED_ROOTS, standing=standing), engine, Recorder())
    assert engine.kinds() == ["install"]
    assert {name: str(spec) for name, spec in engine.calls[0][1].constraints.items()} == {"b": "<3"}


def test_a_replan_is_two_runs_plain_then_guarded_and_explained_from_the_plain_plan() -> None:
    engine = FakeEngine(replan)
    outcome = decide_install(situation("C", dists=SEED, roots=SEED_ROOTS), engine, Recorder())
    assert outcome.kind == "installed" and engine.kinds() == ["install", "install"]
    plain, protected = engine.calls[0][1], engine.calls[1][1]
    assert not plain.constraints and guarded(protected)
    assert not protected.show_resolution  # pip's resolution text is not shown before the verdict
    assert [a.proceed for a in engine.approvals] == [False, True]  # plain pip stopped at the gate
    assert outcome.messages == (
        "pipguard: installed C 1.0 instead of 1.1, plain pip's choice here (1 minor version back): "
        "C 1.1 needs B>=2.0, but A 1.0 (root, transaction 2) needs b<2.0,>1.0.",
    )


def test_a_rejection_is_two_runs_and_keeps_both_runs_output_for_the_log() -> None:
    def answer(inv: Invocation) -> Resolution:
        if guarded(inv):
            return fails("impossible")
        return ok(planned("E", "1.0", "B>=2.0", requested=True), planned("B", "2.0"), output="plain says\n")

    engine = FakeEngine(answer)
    outcome = decide_install(situation("E", dists=SEED, roots=SEED_ROOTS), engine, Recorder())
    assert outcome.kind == "rejected" and outcome.returncode == 10 and outcome.began
    assert engine.kinds() == ["install", "install"]
    assert outcome.engine_output == "plain says\npip says: impossible\n" and not outcome.show_engine_output


def test_a_guarded_plan_that_still_breaks_an_earlier_project_is_refused_without_being_described_again() -> None:
    """Inside the protections the engine still finds a plan that breaks A: the rejection names it from
    what the engine gave, so an engine that read only part of that plan need not read the rest."""
    def answer(inv: Invocation) -> Resolution:
        return ok(planned("E", "1.0", "B>=2.0", requested=True), planned("B", "2.0"))

    engine = FakeEngine(answer)
    outcome = decide_install(situation("E", dists=SEED, roots=SEED_ROOTS), engine, Recorder())
    assert outcome.kind == "rejected" and outcome.returncode == 10
    assert [a.proceed for a in engine.approvals] == [False, False]
    assert [a.described_again for a in engine.approvals] == [True, False]  # plain pip's plan explains the refusal
    assert "A 1.0 (root, transaction 2) needs b<2.0,>1.0" in outcome.messages[-1]


def test_a_satisfied_install_runs_no_engine() -> None:
    engine = FakeEngine(lambda inv: pytest.fail("the engine must not run"))  # type: ignore[arg-type,return-value]
    begin = Recorder()
    outcome = decide_install(situation("A", dists=SEED, roots=SEED_ROOTS), engine, begin)
    assert outcome.kind == "satisfied" and engine.calls == [] and begin.begun == []


def test_a_dry_run_that_breaks_nothing_is_one_plain_resolve() -> None:
    engine = FakeEngine(lambda inv: ok(planned("C", "1.0", requested=True)))
    outcome = decide_install(situation("--dry-run", "C", dists=SEED, roots=SEED_ROOTS), engine, Recorder())
    assert outcome.kind == "dry-run" and engine.kinds() == ["resolve"] and not engine.calls[0][1].constraints


def test_a_dry_run_replan_is_two_resolves_and_says_what_would_be_chosen() -> None:
    engine = FakeEngine(replan)
    begin = Recorder()
    outcome = decide_install(situation("--dry-run", "C", dists=SEED, roots=SEED_ROOTS), engine, begin)
    assert outcome.kind == "dry-run" and engine.kinds() == ["resolve", "resolve"] and begin.begun == []
    assert outcome.stdout == ("Would install C-1.0",)
    assert any("installed C 1.0 instead of 1.1" in m for m in outcome.messages)


def test_the_replan_policy_still_resolves_every_root_inside_the_protections_first() -> None:
    engine = FakeEngine(lambda inv: ok(planned("C", "1.0", "B>=1.0", requested=True)))
    outcome = decide_install(situation("C", dists=SEED, roots=SEED_ROOTS, policy="replan"), engine, Recorder())
    assert outcome.kind == "installed" and engine.kinds() == ["install"]
    first = engine.calls[0][1]
    assert cn("a") in first.constraints and first.also == ("A",)  # every root, resolved with the request


def test_a_plain_failure_shows_what_pip_printed_before_it_failed() -> None:
    failed = Resolution(failure=fails("other").failure, output="Collecting Z\nERROR: no\n", held="ERROR: no\n",
                        unshown="Looking in links: /w\nCollecting Z\n")
    engine = FakeEngine(lambda inv: failed)
    outcome = decide_install(situation("Z", dists=SEED, roots=SEED_ROOTS), engine, Recorder())
    assert outcome.kind == "failed" and engine.kinds() == ["install"]
    assert outcome.stdout == ("Looking in links: /w", "Collecting Z") and outcome.held_output == "ERROR: no\n"


# -- the words of a re-plan (issue 19 items 23 and 25; issue 20 item 3) ----------------------------


def test_no_plan_within_the_protections_is_said_as_such_when_pip_did_not_show_that_nothing_fits() -> None:
    def answer(inv: Invocation) -> Resolution:
        if guarded(inv):
            return Resolution(failure=fails("no-match", summary="ERROR: No matching distribution found for h11")
                              .failure)
        return ok(planned("E", "1.0", "B>=2.0", requested=True), planned("B", "2.0"))

    outcome = decide_install(situation("E", dists=SEED, roots=SEED_ROOTS), FakeEngine(answer), Recorder())
    assert outcome.kind == "rejected" and outcome.returncode == 10
    assert outcome.messages[-1].splitlines() == [
        "pipguard: not installing E: plain pip's plan would break earlier projects, and pip found no plan within "
        "the protections.",
        "  A 1.0 (root, transaction 2) needs b<2.0,>1.0; this install would bring b 2.0 (E 1.0 needs B>=2.0).",
        "  (Looking for versions that keep them working, pip reported: ERROR: No matching distribution found "
        "for h11)",
        "Nothing was changed.",
    ]


def _sdist(name: str, version: str, *requires: str) -> PlannedInstall:
    item = planned(name, version, *requires, requested=True)
    return PlannedInstall(item.name, item.display_name, item.version, item.requires, True,
                          archive=f"https://files.example/{name}-{version}.tar.gz#sha256=00")


def test_a_replan_onto_a_source_distribution_says_it_is_built_from_source() -> None:
    def answer(inv: Invocation) -> Resolution:
        if guarded(inv):
            return ok(_sdist("C", "1.0", "B>=1.0"))
        return ok(planned("C", "1.1", "B>=2.0", requested=True), planned("B", "2.0"))

    outcome = decide_install(situation("C", dists=SEED, roots=SEED_ROOTS), FakeEngine(answer), Recorder())
    assert outcome.messages == (
        "pipguard: installed C 1.0 instead of 1.1, plain pip's choice here (1 minor version back; built from "
        "source): C 1.1 needs B>=2.0, but A 1.0 (root, transaction 2) needs b<2.0,>1.0.",
    )


class Dates:
    """The release dates the command gives the core (from the engine port): records what is asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, ...]] = []

    def __call__(self, names: Sequence[str]) -> Mapping[str, Mapping[str, str]]:
        self.asked.append(tuple(names))
        return {name: {"1.0": "2020-01-02", "1.1": "2024-05-01"} for name in names}


def test_release_dates_reach_the_replan_message_as_data_and_are_asked_only_for_a_replan() -> None:
    dates = Dates()
    outcome = decide_install(situation("C", dists=SEED, roots=SEED_ROOTS, release_dates=dates), FakeEngine(replan),
                             Recorder())
    assert dates.asked == [("C",)]
    assert "(1 minor version back; released 1.1 2024-05-01, 1.0 2020-01-02)" in outcome.messages[0]

    quiet = Dates()
    fits = FakeEngine(lambda inv: ok(planned("C", "1.0", requested=True)))
    decide_install(situation("C", dists=SEED, roots=SEED_ROOTS, release_dates=quiet), fits, Recorder())
    assert quiet.asked == []  # nothing to explain: the index is not asked


def test_an_older_major_refusal_carries_the_dates_too() -> None:
    def answer(inv: Invocation) -> Resolution:
        if guarded(inv):
            return ok(planned("M", "1.0", "B>=1.0", requested=True))
        return ok(planned("M", "2.0", "B>=2.0", requested=True), planned("B", "2.0"))

    dates = Dates()
    s = situation("M", dists=SEED, roots=SEED_ROOTS, release_dates=lambda names: {"M": {"2.0": "2025-01-01"}})
    outcome = decide_install(s, FakeEngine(answer), Recorder())
    assert outcome.kind == "rejected" and dates.asked == []
    assert "M 1.0 would fit, where plain pip would install 2.0 (1 major version back; released 2.0 2025-01-01)" \
        in outcome.messages[-1]
    assert cn("m") not in (outcome.roots or {})


def test_the_core_says_which_planned_versions_its_judgement_reads() -> None:
    """B (A needs B>1.0,<2.0) and a root asked for with a specifier; not a new name nothing needs."""
    s = situation("C>=1.0", "-e", "/src/leaf", dists=SEED, roots=SEED_ROOTS)
    assert {"b", "c"} <= s.versions_read and "leaf" not in s.versions_read
    engine = FakeEngine(lambda inv: ok(planned("C", "1.0", "B>=1.0", requested=True)))
    decide_install(s, engine, Recorder())
    assert engine.calls[0][1].versions_read == s.versions_read  # told to the engine with plain pip's run

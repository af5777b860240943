"""decide.py: every branch of the decision core, over a fake engine (no pip runs here).

The fake engine answers each run from a table: the guarded run (with
pipguard's protections as constraints) and the plain run (without them).
The real engines are tested end to end in tests/integration.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name as cn

from pipguard.core.decide import (
    Situation,
    decide_install,
    may_have_replanned,
    protect,
    removal_blockers,
    roots_after,
    satisfied,
)
from pipguard.core.model import Distribution, Root, StandingConstraint
from pipguard.engines.base import Approval, Invocation, Resolution
from pipguard.pip.request import read_install
from tests.support.fakes import FakeEngine, Recorder, dist, fails, ok, planned, root

ENV = {"python_version": "3.11", "sys_platform": "linux", "python_full_version": "3.11.7"}
NO_CONFIG = {"PIP_CONFIG_FILE": "/dev/null"}


def situation(*args: str, dists: tuple[Distribution, ...] = (), roots: tuple[Root, ...] = (),
              environ: Mapping[str, str] = NO_CONFIG, **kw: object) -> Situation:
    return Situation(
        request=read_install(list(args), "/nonexistent", environ),
        distributions={d.name: d for d in dists},
        markers=ENV,
        roots={r.name: r for r in roots},
        txn_id=5,
        now="2026-12-01T00:00:00Z",
        **kw,  # type: ignore[arg-type]
    )


# The seed story: A needs B>1.0,<2.0; B 1.5 is installed.
SEED = (dist("A", "1.0", "B>1.0,<2.0"), dist("B", "1.5"))
SEED_ROOTS = (root("A"),)


def guarded(invocation: Invocation) -> bool:
    """Is this the guarded run (pipguard's protections applied), not plain pip's?"""
    return any(name != "pip" for name in invocation.constraints) and cn("b") in invocation.constraints


# -- the fast path ------------------------------------------------------------------------


def test_satisfied_request_is_decided_without_the_engine() -> None:
    engine = FakeEngine(lambda inv: pytest.fail("the engine must not run"))  # type: ignore[arg-type,return-value]
    outcome = decide_install(situation("A", dists=SEED, roots=SEED_ROOTS), engine, Recorder())
    assert outcome.kind == "satisfied" and outcome.returncode == 0
    assert outcome.stdout == ("Requirement already satisfied: A (1.0)",)
    assert outcome.roots is None  # nothing new to record


@pytest.mark.parametrize("environ", [
    {**NO_CONFIG, "PIP_UPGRADE": "1"},
    {**NO_CONFIG, "PIP_FORCE_REINSTALL": "yes"},
    {**NO_CONFIG, "PIP_IGNORE_INSTALLED": "true"},
    {**NO_CONFIG, "PIP_NO_DEPS": "1"},
])
def test_configured_settings_that_change_an_install_leave_the_fast_path(environ: dict[str, str]) -> None:
    assert not satisfied(situation("A", dists=SEED, roots=SEED_ROOTS, environ=environ))


def test_constraint_files_in_requirement_files_reach_the_fast_path(tmp_path: object) -> None:
    from pathlib import Path

    directory = Path(str(tmp_path))
    (directory / "c.txt").write_text("B<1.5\n")
    (directory / "req.txt").write_text(f"-c {directory / 'c.txt'}\nB\n")
    s = situation("-r", str(directory / "req.txt"), dists=(dist("B", "1.8"),))
    assert not satisfied(s)  # pip would move B to satisfy c.txt


def test_a_new_extra_of_a_satisfied_root_needs_the_engine() -> None:
    s = situation("D[x]", dists=(dist("D", "1.0", 'B<1.8; extra == "x"'), dist("B", "1.9")))
    assert not satisfied(s)


# -- installing --------------------------------------------------------------------------------


def test_a_fitting_plan_is_installed_without_asking_plain_pip() -> None:
    engine = FakeEngine(lambda inv: ok(planned("C", "1.1", "B>=1.0", requested=True)))
    begin = Recorder()
    outcome = decide_install(situation("C", dists=SEED, roots=SEED_ROOTS), engine, begin)
    assert outcome.kind == "installed" and outcome.returncode == 0
    assert engine.kinds() == ["install"]  # one run: plain pip's own, its plan judged at the gate
    assert cn("c") in begin.begun[0] and outcome.roots is not None and outcome.roots[cn("c")].added_by == 5
    assert not engine.calls[0][1].constraints  # plain first: no constraints file


def test_a_replan_within_a_major_version_is_installed_and_explained_against_plain_pip() -> None:
    def answer(inv: Invocation) -> Resolution:
        if guarded(inv):
            return ok(planned("C", "1.0", "B>=1.0", requested=True), considered=((cn("c"), "1.1"),))
        return ok(planned("C", "1.1", "B>=2.0", requested=True), planned("B", "2.0"))

    engine = FakeEngine(answer)
    outcome = decide_install(situation("C", dists=SEED, roots=SEED_ROOTS), engine, Recorder())
    assert outcome.kind == "installed"
    assert engine.kinds() == ["install", "install"]  # plain pip's run stopped at the gate, then the guarded one
    assert not engine.calls[0][1].constraints and guarded(engine.calls[1][1])
    text = "\n".join(outcome.messages)
    assert ("pipguard: installed C 1.0 instead of 1.1, plain pip's choice here (1 minor version back): "
            "C 1.1 needs B>=2.0, but A 1.0 (root, transaction 2) needs b<2.0,>1.0.") in text


def test_a_replan_to_an_older_major_version_is_refused_by_default() -> None:
    def answer(inv: Invocation) -> Resolution:
        if guarded(inv):
            return ok(planned("C", "1.0", "B>=1.0", requested=True), considered=((cn("c"), "2.0"),))
        return ok(planned("C", "2.0", "B>=2.0", requested=True), planned("B", "2.0"))

    engine = FakeEngine(answer)
    outcome = decide_install(situation("C", dists=SEED, roots=SEED_ROOTS), engine, Recorder())
    assert outcome.kind == "rejected" and outcome.returncode == 10 and outcome.began
    # plain pip's plan was stopped first, and is read in full for the explanation; the refusal of the
    # plan inside the protections is said in words already written
    assert [a.described_again for a in engine.approvals] == [True, False]
    assert engine.approvals[-1] == Approval(False, outcome.messages[-1], described_again=False)
    assert "C 1.0 would fit, where plain pip would install 2.0 (1 major version back)" in outcome.messages[-1]
    assert "--allow-older-major" in outcome.messages[-1] and "Nothing was changed" in outcome.messages[-1]

    allowed = FakeEngine(answer)
    outcome = decide_install(situation("C", dists=SEED, roots=SEED_ROOTS, allow_older_major=True), allowed,
                             Recorder())
    assert outcome.kind == "installed"
    assert "installed C 1.0 instead of 2.0" in "\n".join(outcome.messages)


def test_no_instead_of_when_plain_pip_would_choose_the_same() -> None:
    plan = ok(planned("C", "1.0", requested=True), considered=((cn("c"), "1.1"),))
    engine = FakeEngine(lambda inv: plan)
    outcome = decide_install(situation("C", dists=SEED, roots=SEED_ROOTS), engine, Recorder())
    assert outcome.kind == "installed" and not any("instead of" in m for m in outcome.messages)


def test_no_instead_of_when_plain_pips_own_plan_breaks_nothing() -> None:
    def answer(inv: Invocation) -> Resolution:
        if guarded(inv):
            return ok(planned("C", "1.0", requested=True), backtracked=True)
        return ok(planned("C", "1.1", "B>=1.2", requested=True))  # different, but harmless

    outcome = decide_install(situation("C", dists=SEED, roots=SEED_ROOTS), FakeEngine(answer), Recorder())
    assert outcome.kind == "installed" and not any("instead of" in m for m in outcome.messages)


def test_an_upgrade_held_back_is_said_with_whom_it_protects() -> None:
    def answer(inv: Invocation) -> Resolution:
        return ok() if guarded(inv) else ok(planned("B", "2.0", requested=True))

    outcome = decide_install(situation("-U", "B", dists=SEED, roots=SEED_ROOTS), FakeEngine(answer), Recorder())
    assert outcome.kind == "installed"
    text = "\n".join(outcome.messages)
    assert "kept B at 1.5 instead of upgrading to 2.0: A 1.0 (root, transaction 2) needs b<2.0,>1.0." in text
    assert "installed" not in text


def test_a_plan_that_breaks_an_earlier_project_is_stopped_before_any_change() -> None:
    # e.g. an engine that does not honour a constraint: the core judges what it found anyway
    engine = FakeEngine(lambda inv: ok(planned("E", "1.0", "B>=2.0", requested=True), planned("B", "2.0")))
    outcome = decide_install(situation("E", dists=SEED, roots=SEED_ROOTS), engine, Recorder())
    assert outcome.kind == "rejected" and outcome.returncode == 10
    assert engine.approvals[0].proceed is False


# -- no plan inside the protections -----------------------------------------------------------


def test_no_guarded_plan_and_plain_pip_breaks_an_earlier_project_is_rejected() -> None:
    def answer(inv: Invocation) -> Resolution:
        if guarded(inv):
            return fails("impossible", conflict="The conflict is caused by:\n    e 1.0 depends on B>=2.0")
        return ok(planned("E", "1.0", "B>=2.0", requested=True), planned("B", "2.0"))

    outcome = decide_install(situation("E", dists=SEED, roots=SEED_ROOTS), FakeEngine(answer), Recorder())
    assert outcome.kind == "rejected" and outcome.returncode == 10 and not outcome.show_engine_output
    assert outcome.messages[-1].splitlines() == [
        "pipguard: not installing E: it would break earlier projects.",
        "  A 1.0 (root, transaction 2) needs b<2.0,>1.0; this install would bring b 2.0 (E 1.0 needs B>=2.0).",
        "Nothing was changed.",
    ]


def test_no_guarded_plan_but_plain_pips_plan_is_safe_is_installed_exactly() -> None:
    def answer(inv: Invocation) -> Resolution:
        if guarded(inv) and "c" not in inv.constraints:
            return fails("impossible")
        return ok(planned("C", "1.1", requested=True))

    engine = FakeEngine(answer)
    outcome = decide_install(situation("C", dists=SEED, roots=SEED_ROOTS), engine, Recorder())
    assert outcome.kind == "installed"
    assert engine.kinds() == ["install"]  # plain first: plain pip's plan, judged safe, is what pip installs
    assert not engine.calls[0][1].constraints and outcome.plan == (planned("C", "1.1", requested=True),)


def test_an_old_candidate_that_does_not_build_is_named_in_the_rejection() -> None:
    def answer(inv: Invocation) -> Resolution:
        if guarded(inv):
            return fails("build", candidate="PyYAML 5.4.1")
        return ok(planned("E", "1.0", "B>=2.0", requested=True), planned("B", "2.0"))

    outcome = decide_install(situation("E", dists=SEED, roots=SEED_ROOTS), FakeEngine(answer), Recorder())
    assert outcome.kind == "rejected" and outcome.returncode == 10
    assert "pip tried PyYAML 5.4.1, an older release, and could not build it" in outcome.messages[-1]


def test_a_failure_plain_pip_shares_is_passed_on_with_its_words() -> None:
    engine = FakeEngine(lambda inv: fails("no-match"))
    outcome = decide_install(situation("Z", dists=SEED, roots=SEED_ROOTS), engine, Recorder())
    assert outcome.kind == "failed" and outcome.returncode == 1
    assert outcome.show_engine_output and outcome.held_output == "ERROR: pip says no-match\n"


def test_an_engine_failure_of_another_kind_is_passed_on_without_a_plain_run() -> None:
    engine = FakeEngine(lambda inv: fails("other"))
    outcome = decide_install(situation("C", dists=SEED, roots=SEED_ROOTS), engine, Recorder())
    assert outcome.kind == "failed" and engine.kinds() == ["install"]


def test_a_standing_file_the_command_line_passes_reaches_pip_from_there_in_both_runs(tmp_path: Path) -> None:
    """devstack passes its upper-constraints with -c, and keeps it standing: neither run gets its
    lines again in pipguard's -c file; the builds (no -c reaches them) and the judgement do."""
    def answer(inv: Invocation) -> Resolution:
        if guarded(inv):
            return ok(planned("C", "1.0", "B>=1.0", requested=True), considered=((cn("c"), "1.1"),))
        return ok(planned("C", "1.1", "B>=2.0", requested=True), planned("B", "2.0"))

    upper = tmp_path / "uc.txt"
    upper.write_text("G==1.1\n")
    standing = (StandingConstraint("G==1.1", str(upper), 3), StandingConstraint("H<2", "command line", 4))
    engine = FakeEngine(answer)
    s = situation("-c", str(upper), "C", dists=SEED, roots=SEED_ROOTS, standing=standing,
                  standing_passed=frozenset({str(upper)}))
    outcome = decide_install(s, engine, Recorder())
    assert outcome.kind == "installed" and engine.kinds() == ["install", "install"]
    plain, replanned = engine.calls[0][1], engine.calls[1][1]
    assert set(plain.constraints) == {cn("h")} and set(plain.build_constraints) == {cn("g"), cn("h")}
    assert cn("g") not in replanned.constraints and {cn("b"), cn("h")} <= set(replanned.constraints)
    assert {cn("b"), cn("g"), cn("h")} <= set(replanned.build_constraints)


def test_a_passed_standing_constraint_that_no_plan_fits_is_still_named(tmp_path: Path) -> None:
    conflict = ("The conflict is caused by:\n    The user requested C>=2\n"
                "    The user requested (constraint) c==1.0")
    engine = FakeEngine(lambda inv: fails("impossible", conflict=conflict))
    upper = tmp_path / "uc.txt"
    upper.write_text("C==1.0\n")
    standing = (StandingConstraint("C==1.0", str(upper), 3),)
    outcome = decide_install(situation("-c", str(upper), "C>=2", dists=SEED, roots=SEED_ROOTS, standing=standing,
                                       standing_passed=frozenset({str(upper)})), engine, Recorder())
    assert outcome.kind == "rejected" and outcome.returncode == 10
    assert f"the standing constraint C==1.0 (from {upper}, transaction 3)" in outcome.messages[-1]


def test_a_standing_constraint_that_no_plan_fits_is_named() -> None:
    conflict = ("The conflict is caused by:\n    The user requested C>=2\n"
                "    The user requested (constraint) c==1.0")
    engine = FakeEngine(lambda inv: fails("impossible", conflict=conflict))
    standing = (StandingConstraint("C==1.0", "/etc/uc.txt", 3),)
    outcome = decide_install(situation("C>=2", dists=SEED, roots=SEED_ROOTS, standing=standing), engine, Recorder())
    assert outcome.kind == "rejected" and outcome.returncode == 10
    assert "the standing constraint C==1.0 (from /etc/uc.txt, transaction 3)" in outcome.messages[-1]
    assert "pipguard constraints remove" in outcome.messages[-1]


# -- dry runs ------------------------------------------------------------------------------------


def test_dry_run_says_what_would_be_installed_and_begins_nothing() -> None:
    engine = FakeEngine(lambda inv: ok(planned("C", "1.1", requested=True)))
    begin = Recorder()
    outcome = decide_install(situation("--dry-run", "C", dists=SEED, roots=SEED_ROOTS), engine, begin)
    assert outcome.kind == "dry-run" and outcome.stdout == ("Would install C-1.1",)
    assert begin.begun == [] and engine.kinds() == ["resolve"]


def test_dry_run_of_a_breaking_request_is_rejected() -> None:
    def answer(inv: Invocation) -> Resolution:
        return fails("impossible") if guarded(inv) else ok(planned("E", "1.0", "B>=2.0"), planned("B", "2.0"))

    outcome = decide_install(situation("--dry-run", "E", dists=SEED, roots=SEED_ROOTS), FakeEngine(answer),
                             Recorder())
    assert outcome.kind == "rejected" and outcome.returncode == 10 and not outcome.began


# -- what is protected ---------------------------------------------------------------------------


def test_outside_distributions_do_not_block_by_default() -> None:
    dists = (dist("joserfc", "1.6", "cryptography>=45", outside=True), dist("cryptography", "46", outside=True))
    s = situation("glance", dists=dists)
    assert not protect(s).constraints()
    protected = situation("glance", dists=dists, outside="protect")
    assert str(protect(protected).constraints()[cn("cryptography")]) == ">=45"


def test_shadowing_an_outside_distribution_is_said_in_one_line() -> None:
    dists = (dist("cryptography", "46", outside=True),)
    engine = FakeEngine(lambda inv: ok(planned("cryptography", "43.0", requested=True)))
    outcome = decide_install(situation("cryptography==43.0", dists=dists), engine, Recorder())
    assert [m for m in outcome.messages if "shadows" in m] == [
        "pipguard: note: cryptography 43.0 is now installed inside the environment and shadows "
        "cryptography 46 seen from outside it."
    ]


def test_strict_policy_pins_what_is_installed_and_says_so() -> None:
    s = situation("C", dists=SEED, roots=SEED_ROOTS, policy="strict")
    assert str(protect(s).constraints()[cn("b")]) == "<2.0,==1.5,>1.0"

    def answer(inv: Invocation) -> Resolution:
        return fails("impossible") if guarded(inv) else ok(planned("C", "1.1", "B>=1.8"), planned("B", "1.8"))

    outcome = decide_install(s, FakeEngine(answer), Recorder())
    assert outcome.kind == "rejected"
    assert "the strict policy keeps installed versions (b stays 1.5)" in outcome.messages[-1]


def test_pipguards_own_requirements_say_how_to_run_it_from_outside() -> None:
    dists = (*SEED, dist("pipguard", "0.2", "packaging>=22"), dist("packaging", "24.0"))

    def answer(inv: Invocation) -> Resolution:
        return fails("impossible") if cn("packaging") in inv.constraints and len(inv.constraints) > 1 else ok(
            planned("safety", "2.3.5", "packaging<22", requested=True), planned("packaging", "21.3"))

    outcome = decide_install(situation("safety", dists=dists, roots=SEED_ROOTS,
                                       pipguard_here="/srv/my env/bin/python"), FakeEngine(answer), Recorder())
    assert outcome.kind == "rejected"
    assert "pipguard itself is installed in this environment" in outcome.messages[-1]
    assert "pipguard --python '/srv/my env/bin/python'" in outcome.messages[-1]  # this interpreter, quoted


def test_may_have_replanned_reads_the_cheap_signs() -> None:
    s = situation("C", dists=SEED, roots=SEED_ROOTS)
    protection = protect(s)
    assert not may_have_replanned(s, protection, ok(planned("C", "1.1", requested=True)))
    assert may_have_replanned(s, protection, ok(planned("C", "1.1"), considered=((cn("c"), "2.0"),)))
    assert may_have_replanned(s, protection, ok(planned("B", "1.8")))  # moved where A bound it
    asked_for_b = situation("B>1", dists=SEED, roots=SEED_ROOTS)
    assert may_have_replanned(asked_for_b, protect(asked_for_b), ok())


# -- roots -----------------------------------------------------------------------------------------


def test_asking_again_for_a_root_keeps_its_transaction() -> None:
    s = situation("A", dists=SEED, roots=(root("A", added_by=2),))
    assert roots_after(s)[cn("a")].added_by == 2
    respecified = situation("A<2", dists=SEED, roots=(root("A", added_by=2),))
    assert roots_after(respecified)[cn("a")].specifier == "<2" and roots_after(respecified)[cn("a")].added_by == 5


def test_an_editable_installed_again_without_its_extra_keeps_it() -> None:
    nova = root("nova", added_by=3, extras=("compute",), editable="file:///src/nova")
    s = situation("-e", "/src/nova", roots=(nova,))
    plan = (planned("nova", "1.0", requested=True, editable="file:///src/nova"),)
    after = roots_after(s, plan)[cn("nova")]
    assert after.extras == ("compute",) and after.added_by == 3


def test_removal_blockers_name_who_still_needs_it() -> None:
    blockers = removal_blockers({d.name: d for d in SEED}, {r.name: r for r in SEED_ROOTS}, (), ENV, {cn("b")})
    assert [v.describe() for v in blockers] == ["A 1.0 needs b<2.0,>1.0, but b is not installed"]

"""maintenance/upgrade.py, the plan: what an upgrade asks the engine for, and how its plan is read (no pip runs)."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name as cn

from pipguard.core.model import Distribution, PlannedInstall, Root, StandingConstraint
from pipguard.maintenance.upgrade import (
    HELD,
    MAJOR,
    OUTSIDE,
    UnknownTarget,
    UpgradeSituation,
    assess,
    closure,
    newer_exists,
    plan_upgrade,
)
from tests.support.fakes import dist, planned, root

ENV = {"python_version": "3.11", "sys_platform": "linux", "python_full_version": "3.11.7"}


def situation(dists: tuple[Distribution, ...], roots: tuple[Root, ...], **kw: object) -> UpgradeSituation:
    return UpgradeSituation({d.name: d for d in dists}, ENV, {r.name: r for r in roots}, **kw)  # type: ignore[arg-type]


# A (root, A>=1.0) needs B<2; C (root) needs B; G (root, G==1.0) needs K; B and K are dependencies.
DISTS = (dist("A", "1.0", "B>1.0,<2.0"), dist("B", "1.5"), dist("C", "1.0", "B>=1.0"), dist("G", "1.0", "K"),
         dist("K", "1.0"), dist("pip", "26.3"))
ROOTS = (root("A", ">=1.0"), root("C", added_by=3), root("G", "==1.0", added_by=4))


# -- planning ------------------------------------------------------------------------------------


def test_every_root_is_asked_for_with_its_recorded_requirement_and_eagerly_with_what_it_needs() -> None:
    spec = plan_upgrade(situation(DISTS, ROOTS))
    assert spec.requirements == ("A>=1.0", "C", "G==1.0")
    assert spec.moving == {cn(n) for n in ("a", "b", "c", "g", "k")}  # pip is nobody's: it stays out
    assert spec.lookup == ("A", "B", "C", "G", "K")


def test_protections_keep_recorded_specifiers_never_downgrade_and_cap_the_major_version() -> None:
    constraints = plan_upgrade(situation(DISTS, ROOTS)).constraints()
    assert str(constraints[cn("a")]) == "<2,>=1.0"  # recorded >=1.0, floor >=1.0, major cap <2
    assert str(constraints[cn("g")]) == "<2,==1.0,>=1.0"
    assert str(constraints[cn("b")]) == ">=1.5"  # A's own B<2 is re-resolved with A: only the floor
    assert str(constraints[cn("pip")]) == ">=26.3"  # not moving, but never downgraded either


def test_allow_major_lifts_only_the_major_cap() -> None:
    spec = plan_upgrade(situation(DISTS, ROOTS, allow_major=True))
    assert not [n for n in spec.protection if n.kind == MAJOR]
    assert str(spec.constraints()[cn("a")]) == ">=1.0"


def test_what_does_not_move_keeps_its_requirements_as_constraints() -> None:
    # only G is named: A's need on B must hold, and every other root stays where it is
    spec = plan_upgrade(situation(DISTS, ROOTS, names=("g",)))
    assert spec.requirements == ("G==1.0",)
    assert spec.moving == {cn("g"), cn("k")}
    constraints = spec.constraints()
    assert str(constraints[cn("b")]) == "<2.0,>1.0,>=1.0,>=1.5"  # A's and C's needs, and the floor
    assert str(constraints[cn("a")]) == "==1.0,>=1.0"  # held where it is (recorded >=1.0, floor)
    assert {n.name for n in spec.protection if n.kind == HELD} == {cn("a"), cn("c")}


def test_a_named_dependency_moves_under_its_dependents_needs() -> None:
    spec = plan_upgrade(situation(DISTS, ROOTS, names=("B",)))
    assert spec.requirements == ("B",)
    assert str(spec.constraints()[cn("b")]) == "<2.0,>1.0,>=1.0,>=1.5"


@pytest.mark.parametrize(("name", "words"), [("nosuch", "is not installed"), ("Z", "seen from outside")])
def test_a_name_that_cannot_move_is_refused(name: str, words: str) -> None:
    with pytest.raises(UnknownTarget, match=words):
        plan_upgrade(situation((*DISTS, dist("Z", "1.0", outside=True)), ROOTS, names=(name,)))


def test_outside_distributions_are_pinned_where_they_are() -> None:
    spec = plan_upgrade(situation((*DISTS, dist("Z", "2.5", outside=True)), ROOTS))
    assert [(n.name, n.specifier) for n in spec.protection if n.kind == OUTSIDE] == [(cn("z"), "==2.5")]
    assert cn("z") not in spec.moving


def test_an_editable_root_stays_and_its_requirements_are_upgraded_in_its_place() -> None:
    dists = (dist("P", "0.1", "B>=1.0", "K; python_version < '3'", editable="file:///src/p"), dist("B", "1.5"))
    spec = plan_upgrade(situation(dists, (root("P", editable="file:///src/p"),)))
    assert spec.targets == () and spec.via == ("B>=1.0",)  # the marker that never applies is left out
    assert spec.moving == {cn("b")}
    assert str(spec.constraints().get(cn("p"), "")) == ""  # an editable gets no floor: it is not pip's to move


def test_a_root_that_is_not_installed_is_skipped_and_said() -> None:
    spec = plan_upgrade(situation(DISTS, (*ROOTS, root("gone"))))
    assert [(s.name, s.reason) for s in spec.skipped] == [(cn("gone"), "not installed (pipguard check reports it)")]


def test_closure_follows_markers_and_extras() -> None:
    dists = {d.name: d for d in (dist("D", "1.0", 'X; extra == "x"', "Y; python_version < '3'"),
                                  dist("X", "1.0", "Z[fast]"), dist("Z", "1.0", 'W; extra == "fast"'),
                                  dist("W", "1.0"), dist("Y", "1.0"))}
    assert set(closure([(cn("d"), ())], dists, ENV)) == {cn("d")}
    assert closure([(cn("d"), ("x",))], dists, ENV) == {
        cn("d"): frozenset({"x"}), cn("x"): frozenset(), cn("z"): frozenset({"fast"}), cn("w"): frozenset()}


def test_newer_exists_compares_with_what_is_installed() -> None:
    installed = {d.name: d for d in DISTS}
    assert not newer_exists([planned("A", "1.0")], installed)
    assert newer_exists([planned("A", "1.0"), planned("B", "1.8")], installed)
    assert not newer_exists([], installed)


# -- reading the plan --------------------------------------------------------------------------


def held(s: UpgradeSituation, plan: tuple[PlannedInstall, ...], *newest: PlannedInstall) -> dict[str, tuple[str, str]]:
    spec = plan_upgrade(s)
    assessment = assess(s, spec, plan, {item.name: item for item in newest})
    return {h.name: (h.kind, h.reason) for h in assessment.holds}


def test_the_plan_is_a_table_of_what_moves() -> None:
    s = situation(DISTS, ROOTS)
    assessment = assess(s, plan_upgrade(s), (planned("A", "1.5", "B>1.0,<2.0"), planned("N", "1.0")), {})
    assert [(m.name, m.before, m.after) for m in assessment.moves] == [(cn("a"), "1.0", "1.5"), (cn("n"), None, "1.0")]
    assert not assessment.blocking and not assessment.holds


def test_held_back_by_the_roots_own_recorded_specifier() -> None:
    reasons = held(situation(DISTS, ROOTS), (), planned("G", "1.2", "K"))
    assert reasons == {"g": ("root", "G (root, transaction 4) was asked for as G==1.0")}


def test_held_back_by_a_standing_constraint() -> None:
    s = situation(DISTS, ROOTS, standing=(StandingConstraint("C<1.1", "/etc/upper.txt", 3),))
    assert held(s, (), planned("C", "1.1", "B>=1.0")) == {
        "c": ("standing", "constraint /etc/upper.txt allows only c<1.1")}


def test_held_back_by_another_projects_requirement() -> None:
    dists = (*DISTS, dist("H", "1.0", "C<1.1"))
    assert held(situation(dists, ROOTS), (), planned("C", "1.1")) == {"c": ("dependency", "H 1.0 needs c<1.1")}


def test_held_back_by_its_major_version_and_said_how_to_take_it() -> None:
    reasons = held(situation(DISTS, ROOTS), (planned("A", "1.5", "B>1.0,<2.0"),), planned("A", "2.0", "B>=1.0"))
    assert reasons == {"a": (MAJOR, "A 2.0 is another major version than 1.0 (upgrade --allow-major takes it)")}
    assert held(situation(DISTS, ROOTS, allow_major=True), (), planned("A", "2.0", "B>=1.0")) == {
        "a": ("unknown", "the engine found no plan with A 2.0 that keeps every other requirement of the environment")}


def test_held_back_by_what_its_newest_release_needs_against_an_earlier_project() -> None:
    reasons = held(situation(DISTS, ROOTS), (), planned("C", "1.1", "B>=2.0"))
    assert reasons == {"c": ("requirement", "C 1.1 needs B>=2.0, but A 1.0 needs b<2.0,>1.0")}


def test_held_back_because_an_upgrade_never_downgrades() -> None:
    reasons = held(situation(DISTS, ROOTS), (), planned("C", "1.1", "B<1.2"))
    assert reasons == {"c": ("requirement", "C 1.1 needs B<1.2, but B 1.5 (installed; an upgrade never "
                                            "downgrades) needs b>=1.5")}


def test_held_back_by_what_is_outside_the_environment() -> None:
    dists = (*DISTS, dist("Z", "1.0", outside=True))
    reasons = held(situation(dists, ROOTS), (), planned("C", "1.1", "Z>=2"))
    assert reasons == {"c": ("requirement", "C 1.1 needs Z>=2, but Z 1.0 (outside the environment; never moved) "
                                            "allows only z==1.0")}


def test_a_plan_that_breaks_what_does_not_move_is_blocking() -> None:
    s = situation(DISTS, ROOTS, names=("C",))
    assessment = assess(s, plan_upgrade(s), (planned("B", "2.0"),), {})
    assert [v.describe() for v in assessment.blocking] == ["A 1.0 needs b<2.0,>1.0, but b 2.0 is installed"]

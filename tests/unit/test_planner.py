"""planner.py: what must keep holding, and whether a plan keeps it (pure)."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name as cn

from pipguard.constraints import Distribution
from pipguard.model import Change, Root, StandingConstraint
from pipguard.pip_runner import PlannedInstall
from pipguard.planner import (
    Replan,
    all_needs,
    changes_between,
    explain_impossible,
    explain_rejection,
    find_replans,
    judge,
    overlay,
    protected_needs,
    root_specs,
)

ENV = {"python_version": "3.11", "sys_platform": "linux"}


def dist(name: str, version: str, *requires: str) -> Distribution:
    return Distribution(cn(name), version, tuple(requires), display_name=name)


def dists(*items: Distribution) -> dict:  # type: ignore[type-arg]
    return {d.name: d for d in items}


def root(name: str, specifier: str = "", added_by: int = 2, extras: tuple[str, ...] = ()) -> Root:
    return Root(cn(name), name, specifier, extras, added_by=added_by)


def planned(name: str, version: str, *requires: str, requested: bool = False) -> PlannedInstall:
    return PlannedInstall(cn(name), name, version, tuple(requires), requested, (), None, None)


SEED = dists(dist("A", "1.0", "B>1.0,<2.0"), dist("B", "1.5"))
SEED_ROOTS = {cn("a"): root("A")}


def test_root_specs_label_roots_with_their_transaction() -> None:
    specs = root_specs({cn("a"): root("A", ">=1", 3), cn("b"): root("B", added_by=0)})
    assert [(s.name, s.specifier, s.label) for s in specs] == [
        ("a", ">=1", "A (root, transaction 3)"),
        ("b", "", "B (root)"),
    ]


def test_all_needs_unites_roots_dependencies_and_standing_constraints() -> None:
    needs = all_needs(SEED, SEED_ROOTS, [StandingConstraint("b<1.8", "uc.txt")], ENV)
    assert sorted((n.kind, n.name, n.specifier) for n in needs) == [
        ("dependency", "b", "<2.0,>1.0"),
        ("root", "a", ""),
        ("standing", "b", "<1.8"),
    ]


@pytest.mark.parametrize(
    ("plan", "roots_after", "blocking", "warnings", "preexisting"),
    [
        pytest.param([planned("C", "1.0", "B>=1.0")], {}, [], [], [], id="fits"),
        pytest.param(
            [planned("C", "2.0", "B>=2.0"), planned("B", "2.0")],
            {},
            ["A 1.0 needs b<2.0,>1.0"],
            [],
            [],
            id="breaks an earlier project",
        ),
        pytest.param(
            [planned("C", "2.0", "B>=3")],
            {},
            [],
            ["C 2.0 needs b>=3"],
            [],
            id="new project's own need unmet: a warning",
        ),
        pytest.param(
            [planned("D", "1.0")],
            {cn("e"): root("E")},
            ["E (root, transaction 2) needs e"],
            [],
            [],
            id="a root missing after",
        ),
    ],
)
def test_judge(
    plan: list[PlannedInstall],
    roots_after: dict,
    blocking: list[str],  # type: ignore[type-arg]
    warnings: list[str],
    preexisting: list[str],
) -> None:
    after = overlay(SEED, plan)
    verdict = judge(SEED, after, SEED_ROOTS, {**SEED_ROOTS, **roots_after}, [], ENV)
    assert [v.describe().split(", but")[0] for v in verdict.blocking] == blocking
    assert [v.describe().split(", but")[0] for v in verdict.warnings] == warnings
    assert verdict.ok is (not blocking)


def test_judge_never_blocks_on_what_was_already_broken() -> None:
    broken = dists(dist("A", "1.0", "B<2"), dist("B", "2.5"))
    verdict = judge(broken, overlay(broken, [planned("G", "1.0")]), SEED_ROOTS, SEED_ROOTS, [], ENV)
    assert verdict.ok and not verdict.warnings
    assert [v.describe() for v in verdict.preexisting] == ["A 1.0 needs b<2, but b 2.5 is installed"]


def test_standing_constraints_block_like_roots() -> None:
    standing = [StandingConstraint("b<1.8", "uc.txt")]
    verdict = judge(SEED, overlay(SEED, [planned("B", "1.9")]), SEED_ROOTS, SEED_ROOTS, standing, ENV)
    assert [v.describe() for v in verdict.blocking] == [
        "constraint uc.txt needs b<1.8, but b 1.9 is installed"
    ]


def test_overlay_lays_the_plan_over_what_is_installed() -> None:
    after = overlay(SEED, [planned("B", "1.8"), planned("C", "1.0", "B>=1")])
    assert {n: d.version for n, d in after.items()} == {"a": "1.0", "b": "1.8", "c": "1.0"}
    assert after[cn("c")].requires == ("B>=1",)
    assert SEED[cn("b")].version == "1.5"  # the input is not changed


@pytest.mark.parametrize(
    ("before", "after", "changes"),
    [
        ({}, {}, ()),
        ({"b": "1.5"}, {"b": "1.5"}, ()),
        ({"b": "1.5"}, {"b": "2.0"}, (Change(cn("b"), "1.5", "2.0"),)),
        ({"b": "1.5"}, {}, (Change(cn("b"), "1.5", None),)),
        ({"z": "1"}, {"a": "1", "z": "1"}, (Change(cn("a"), None, "1"),)),
    ],
)
def test_changes_between(before: dict, after: dict, changes: tuple) -> None:  # type: ignore[type-arg]
    assert changes_between(before, after) == changes


def test_protected_needs_drop_the_requested_projects_own_and_already_broken_needs() -> None:
    installed = dists(
        dist("A", "1.0", "B>1.0,<2.0"),
        dist("B", "1.5"),
        dist("C", "1.0", "B<1.2"),
        dist("D", "1.0", "B>=1.0"),
    )
    roots = {**SEED_ROOTS, cn("d"): root("D")}
    protected = protected_needs(installed, roots, [], ENV, {cn("a")})
    # A is asked for again: its root and its old needs give way to the new request;
    # C's B<1.2 was already unmet: reported, not demanded.
    assert {(n.source, n.name, n.specifier) for n in protected.needs} == {("d", "d", ""), ("d", "b", ">=1.0")}
    assert [v.need.source for v in protected.preexisting] == ["c"]
    assert protected.merged() == {"b": SpecifierSet(">=1.0"), "d": SpecifierSet("")}


def test_strict_policy_pins_everything_installed() -> None:
    protected = protected_needs(SEED, SEED_ROOTS, [], ENV, set(), policy="strict")
    assert protected.merged() == {"a": SpecifierSet("==1.0"), "b": SpecifierSet("==1.5,<2.0,>1.0")}


def test_explain_rejection_names_project_package_specifiers_and_that_nothing_changed() -> None:
    plan = [planned("C", "2.0", "B>=2.0", requested=True), planned("B", "2.0")]
    verdict = judge(SEED, overlay(SEED, plan), SEED_ROOTS, SEED_ROOTS, [], ENV)
    assert explain_rejection("C", verdict.blocking, plan, ENV) == (
        "pipguard: not installing C: it would break earlier projects.\n"
        "  A 1.0 needs b<2.0,>1.0; this install would bring b 2.0 (C 2.0 needs B>=2.0).\n"
        "Nothing was changed."
    )


def test_explain_impossible_lists_the_needs_on_what_the_plan_touches() -> None:
    protected = protected_needs(SEED, SEED_ROOTS, [], ENV, set())
    text = explain_impossible("E", protected, [planned("E", "1.0", "B>=2"), planned("B", "2.0")])
    assert text.splitlines() == [
        "pipguard: not installing E: pip found no versions that keep every earlier project working.",
        "  A 1.0 needs b<2.0,>1.0",
        "Nothing was changed.",
    ]


def test_find_replans_says_what_was_chosen_instead_and_why() -> None:
    protected = protected_needs(SEED, SEED_ROOTS, [], ENV, {cn("c")})
    replans = find_replans(
        {cn("c"): "1.0", cn("b"): "1.5"},
        [planned("C", "2.0", "B>=2.0", requested=True)],
        protected,
        SEED,
        ENV,
    )
    assert replans == [
        Replan(cn("c"), "C", "1.0", "2.0", ("C 2.0 needs B>=2.0, but A 1.0 needs b<2.0,>1.0",))
    ]
    assert replans[0].describe() == (
        "pipguard: installed C 1.0 instead of C 2.0: C 2.0 needs B>=2.0, but A 1.0 needs b<2.0,>1.0."
    )
    assert find_replans({cn("c"): "2.0"}, [planned("C", "2.0")], protected, SEED, ENV) == []
    assert Replan(cn("c"), "C", "1", "2", ()).describe().endswith("to keep earlier projects working.")

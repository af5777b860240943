"""constraints.py, table by table (the laws are in test_algebra_properties.py)."""

from __future__ import annotations

import pytest
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name as cn

from pipguard.core.constraints import (
    Distribution,
    Need,
    RootSpec,
    Violation,
    active_requirements,
    dependency_needs,
    extras_in_use,
    find_violations,
    marker_applies,
    merge_specifiers,
    parse_constraints,
    parse_requirement,
    render_constraints,
    root_needs,
    standing_needs,
    version_satisfies,
)
from tests.support.fakes import dist

LINUX = {
    "python_version": "3.11",
    "sys_platform": "linux",
    "os_name": "posix",
    "platform_system": "Linux",
    "implementation_name": "cpython",
    "python_full_version": "3.11.7",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "implementation_version": "3.11.7",
    "platform_release": "",
    "platform_version": "",
}


@pytest.mark.parametrize(
    ("marker", "extras", "expected"),
    [
        (None, (), True),
        ('python_version >= "3.9"', (), True),
        ('python_version < "3"', (), False),
        ('sys_platform == "win32"', (), False),
        ('extra == "test"', (), False),
        ('extra == "test"', ("test",), True),
        ('extra == "foo-bar"', ("Foo_Bar",), True),  # extras compare normalised
        ('extra == "test" and sys_platform == "win32"', ("test",), False),
        ('extra == "test" or sys_platform == "linux"', (), True),
    ],
)
def test_marker_applies(marker: str | None, extras: tuple[str, ...], expected: bool) -> None:
    assert marker_applies(Marker(marker) if marker else None, LINUX, extras) is expected


def test_active_requirements_evaluates_markers_for_the_target_and_skips_bad_lines() -> None:
    d = dist("svc", "1.0", "b>=1", "c; sys_platform == 'win32'", "d; extra == 'db'", "not a valid ((line")
    assert [r.name for r in active_requirements(d, LINUX)] == ["b"]
    assert [r.name for r in active_requirements(d, LINUX, ["db"])] == ["b", "d"]


def test_extras_in_use_follow_roots_and_installed_requirements_to_a_fixed_point() -> None:
    dists = {
        cn("app"): dist("app", "1", "lib[fast]"),
        cn("lib"): dist("lib", "1", "speedup[c]; extra == 'fast'"),
        cn("speedup"): dist("speedup", "1"),
        cn("svc"): dist("svc", "1"),
    }
    roots = [RootSpec(cn("svc"), extras=("DB",))]
    assert extras_in_use(dists, roots, LINUX) == {
        cn("svc"): frozenset({"db"}),
        cn("lib"): frozenset({"fast"}),
        cn("speedup"): frozenset({"c"}),
    }


def test_dependency_needs_name_who_needs_what() -> None:
    dists = {cn("A"): dist("A", "1.0", "B>1.0,<2.0", "C[x]>=1")}
    assert dependency_needs(dists, LINUX, {}) == [
        Need(cn("b"), "<2.0,>1.0", "A 1.0", "dependency", cn("a")),
        Need(cn("c"), ">=1", "A 1.0", "dependency", cn("a"), ("x",)),
    ]


def test_root_and_standing_needs() -> None:
    assert root_needs([RootSpec(cn("a"), ">=1", ("x",), "a (root)")]) == [
        Need(cn("a"), ">=1", "a (root)", "root", cn("a"), ("x",))
    ]
    needs = standing_needs(["b===1.5", "c<2; sys_platform == 'win32'", "D_E==3"], "uc.txt", LINUX)
    assert [(n.name, n.specifier, n.required_by, n.kind) for n in needs] == [
        ("b", "===1.5", "constraint uc.txt", "standing"),
        ("d-e", "==3", "constraint uc.txt", "standing"),
    ]
    with pytest.raises(ValueError):
        standing_needs(["b>>1"], "uc.txt", LINUX)


@pytest.mark.parametrize(
    ("parts", "merged"),
    [
        ([">1.0", "<2.0"], "<2.0,>1.0"),
        ([">=1", ">=1"], ">=1"),
        (["", ">=1"], ">=1"),
        ([""], ""),
        (["==1.*", "!=1.5"], "!=1.5,==1.*"),
    ],
)
def test_merge_specifiers_intersects(parts: list[str], merged: str) -> None:
    needs = [Need(cn("B"), part, f"n{i}") for i, part in enumerate(parts)]
    assert merge_specifiers(needs) == {"b": SpecifierSet(merged)}


def test_render_constraints_one_line_per_name_no_bare_names_with_header() -> None:
    text = render_constraints(
        {cn("b"): SpecifierSet(">1,<2"), cn("a"): SpecifierSet(""), cn("c"): SpecifierSet("==1")},
        header="line one\nline two",
    )
    assert text == "# line one\n# line two\nb<2,>1\nc==1\n"
    assert render_constraints({}) == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("b<2\n", {"b": "<2"}),
        ("# comment\n\nB<2  # why\nb>1\n", {"b": ">1,<2"}),
        ("Foo.Bar==1\n", {"foo-bar": "==1"}),
    ],
)
def test_parse_constraints(text: str, expected: dict[str, str]) -> None:
    assert parse_constraints(text) == {k: SpecifierSet(v) for k, v in expected.items()}


def test_parse_requirement_raises_value_error_with_the_reason() -> None:
    assert parse_requirement("a[x]>=1").extras == {"x"}
    with pytest.raises(ValueError, match="Expected"):
        parse_requirement("a>>1")


@pytest.mark.parametrize(
    ("version", "spec", "ok"),
    [
        ("1.5", ">1,<2", True),
        ("2.0", ">1,<2", False),
        ("1.5rc1", "<2", True),  # pre-releases count (pip installed them: they must be judged)
        ("2.0rc1", "<2", False),  # PEP 440: "<2" excludes 2's own pre-releases
        ("anything", "", True),
        ("not-a-version", ">=1", False),
        ("1.0+local", "==1.0", True),
    ],
)
def test_version_satisfies(version: str, spec: str, ok: bool) -> None:
    assert version_satisfies(version, SpecifierSet(spec)) is ok


def test_find_violations_reports_missing_and_wrong_versions_sorted_but_not_missing_standing() -> None:
    needs = [
        Need(cn("b"), "<2", "A 1.0", "dependency", cn("a")),
        Need(cn("z"), "", "A 1.0", "dependency", cn("a")),
        Need(cn("q"), "<1", "constraint uc", "standing", "uc"),
        Need(cn("c"), ">=1", "c (root)", "root", cn("c")),
    ]
    found = find_violations({cn("b"): "2.5", cn("c"): "1.0"}, needs)
    assert found == sorted([Violation(needs[0], "2.5"), Violation(needs[1], None)])
    assert [v.describe() for v in found] == [
        "A 1.0 needs b<2, but b 2.5 is installed",
        "A 1.0 needs z, but z is not installed",
    ]


def test_value_objects_describe_themselves() -> None:
    assert dist("Foo", "1.0").label == "Foo 1.0"
    assert Distribution(cn("foo"), "1.0").label == "foo 1.0"
    assert Need(cn("b"), "", "x").describe() == "b"

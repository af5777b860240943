"""Reading pip's account of a conflict, and naming the sources that clash (pure)."""

from __future__ import annotations

from packaging.utils import canonicalize_name

from pipguard.core.conflicts import (
    Cause,
    PlanResult,
    Source,
    clashes_from_causes,
    clashes_with_earlier,
    parse_conflict,
    pip_summary,
)
from pipguard.core.constraints import Need, Violation
from pipguard.core.model import PlannedInstall

# What pip 26.3 printed for 'pip install --dry-run -r a.txt -r b.txt' (A needs B>1.0,<2.0; E needs B>=2.0).
STDOUT = """Looking in links: wh
Processing ./wh/a-1.0-py3-none-any.whl (from -r a.txt (line 1))
Processing ./wh/e-1.0-py3-none-any.whl (from -r b.txt (line 1))

The conflict is caused by:
    a 1.0 depends on B<2.0 and >1.0
    e 1.0 depends on B>=2.0
    The user requested b>=1.5, !=1.7 and <3
    The user requested (constraint) b<2

Additionally, some packages in these conflicts have no matching distributions available for your environment:
    b

To fix this you could try to:
1. loosen the range of package versions you've specified
"""
STDERR = """ERROR: Cannot install -r a.txt (line 1) and -r b.txt (line 1) because these package \
versions have conflicting dependencies.
ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/
"""

b = canonicalize_name("b")


def test_parse_conflict_reads_every_cause() -> None:
    causes = parse_conflict(STDOUT)
    assert [(c.requirer, c.requirer_version, c.requirement, c.constraint) for c in causes] == [
        ("a", "1.0", "b<2.0,>1.0", False),
        ("e", "1.0", "b>=2.0", False),
        (None, None, "b!=1.7,<3,>=1.5", False),
        (None, None, "b<2", True),
    ]


def test_parse_conflict_without_an_explanation_is_empty() -> None:
    assert parse_conflict("Looking in links: wh\n") == []


def test_pip_summary_is_pips_one_line_account() -> None:
    assert pip_summary(STDERR).startswith("Cannot install -r a.txt (line 1) and -r b.txt (line 1) because")
    assert pip_summary("nothing") == ""


SOURCES = [
    Source("a.txt", ("-r", "a.txt"), (canonicalize_name("a"),), ("A",)),
    Source("b.txt", ("-r", "b.txt"), (canonicalize_name("e"),), ("E",)),
    Source("b>=1.5,!=1.7,<3", ("b>=1.5,!=1.7,<3",), (b,), ("b>=1.5,!=1.7,<3",)),
]


def test_clashes_name_the_source_of_each_side() -> None:
    closures = {"a.txt": ["a", "b"], "b.txt": ["e", "b"], "b>=1.5,!=1.7,<3": ["b"]}
    (clash,) = clashes_from_causes(parse_conflict(STDOUT), SOURCES, closures, {"upper.txt": {b: "<2"}})
    assert clash.name == "b"
    assert clash.sources == ("a.txt", "b.txt", "b>=1.5,!=1.7,<3", "upper.txt")
    text = clash.describe()
    assert "a 1.0 (from a.txt) needs b<2.0,>1.0" in text
    assert "e 1.0 (from b.txt) needs b>=2.0" in text
    assert "constraints file upper.txt allows only b<2" in text


def test_a_constraint_from_nowhere_known_is_still_named() -> None:
    (clash,) = clashes_from_causes([Cause("x", b, "<2", constraint=True)], SOURCES, {}, {})
    assert "PIP_CONSTRAINT" in clash.describe()


def test_a_two_source_clash_reads_as_a_pair() -> None:
    (clash,) = clashes_from_causes(parse_conflict(STDOUT)[:2], SOURCES, {"a.txt": ["a"], "b.txt": ["e"]})
    assert clash.describe().startswith("a.txt and b.txt clash (b): ")


def test_clash_with_an_earlier_project_names_it_and_the_new_requirer() -> None:
    violation = Violation(Need(b, "<2.0,>1.0", "A 1.0", "dependency", "a"), "2.5")
    plan = [PlannedInstall(canonicalize_name("e"), "E", "1.0", ("B>=2.0",), True, (), None, None),
            PlannedInstall(b, "B", "2.5", (), False, (), None, None)]
    (clash,) = clashes_with_earlier([violation], plan, SOURCES[:2], {"b.txt": ["e", "b"]}, {})
    assert clash.earlier
    assert clash.describe() == (
        "b.txt would break an earlier project (b): A 1.0, already installed, needs b<2.0,>1.0; "
        "E 1.0 (from b.txt) needs b>=2.0."
    )


def test_plan_result_problems() -> None:
    (clash,) = clashes_from_causes(parse_conflict(STDOUT)[:2], SOURCES, {"a.txt": ["a"], "b.txt": ["e"]})
    result = PlanResult(False, tuple(SOURCES[:2]), clashes=(clash,), alone=(("c.txt", ()),))
    assert not result.ok
    assert [p.kind for p in result.findings()] == ["unsatisfiable", "conflict"]
    assert PlanResult(False, tuple(SOURCES[:2])).ok

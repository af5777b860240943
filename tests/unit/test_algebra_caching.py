"""The algebra's parse caches and the ledger's fast serialisation change no result."""

from __future__ import annotations

import itertools
import json
from typing import Any

from packaging.utils import canonicalize_name

from pipguard.core.constraints import (
    Distribution,
    Need,
    active_requirements,
    dependency_needs,
    find_violations,
    sorted_needs,
)
from pipguard.core.model import Change, LedgerState, Root, StandingConstraint, Transaction
from pipguard.ledger.codec import transaction_to_data
from pipguard.ledger.state import STATE_SCHEMA, state_to_data

LINUX_39 = {"python_version": "3.9", "sys_platform": "linux", "platform_system": "Linux"}
WIN_312 = {"python_version": "3.12", "sys_platform": "win32", "platform_system": "Windows"}

DIST = Distribution(
    name=canonicalize_name("Tool"),
    version="1.0",
    requires=(
        "b>=1.0",
        'c<2; python_version < "3.10"',
        'd; sys_platform == "win32"',
        'e>=3; extra == "test"',
        'f; extra == "docs" and python_version >= "3.10"',
        "not a valid requirement ==",
    ),
    display_name="Tool",
)


def names(reqs: list) -> list[str]:  # type: ignore[type-arg]
    return [r.name for r in reqs]


def test_active_requirements_follow_the_marker_environment_of_each_call() -> None:
    assert names(active_requirements(DIST, LINUX_39)) == ["b", "c"]
    assert names(active_requirements(DIST, WIN_312)) == ["b", "d"]
    assert names(active_requirements(DIST, LINUX_39)) == ["b", "c"]


def test_active_requirements_follow_the_extras_in_use_whatever_their_order() -> None:
    assert names(active_requirements(DIST, WIN_312, ["test"])) == ["b", "d", "e"]
    assert names(active_requirements(DIST, WIN_312, ("docs", "test", "docs"))) == ["b", "d", "e", "f"]
    assert names(active_requirements(DIST, WIN_312, frozenset({"test", "docs"}))) == ["b", "d", "e", "f"]
    assert names(active_requirements(DIST, LINUX_39, ["docs"])) == ["b", "c"]


def test_callers_get_their_own_list_of_requirements() -> None:
    first = active_requirements(DIST, LINUX_39)
    first.clear()
    assert names(active_requirements(DIST, LINUX_39)) == ["b", "c"]


def test_dependency_needs_of_a_changed_distribution_are_its_new_ones() -> None:
    newer = Distribution(DIST.name, "2.0", ("b>=2.0",), "Tool")
    before = dependency_needs({DIST.name: DIST}, LINUX_39, {})
    after = dependency_needs({DIST.name: newer}, LINUX_39, {})
    assert [(n.name, n.specifier, n.required_by) for n in before] == [
        ("b", ">=1.0", "Tool 1.0"), ("c", "<2", "Tool 1.0")]
    assert [(n.name, n.specifier, n.required_by) for n in after] == [("b", ">=2.0", "Tool 2.0")]


def test_sorted_needs_orders_exactly_as_comparing_needs() -> None:
    values = {
        "name": ["a", "b"], "specifier": ["", ">=1"], "required_by": ["x 1.0", "y 2.0"],
        "kind": ["dependency", "root"], "source": ["x", "y"], "extras": [(), ("e",)],
    }
    needs = [Need(*combo) for combo in itertools.product(*values.values())]  # type: ignore[arg-type]
    shuffled = needs[::7] + needs[1::7] + needs[2::7] + needs[3::7] + needs[4::7] + needs[5::7] + needs[6::7]
    assert sorted_needs(shuffled) == sorted(shuffled)


def test_violations_judge_versions_and_specifiers_as_before() -> None:
    needs = [
        Need(canonicalize_name("b"), ">=2.0", "a 1.0"),
        Need(canonicalize_name("c"), "<2", "a 1.0"),
        Need(canonicalize_name("d"), "==1.0rc1", "a 1.0"),
        Need(canonicalize_name("e"), ">=1", "a 1.0"),
    ]
    versions = {"b": "1.5", "c": "1.9", "d": "1.0rc1", "e": "not-a-version"}
    found = find_violations(versions, needs)  # type: ignore[arg-type]
    assert [(v.need.name, v.installed) for v in found] == [("b", "1.5"), ("e", "not-a-version")]
    healthy = {"b": "2.0", "c": "1.9", "d": "1.0rc1", "e": "1"}
    assert find_violations(healthy, needs) == []  # type: ignore[arg-type]


def asdict(value: Any) -> Any:
    """A record as plain data, all the way down (what ``dataclasses.asdict`` gave for the old records)."""
    if hasattr(value, "_asdict"):
        return {key: asdict(item) for key, item in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [asdict(item) for item in value]
    if isinstance(value, dict):
        return {key: asdict(item) for key, item in value.items()}
    return value


def test_the_state_and_transaction_records_are_what_their_fields_give_all_the_way_down() -> None:
    root = Root(canonicalize_name("A"), "A", ">=1", ("x", "y"), None, "file:///src/a", 2, "t", "requested")
    changes = (Change(canonicalize_name("a"), None, "1.0"), Change(canonicalize_name("b"), "1", None))
    txn = Transaction(3, "install", ("install", "A>=1"), "pending", "t0", "t1", "26.3", "compatible",
                      changes, ("c.txt",), "why")
    ledger = LedgerState(
        environment={"prefix": "/venv"}, policy="strict", roots={root.name: root},
        standing=(StandingConstraint("b<2", "uc.txt", 3),), distributions={canonicalize_name("a"): "1.0"},
        shim={"pip": "/venv/bin/pip"}, last_id=3, pending=txn,
    )
    record = asdict(txn)
    expected = {
        "schema": STATE_SCHEMA,
        "environment": {"prefix": "/venv"},
        "policy": "strict",
        "engine": "pip",
        "outside": "ignore",
        "last_id": 3,
        "pending": {key: record[key] for key in transaction_to_data(txn)},
        "roots": {"a": asdict(root)},
        "standing": [asdict(s) for s in ledger.standing],
        "standing_files": [],
        "distributions": {"a": "1.0"},
        "shim": {"pip": "/venv/bin/pip"},
        "said": [],
    }
    # The same JSON document (tuples become lists, as in JSON).
    assert json.dumps(state_to_data(ledger), indent=1) == json.dumps(expected, indent=1)

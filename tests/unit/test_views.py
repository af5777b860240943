"""The pure computations behind ledger, why, history and export."""

from __future__ import annotations

import pytest
from packaging.markers import Marker
from packaging.utils import NormalizedName, canonicalize_name

from pipguard.core.model import Change, Distribution, LedgerState, StandingConstraint, Transaction
from pipguard.core.views import (
    export_pins,
    history_view,
    is_project_name,
    ledger_view,
    marker_without_extras,
    transaction_range,
    why,
)
from tests.support.fakes import by_name, dist, root

MARKERS = {
    "python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux",
    "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
    "platform_machine": "x86_64", "platform_python_implementation": "CPython",
    "platform_release": "", "platform_version": "", "implementation_version": "3.11.7",
}


def n(name: str) -> NormalizedName:
    return canonicalize_name(name)


SEED = by_name(
    dist("A", "1.0", "B>1.0,<2.0"),
    dist("B", "2.0"),
    dist("C", "1.0", "Mid>=1"),
    dist("Mid", "1.0", "B>=1.0"),
    dist("D", "1.0", 'B<1.8; extra == "x"'),
    dist("pip", "26.3"),
)
LEDGER = LedgerState(
    roots={n("a"): root("A", added_by=2), n("c"): root("C", "<2", added_by=3),
           n("d"): root("D", extras=("x",), added_by=4)},
    distributions={n("a"): "1.0", n("b"): "1.5", n("c"): "1.0", n("mid"): "1.0", n("d"): "1.0",
                   n("pip"): "26.3"},
    last_id=5,
)
JOURNAL = (
    Transaction(1, "baseline", status="committed"),
    Transaction(2, "install", ("install", "A"), status="committed"),
    Transaction(3, "install", ("install", "C<2"), status="committed"),
    Transaction(4, "install", ("install", "D[x]"), status="committed"),
    Transaction(5, "install", ("install", "E"), status="rejected", reason="it would break a"),
)


def test_ledger_view_lists_roots_with_installed_and_recorded_versions() -> None:
    view = ledger_view(LEDGER, {n("a"): "1.0", n("c"): "1.0"}, "/l.json", True)
    assert [row.root.name for row in view.rows] == ["a", "c", "d"]
    a, c, d = view.rows
    assert (a.installed, a.satisfied, a.drifted) == ("1.0", True, False)
    assert c.satisfied  # 1.0 meets <2
    assert (d.installed, d.satisfied, d.drifted) == (None, False, True)


def test_ledger_view_without_a_ledger_has_no_roots() -> None:
    assert ledger_view(LEDGER, {}, "/l.json", False).rows == ()


def test_why_lists_every_requirer_merges_and_judges() -> None:
    result = why("b", SEED, LEDGER.roots, (), MARKERS)
    labels = [(r.need.kind, r.need.source, r.need.specifier, r.satisfied) for r in result.requirers]
    assert labels == [
        ("dependency", "a", "<2.0,>1.0", False),
        ("dependency", "d", "<1.8", False),  # the extra x is in use by the root D[x]
        ("dependency", "mid", ">=1.0", True),
    ]
    assert result.installed == "2.0"
    assert result.merged_specifier == "<1.8,<2.0,>1.0,>=1.0"
    assert not result.satisfied


def test_why_follows_each_root_down_the_shortest_chain() -> None:
    result = why("B", SEED, LEDGER.roots, (), MARKERS)
    chains = {chain.root: chain.describe() for chain in result.chains}
    assert chains == {
        "a": "A (root) -> A 1.0 needs b<2.0,>1.0",
        "c": "C<2 (root) -> C 1.0 needs mid>=1 -> Mid 1.0 needs b>=1.0",
        "d": "D[x] (root) -> D 1.0 needs b<1.8",
    }


def test_why_a_root_itself_has_an_empty_chain_and_a_root_need() -> None:
    result = why("c", SEED, LEDGER.roots, (), MARKERS)
    assert result.root is not None and result.root.added_by == 3
    assert [(r.need.kind, r.need.specifier) for r in result.requirers] == [("root", "<2")]
    assert [chain.links for chain in result.chains] == [()]


def test_why_says_nothing_needs_an_installed_leaf() -> None:
    result = why("pip", SEED, LEDGER.roots, (), MARKERS)
    assert result.known and not result.needed and result.chains == ()


def test_why_an_unknown_name_is_not_known() -> None:
    assert not why("zzz", SEED, LEDGER.roots, (), MARKERS).known


def test_why_counts_standing_constraints_without_requiring_installation() -> None:
    result = why("zope", SEED, LEDGER.roots, (StandingConstraint("zope<5", "upper.txt", 6),), MARKERS)
    assert [(r.need.kind, r.satisfied) for r in result.requirers] == [("standing", True)]


def test_history_view_shows_what_it_is_given_with_the_ledgers_counts() -> None:
    view = history_view(JOURNAL[-2:], LEDGER, LEDGER.distributions, "/l.json", True, first_id=1)
    assert [t.id for t in view.transactions] == [4, 5]
    assert view.last_id == 5 and view.total == 5 and view.first_id == 1


def test_history_view_shows_unrecorded_drift() -> None:
    installed = {**LEDGER.distributions, n("b"): "2.0"}
    view = history_view(JOURNAL, LEDGER, installed, "/l.json", True)
    assert view.unrecorded == (Change(n("b"), "1.5", "2.0"),)


def test_history_view_without_a_ledger_is_empty() -> None:
    view = history_view(JOURNAL, LEDGER, {}, "/l.json", False)
    assert (tuple(view.transactions), view.total, view.has_ledger) == ((), 0, False)


def test_transaction_range() -> None:
    assert transaction_range(1, 5) == "1-5"
    assert transaction_range(7, 7) == "7"
    assert transaction_range(0, 0) == "none"


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ('extra == "x"', None),
        ('python_version < "3.10" and extra == "x"', 'python_version < "3.10"'),
        ('(python_version < "3.10" or os_name == "nt") and extra == "x"',
         'python_version < "3.10" or os_name == "nt"'),
        ('sys_platform == "win32" or extra == "x"', None),
        ('sys_platform == "linux"', 'sys_platform == "linux"'),
    ],
)
def test_marker_without_extras_takes_extra_clauses_as_true(marker: str, expected: str | None) -> None:
    result = marker_without_extras(Marker(marker))
    if expected is None:
        assert result is None
    else:
        assert result is not None and Marker(result) == Marker(expected)


def test_export_pins_every_distribution_with_the_markers_it_is_needed_under() -> None:
    installed = by_name(
        dist("App", "1.0", 'Shim>=1; python_version >= "3.8"', "Core"),
        dist("Shim", "1.2"),
        dist("Core", "2.0"),
        dist("Odd", "1.0b-legacy"),
        dist("Local", "0.1", editable="file:///src/local"),
        dist("pip", "26.3"),
    )
    pins = {pin.name: pin for pin in export_pins(installed, {n("app"): root("App")}, MARKERS)}
    assert "pip" not in pins
    assert pins[n("shim")].line == 'shim==1.2; python_version >= "3.8"'
    assert pins[n("core")].line == "core==2.0"
    assert pins[n("app")].line == "app==1.0"
    assert n("odd") not in pins  # not PEP 440: reported by not_exported, never exported (issue 19.3)
    assert pins[n("local")].line == "local==0.1  # editable, from file:///src/local"


def test_export_includes_tooling_on_request() -> None:
    pins = export_pins(by_name(dist("pip", "26.3")), {}, MARKERS, include_tooling=True)
    assert [pin.line for pin in pins] == ["pip==26.3"]


def test_export_redacts_credentials_in_sources() -> None:
    installed = by_name(Distribution(n("x"), "1.0", (), "x", url="https://me:tok@host/x.whl"))
    (pin,) = export_pins(installed, {}, MARKERS)
    assert "tok" not in pin.line and "****@host" in pin.line


@pytest.mark.parametrize(("text", "ok"), [("requests", True), ("zope.interface", True), ("a_b-c", True),
                                          ("b>=1", False), ("b[x]", False), ("-b", False), ("", False)])
def test_is_project_name(text: str, ok: bool) -> None:
    assert is_project_name(text) is ok

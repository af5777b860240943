"""transactions.py: baseline, begin/finish, reconcile (pure)."""

from __future__ import annotations

from packaging.utils import canonicalize_name as cn

from pipguard.ledger import Change, Ledger, Transaction
from pipguard.model import Distribution
from pipguard.transactions import baseline_ledger, begin, finish, reconcile, top_level

ENV = {"python_version": "3.11", "sys_platform": "linux"}


def dist(name: str, version: str, *requires: str) -> Distribution:
    return Distribution(cn(name), version, tuple(requires), display_name=name)


INSTALLED = {
    d.name: d
    for d in [
        dist("A", "1.0", "B<2"),
        dist("B", "1.5"),
        dist("pip", "26.3"),
        dist("Win", "1", "Only; sys_platform == 'win32'"),
        dist("Only", "1"),
    ]
}


def test_top_level_is_what_nothing_requires_less_tooling() -> None:
    assert top_level(INSTALLED, ENV) == ["a", "only", "win"]  # Win's need of Only never applies here


def test_baseline_ledger_protects_what_is_there() -> None:
    ledger = baseline_ledger({"prefix": "/v"}, INSTALLED, ENV, "strict")
    assert ledger.policy == "strict" and ledger.environment == {"prefix": "/v"}
    assert ledger.distributions == {"a": "1.0", "b": "1.5", "pip": "26.3", "win": "1", "only": "1"}
    (txn,) = ledger.transactions
    assert (txn.id, txn.command, txn.status, txn.pip_version) == (1, "baseline", "committed", "26.3")
    assert {c.name for c in txn.changes} == set(INSTALLED)
    assert sorted(ledger.roots) == ["a", "only", "win"]
    assert {r.kind for r in ledger.roots.values()} == {"baseline"}
    assert baseline_ledger({}, {}, ENV).transactions[0].changes == ()


def test_begin_numbers_the_transaction_and_redacts_its_arguments() -> None:
    ledger = baseline_ledger({}, INSTALLED, ENV)
    ledger, txn = begin(
        ledger,
        "install",
        ["install", "-i", "https://u:tok@host/simple", "G"],
        "26.3",
        "compatible",
        constraints=["https://u:tok@host/c.txt"],
    )
    assert (txn.id, txn.status) == (2, "pending")
    assert txn.argv == ("install", "-i", "https://****@host/simple", "G")
    assert txn.constraints == ("https://****@host/c.txt",)
    assert ledger.pending() == [txn]


def test_finish_records_changes_against_the_ledgers_state() -> None:
    ledger, txn = begin(
        baseline_ledger({}, INSTALLED, ENV), "install", ["install", "G"], "26.3", "compatible"
    )
    after = {**ledger.distributions, cn("g"): "1.0", cn("b"): "1.8"}
    done = finish(ledger, txn, "committed", after=after)
    closed = done.transaction(txn.id)
    assert closed is not None and closed.status == "committed" and closed.finished
    assert closed.changes == (Change(cn("b"), "1.5", "1.8"), Change(cn("g"), None, "1.0"))
    assert done.distributions == after
    failed = finish(ledger, txn, "failed", reason="pip exited with 1")
    assert failed.distributions == ledger.distributions and failed.transaction(txn.id).reason  # type: ignore[union-attr]


def test_reconcile_marks_a_dead_runs_pending_transaction_interrupted_with_real_changes() -> None:
    ledger, txn = begin(
        baseline_ledger({}, INSTALLED, ENV), "install", ["install", "G"], "26.3", "compatible"
    )
    really = {**ledger.distributions, cn("g"): "1.0"}
    reconciled, notes = reconcile(ledger, really)
    closed = reconciled.transaction(txn.id)
    assert closed is not None and closed.status == "interrupted"
    assert closed.changes == (Change(cn("g"), None, "1.0"),)
    assert reconciled.pending() == [] and reconciled.distributions == really
    assert [t.status for t in reconciled.transactions] == ["committed", "interrupted"]  # no drift on top
    assert notes == [
        f"pipguard: transaction {txn.id} (install G) was interrupted; "
        "recorded what it changed (1 distributions)."
    ]


def test_reconcile_records_changes_made_behind_pipguards_back_as_drift() -> None:
    ledger = baseline_ledger({}, INSTALLED, ENV)
    really = {**ledger.distributions, cn("b"): "2.0"}
    del really[cn("only")]
    reconciled, notes = reconcile(ledger, really)
    drift = reconciled.transactions[-1]
    assert (drift.id, drift.command, drift.status) == (2, "drift", "drift")
    assert drift.changes == (Change(cn("b"), "1.5", "2.0"), Change(cn("only"), "1", None))
    assert "b: 1.5 -> 2.0, only: 1 -> (removed) (recorded as transaction 2)" in notes[0]
    assert reconcile(reconciled, really) == (reconciled, [])  # nothing new: nothing recorded


def test_reconcile_of_a_clean_ledger_changes_nothing() -> None:
    ledger = baseline_ledger({}, INSTALLED, ENV)
    assert reconcile(ledger, ledger.distributions) == (ledger, [])
    assert Ledger().next_id == 1
    assert Ledger(transactions=(Transaction(7, "x"),)).next_id == 8

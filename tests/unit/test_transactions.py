"""transactions.py: baseline, start/close/apply, root changes, reconcile, rewind, replay (pure)."""

from __future__ import annotations

from packaging.utils import canonicalize_name as cn

from pipguard.core.model import Change, LedgerState, Root, RootChange, StandingConstraint, Transaction
from pipguard.core.transactions import (
    apply,
    baseline,
    close,
    intended_roots,
    reconcile,
    replay,
    rewind,
    root_changes,
    start,
    top_level,
)
from tests.support.fakes import dist

ENV = {"python_version": "3.11", "sys_platform": "linux"}


def clock() -> str:
    return "2025-01-01T00:00:00Z"


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


def started() -> LedgerState:
    empty, txn = baseline({"prefix": "/v"}, INSTALLED, ENV, clock)
    return apply(empty, txn)


def test_top_level_is_what_nothing_requires_less_tooling() -> None:
    assert top_level(INSTALLED, ENV) == ["a", "only", "win"]  # Win's need of Only never applies here


def test_baseline_protects_what_is_there_and_records_its_roots() -> None:
    empty, txn = baseline({"prefix": "/v"}, INSTALLED, ENV, clock, "strict")
    assert empty.policy == "strict" and empty.environment == {"prefix": "/v"} and empty.last_id == 0
    assert (txn.id, txn.command, txn.status, txn.pip_version) == (1, "baseline", "committed", "26.3")
    assert {c.name for c in txn.changes} == set(INSTALLED)
    assert [(c.name, c.before, c.after and c.after.kind) for c in txn.roots] == [
        ("a", None, "baseline"), ("only", None, "baseline"), ("win", None, "baseline")]
    state = apply(empty, txn)
    assert state.distributions == {"a": "1.0", "b": "1.5", "pip": "26.3", "win": "1", "only": "1"}
    assert sorted(state.roots) == ["a", "only", "win"] and state.last_id == 1 and state.pending is None
    assert baseline({}, {}, ENV, clock)[1].changes == ()


def test_start_numbers_the_transaction_redacts_and_makes_arguments_printable() -> None:
    state = started()
    txn = start(state, "install", ["install", "-i", "https://u:t\u00c9k@host/simple", "caf\udce9"], "26.3",
                "compatible", clock, constraints=["https://u:tok@host/c.txt"])
    assert (txn.id, txn.status, txn.started) == (2, "pending", clock())
    assert txn.argv == ("install", "-i", "https://****@host/simple", "caf\\xe9")
    assert txn.constraints == ("https://****@host/c.txt",)
    pending = apply(state, txn)
    assert pending.pending == txn and pending.last_id == 2 and pending.distributions == state.distributions


def test_close_records_changes_and_root_changes_against_the_state() -> None:
    state = started()
    txn = start(state, "install", ["install", "G"], "26.3", "compatible", clock)
    state = apply(state, txn)
    after = {**state.distributions, cn("g"): "1.0", cn("b"): "1.8"}
    roots = {**state.roots, cn("g"): Root(cn("g"), "G", ">=1", added_by=2)}
    del roots[cn("win")]
    done = close(state, txn, "committed", clock, after=after, roots=roots)
    assert done.status == "committed" and done.finished == clock()
    assert done.changes == (Change(cn("b"), "1.5", "1.8"), Change(cn("g"), None, "1.0"))
    assert [(c.name, c.before is None, c.after is None) for c in done.roots] == [
        ("g", True, False), ("win", False, True)]
    applied = apply(state, done)
    assert applied.distributions == after and applied.roots == roots and applied.pending is None
    failed = close(state, txn, "failed", clock, reason="pip exited with 1")
    assert apply(state, failed).distributions == state.distributions and failed.reason


def test_root_changes_cover_specifier_extras_and_editable() -> None:
    before = {cn("a"): Root(cn("a"), "A", ">=1", ("x",))}
    for changed in (Root(cn("a"), "A", ">=2", ("x",)), Root(cn("a"), "A", ">=1", ()),
                    Root(cn("a"), "A", ">=1", ("x",), editable="file:///src/a")):
        assert root_changes(before, {cn("a"): changed}) == (RootChange(cn("a"), before[cn("a")], changed),)
    assert root_changes(before, before) == ()


def test_close_sets_the_standing_constraints_from_then_on() -> None:
    state = started()
    line = StandingConstraint("b<2", "command line", 2)
    txn = start(state, "constraints", ["constraints", "add", "b<2"], None, "compatible", clock,
                status="committed")
    applied = apply(state, close(state, txn, "committed", clock, standing=(line,)))
    assert applied.standing == (line,) and applied.last_id == 2


def test_reconcile_closes_a_dead_runs_pending_transaction_with_real_changes() -> None:
    state = started()
    txn = start(state, "install", ["install", "G"], "26.3", "compatible", clock)
    state = apply(state, txn)
    really = {**state.distributions, cn("g"): "1.0"}
    found = reconcile(state, really, clock)
    (closed,) = found.records
    assert closed.id == txn.id and closed.status == "interrupted"
    assert closed.changes == (Change(cn("g"), None, "1.0"),)
    assert found.state.pending is None and found.state.distributions == really
    assert found.notes == (
        f"pipguard: transaction {txn.id} (install G) was interrupted; recorded what it changed (1 distributions).",)


def test_reconcile_applies_the_roots_the_interrupted_run_meant_to_add_for_what_got_installed() -> None:
    state = started()
    wanted = {cn("g"): Root(cn("g"), "G", ">=1", added_by=2), cn("h"): Root(cn("h"), "H", added_by=2)}
    txn = start(state, "install", ["install", "G", "H"], "26.3", "compatible", clock,
                roots=root_changes(state.roots, {**state.roots, **wanted}))
    state = apply(state, txn)
    found = reconcile(state, {**state.distributions, cn("g"): "1.0"}, clock)  # H never got installed
    assert cn("g") in found.state.roots and cn("h") not in found.state.roots
    assert [c.name for c in found.records[0].roots] == ["g"]
    removal = txn._replace(roots=(RootChange(cn("a"), state.roots[cn("a")], None),))
    gone = {k: v for k, v in state.distributions.items() if k != "a"}
    assert cn("a") not in intended_roots(removal, state.roots, gone)
    assert cn("a") in intended_roots(removal, state.roots, state.distributions)  # still installed


def test_reconcile_records_changes_made_behind_pipguards_back_as_drift() -> None:
    state = started()
    really = {**state.distributions, cn("b"): "2.0"}
    del really[cn("only")]
    found = reconcile(state, really, clock)
    (drift,) = found.records
    assert (drift.id, drift.command, drift.status) == (2, "drift", "drift")
    assert drift.changes == (Change(cn("b"), "1.5", "2.0"), Change(cn("only"), "1", None))
    assert "b: 1.5 -> 2.0, only: 1 -> (removed) (recorded as transaction 2)" in found.notes[0]
    again = reconcile(found.state, really, clock)
    assert (again.records, again.notes, again.state) == ((), (), found.state)


def test_reconcile_of_a_clean_ledger_changes_nothing() -> None:
    state = started()
    assert reconcile(state, state.distributions, clock).records == ()
    assert LedgerState().next_id == 1 and LedgerState(last_id=7).next_id == 8


def test_rewind_undoes_later_transactions_and_replay_redoes_them() -> None:
    empty, first = baseline({}, INSTALLED, ENV, clock)
    history = [first]
    state = apply(empty, first)
    for name, version, spec in (("g", "1.0", ">=1"), ("b", "1.8", ""), ("g", "1.2", ">=1.1")):
        txn = start(state, "install", ["install", name], None, "compatible", clock)
        roots = dict(state.roots)
        if spec:
            roots[cn(name)] = Root(cn(name), name, spec, added_by=txn.id)
        done = close(state, txn, "committed", clock, after={**state.distributions, cn(name): version},
                     roots=roots)
        history += [txn, done]
        state = apply(apply(state, txn), done)
    outcomes = [t for t in history if t.status != "pending"]
    after_two = replay(LedgerState(), outcomes[:2])
    point = rewind(state, history[3:])  # everything after transaction 2 (pending records included)
    assert point.distributions == after_two.distributions and point.roots == after_two.roots
    assert point.roots[cn("g")].specifier == ">=1"
    assert replay(LedgerState(), history).distributions == state.distributions
    assert rewind(state, []).distributions == state.distributions


def test_apply_of_an_outcome_ends_only_its_own_pending_record() -> None:
    state = started()
    pending = start(state, "install", ["install", "G"], None, "compatible", clock)
    state = apply(state, pending)
    assert apply(state, pending._replace(status="failed")).pending is None
    assert apply(state, Transaction(1, "old", status="committed")).pending == pending

"""ledger/store.py: state and journal written together, repaired after a crash between
them, migrated from schema 1, compacted; the lock (exclusive, shared, none); the
ownership, permission and symbolic-link checks."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

import filelock
import pytest
from packaging.utils import canonicalize_name

from pipguard.core.model import Change, LedgerState, Root, StandingConstraint, Transaction
from pipguard.core.transactions import close, replay, start
from pipguard.errors import LedgerError, UsageError
from pipguard.ledger.journal import Journal, Trimmed, encode_line
from pipguard.ledger.paths import default_ledger_path, ledger_path
from pipguard.ledger.recovery import NeedsWriter
from pipguard.ledger.safety import check_safe
from pipguard.ledger.store import LedgerStore

n = canonicalize_name


def clock() -> str:
    return "2025-01-01T00:00:00Z"


def begun_and_done(store: LedgerStore, state: LedgerState, name: str, version: str) -> LedgerState:
    txn = start(state, "install", ["install", name], "26.3", "compatible", clock)
    state = store.begin(state, txn)
    roots = {**state.roots, n(name): Root(n(name), name, ">=0", added_by=txn.id)}
    done = close(state, txn, "committed", clock, after={**state.distributions, n(name): version}, roots=roots)
    return store.finish(state, done)


def history(store: LedgerStore, count: int = 3) -> LedgerState:
    """A ledger with a baseline and *count* installs, written through the store."""
    state = store.finish(LedgerState(environment={"prefix": "/v"}),
                         Transaction(1, "baseline", status="committed", changes=(Change(n("pip"), None, "26"),)))
    for number in range(count):
        state = begun_and_done(store, state, f"p{number}", "1.0")
    return state


@pytest.fixture
def store(tmp_path: Path) -> LedgerStore:
    return LedgerStore(tmp_path / "deep" / "ledger.json", lock_timeout=0.3)


def files_of(store: LedgerStore) -> dict[str, bytes]:
    directory = store.files.directory
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file() and not p.name.endswith(".lock")}


# -- writing and reading -------------------------------------------------------------------


def test_state_and_journal_round_trip_with_no_temporary_left(store: LedgerStore) -> None:
    with store.locked():
        assert store.load() is None and not store.exists()
        state = history(store)
        assert store.load() == state
    assert state.last_id == 4 and sorted(state.roots) == ["p0", "p1", "p2"]
    assert stat.S_IMODE(store.files.state.stat().st_mode) == 0o644
    assert sorted(files_of(store)) == ["ledger.journal.jsonl", "ledger.json"]
    lines = store.files.journal.read_text().splitlines()
    assert [(json.loads(x)["id"], json.loads(x)["status"]) for x in lines] == [
        (1, "committed"), (2, "pending"), (2, "committed"), (3, "pending"), (3, "committed"),
        (4, "pending"), (4, "committed")]
    assert json.loads(store.files.state.read_text())["last_id"] == 4


def test_ids_must_increase(store: LedgerStore) -> None:
    with store.locked():
        state = history(store, 1)
        with pytest.raises(ValueError):
            store.finish(state, Transaction(2, "again", status="committed"))
        with pytest.raises(ValueError):
            store.begin(state, Transaction(1, "again"))


def test_a_crash_between_the_journal_and_the_state_is_repaired_from_the_journal(
        store: LedgerStore, capsys: pytest.CaptureFixture[str]) -> None:
    with store.locked():
        state = history(store, 1)
        before = store.files.state.read_bytes()
        txn = start(state, "install", ["install", "x"], None, "compatible", clock)
        Journal(store.files.journal).append([txn])  # ...and the run died before the state write
    with store.locked(shared=True):
        read = store.load()
        assert read is not None and read.pending == txn and read.last_id == txn.id
    assert store.files.state.read_bytes() == before, "a read never writes"
    assert "behind its journal" in capsys.readouterr().err
    with store.locked():
        assert store.load() == read
    assert "was behind its journal" in capsys.readouterr().err
    assert json.loads(store.files.state.read_text())["pending"]["id"] == txn.id


def test_a_crash_between_the_outcome_and_the_state_applies_the_outcome(store: LedgerStore) -> None:
    with store.locked():
        state = history(store, 1)
        txn = start(state, "install", ["install", "x"], None, "compatible", clock)
        state = store.begin(state, txn)
        done = close(state, txn, "committed", clock, after={**state.distributions, n("x"): "2"})
        Journal(store.files.journal).append([done])
        repaired = store.load()
    assert repaired is not None and repaired.pending is None and repaired.distributions[n("x")] == "2"
    assert store.last_entry == done


def test_a_missing_state_is_rebuilt_from_the_journal(store: LedgerStore) -> None:
    with store.locked():
        state = history(store, 2)
    store.files.state.unlink()
    with store.locked():
        rebuilt = store.load()
    assert rebuilt is not None
    assert (rebuilt.distributions, rebuilt.roots, rebuilt.last_id) == (state.distributions, state.roots, 3)
    assert store.files.state.exists()


def test_a_journal_behind_its_state_is_refused_and_nothing_is_touched(store: LedgerStore) -> None:
    with store.locked():
        history(store, 2)
    lines = store.files.journal.read_bytes().splitlines(keepends=True)
    store.files.journal.write_bytes(b"".join(lines[:-2]))
    before = files_of(store)
    with store.locked(), pytest.raises(LedgerError, match="disagree: the state's newest record is transaction 3"):
        store.load()
    assert files_of(store) == before


def test_a_torn_last_line_is_set_aside_by_a_writer_only(store: LedgerStore,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    with store.locked():
        state = history(store, 1)
        txn = start(state, "install", ["install", "x"], None, "compatible", clock)
    fragment = encode_line(txn)[:25]
    with store.files.journal.open("ab") as handle:
        handle.write(fragment)
    before = files_of(store)
    with store.locked(shared=True):
        assert store.load() == state
    assert files_of(store) == before and "is torn" in capsys.readouterr().err
    with store.locked():
        assert store.load() == state
    assert "was torn" in capsys.readouterr().err
    assert store.files.torn.read_bytes() == fragment + b"\n"
    assert store.files.journal.read_bytes() == before["ledger.journal.jsonl"][:-len(fragment)]


def test_a_corrupt_line_in_the_middle_is_a_ledger_error_naming_file_and_line(store: LedgerStore) -> None:
    with store.locked():
        history(store, 3)
    lines = store.files.journal.read_text().splitlines()
    lines[2] = '{"v": 1, "kind": "transaction", "id": "two"}'
    store.files.journal.write_text("\n".join(lines) + "\n")
    with store.locked(shared=True):
        assert store.load() is not None  # the state and the journal's last lines are fine
        with pytest.raises(LedgerError) as raised, store.reading_journal():
            list(store.journal)
    assert f"journal {store.files.journal} is unusable: line 3:" in str(raised.value)


def test_nan_is_never_written(store: LedgerStore) -> None:
    with store.locked():
        state = history(store, 1)
        before = files_of(store)
        with pytest.raises(LedgerError, match=r"not JSON|Out of range"):
            store.save(state._replace(shim={"format": float("nan")}))
    assert files_of(store) == before


def test_a_full_disk_at_commit_says_that_pip_already_did_its_part(
        store: LedgerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    with store.locked():
        state = history(store, 1)
        txn = start(state, "install", ["install", "x"], None, "compatible", clock)
        state = store.begin(state, txn)

        def full(*args: Any, **kwargs: Any) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(Journal, "append", full)
        done = close(state, txn, "committed", clock, after={**state.distributions, n("x"): "1"})
        with pytest.raises(LedgerError) as raised:
            store.finish(state, done)
    message = str(raised.value)
    assert f"cannot record transaction {txn.id}" in message and "No space left on device" in message
    assert "pip has already done its part" in message and "the next pipguard run records what changed" in message


# -- migration ------------------------------------------------------------------------------


def schema1(transactions: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    return {"schema": 1, "environment": {"prefix": "/v"}, "policy": "strict",
            "roots": {"a": {"name": "a", "display_name": "A", "specifier": ">=1", "added_by": 2}},
            "standing": [{"requirement": "b<2", "source": "command line", "added_by": 2}],
            "distributions": {"a": "1.0"}, "transactions": transactions, "shim": {}, **more}


OLD = [{"id": 1, "command": "baseline", "status": "committed"},
       {"id": 2, "command": "install", "argv": ["install", "A"], "status": "committed",
        "changes": [{"name": "a", "before": None, "after": "1.0"}]}]


def test_a_schema_1_ledger_is_migrated_by_a_writer_with_a_backup(
        store: LedgerStore, capsys: pytest.CaptureFixture[str]) -> None:
    store.files.directory.mkdir(parents=True)
    original = json.dumps(schema1(OLD)).encode()
    store.files.state.write_bytes(original)
    with store.locked(shared=True):
        read = store.load()
        assert read is not None and [t.id for t in store.journal] == [1, 2]
    assert store.files.state.read_bytes() == original and "schema 1" in capsys.readouterr().err
    with store.locked():
        state = store.load()
    assert state == read and state is not None
    assert (state.policy, state.last_id, state.standing) == ("strict", 2,
                                                             (StandingConstraint("b<2", "command line", 2),))
    assert store.files.backup.read_bytes() == original
    assert json.loads(store.files.state.read_text())["schema"] == 2
    journal = list(Journal(store.files.journal))
    assert [t.id for t in journal] == [1, 2] and [c.name for c in journal[1].roots] == ["a"]
    err = capsys.readouterr().err
    assert "migrated the ledger" in err and "2 transactions" in err and str(store.files.backup) in err
    with store.locked():
        assert store.load() == state  # once


def test_migration_follows_a_standing_file_that_is_still_there(store: LedgerStore, tmp_path: Path) -> None:
    uc = tmp_path / "uc.txt"
    uc.write_text("b===1\n")
    store.files.directory.mkdir(parents=True)
    store.files.state.write_text(json.dumps(schema1(OLD, standing=[
        {"requirement": "b===1", "source": str(uc), "added_by": 2},
        {"requirement": "c===1", "source": str(tmp_path / "gone.txt"), "added_by": 2}])))
    with store.locked():
        state = store.load()
    assert state is not None
    assert [f.path for f in state.standing_files] == [str(uc)]
    assert [s.requirement for s in state.standing] == ["c===1"]  # its file is gone: kept as copied


@pytest.mark.parametrize(("ids", "message"), [
    ([1, 3, 2], "not strictly increasing"),
    ([-1, -2], "transaction ids are positive"),
    ([1, 1], "not strictly increasing"),
])
def test_bad_ids_in_a_schema_1_ledger_are_refused_and_it_is_left_untouched(
        store: LedgerStore, ids: list[int], message: str) -> None:
    store.files.directory.mkdir(parents=True)
    store.files.state.write_text(json.dumps(schema1([{"id": i, "command": "x", "status": "committed"} for i in ids])))
    before = files_of(store)
    for shared in (True, False):
        with store.locked(shared=shared), pytest.raises(LedgerError, match=message):
            store.load()
    assert files_of(store) == before


def test_a_newer_schema_is_refused_and_left_untouched(store: LedgerStore) -> None:
    store.files.directory.mkdir(parents=True)
    store.files.state.write_text('{"schema": 3}')
    with store.locked(), pytest.raises(LedgerError, match="newer than this pipguard understands"):
        store.load()
    assert store.files.state.read_text() == '{"schema": 3}'


# -- compaction -----------------------------------------------------------------------------


def test_compaction_keeps_what_rollback_needs(store: LedgerStore) -> None:
    with store.locked():
        state = history(store, 5)
        txn = start(state, "constraints", ["constraints", "add", "z<2"], None, "compatible", clock,
                    status="committed")
        line = StandingConstraint("z<2", "command line", txn.id)
        state = store.finish(state, close(state, txn, "committed", clock, standing=(line,)))
        state = begun_and_done(store, state, "late", "3.0")
        every = list(Journal(store.files.journal))
        done = store.compact(state, 5, clock)
        assert done.summary is not None and (done.summary.first, done.summary.id) == (1, 4)
        assert done.bytes_after < done.bytes_before
        journal = Journal(store.files.journal)
        expected = replay(LedgerState(), [t for t in every if t.id <= 4])
        assert (done.summary.distributions, done.summary.roots) == (expected.distributions, expected.roots)
        assert done.summary.standing == ()
        assert [t.id for t in journal] == [5, 6, 7, 8] and journal.get(6) == every[5]
        with pytest.raises(Trimmed):
            journal.get(3)
        assert store.load() == state
        again = store.compact(state, 8, clock)
        assert again.summary is not None and (again.summary.first, again.summary.id) == (1, 7)
        assert again.summary.standing == (line,)
        assert store.compact(state, 3, clock).summary is None  # already
        with pytest.raises(UsageError, match="must keep at least its newest"):
            store.compact(state, 9, clock)
    store.files.state.unlink()
    with store.locked():
        rebuilt = store.load()  # from the summary and what follows it
    assert rebuilt is not None and (rebuilt.distributions, rebuilt.roots) == (state.distributions, state.roots)


# -- the lock --------------------------------------------------------------------------------


def test_a_lock_held_elsewhere_times_out_with_a_clear_error(
        store: LedgerStore, capsys: pytest.CaptureFixture[str]) -> None:
    store.files.directory.mkdir(parents=True)
    holder = filelock.FileLock(str(store.lock_path))
    for shared in (False, True):
        with holder, pytest.raises(LedgerError) as raised, store.locked(shared=shared):
            pass
        assert f"timed out after 0.3 s waiting for the lock {store.lock_path}" in str(raised.value)
        assert "--lock-timeout" in str(raised.value)
        assert "waiting for another pipguard run" in capsys.readouterr().err


def test_a_tentative_read_never_waits_for_a_writer(store: LedgerStore, capsys: pytest.CaptureFixture[str]) -> None:
    """``tentatively`` (a satisfied install) does not wait where a writer holds the lock: the
    writer's path waits instead, and says so once."""
    with store.locked():
        history(store, 1)
    with filelock.FileLock(str(store.lock_path)), store.tentatively() as held:
        assert held is False and not store.tentative
    assert capsys.readouterr().err == ""
    with store.tentatively() as held:
        assert held is True and store.tentative and store.load() is not None
    assert not store.tentative


def test_a_tentative_read_checks_the_ledger_as_a_writer_does(store: LedgerStore) -> None:
    """What only a writer repairs ends the tentative read before it is said (``NeedsWriter``)."""
    with store.locked():
        history(store, 1)
    with store.files.journal.open("ab") as journal:
        journal.write(b'{"v": 2, "kind": "trans')  # a torn last line
    with store.tentatively() as held, pytest.raises(NeedsWriter):
        assert held
        store.load()
    with store.locked(shared=True):
        assert store.load() is not None  # a reader reads past it, and says so


def test_readers_share_the_lock_and_keep_writers_out(store: LedgerStore) -> None:
    with store.locked():
        history(store, 1)
    other = LedgerStore(store.path, lock_timeout=0.2)
    with store.locked(shared=True):
        with other.locked(shared=True):
            assert other.load() is not None
        with pytest.raises(LedgerError, match="timed out"), other.locked():
            pass


def test_the_lock_is_free_again_after_an_exception(store: LedgerStore) -> None:
    with pytest.raises(RuntimeError), store.locked():
        raise RuntimeError("boom")
    with store.locked():
        pass


def test_taking_the_lock_removes_only_this_ledgers_stale_temporaries(store: LedgerStore) -> None:
    with store.locked():
        history(store, 1)
    directory = store.files.directory
    stale = [directory / ".ledger.json.abc123.tmp", directory / ".ledger.journal.jsonl.x.tmp"]
    others = [directory / ".other.json.abc123.tmp", directory / ".ledger.json.keep"]
    for path in [*stale, *others]:
        path.write_text("x")
    with store.locked():
        assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in others)


def test_an_impossible_ledger_directory_is_a_ledger_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    store = LedgerStore(tmp_path / "file" / "ledger.json")
    with pytest.raises(LedgerError, match="cannot create the ledger directory"), store.locked():
        pass


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_location_is_read_without_the_lock(store: LedgerStore,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    with store.locked():
        history(store, 1)
    store.lock_path.unlink()
    store.files.directory.chmod(0o555)
    try:
        with store.locked(shared=True):
            assert store.load() is not None
    finally:
        store.files.directory.chmod(0o755)
    assert "reading the ledger without it" in capsys.readouterr().err


# -- who may have written it ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("which", "mode", "refused"),
    [
        ("file", 0o644, False),
        ("file", 0o600, False),
        ("file", 0o664, True),
        ("file", 0o606, True),
        ("journal", 0o664, True),
        ("dir", 0o755, False),
        ("dir", 0o775, True),
        ("dir", 0o777, True),
        ("dir", 0o1777, False),  # sticky, like /tmp
        ("parent", 0o777, True),  # every directory up to the first one owned by root
    ],
)
def test_check_safe_modes(tmp_path: Path, which: str, mode: int, refused: bool) -> None:
    parent = tmp_path / "p"
    directory = parent / "d"
    directory.mkdir(parents=True, mode=0o755)
    parent.chmod(0o755)
    ledger, journal = directory / "ledger.json", directory / "ledger.journal.jsonl"
    for path in (ledger, journal):
        path.write_text("{}")
        path.chmod(0o644)
    os.chmod({"file": ledger, "journal": journal, "dir": directory, "parent": parent}[which], mode)
    owned_by_root = os.geteuid() == 0  # then the walk stops at the first directory, as root owns it
    for writing in (True, False):
        if refused and not (which == "parent" and owned_by_root):
            with pytest.raises(LedgerError, match="refusing the ledger"):
                check_safe(ledger, ledger, [journal], writing=writing)
        else:
            check_safe(ledger, ledger, [journal], writing=writing)


@pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")
@pytest.mark.parametrize("which", ["file", "dir"])
def test_a_ledger_owned_by_another_user_is_refused_to_writers_only(tmp_path: Path, which: str) -> None:
    directory = tmp_path / "d"
    directory.mkdir(mode=0o755)
    ledger = directory / "ledger.json"
    ledger.write_text("{}")
    os.chown(ledger if which == "file" else directory, 4242, 4242)
    with pytest.raises(LedgerError, match="owned by user id 4242"):
        check_safe(ledger, ledger, writing=True)
    check_safe(ledger, ledger, writing=False)


def test_a_dangling_symbolic_link_is_never_a_fresh_ledger(tmp_path: Path) -> None:
    (tmp_path / "ledger.json").symlink_to(tmp_path / "unmounted" / "ledger.json")
    for path in (tmp_path / "ledger.json", tmp_path / "link" / "ledger.json"):
        if path.parent.name == "link":
            path.parent.symlink_to(tmp_path / "gone")
        store = LedgerStore(path)
        for shared in (False, True):
            with pytest.raises(LedgerError, match=r"which does not exist \(an unmounted share"), \
                    store.locked(shared):
                pass
    assert not (tmp_path / "unmounted").exists() and not (tmp_path / "gone").exists()


def test_a_symlinked_ledger_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    first = LedgerStore(real_dir / "ledger.json")
    with first.locked():
        state = history(first, 1)  # a link must point at a ledger that is there
    link = tmp_path / "venv" / ".pipguard" / "ledger.json"
    link.parent.mkdir(parents=True)
    link.symlink_to(real_dir / "ledger.json")
    store = LedgerStore(link)
    with store.locked():
        state = begun_and_done(store, store.load() or state, "more", "1")
    assert link.is_symlink() and (real_dir / "ledger.json").is_file()
    assert (real_dir / "ledger.journal.jsonl").is_file() and (real_dir / "ledger.json.lock").exists()
    with LedgerStore(link).locked(shared=True):
        assert LedgerStore(link).load() == state


def test_default_ledger_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_ledger_path("/v", True) == Path("/v/.pipguard/ledger.json")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert default_ledger_path("/usr", False) == Path("/var/lib/pipguard/usr/ledger.json")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_STATE_HOME", "/state")
    assert default_ledger_path("/opt/py", False) == Path("/state/pipguard/opt_py/ledger.json")


def test_the_ledger_path_is_given_else_pipguard_ledger_else_the_default(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PIPGUARD_LEDGER", raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_STATE_HOME", "/state")
    assert ledger_path(None, "/v", "") == Path("/v/.pipguard/ledger.json")  # known by its pyvenv.cfg
    assert ledger_path(None, "/v", "/usr") == Path("/v/.pipguard/ledger.json")
    assert ledger_path(None, "/usr", "/usr") == Path("/state/pipguard/usr/ledger.json")
    monkeypatch.setenv("PIPGUARD_LEDGER", "shared.json")
    assert ledger_path(None, "/v", "") == tmp_path / "shared.json"  # made absolute
    assert ledger_path("/given/ledger.json", "/v", "") == Path("/given/ledger.json")


def test_ids_out_of_order_at_the_end_of_the_journal_are_refused_before_anything_is_appended(
        store: LedgerStore) -> None:
    with store.locked():
        history(store, 1)
    lines = store.files.journal.read_text().splitlines()
    record = json.loads(lines[-1])
    lines.insert(-1, json.dumps({**record, "id": 3}))  # ids ... 3, 2
    store.files.journal.write_text("\n".join(lines) + "\n")
    before = files_of(store)
    for shared in (True, False):
        with store.locked(shared=shared), pytest.raises(LedgerError, match=r"line \d+: transaction ids are not"):
            store.load()
    assert files_of(store) == before


# -- peek: the state read without the lock, for starting pip ahead ---------------------------


def test_peek_reads_the_state_as_load_does_and_writes_nothing(store: LedgerStore) -> None:
    assert store.peek() == (True, None)  # no ledger yet: a good guess (nothing recorded)
    with store.locked():
        written = history(store, 2)
    before = files_of(store)
    found, guess = store.peek()
    assert found and guess is not None and guess.roots == {}  # roots are left out of a guess
    assert guess == written._replace(roots=guess.roots)
    with store.locked():
        loaded = store.load()
    assert loaded is not None and loaded._replace(roots=guess.roots) == guess and loaded.roots == written.roots
    assert files_of(store) == before


def test_peek_gives_no_guess_while_a_run_is_under_way_or_for_a_state_it_cannot_read(store: LedgerStore) -> None:
    with store.locked():
        state = history(store, 1)
        store.begin(state, start(state, "install", ["install", "x"], "26.3", "compatible", clock))
    assert store.peek() == (False, None)  # a pending record: the ledger is about to change
    store.files.state.write_text("{not json")
    assert store.peek() == (False, None)  # said by the load under the lock, not here
    store.files.state.unlink()
    assert store.peek() == (False, None)  # a journal without its state: recovered under the lock

"""Issue 19.6 and 19.2 at the store: the journal's integrity known cheaply, damage in its middle
found and kept, compaction as the repair; FIFOs where ledger files should be refused."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from pipguard.core.model import Change, LedgerState, Transaction
from pipguard.errors import LedgerError, UsageError
from pipguard.ledger import journal as journal_module
from pipguard.ledger.store import LedgerStore
from tests.unit.test_ledger_store import begun_and_done, clock, history, n


@pytest.fixture
def store(tmp_path: Path) -> LedgerStore:
    return LedgerStore(tmp_path / "deep" / "ledger.json", lock_timeout=0.3)


def long_history(store: LedgerStore, count: int) -> LedgerState:
    with store.locked():
        state = store.finish(LedgerState(environment={"prefix": "/v"}),
                             Transaction(1, "baseline", status="committed", changes=(Change(n("pip"), None, "26"),)))
        records = [Transaction(i, "install", status="committed", started=clock(), finished=clock())
                   for i in range(2, count + 2)]
        return store.record_many(state, records)


def count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = journal_module.decode_line

    def counting(line: bytes, offset: int) -> journal_module.Entry:
        calls[0] += 1
        return real(line, offset)

    monkeypatch.setattr(journal_module, "decode_line", counting)
    return calls


def corrupt_line(path: Path, number: int, same_length: bool = False) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    old = lines[number - 1]
    lines[number - 1] = (b"x" * (len(old) - 1) + b"\n") if same_length else b'{"v":1,"kind":"transaction",\n'
    path.write_bytes(b"".join(lines))


def test_loading_a_journal_pipguard_wrote_reads_a_few_lines_whatever_its_length(
        store: LedgerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    long_history(store, 5_000)
    calls = count_decodes(monkeypatch)
    with store.locked(shared=True):
        state = store.load()
    assert state is not None and state.last_id == 5_001
    assert calls[0] <= 3  # flat: the mark vouches for the journal, only its last lines are read
    assert store.damage == ()


def test_a_corrupt_middle_line_is_found_once_and_kept_in_the_mark(
        store: LedgerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    state = history(store, 4)
    corrupt_line(store.files.journal, 3, same_length=True)
    later = time.time() + 5
    os.utime(store.files.journal, (later, later))  # edited after the state was written
    with store.locked():
        state = store.load()
        assert [d.line for d in store.damage] == [3]
        state = begun_and_done(store, state, "q", "1.0")  # an install goes on
    calls = count_decodes(monkeypatch)
    with store.locked(shared=True):
        store.load()
    assert calls[0] <= 3  # known from the mark now, not read again
    assert [d.line for d in store.damage] == [3]
    notes = store.damage_notes()
    assert len(notes) == 1 and "line 3" in notes[0] and "history --compact 3" in notes[0]


def test_compaction_past_the_damage_keeps_what_can_be_read(store: LedgerStore) -> None:
    history(store, 4)  # ids 1..5; line 3 is transaction 2's outcome
    corrupt_line(store.files.journal, 3)
    with store.locked():
        state = store.load()
        assert state is not None
        with pytest.raises(UsageError, match="--compact 3 or later"):
            store.compact(state, 2, clock)
        done = store.compact(state, 3, clock)
    assert done.summary is not None and done.summary.id == 2 and done.summary.first == 1
    with store.locked(shared=True):
        assert store.load() == state
        assert store.damage == ()
        assert [t.id for t in store.journal.last(10)] == [3, 4, 5]


def test_reading_past_the_damage_names_the_line_and_the_repair(store: LedgerStore) -> None:
    history(store, 4)
    corrupt_line(store.files.journal, 3)
    with store.locked(shared=True):
        store.load()
        with pytest.raises(LedgerError, match=r"line 3.*history --compact 3"), store.reading_journal():
            list(store.journal)


@pytest.mark.parametrize("planted", ["state", "journal", "lock"])
def test_a_fifo_in_place_of_a_ledger_file_is_refused_at_once(store: LedgerStore, planted: str) -> None:
    history(store, 1)
    path = {"state": store.files.state, "journal": store.files.journal, "lock": store.files.lock}[planted]
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    result: list[BaseException | None] = []

    def read() -> None:
        try:
            with store.locked(shared=True):
                store.load()
            result.append(None)
        except BaseException as exc:
            result.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # unblock the hung reader before failing
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("reading the ledger blocked on a FIFO")
    assert isinstance(result[0], LedgerError), result
    assert str(path) in str(result[0]) and "FIFO" in str(result[0])

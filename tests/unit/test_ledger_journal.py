"""ledger/journal.py: appending, reading from the end, finding by id, torn and corrupt lines."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from pipguard.core.model import Change, Transaction
from pipguard.ledger.journal import (
    Journal,
    JournalLineError,
    Summary,
    Trimmed,
    decode_line,
    encode_line,
)


def txn(txn_id: int, status: str = "committed", **fields: object) -> Transaction:
    return Transaction(txn_id, "install", ("install", f"p{txn_id}"), status, **fields)  # type: ignore[arg-type]


def journal_of(tmp_path: Path, *entries: Transaction | Summary) -> Journal:
    journal = Journal(tmp_path / "ledger.journal.jsonl")
    journal.append(entries)
    return journal


def test_each_record_is_one_json_line_with_its_own_version(tmp_path: Path) -> None:
    done = txn(2, changes=(Change(canonicalize_name("a"), None, "1"),))
    journal = journal_of(tmp_path, txn(1), txn(2, "pending"), done)
    lines = journal.path.read_text().splitlines()
    assert [json.loads(line)["v"] for line in lines] == [1, 1, 1]
    assert [(json.loads(line)["id"], json.loads(line)["status"]) for line in lines] == [
        (1, "committed"), (2, "pending"), (2, "committed")]
    assert journal.path.read_text().endswith("\n")


def test_a_pending_record_is_replaced_by_its_outcome_when_read(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, txn(1), txn(2, "pending"), txn(2, "failed"), txn(3, "pending"))
    assert [(t.id, t.status) for t in journal] == [(1, "committed"), (2, "failed"), (3, "pending")]
    assert [(t.id, t.status) for t in journal.last(2)] == [(2, "failed"), (3, "pending")]
    assert journal.get(2) == txn(2, "failed") and journal.get(3) == txn(3, "pending")
    assert journal.get(4) is None and journal.first_id() == 1


def test_reading_from_the_end_and_bisecting_never_touch_a_bad_line_far_away(tmp_path: Path) -> None:
    """Proof that last(), get() and since() do not parse the rest: a corrupt line in
    the middle of a long journal is never met, while reading everything meets it."""
    journal = journal_of(tmp_path, *(txn(i) for i in range(1, 3001)))
    text = journal.path.read_text().splitlines()
    text[1499] = "{not json"
    journal.path.write_text("\n".join(text) + "\n")
    assert [t.id for t in journal.last(3)] == [2998, 2999, 3000]
    assert journal.get(2900) == txn(2900) and journal.get(10) == txn(10)
    assert [t.id for t in journal.since(2997)] == [2998, 2999, 3000]
    with pytest.raises(JournalLineError) as raised:
        list(journal)
    assert journal.line_number(raised.value.offset) == 1500
    assert "it is not valid JSON" in raised.value.detail


def test_finding_by_id_agrees_with_reading_everything(tmp_path: Path) -> None:
    rng = random.Random(7)
    entries: list[Transaction] = []
    txn_id = 0
    for _ in range(2000):
        txn_id += rng.choice([1, 1, 1, 2, 5])
        reason = "x" * rng.choice([0, 10, 300, 5000])
        if rng.random() < 0.3:
            entries.append(txn(txn_id, "pending"))
        entries.append(txn(txn_id, reason=reason))
    journal = journal_of(tmp_path, *entries)
    every = {t.id: t for t in journal}
    for wanted in rng.sample(range(1, txn_id + 2), 40):
        assert journal.get(wanted) == every.get(wanted)
        assert [t.id for t in journal.since(wanted)] == [i for i in every if i > wanted]
    assert [t.id for t in journal.last(7)] == list(every)[-7:]


@pytest.mark.parametrize(("ids", "message"), [
    ([1, 3, 2], "not strictly increasing (id 2 after 3)"),
    ([1, 1], "not strictly increasing (id 1 after 1)"),
])
def test_ids_that_do_not_increase_are_refused(tmp_path: Path, ids: list[int], message: str) -> None:
    journal = journal_of(tmp_path, *(txn(i) for i in ids))
    with pytest.raises(JournalLineError, match=re.escape(message)):
        list(journal)
    with pytest.raises(JournalLineError):
        journal.tail(3)


@pytest.mark.parametrize("bad_id", [-1, 0])
def test_ids_that_are_not_positive_are_refused(tmp_path: Path, bad_id: int) -> None:
    path = tmp_path / "j.jsonl"
    record = json.loads(encode_line(txn(1)))
    record["id"] = bad_id
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(JournalLineError, match=f"id is {bad_id}: transaction ids are positive"):
        list(Journal(path))


@pytest.mark.parametrize(("line", "detail"), [
    (b'{"v":2,"kind":"transaction"}', "newer than this pipguard understands"),
    (b'{"kind":"transaction"}', "no format version"),
    (b'{"v":1,"kind":"other","id":1}', "its kind 'other' is unknown"),
    (b'{"v":1,"kind":"transaction","id":1,"status":"committed"}', "a required key is missing ('command')"),
    (b'{"v":1,"kind":"transaction","id":1,"status":"committed","command":"x","reason":NaN}', "not JSON"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
])
def test_every_bad_line_is_named(line: bytes, detail: str) -> None:
    with pytest.raises(JournalLineError, match=re.escape(detail)) as raised:
        decode_line(line, 42)
    assert raised.value.offset == 42


def test_a_torn_last_line_is_never_read_and_is_set_aside_whole(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, txn(1), txn(2, "pending"))
    whole = encode_line(txn(2))
    with journal.path.open("ab") as handle:
        handle.write(whole[:30])  # a crash in the middle of the append
    assert journal.torn() == (len(journal.path.read_bytes()) - 30, whole[:30])
    assert [(t.id, t.status) for t in journal] == [(1, "committed"), (2, "pending")]
    assert journal.last(5)[-1].status == "pending"
    aside = tmp_path / "ledger.journal.jsonl.torn"
    assert journal.set_aside_torn(aside) == whole[:30]
    assert aside.read_bytes() == whole[:30] + b"\n" and journal.torn() is None
    assert journal.path.read_bytes().endswith(encode_line(txn(2, "pending")))
    journal.append([txn(2)])
    assert [(t.id, t.status) for t in journal] == [(1, "committed"), (2, "committed")]


def test_a_summary_stands_for_what_it_replaced(tmp_path: Path) -> None:
    summary = Summary(id=5, first=1, replaced=5, compacted_at="t", distributions={canonicalize_name("a"): "1"})
    journal = journal_of(tmp_path, summary, txn(6), txn(7))
    assert journal.summary() == summary and journal.first_id() == 6
    assert [t.id for t in journal] == [6, 7] and [t.id for t in journal.last(10)] == [6, 7]
    with pytest.raises(Trimmed) as raised:
        journal.get(3)
    assert raised.value.summary == summary
    with pytest.raises(Trimmed):
        journal.since(2)
    assert [t.id for t in journal.since(5)] == [6, 7]
    (tmp_path / "x").mkdir()
    misplaced = journal_of(tmp_path / "x", txn(1), summary)
    with pytest.raises(JournalLineError, match="only be the first line"):
        list(misplaced)


def test_an_empty_or_missing_journal_reads_as_nothing(tmp_path: Path) -> None:
    missing = Journal(tmp_path / "none.jsonl")
    assert list(missing) == [] and missing.last(3) == [] and missing.get(1) is None
    assert missing.head() is None and missing.torn() is None and missing.first_id() is None


def test_a_snapshot_reads_the_journal_as_it_was_when_opened(tmp_path: Path) -> None:
    journal = journal_of(tmp_path, txn(1), txn(2))
    with journal.snapshot() as snapshot:
        journal.append([txn(3)])
        assert [t.id for t in snapshot] == [1, 2] and [t.id for t in snapshot.last(5)] == [1, 2]
        assert snapshot.get(3) is None
    assert [t.id for t in journal] == [1, 2, 3]

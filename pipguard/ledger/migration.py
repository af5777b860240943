"""Migration: a schema-1 ledger (state and every transaction in one file) to state + journal.

Holding the exclusive lock, ``LedgerStore.load`` migrates on first use: the
old file is kept as ``<ledger>.schema1.bak`` (an earlier, interrupted
migration's identical backup is reused), the journal is written afresh from
its transactions, then the new state replaces the old file, and one line
says so. A read (shared lock) reads a schema-1 ledger as it is, in memory
(``MemoryJournal``), without writing. A journal with newer records than the
old file beside it is refused: one of them was written by another pipguard.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipguard.core.model import LedgerState, Transaction
from pipguard.errors import LedgerError
from pipguard.ledger.journal import Journal, JournalReader, Summary, encode_line
from pipguard.ledger.paths import TEMP_SUFFIX, LedgerFiles
from pipguard.ledger.recovery import NeedsWriter
from pipguard.system.files import fsync_directory, open_regular, write_all, write_atomically

if TYPE_CHECKING:
    from pipguard.ledger.store import LedgerStore

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
READ_ERRORS = (ValueError, KeyError, TypeError, AttributeError, RecursionError)


class MemoryJournal:
    """The transactions of a schema-1 ledger read without migrating it (a read-only run)."""

    def __init__(self, transactions: Sequence[Transaction]) -> None:
        self._transactions = list(transactions)

    def last(self, count: int) -> list[Transaction]:
        return self._transactions[-count:] if count > 0 else []

    def get(self, txn_id: int) -> Transaction | None:
        return next((t for t in self._transactions if t.id == txn_id), None)

    def since(self, txn_id: int) -> Iterator[Transaction]:
        return (t for t in self._transactions if t.id > txn_id)

    def __iter__(self) -> Iterator[Transaction]:
        return iter(self._transactions)

    def summary(self) -> Summary | None:
        return None

    def first_id(self) -> int | None:
        return self._transactions[0].id if self._transactions else None

    def snapshot(self) -> contextlib.AbstractContextManager[JournalReader]:
        return contextlib.nullcontext(self)


def migrate(store: LedgerStore, data: Any) -> LedgerState:
    """The state of the schema-1 document *data*; written as schema 2 when the store may write."""
    if store.tentative:
        raise NeedsWriter("a schema-1 ledger")
    from pipguard.ledger.legacy import from_schema1

    files = store.files

    def follows(path: str) -> bool:
        return os.path.isfile(path) and os.access(path, os.R_OK)

    try:
        state, transactions = from_schema1(data, follows)
    except READ_ERRORS as exc:
        raise store.unusable_state("{}", exc) from None
    store.last_entry = transactions[-1] if transactions else None
    if not store.writing:
        store.memory = MemoryJournal(transactions)
        print(f"pipguard: note: the ledger {store.path} is in the single-document format of earlier "
              "pipguard versions (schema 1); read as it is. The next pipguard run that writes migrates it.",
              file=sys.stderr)
        return state
    journal = Journal(files.journal)
    with store.reading_journal():
        existing = journal.tail(1) if journal.exists() else []
    if existing and existing[-1][1].id > state.last_id:
        raise LedgerError(
            f"the ledger {store.path} is a schema-1 ledger, but a journal {files.journal} with newer "
            "records is beside it. Both were left as they are. Move one of them aside and run again."
        )
    try:
        backup = write_backup(files)
        write_journal_afresh(files, transactions)
    except OSError as exc:
        raise LedgerError(
            f"cannot migrate the ledger {store.path}: {exc.strerror or exc} ({exc.filename or files.directory})."
            " The ledger was left as it was; free space or fix permissions and run again."
        ) from None
    store.save(state)
    followed = f"; standing constraints from {len(state.standing_files)} file(s) now follow their files" \
        if state.standing_files else ""
    print(f"pipguard: migrated the ledger {store.path} to the current format (schema 2): "
          f"{len(transactions)} transactions moved to the journal {files.journal}; the old file is "
          f"kept as {backup}{followed}.", file=sys.stderr)
    return state


def _read(path: Path) -> bytes:
    with os.fdopen(open_regular(path), "rb") as handle:
        return handle.read()


def write_backup(files: LedgerFiles) -> Path:
    """Keep the schema-1 file as ``<ledger>.schema1.bak`` (``.2``, ``.3``... if taken)."""
    original = _read(files.state)
    for number in range(1, 1000):
        candidate = files.backup if number == 1 else files.backup.with_name(f"{files.backup.name}.{number}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644)
        except FileExistsError:
            with contextlib.suppress(OSError):
                if _read(candidate) == original:
                    return candidate  # an earlier, interrupted migration kept it already
            continue
        try:
            write_all(fd, original)
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_directory(files.directory)
        return candidate
    raise OSError(errno.EEXIST, "too many backups", str(files.backup))


def _journal_bytes(files: LedgerFiles, entries: Sequence[Transaction | Summary],
                   tail: tuple[int, int] | None) -> Iterator[bytes]:
    for start in range(0, len(entries), 1000):
        yield b"".join(encode_line(e) for e in entries[start:start + 1000])
    if tail is None:
        return
    with os.fdopen(open_regular(files.journal), "rb") as source:
        source.seek(tail[0])
        remaining = tail[1] - tail[0]
        while remaining > 0:
            chunk = source.read(min(1 << 20, remaining))
            if not chunk:
                break
            yield chunk
            remaining -= len(chunk)


def write_journal_afresh(files: LedgerFiles, entries: Sequence[Transaction | Summary],
                         tail: tuple[int, int] | None = None) -> None:
    """Write a whole journal: *entries*, then (for compaction) the bytes of the
    current journal from ``tail[0]`` to ``tail[1]``; atomically replaces it."""
    write_atomically(files.journal, _journal_bytes(files, entries, tail), 0o644,
                     prefix=files.temp_prefix(files.journal), suffix=TEMP_SUFFIX)

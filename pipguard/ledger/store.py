"""The ledger store: an environment's state document and journal, under its lock.

    store = LedgerStore(path, lock_timeout)
    with store.locked():                    # exclusive: every command that writes
        state = store.load()                # None: no ledger yet
        state = store.begin(state, txn)     # journal: the pending record; state: pending
        ...                                 # pip runs
        state = store.finish(state, done)   # journal: the outcome; state: it applied
    with store.locked(shared=True):         # ledger, why, history, export, check
        state = store.load()
        store.journal.last(20)              # history reads the journal from its end
        store.journal.get(7), store.journal.since(7)   # by bisection on ids
    store.save(state)                       # the state alone (policy, shim record)
    store.record_many(state, records)       # many finished records, one fsync (tools)
    store.compact(state, first_kept, now)   # history --compact

Every record is written in one order: the new state is staged in a
temporary file in the ledger's directory (mkstemp, fsync), the journal
line is appended (fsync; a failed append is cut back off), then the
staged state is renamed into place (fsync of the directory). A full disk
or a read-only directory thus fails before anything is recorded. The
state says which journal record it reflects
(``last_id``, ``pending``): ``load`` reads the journal's last lines (never
the rest) and, when a run stopped between the two writes, brings the
state up to date from them. Holding the exclusive lock it writes the
repair; otherwise (a read) it only reads it that way. It also:

* sets aside a torn last line (a crash in the middle of an append) into
  ``<journal>.torn``, saying so, and never reads it as data;
* migrates a schema-1 ledger (everything in one file): the journal is
  written, the old file kept as ``<ledger>.schema1.bak``, one line said.
  A read (shared lock) reads a schema-1 ledger as it is, without writing;
* rebuilds a missing state from the journal (a first run that stopped
  between its two writes);
* refuses (exit 11, files untouched) a corrupt state, a corrupt journal
  line (naming the file and the line), ids that do not increase, a
  journal that disagrees with the state, a newer schema, a dangling
  symbolic link, and files or directories others could have written.

Readers take a shared lock (so they never see another run's transaction
half-way, and several may read at once), or none where the ledger's
location cannot be written (a read-only mount, another user's
environment), and say so. ``compact`` trims the journal's oldest records
behind a summary of the state at that point.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pipguard.core.model import LedgerState, Transaction
from pipguard.core.transactions import Clock, apply, replay
from pipguard.errors import LedgerError
from pipguard.ledger import journal as journal_module
from pipguard.ledger.compaction import summarise
from pipguard.ledger.journal import Journal, JournalLineError, Summary, Trimmed, fsync_directory
from pipguard.ledger.lock import LedgerLock
from pipguard.ledger.paths import TEMP_SUFFIX, LedgerFiles
from pipguard.ledger.safety import check_safe, real_location
from pipguard.ledger.state import LegacyDocument, decode_state, encode_state
from pipguard.system.testhook import pause_at

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_READ_ERRORS = (ValueError, KeyError, TypeError, AttributeError, RecursionError)


def _say(message: str) -> None:
    print(message, file=sys.stderr)


class JournalReader(Protocol):
    """What commands read of a journal (the file, or a schema-1 ledger read in memory)."""

    def last(self, count: int) -> list[Transaction]: ...
    def get(self, txn_id: int) -> Transaction | None: ...
    def since(self, txn_id: int) -> Iterator[Transaction]: ...
    def __iter__(self) -> Iterator[Transaction]: ...
    def summary(self) -> Summary | None: ...
    def first_id(self) -> int | None: ...
    def snapshot(self) -> contextlib.AbstractContextManager[JournalReader]: ...


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


@dataclass(frozen=True)
class Compaction:
    """What ``compact`` did."""

    summary: Summary | None  # None: nothing to trim
    bytes_before: int
    bytes_after: int


class LedgerStore:
    """One environment's ledger: paths, lock, state and journal."""

    def __init__(self, path: Path, lock_timeout: float = 600.0) -> None:
        self.path = path  # as the user named it (messages)
        self.lock_timeout = lock_timeout
        self._files: LedgerFiles | None = None
        self._mode: str | None = None  # "exclusive", "shared" or "none" while locked()
        self._memory: MemoryJournal | None = None
        # The journal's newest transaction as ``load`` found it (None: none, or not read).
        self.last_entry: Transaction | None = None

    # -- where -------------------------------------------------------------------------

    @property
    def files(self) -> LedgerFiles:
        """The ledger's files at its real path (a dangling symbolic link is refused)."""
        if self._files is None:
            self._files = LedgerFiles(real_location(self.path))
        return self._files

    @property
    def lock_path(self) -> Path:
        return self.files.lock

    @property
    def journal_path(self) -> Path:
        return self.files.journal

    @property
    def probe_cache(self) -> Path:
        return self.files.probe_cache

    @property
    def journal(self) -> JournalReader:
        """The journal to read (after ``load``: a schema-1 ledger read in memory, if so)."""
        if self._memory is not None:
            return self._memory
        return Journal(self.files.journal)

    @property
    def writing(self) -> bool:
        """Is the exclusive lock held (may this run write)?"""
        return self._mode == "exclusive"

    def exists(self) -> bool:
        return self.files.state.exists()

    # -- the lock ----------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, shared: bool = False) -> Iterator[None]:
        """Hold the environment's lock: exclusive to write, shared to read
        (``pipguard.ledger.lock``); a writer first removes the temporary files
        of a write that was killed."""
        lock = LedgerLock(self.path, self.files, self.lock_timeout)
        if shared:
            with lock.shared() as mode:
                self._mode = mode
                try:
                    yield
                finally:
                    self._mode = None
            return
        self._ensure_directory()
        with lock.exclusive():
            self._mode = "exclusive"
            try:
                self._remove_stale_temporaries()
                yield
            finally:
                self._mode = None

    def _remove_stale_temporaries(self) -> None:
        """Temporary files of a write that was killed (only a lock holder writes)."""
        files = self.files
        prefixes = (files.temp_prefix(files.state), files.temp_prefix(files.journal))
        try:
            leftovers = [
                entry for entry in files.directory.iterdir()
                if entry.name.startswith(prefixes) and entry.name.endswith(TEMP_SUFFIX)
            ]
        except OSError:
            return
        for entry in leftovers:
            with contextlib.suppress(OSError):
                entry.unlink()

    def _ensure_directory(self) -> None:
        directory = self.files.directory
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o755)
        except OSError as exc:
            raise LedgerError(
                f"cannot create the ledger directory {directory}: {exc.strerror}. "
                "Choose another place with --ledger PATH."
            ) from None

    # -- reading ---------------------------------------------------------------------------

    def check(self) -> None:
        """The ownership and permission checks (for this run's mode: writing or reading)."""
        files = self.files
        check_safe(self.path, files.state, [files.journal, files.torn], writing=self._mode != "shared"
                   and self._mode != "none")

    def load(self) -> LedgerState | None:
        """The current state (None when there is no ledger yet), brought up to date
        with the journal's last records (see the module docstring)."""
        self.check()
        self._memory = None
        self.last_entry = None
        files = self.files
        text = self._read_state_text()
        if text is None:
            return self._rebuild()
        try:
            state = decode_state(text)
        except LegacyDocument as legacy:
            return self._migrate(legacy.data)
        except _READ_ERRORS as exc:
            raise self._unusable_state(text, exc) from None
        self._set_aside_torn()
        later, anchor = self._records_after(state)
        self._check_anchor(state, anchor)
        newest = later[-1] if later else anchor
        self.last_entry = newest if isinstance(newest, Transaction) else None
        if not later:
            return state
        state = replay(state, later)
        if self.writing:
            self.save(state)
            _say(f"pipguard: the ledger {self.path} was behind its journal {files.journal} (a run stopped "
                 f"between writing the two); brought it up to date (transaction {state.last_id}).")
        else:
            _say(f"pipguard: note: the ledger {self.path} is behind its journal (a run stopped between "
                 "writing the two); read as brought up to date; the next pipguard run that writes fixes it.")
        return state

    def _read_state_text(self) -> str | None:
        path = self.files.state
        try:
            fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._unreadable(exc) from None
        try:
            with os.fdopen(fd, "rb") as handle:
                return handle.read().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise self._unreadable(exc) from None

    def _unreadable(self, exc: Exception) -> LedgerError:
        return LedgerError(
            f"cannot read the ledger {self.path}: {exc}. It was left as it is. Fix the "
            "permissions, or choose another ledger with --ledger PATH."
        )

    def _unusable_state(self, text: str, exc: BaseException) -> LedgerError:
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, json.JSONDecodeError):
            detail = f"it is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
            if not text.strip():
                detail = "it is empty"
            elif exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
                detail = f"it is not valid JSON: it ends too early (truncated?) at line {exc.lineno}"
        elif isinstance(exc, KeyError):
            detail = f"a required key is missing ({exc})"
        elif isinstance(exc, RecursionError):
            detail = "it is nested too deeply to be a pipguard ledger"
        return LedgerError(
            f"the ledger {self.path} is unusable: {detail}. It was left as it is. Restore it from a "
            "backup, or move it aside and run 'pipguard adopt': the state is rebuilt from its journal "
            f"{self.files.journal} (or, without one, started from what is installed)."
        )

    def _journal_error(self, exc: JournalLineError) -> LedgerError:
        journal = self.files.journal
        line = Journal(journal).line_number(exc.offset)
        return LedgerError(
            f"the ledger's journal {journal} is unusable: line {line}: {exc.detail}. It was left as it "
            "is. Restore it from a backup, or repair that line (one JSON record per line; "
            "docs/inspection.md describes them), then run again."
        )

    @contextlib.contextmanager
    def reading_journal(self) -> Iterator[None]:
        """Turn a bad journal line met while reading into a ``LedgerError`` (exit 11)."""
        try:
            yield
        except JournalLineError as exc:
            raise self._journal_error(exc) from None
        except Trimmed:
            raise
        except OSError as exc:
            raise LedgerError(
                f"cannot read the ledger's journal {self.files.journal}: {exc.strerror or exc}. It was "
                "left as it is. Fix the permissions, or choose another ledger with --ledger PATH."
            ) from None

    def _set_aside_torn(self) -> None:
        journal = Journal(self.files.journal)
        with self.reading_journal():
            torn = journal.torn()
            if torn is None:
                return
            if not self.writing:
                _say(f"pipguard: note: the last line of the journal {journal.path} is torn (a run stopped "
                     "while writing it): it is not read, and the next pipguard run that writes sets it aside.")
                return
            journal.set_aside_torn(self.files.torn)
        _say(f"pipguard: the last line of the journal {journal.path} was torn (a run stopped while writing "
             f"it, {len(torn[1])} bytes); it was set aside in {self.files.torn} and not read as a record.")

    def _records_after(self, state: LedgerState) -> tuple[list[Transaction], Transaction | Summary | None]:
        """The journal's records after the state's position (oldest first), and the one at it."""
        later: list[Transaction] = []
        anchor: Transaction | Summary | None = None
        with self.reading_journal():
            for _offset, entry in Journal(self.files.journal).backwards():
                if anchor is not None:
                    break  # the line before the anchor was read to check their order (ids [1, 3, 2])
                if isinstance(entry, Transaction) and (
                    entry.id > state.last_id
                    or (entry.id == state.last_id and state.pending is not None and entry.status != "pending")
                ):
                    later.append(entry)
                    continue
                anchor = entry
        later.reverse()
        return later, anchor

    def _check_anchor(self, state: LedgerState, anchor: Transaction | Summary | None) -> None:
        if state.last_id == 0 and anchor is None:
            return
        if anchor is not None and anchor.id == state.last_id:
            pending = isinstance(anchor, Transaction) and anchor.status == "pending"
            if pending == (state.pending is not None):
                return
        where = f"transaction {state.last_id}" + (" (pending)" if state.pending else "")
        if anchor is None:
            found = "has no record of it" if Journal(self.files.journal).exists() else "is missing"
        elif isinstance(anchor, Summary):
            found = f"summarises transactions {anchor.first}-{anchor.id} there"
        else:
            found = f"has transaction {anchor.id} ({anchor.status}) there"
        raise LedgerError(
            f"the ledger {self.path} and its journal {self.files.journal} disagree: the state's newest "
            f"record is {where}, but the journal {found}. Both were left as they are. Restore them from "
            "a backup; or move the state aside, and the next run rebuilds it from the journal."
        )

    def _rebuild(self) -> LedgerState | None:
        """No state document: none at all, or rebuilt from the journal."""
        journal = Journal(self.files.journal)
        if not journal.exists():
            return None
        self._set_aside_torn()
        summary: Summary | None = None
        records: list[Transaction] = []
        with self.reading_journal():
            for entry in journal_module.merged(journal.entries()):
                if isinstance(entry, Summary):
                    summary = entry
                else:
                    records.append(entry)
        if summary is None and not records:
            return None
        start = LedgerState()
        if summary is not None:
            start = LedgerState(distributions=summary.distributions, roots=summary.roots,
                                standing=summary.standing, standing_files=summary.standing_files,
                                last_id=summary.id)
        state = replay(start, records)
        self.last_entry = records[-1] if records else None
        if self.writing:
            self.save(state)
            _say(f"pipguard: the ledger {self.path} was missing but its journal {journal.path} is there (a "
                 "first run stopped between writing the two, or the state was moved away); rebuilt the "
                 f"state from the journal (transaction {state.last_id}; policy and shim settings start "
                 "afresh).")
        else:
            _say(f"pipguard: note: the ledger {self.path} is missing but its journal is there: read as "
                 "rebuilt from the journal; the next pipguard run that writes rebuilds it.")
        return state

    # -- migration ----------------------------------------------------------------------------

    def _migrate(self, data: Any) -> LedgerState:
        from pipguard.ledger.legacy import from_schema1

        files = self.files

        def follows(path: str) -> bool:
            return os.path.isfile(path) and os.access(path, os.R_OK)

        try:
            state, transactions = from_schema1(data, follows)
        except _READ_ERRORS as exc:
            raise self._unusable_state("{}", exc) from None
        self.last_entry = transactions[-1] if transactions else None
        if not self.writing:
            self._memory = MemoryJournal(transactions)
            _say(f"pipguard: note: the ledger {self.path} is in the single-document format of earlier "
                 "pipguard versions (schema 1); read as it is. The next pipguard run that writes migrates it.")
            return state
        journal = Journal(files.journal)
        with self.reading_journal():
            existing = journal.tail(1) if journal.exists() else []
        if existing and existing[-1][1].id > state.last_id:
            raise LedgerError(
                f"the ledger {self.path} is a schema-1 ledger, but a journal {files.journal} with newer "
                "records is beside it. Both were left as they are. Move one of them aside and run again."
            )
        try:
            backup = self._write_backup()
            self._write_journal_afresh(transactions)
        except OSError as exc:
            raise LedgerError(
                f"cannot migrate the ledger {self.path}: {exc.strerror or exc} ({exc.filename or files.directory})."
                " The ledger was left as it was; free space or fix permissions and run again."
            ) from None
        self.save(state)
        followed = f"; standing constraints from {len(state.standing_files)} file(s) now follow their files" \
            if state.standing_files else ""
        _say(f"pipguard: migrated the ledger {self.path} to the current format (schema 2): "
             f"{len(transactions)} transactions moved to the journal {files.journal}; the old file is "
             f"kept as {backup}{followed}.")
        return state

    def _write_backup(self) -> Path:
        files = self.files
        original = files.state.read_bytes()
        for number in range(1, 1000):
            candidate = files.backup if number == 1 else files.backup.with_name(f"{files.backup.name}.{number}")
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644)
            except FileExistsError:
                with contextlib.suppress(OSError):
                    if not candidate.is_symlink() and candidate.read_bytes() == original:
                        return candidate  # an earlier, interrupted migration kept it already
                continue
            try:
                journal_module.write_all(fd, original)
                os.fsync(fd)
            finally:
                os.close(fd)
            fsync_directory(files.directory)
            return candidate
        raise OSError(errno.EEXIST, "too many backups", str(files.backup))

    def _write_journal_afresh(
        self, entries: Sequence[Transaction | Summary], tail: tuple[int, int] | None = None
    ) -> None:
        """Write a whole journal: *entries*, then (for compaction) the bytes of the
        current journal from ``tail[0]`` to ``tail[1]``; atomically replaces it."""
        import tempfile

        files = self.files
        fd, tmp = tempfile.mkstemp(prefix=files.temp_prefix(files.journal), suffix=TEMP_SUFFIX,
                                   dir=files.directory)
        try:
            with os.fdopen(fd, "wb") as out:
                for start in range(0, len(entries), 1000):
                    out.write(b"".join(journal_module.encode_line(e) for e in entries[start:start + 1000]))
                if tail is not None:
                    with open(files.journal, "rb") as source:
                        source.seek(tail[0])
                        remaining = tail[1] - tail[0]
                        while remaining > 0:
                            chunk = source.read(min(1 << 20, remaining))
                            if not chunk:
                                break
                            out.write(chunk)
                            remaining -= len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, files.journal)
            tmp = ""
            fsync_directory(files.directory)
        finally:
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    # -- writing ------------------------------------------------------------------------------

    def _encode(self, state: LedgerState) -> str:
        try:
            return encode_state(state)
        except ValueError as exc:
            raise LedgerError(f"refusing to write the ledger {self.path}: {exc}. Nothing was written.") from None

    def _write_error(self, exc: OSError) -> LedgerError:
        return LedgerError(
            f"cannot write the ledger {self.path}: {exc.strerror or exc}. The previous "
            "ledger was left as it was; free space or fix permissions and run again."
        )

    def _stage(self, text: str) -> str:
        """Write the next state to a temporary file in the ledger's directory (mkstemp),
        flushed and fsynced, not yet in place: a directory that cannot be written or
        a full disk fails here (``OSError``), before anything else is written."""
        import tempfile

        self._ensure_directory()
        files = self.files
        fd, tmp = tempfile.mkstemp(prefix=files.temp_prefix(files.state), suffix=TEMP_SUFFIX,
                                   dir=files.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                half = len(text) // 2
                handle.write(text[:half])
                handle.flush()
                pause_at("ledger-write")
                handle.write(text[half:])
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
        except BaseException:
            self._discard(tmp)
            raise
        return tmp

    def _put_in_place(self, tmp: str) -> None:
        """Rename the staged state over the state (at its real path: a symlinked ledger
        stays a link): a reader sees the old document or the new one, never half."""
        files = self.files
        try:
            os.replace(tmp, files.state)
        except OSError:
            self._discard(tmp)
            raise
        fsync_directory(files.directory)

    def save(self, state: LedgerState) -> None:
        """Write the state document atomically (no journal record: settings, shim)."""
        text = self._encode(state)
        try:
            self._put_in_place(self._stage(text))
        except OSError as exc:
            raise self._write_error(exc) from None

    def begin(self, state: LedgerState, txn: Transaction) -> LedgerState:
        """Record *txn* as pending: the state staged, its journal line, the state in place."""
        if txn.status != "pending" or txn.id <= state.last_id or state.pending is not None:
            raise ValueError(f"transaction {txn.id} cannot begin after {state.last_id}")
        after = apply(state, txn)
        text = self._encode(after)
        try:
            tmp = self._stage(text)
        except OSError as exc:
            raise self._write_error(exc) from None
        try:
            self._append(txn)
        except OSError as exc:
            self._discard(tmp)
            raise LedgerError(
                f"cannot write the ledger {self.path} (its journal {self.files.journal}): "
                f"{exc.strerror or exc}. The previous ledger was left as it was: nothing was recorded and "
                "nothing was changed; free space or fix permissions and run again."
            ) from None
        except BaseException:
            self._discard(tmp)
            raise
        try:
            self._put_in_place(tmp)
        except OSError as exc:
            raise self._write_error(exc) from None
        return after

    def finish(self, state: LedgerState, txn: Transaction) -> LedgerState:
        """Record *txn*'s outcome (of a transaction begun, or one recorded at once):
        the state staged with it applied, its journal line, the state in place."""
        began = state.pending is not None and state.pending.id == txn.id
        if txn.status == "pending" or (not began and txn.id <= state.last_id):
            raise ValueError(f"transaction {txn.id} cannot be recorded after {state.last_id}")
        after = apply(state, txn)
        text = self._encode(after)
        try:
            tmp = self._stage(text)
        except OSError as exc:
            raise (self._commit_error(txn, exc) if began else self._write_error(exc)) from None
        try:
            self._append(txn)
        except OSError as exc:
            self._discard(tmp)
            raise (self._commit_error(txn, exc) if began else self._write_error(exc)) from None
        except BaseException:
            self._discard(tmp)
            raise
        try:
            self._put_in_place(tmp)
        except OSError as exc:
            raise self._write_error(exc) from None  # the journal has it: the next run catches up
        return after

    def _commit_error(self, txn: Transaction, exc: OSError) -> LedgerError:
        return LedgerError(
            f"cannot record transaction {txn.id} in the ledger {self.path}: {exc.strerror or exc}. pip has already "
            "done its part: what it installed or removed is in the environment now, while the ledger "
            f"still shows transaction {txn.id} as pending. Nothing is lost: once the ledger can be "
            "written again (free space, fix permissions), the next pipguard run records what changed. "
            "Run 'pipguard check' to see the environment's state."
        )

    def _append(self, txn: Transaction) -> None:
        try:
            Journal(self.files.journal).append([txn])
        except ValueError as exc:  # NaN and the like: never written
            raise LedgerError(f"refusing to write the ledger's journal {self.files.journal}: {exc}. "
                              "Nothing was written.") from None

    @staticmethod
    def _discard(tmp: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(tmp)

    def record_many(self, state: LedgerState, records: Sequence[Transaction]) -> LedgerState:
        """Record finished transactions in bulk (one fsync; for tools that build a
        history, such as the benchmark): their lines, then the state."""
        after = state
        for txn in records:
            if txn.status == "pending" or txn.id <= after.last_id:
                raise ValueError(f"transaction {txn.id} cannot be recorded after {after.last_id}")
            after = apply(after, txn)
        text = self._encode(after)
        try:
            tmp = self._stage(text)
        except OSError as exc:
            raise self._write_error(exc) from None
        try:
            Journal(self.files.journal).append(records)
            self._put_in_place(tmp)
        except OSError as exc:
            self._discard(tmp)
            raise self._write_error(exc) from None
        return after

    # -- compaction ---------------------------------------------------------------------------

    def compact(self, state: LedgerState, first_kept: int, now: Clock) -> Compaction:
        """Replace the journal's transactions before *first_kept* by a summary of the
        state after ``first_kept - 1`` (``compaction.summarise``); rollback to it and
        later still works. The new journal is written aside and renamed over the old."""
        files = self.files
        journal = Journal(files.journal)
        size_before = files.journal.stat().st_size if files.journal.exists() else 0
        with self.reading_journal():
            found = summarise(journal, state, first_kept, now)
        if found is None:
            return Compaction(None, size_before, size_before)
        summary, cut = found
        try:
            self._write_journal_afresh([summary], tail=(cut, journal_module.complete_end(files.journal)))
        except OSError as exc:
            raise LedgerError(
                f"cannot compact the journal {files.journal}: {exc.strerror or exc}. It was left as it "
                "was; free space and run again."
            ) from None
        return Compaction(summary, size_before, files.journal.stat().st_size)

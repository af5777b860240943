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
staged state is renamed into place (fsync of the directory;
``pipguard.system.files``). A full disk or a read-only directory thus
fails before anything is recorded. The state says which journal record
it reflects (``last_id``, ``pending``) and keeps the journal's integrity
mark: ``load`` reads the journal's last lines (never the rest) and, when a
run stopped between the two writes, brings the state up to date from
them. Holding the exclusive lock it writes the repair; otherwise (a read)
it only reads it that way. What it repairs and how (a torn last line, a
state behind or missing, the mark that vouches for the journal without
reading it, damaged lines in its middle) is ``pipguard.ledger.recovery``;
a schema-1 ledger is migrated by ``pipguard.ledger.migration``. It refuses
(exit 11, files untouched) a corrupt state, a corrupt journal line that
it reads (naming the file and the line), ids that do not increase, a
journal that disagrees with the state, a newer schema, a dangling
symbolic link, something other than a regular file where a ledger file
should be (a FIFO would block it), and files or directories others could
have written.

Readers take a shared lock (so they never see another run's transaction
half-way, and several may read at once), or none where the ledger's
location cannot be written (a read-only mount, another user's
environment), and say so. ``compact`` trims the journal's oldest records
behind a summary of the state at that point.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

from pipguard.core.model import LedgerState, Transaction
from pipguard.core.transactions import Clock, apply
from pipguard.errors import LedgerError, PipguardError, UsageError
from pipguard.ledger import recovery
from pipguard.ledger.compaction import summarise
from pipguard.ledger.journal import (
    Journal,
    JournalLineError,
    JournalReader,
    Summary,
    Trimmed,
    complete_end,
    encode_line,
)
from pipguard.ledger.lock import LedgerLock
from pipguard.ledger.migration import READ_ERRORS, MemoryJournal, migrate, write_journal_afresh
from pipguard.ledger.paths import TEMP_SUFFIX, LedgerFiles
from pipguard.ledger.recovery import Damage, Mark
from pipguard.ledger.safety import check_safe, real_location
from pipguard.ledger.state import LegacyDocument, decode_state_and_mark, encode_state
from pipguard.system.files import Staged, open_regular, stage
from pipguard.system.testhook import pause_at

__all__ = ["Compaction", "JournalReader", "LedgerStore", "MemoryJournal"]


def _say(message: str) -> None:
    print(message, file=sys.stderr)


class Compaction(NamedTuple):
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
        self._mode: str | None = None  # "exclusive", "shared", "none" or "busy" while locked()
        self.memory: MemoryJournal | None = None  # a schema-1 ledger read in memory (migration)
        # The journal's integrity mark as ``load`` found it, kept up to date by every write
        # (None: not known, and not written: the next load reads the journal once).
        self._mark: Mark | None = None
        # Did ``load`` have to read the journal to know its mark, and what mark had the state
        # recorded then (``vouch`` remembers what the reading found)?
        self._scanned = False
        self._recorded_mark: Mark | None = None
        self._damage_said = False
        # The journal's newest transaction as ``load`` found it (None: none, or not read).
        self.last_entry: Transaction | None = None
        self.tentative = False  # within ``tentatively``: what a writer repairs raises NeedsWriter

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
        if self.memory is not None:
            return self.memory
        return Journal(self.files.journal)

    @property
    def writing(self) -> bool:
        """Is the exclusive lock held (may this run write)?"""
        return self._mode == "exclusive"

    def exists(self) -> bool:
        return self.files.state.exists()

    # -- the lock ----------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, shared: bool = False, wait: bool = True) -> Iterator[None]:
        """Hold the environment's lock: exclusive to write, shared to read
        (``pipguard.ledger.lock``); a writer first removes the temporary files
        of a write that was killed. *wait* False (shared only): where a writer
        holds the lock, the mode is ``"busy"`` and nothing may be read."""
        lock = LedgerLock(self.path, self.files, self.lock_timeout)
        if shared:
            with lock.shared(wait) as mode:
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

    @contextlib.contextmanager
    def tentatively(self) -> Iterator[bool]:
        """The shared lock, for a run that writes only if it must (an install already satisfied).

        Yields True when the lock is held (False: it could not be taken quietly and at once,
        a writer holding it, and nothing was read). The ledger is checked as a writer checks
        it, and ``load`` raises ``NeedsWriter`` before it says or repairs anything a writer
        would repair (a torn or lagging journal, damaged lines, a schema-1 or missing state, a
        mark to record): the caller then takes the exclusive lock and starts again. Readers never import filelock,
        ~15 ms of a satisfied install's start.
        """
        lock = self.files.lock
        if lock.is_symlink() or not lock.is_file() or not os.access(lock, os.R_OK):
            yield False  # the shared lock would create it, or say why it cannot: the writer's to do
            return
        # a writer at work: no waiting here (and no word of it), the writer's path waits, once
        with self.locked(shared=True, wait=False):
            if self._mode != "shared":
                yield False
                return
            self.tentative = True
            try:
                yield True
            finally:
                self.tentative = False

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
        check_safe(self.path, files.state, [files.journal, files.torn],
                   writing=self.tentative or self._mode not in ("shared", "none"))

    def load(self) -> LedgerState | None:
        """The current state (None when there is no ledger yet), brought up to date
        with the journal's last records (see the module docstring)."""
        self.check()
        self.memory = None
        self.last_entry = None
        self._mark = None
        self._scanned = False
        found = self._read_state_text()
        if found is None:
            state = recovery.rebuild(self)
            self._verify(None, None)  # a new ledger's mark: its journal as it is (none: empty)
            return state
        text, mtime = found
        try:
            state, mark_data = decode_state_and_mark(text)
        except LegacyDocument as legacy:
            return migrate(self, legacy.data)
        except READ_ERRORS as exc:
            raise self.unusable_state(text, exc) from None
        recovery.set_aside_torn(self)
        state = recovery.catch_up(self, state)
        self._verify(recovery.mark_from(mark_data), mtime)
        return state

    def peek(self) -> tuple[bool, LedgerState | None]:
        """The state document as it is now, read without the lock, the journal or the roots
        (they change only with a transaction, ``last_id``): a guess (where to start pip
        ahead), never a ledger to act on or write. ``(True, state)``,
        ``(True, None)`` where there is no ledger yet, ``(False, None)`` where there is no good
        guess: the document cannot be read or checked as it is, or a run is under way in it."""
        try:
            self.check()
            found = self._read_state_text()
            if found is None:
                return not self.files.journal.exists(), None
            state, _ = decode_state_and_mark(found[0], roots=False)
        except (PipguardError, LegacyDocument, *READ_ERRORS):
            return False, None
        return (False, None) if state.pending is not None else (True, state)

    def _verify(self, mark: Mark | None, state_mtime: int | None) -> None:
        """Know the journal's integrity (cheaply when the mark vouches for it), remember it
        for the next write, and say when lines in it cannot be read."""
        journal = Journal(self.files.journal)
        with self.reading_journal():
            # Kept in memory: the next write (or ``vouch``) records it (never a write here,
            # before the command knows the ledger is this environment's).
            self._mark, scanned = recovery.verify(journal, mark, state_mtime)
        self._scanned, self._recorded_mark = scanned, mark
        if self.damage and self.tentative:
            raise recovery.NeedsWriter("damaged journal lines")  # a writer warns of them
        if self.damage and self.writing and not self._damage_said:
            self._damage_said = True  # once a run, however often it loads
            for note in recovery.damage_notes(self):
                _say(f"pipguard: warning: {note}")

    def vouch(self, state: LedgerState) -> None:
        """After ``load`` had to read the journal to know its mark, remember what it found, so
        that the next run trusts the journal without reading it (call once the ledger is known
        to be this environment's).

        A ledger copied or restored without its files' times (``cp -r``, a backup restore, a
        container layer) has a journal newer than its state though nothing changed: without
        this every reader would read the whole journal on every run. When the journal was
        found as the state's mark records it (same length, same damaged lines), the state's
        time is set to now, as each write sets it, and its text is left as it is (a reader
        may do this under the shared lock). A mark that changed is written with the state,
        and only by a run that holds the exclusive lock; readers read again until one does.
        A journal changed after this is newer than the state again, and read again."""
        scanned, self._scanned = self._scanned, False
        if not scanned or self._mark is None or self._mode not in ("shared", "exclusive"):
            return
        if self._recorded_mark == self._mark:
            try:
                os.utime(self.files.state)
            except OSError:
                pass  # only slower: the next run reads the journal again
            return
        if self.tentative:
            raise recovery.NeedsWriter("a journal mark to record")
        if self.writing:
            self.save(state)

    @property
    def damage(self) -> tuple[Damage, ...]:
        """The journal's lines found unreadable (after ``load``)."""
        return self._mark.damaged if self._mark is not None else ()

    def damage_notes(self) -> tuple[str, ...]:
        """One line for each unreadable journal line, with the repair (``check`` reports them)."""
        return recovery.damage_notes(self)

    def _read_state_text(self) -> tuple[str, int] | None:
        """The state document's text and modification time (ns), or None when there is none."""
        try:
            fd = open_regular(self.files.state)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._unreadable(exc) from None
        try:
            with os.fdopen(fd, "rb") as handle:
                return handle.read().decode("utf-8"), os.fstat(handle.fileno()).st_mtime_ns
        except (OSError, UnicodeDecodeError) as exc:
            raise self._unreadable(exc) from None

    def _unreadable(self, exc: Exception) -> LedgerError:
        return LedgerError(
            f"cannot read the ledger {self.path}: {exc}. It was left as it is. Fix the "
            "permissions, or choose another ledger with --ledger PATH."
        )

    def unusable_state(self, text: str, exc: BaseException) -> LedgerError:
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
        known = [d for d in self.damage if d.offset == exc.offset]
        repair = recovery.repair_from(Journal(journal), self.damage) if known else None
        how = (f"run 'pipguard history --compact {repair}' to keep what can be read (transactions {repair} "
               "and later), or restore it from a backup" if repair is not None else
               "Restore it from a backup, or repair that line (one JSON record per line; docs/inspection.md "
               "describes them), then run again")
        return LedgerError(
            f"the ledger's journal {journal} is unusable: line {line}: {exc.detail}. It was left as it "
            f"is. {how[0].upper()}{how[1:]}."
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

    # -- writing ------------------------------------------------------------------------------

    def _encode(self, state: LedgerState, appending: Iterable[Transaction] = ()) -> tuple[str, Mark | None]:
        """The state's text, with the journal's mark as it will be once *appending* is appended."""
        mark = self._mark
        if mark is not None:
            added = sum(len(encode_line(txn)) for txn in appending)
            mark = Mark(mark.size + added, mark.damaged)
        try:
            return encode_state(state, mark.to_data() if mark is not None else None), mark
        except ValueError as exc:
            raise LedgerError(f"refusing to write the ledger {self.path}: {exc}. Nothing was written.") from None

    def _write_error(self, exc: OSError) -> LedgerError:
        return LedgerError(
            f"cannot write the ledger {self.path}: {exc.strerror or exc}. The previous "
            "ledger was left as it was; free space or fix permissions and run again."
        )

    def _stage(self, text: str) -> Staged:
        """Write the next state to a temporary file in the ledger's directory, fsynced,
        not yet in place: a directory that cannot be written or a full disk fails here
        (``OSError``), before anything else is written."""
        self._ensure_directory()
        files = self.files
        data = text.encode("utf-8")

        def halves() -> Iterator[bytes]:
            half = len(data) // 2
            yield data[:half]
            pause_at("ledger-write")  # a test stops here: half a state written aside
            yield data[half:]

        return stage(files.state, halves(), 0o644, prefix=files.temp_prefix(files.state), suffix=TEMP_SUFFIX)

    def _put_in_place(self, staged: Staged, mark: Mark | None) -> None:
        """Rename the staged state over the state (at its real path: a symlinked ledger
        stays a link): a reader sees the old document or the new one, never half. Its
        time is set now, after the journal's line: the mark trusts a journal no newer."""
        staged.touch()
        staged.commit()
        self._mark = mark

    def save(self, state: LedgerState) -> None:
        """Write the state document atomically (no journal record: settings, shim)."""
        text, mark = self._encode(state)
        try:
            self._put_in_place(self._stage(text), mark)
        except OSError as exc:
            raise self._write_error(exc) from None

    def _record(self, after: LedgerState, records: Sequence[Transaction],
                error: Callable[[OSError, str], LedgerError]) -> LedgerState:
        """The one order every record is written in: the state *after* staged, the
        journal lines of *records* appended, the state put in place. *error* turns a
        failure at a step ("stage", "append") into what it means for the command; a
        failure to put the state in place loses nothing (the journal has it: the next
        run catches up)."""
        text, mark = self._encode(after, records)
        try:
            staged = self._stage(text)
        except OSError as exc:
            raise error(exc, "stage") from None
        try:
            self._append(records)
        except OSError as exc:
            staged.discard()
            raise error(exc, "append") from None
        except BaseException:
            staged.discard()
            raise
        try:
            self._put_in_place(staged, mark)
        except OSError as exc:
            raise self._write_error(exc) from None
        return after

    def begin(self, state: LedgerState, txn: Transaction) -> LedgerState:
        """Record *txn* as pending: the state staged, its journal line, the state in place."""
        if txn.status != "pending" or txn.id <= state.last_id or state.pending is not None:
            raise ValueError(f"transaction {txn.id} cannot begin after {state.last_id}")

        def error(exc: OSError, step: str) -> LedgerError:
            if step == "stage":
                return self._write_error(exc)
            return LedgerError(
                f"cannot write the ledger {self.path} (its journal {self.files.journal}): "
                f"{exc.strerror or exc}. The previous ledger was left as it was: nothing was recorded and "
                "nothing was changed; free space or fix permissions and run again."
            )

        return self._record(apply(state, txn), [txn], error)

    def finish(self, state: LedgerState, txn: Transaction) -> LedgerState:
        """Record *txn*'s outcome (of a transaction begun, or one recorded at once):
        the state staged with it applied, its journal line, the state in place."""
        began = state.pending is not None and state.pending.id == txn.id
        if txn.status == "pending" or (not began and txn.id <= state.last_id):
            raise ValueError(f"transaction {txn.id} cannot be recorded after {state.last_id}")

        def error(exc: OSError, step: str) -> LedgerError:
            return self._commit_error(txn, exc) if began else self._write_error(exc)

        return self._record(apply(state, txn), [txn], error)

    def _commit_error(self, txn: Transaction, exc: OSError) -> LedgerError:
        return LedgerError(
            f"cannot record transaction {txn.id} in the ledger {self.path}: {exc.strerror or exc}. pip has already "
            "done its part: what it installed or removed is in the environment now, while the ledger "
            f"still shows transaction {txn.id} as pending. Nothing is lost: once the ledger can be "
            "written again (free space, fix permissions), the next pipguard run records what changed. "
            "Run 'pipguard check' to see the environment's state."
        )

    def _append(self, records: Sequence[Transaction]) -> None:
        try:
            Journal(self.files.journal).append(records)
        except ValueError as exc:  # NaN and the like: never written
            raise LedgerError(f"refusing to write the ledger's journal {self.files.journal}: {exc}. "
                              "Nothing was written.") from None

    def record_many(self, state: LedgerState, records: Sequence[Transaction]) -> LedgerState:
        """Record finished transactions in bulk (one fsync; for tools that build a
        history, such as the benchmark): their lines, then the state."""
        after = state
        for txn in records:
            if txn.status == "pending" or txn.id <= after.last_id:
                raise ValueError(f"transaction {txn.id} cannot be recorded after {after.last_id}")
            after = apply(after, txn)
        return self._record(after, records, lambda exc, _step: self._write_error(exc))

    # -- compaction ---------------------------------------------------------------------------

    def compact(self, state: LedgerState, first_kept: int, now: Clock) -> Compaction:
        """Replace the journal's transactions before *first_kept* by a summary of the
        state after ``first_kept - 1`` (``compaction.summarise``); rollback to it and
        later still works. The new journal is written aside and renamed over the old.

        With damaged lines in the journal, *first_kept* must lie after the last of
        them: compaction then keeps what can be read, and the journal is whole again."""
        files = self.files
        journal = Journal(files.journal)
        first: int | None = None
        if self.damage:
            repair = recovery.repair_from(journal, self.damage)
            if repair is None or first_kept < repair:
                raise UsageError(
                    f"pipguard history --compact: the journal {files.journal} has unreadable lines up to line "
                    f"{max(d.line for d in self.damage)}; compaction keeps what can be read after them: give "
                    f"--compact {repair if repair is not None else 'N'} or later."
                )
            first = recovery.first_id_ever(journal)
            journal = Journal(files.journal, start=recovery.readable_start(journal, self.damage))
        size_before = files.journal.stat().st_size if files.journal.exists() else 0
        with self.reading_journal():
            found = summarise(journal, state, first_kept, now, first)
        if found is None:
            return Compaction(None, size_before, size_before)
        summary, cut = found
        try:
            write_journal_afresh(files, [summary], tail=(cut, complete_end(files.journal)))
        except OSError as exc:
            raise LedgerError(
                f"cannot compact the journal {files.journal}: {exc.strerror or exc}. It was left as it "
                "was; free space and run again."
            ) from None
        size_after = files.journal.stat().st_size
        self._mark = Mark(size_after)
        self.save(state)  # the new journal's mark (and no damaged lines any more)
        return Compaction(summary, size_before, size_after)

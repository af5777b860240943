"""The journal: every transaction, one JSON line each, appended and fsynced.

    {"v":1,"kind":"transaction","id":7,"status":"pending","command":"install",...}
    {"v":1,"kind":"transaction","id":7,"status":"committed",...,"changes":[...],"roots":[...]}
    {"v":1,"kind":"summary","id":50,...}     (only as the first line, after compaction)

Each line carries its own format version (``v``). A transaction that runs
pip has two lines, its pending record and then its outcome (same id); a
transaction recorded at once (baseline, drift, a rejection) has one.
Across the file ids never decrease, and an id repeats only as the outcome
following its own pending record: so transaction ids are strictly
increasing and positive, and a transaction is found by a binary search on
byte offsets, parsing a few dozen lines of a million.

Reading never parses more than it needs: ``last(n)`` reads from the end of
the file, ``get(id)`` and ``since(id)`` bisect, iteration streams. Every
line that is read is validated, and the order of the lines read is
checked; a line that is not a valid record raises ``JournalLineError``
with its byte offset (the store names the file and the line number).

A crash in the middle of an append leaves a last line without its newline:
a *torn* line. ``torn()`` reports it; it is never read as data, and
``set_aside_torn`` moves it to ``<journal>.torn`` (appended, fsynced)
before cutting it off, so nothing is lost silently.

After ``compact`` the first line is a ``summary``: the state after the
last transaction it replaces (distributions, roots, standing constraints),
so that rollback to it or any later transaction still works.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, Protocol, Union

from pipguard.core.model import EMPTY, Root, StandingConstraint, StandingFile, Transaction
from pipguard.core.names import NormalizedName
from pipguard.ledger import codec
from pipguard.system.files import fsync_directory, open_regular, write_all
from pipguard.system.testhook import pause_at

LINE_VERSION = 1
_BLOCK = 1 << 16
# Below this many bytes a bisection reads forward line by line.
_SCAN = 1 << 13


class Summary(NamedTuple):
    """What compaction left of transactions ``first``..``id``: the state after ``id``."""

    id: int  # the last transaction it replaces
    first: int  # the first transaction it replaces
    replaced: int  # how many transactions it replaces (the journal line's "count")
    compacted_at: str
    distributions: Mapping[NormalizedName, str] = EMPTY
    roots: Mapping[NormalizedName, Root] = EMPTY
    standing: tuple[StandingConstraint, ...] = ()
    standing_files: tuple[StandingFile, ...] = ()


Entry = Union[Transaction, Summary]


class JournalReader(Protocol):
    """What commands read of a journal (the file, or a schema-1 ledger read in memory)."""

    def last(self, count: int) -> list[Transaction]: ...
    def get(self, txn_id: int) -> Transaction | None: ...
    def since(self, txn_id: int) -> Iterator[Transaction]: ...
    def __iter__(self) -> Iterator[Transaction]: ...
    def summary(self) -> Summary | None: ...
    def first_id(self) -> int | None: ...
    def snapshot(self) -> contextlib.AbstractContextManager[JournalReader]: ...


class JournalLineError(ValueError):
    """A line that is not a valid journal record (or out of order), at a byte offset."""

    def __init__(self, offset: int, detail: str) -> None:
        super().__init__(detail)
        self.offset = offset
        self.detail = detail


class Trimmed(LookupError):
    """The transaction asked for was replaced by a compaction summary."""

    def __init__(self, txn_id: int, summary: Summary) -> None:
        super().__init__(txn_id)
        self.txn_id = txn_id
        self.summary = summary


# -- lines <-> entries ------------------------------------------------------------------


def entry_to_data(entry: Entry) -> dict[str, Any]:
    if isinstance(entry, Summary):
        return {
            "v": LINE_VERSION, "kind": "summary", "id": entry.id, "first": entry.first, "count": entry.replaced,
            "compacted_at": entry.compacted_at,
            "distributions": dict(sorted(entry.distributions.items())),
            "roots": {name: codec.root_to_data(root) for name, root in sorted(entry.roots.items())},
            "standing": codec.standing_to_data(entry.standing),
            "standing_files": codec.standing_files_to_data(entry.standing_files),
        }
    return {"v": LINE_VERSION, "kind": "transaction", **codec.transaction_to_data(entry)}


def encode_line(entry: Entry) -> bytes:
    """One journal line (redacted, strict JSON, newline-terminated)."""
    return (codec.dumps(entry_to_data(entry)) + "\n").encode("utf-8")


def decode_line(line: bytes, offset: int) -> Entry:
    """Parse and validate one line (without its newline)."""
    try:
        data = codec.loads(line.decode("utf-8"))
        codec.expect(data, dict, "the line")
        version = data.get("v")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ValueError("it has no format version (v)")
        if version > LINE_VERSION:
            raise ValueError(f"it has format version {version}, newer than this pipguard understands "
                             f"({LINE_VERSION}); upgrade pipguard")
        kind = data.get("kind")
        if kind == "transaction":
            return codec.transaction_from(data, "the transaction")
        if kind == "summary":
            return Summary(
                id=codec.positive_id(data["id"], "id"),
                first=codec.positive_id(data["first"], "first"),
                replaced=codec.expect(data["count"], int, "count"),
                compacted_at=codec.text(data.get("compacted_at", ""), "compacted_at"),
                distributions=codec.versions_from(data.get("distributions", {}), "distributions"),
                roots=codec.roots_from(data.get("roots", {}), "roots"),
                standing=codec.standing_from(data.get("standing", []), "standing"),
                standing_files=codec.standing_files_from(data.get("standing_files", []), "standing_files"),
            )
        raise ValueError(f"its kind {kind!r} is unknown")
    except UnicodeDecodeError:
        raise JournalLineError(offset, "it is not UTF-8 text") from None
    except RecursionError:
        raise JournalLineError(offset, "it is nested too deeply to be a journal record") from None
    except KeyError as exc:
        raise JournalLineError(offset, f"a required key is missing ({exc})") from None
    except ValueError as exc:
        if isinstance(exc, JournalLineError):
            raise
        detail = str(exc)
        if hasattr(exc, "msg") and hasattr(exc, "colno"):  # json.JSONDecodeError
            detail = f"it is not valid JSON ({exc.msg} at column {exc.colno})"
        raise JournalLineError(offset, detail) from None


def _is_pending(entry: Entry) -> bool:
    return isinstance(entry, Transaction) and entry.status == "pending"


def check_order(earlier: Entry | None, later: Entry, offset: int) -> None:
    """Raise unless *later* may follow *earlier* (see the module docstring)."""
    if isinstance(later, Summary) and earlier is not None:
        raise JournalLineError(offset, "a compaction summary may only be the first line")
    if earlier is None:
        return
    if later.id > earlier.id:
        return
    if later.id == earlier.id and _is_pending(earlier) and not _is_pending(later):
        return
    raise JournalLineError(
        offset, f"transaction ids are not strictly increasing (id {later.id} after {earlier.id})"
    )


def merged(entries: Iterable[tuple[int, Entry]]) -> Iterator[Entry]:
    """Entries in file order, a pending record dropped when its outcome follows."""
    held: Entry | None = None
    for _offset, entry in entries:
        if held is not None and not (isinstance(entry, Transaction) and entry.id == held.id):
            yield held
        held = entry
    if held is not None:
        yield held


# -- reading bytes --------------------------------------------------------------------------


def lines_backwards(handle: BinaryIO, end: int) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of each complete line before *end*, the last first.

    *end* is just past a newline (or 0). Reads blocks from the end; holds
    at most one block plus the current line.
    """
    if end <= 0:
        return
    buf, buf_start = b"", end
    line_end = end - 1  # the newline of the current line
    while True:
        idx = buf.rfind(b"\n", 0, line_end - buf_start)
        while idx < 0 and buf_start > 0:
            size = min(_BLOCK, buf_start)
            buf_start -= size
            handle.seek(buf_start)
            buf = handle.read(size) + buf
            idx = buf.rfind(b"\n", 0, line_end - buf_start)
        line_start = buf_start + idx + 1 if idx >= 0 else 0
        yield line_start, buf[line_start - buf_start:line_end - buf_start]
        if line_start == 0:
            return
        line_end = line_start - 1
        buf = buf[:line_end - buf_start + 1]


def lines_forward(handle: BinaryIO, start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of each complete line from *start* (a line start) up to *end*."""
    handle.seek(start)
    offset = start
    while offset < end:
        line = handle.readline()
        if not line.endswith(b"\n"):
            return
        yield offset, line[:-1]
        offset += len(line)


def _next_line_start(handle: BinaryIO, position: int) -> int:
    """The offset of the first line starting at or after *position*."""
    if position == 0:
        return 0
    handle.seek(position - 1)
    handle.readline()
    return handle.tell()


# -- the journal -----------------------------------------------------------------------------


class Journal:
    """One journal file. Reading needs no lock beyond the store's; appending needs
    the store's exclusive lock (and a journal without a torn last line)."""

    def __init__(self, path: Path, *, _fixed: tuple[BinaryIO, int] | None = None, start: int = 0) -> None:
        self.path = path
        self._fixed = _fixed  # a snapshot: an open file and the end of what it shows
        # Where the readable journal begins: 0, or (compacting past damaged lines) a line
        # start after them; head, entries, bisection and reading backwards stop there.
        self.start = start

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    # -- the file's shape ------------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.exists()

    def _open(self) -> BinaryIO | None:
        try:
            fd = open_regular(self.path)  # never blocks on a FIFO planted in its place
        except FileNotFoundError:
            return None
        return os.fdopen(fd, "rb")

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Journal]:
        """The journal as it is now, readable after the lock is released: the file
        stays open, and only bytes up to its current end are read (the journal is
        only ever appended to, and compaction replaces it by a rename)."""
        handle = self._open()
        if handle is None:
            yield self
            return
        with handle:
            yield Journal(self.path, _fixed=(handle, _complete_end(handle)), start=self.start)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[tuple[BinaryIO | None, int]]:
        """The open file (None if there is none) and the end of its last complete line."""
        if self._fixed is not None:
            yield self._fixed
            return
        handle = self._open()
        if handle is None:
            yield None, 0
            return
        with handle:
            yield handle, _complete_end(handle)

    def raw_lines(self, start: int = 0) -> Iterator[tuple[int, bytes]]:
        """Every complete line (offset, bytes without its newline) from byte *start*
        (a line start) on, not parsed: for the store's integrity scan."""
        with self._reading() as (handle, end):
            if handle is None:
                return
            yield from lines_forward(handle, start, end)

    def torn(self) -> tuple[int, bytes] | None:
        """(offset, bytes) of a torn last line (no newline: a crash mid-append), or None."""
        with self._reading() as (handle, end):
            if handle is None:
                return None
            handle.seek(end)
            rest = handle.read()
            return (end, rest) if rest else None

    def set_aside_torn(self, aside: Path) -> bytes | None:
        """Move a torn last line to *aside* (appended, fsynced), then cut it off."""
        torn = self.torn()
        if torn is None:
            return None
        offset, fragment = torn
        _append_bytes(aside, fragment + b"\n")
        fd = open_regular(self.path, os.O_WRONLY)
        try:
            os.ftruncate(fd, offset)
            os.fsync(fd)
        finally:
            os.close(fd)
        return fragment

    def line_number(self, offset: int) -> int:
        """The 1-based line number of the line starting at *offset* (for messages)."""
        count = 0
        with self._reading() as (handle, _end):
            if handle is None:
                return 1
            handle.seek(0)
            remaining = offset
            while remaining > 0:
                chunk = handle.read(min(_BLOCK, remaining))
                if not chunk:
                    break
                count += chunk.count(b"\n")
                remaining -= len(chunk)
        return count + 1

    # -- reading -------------------------------------------------------------------------

    def tail(self, count: int) -> list[tuple[int, Entry]]:
        """The last *count* lines (offset, entry), oldest first, their order checked."""
        found: list[tuple[int, Entry]] = []
        with self._reading() as (handle, end):
            if handle is None:
                return []
            for offset, line in lines_backwards(handle, end):
                found.append((offset, decode_line(line, offset)))
                if len(found) >= count:
                    break
        found.reverse()
        _check_all(found)
        return found

    def backwards(self) -> Iterator[tuple[int, Entry]]:
        """Every line (offset, entry), the last first, each pair's order checked."""
        with self._reading() as (handle, end):
            if handle is None:
                return
            later: tuple[int, Entry] | None = None
            for offset, line in lines_backwards(handle, end):
                if offset < self.start:
                    return
                entry = decode_line(line, offset)
                if later is not None:
                    check_order(entry, later[1], later[0])
                later = (offset, entry)
                yield offset, entry

    def head(self) -> Entry | None:
        """The first line's entry (a summary after compaction), or None when empty."""
        with self._reading() as (handle, end):
            if handle is None:
                return None
            for offset, line in lines_forward(handle, self.start, end):
                return decode_line(line, offset)
        return None

    def summary(self) -> Summary | None:
        first = self.head()
        return first if isinstance(first, Summary) else None

    def entries(self, start: int = 0) -> Iterator[tuple[int, Entry]]:
        """Every line (offset, entry) from byte *start* on, in order, checked as it streams."""
        start = max(start, self.start)
        with self._reading() as (handle, end):
            if handle is None:
                return
            earlier: Entry | None = None
            for offset, line in lines_forward(handle, start, end):
                entry = decode_line(line, offset)
                if earlier is not None or start == 0:
                    check_order(earlier, entry, offset)
                earlier = entry
                yield offset, entry

    def __iter__(self) -> Iterator[Transaction]:
        """Every transaction, oldest first (its outcome, or its pending record if none)."""
        for entry in merged(self.entries()):
            if isinstance(entry, Transaction):
                yield entry

    def last(self, count: int) -> list[Transaction]:
        """The last *count* transactions, oldest first, read from the end of the file."""
        found: list[Transaction] = []
        if count <= 0:
            return found
        for _offset, entry in self.backwards():
            if isinstance(entry, Summary):
                break
            if found and found[-1].id == entry.id:
                continue  # the pending record of an outcome already taken
            found.append(entry)
            if len(found) >= count:
                break  # not one line more than needed
        found.reverse()
        return found

    def offset_of(self, txn_id: int) -> int:
        """The byte offset of the first line with an id of at least *txn_id* (the end if none)."""
        with self._reading() as (handle, end):
            if handle is None:
                return 0
            lo, hi = self.start, end  # lines before lo have smaller ids; the line at hi (or the end) does not
            while hi - lo > _SCAN:
                start = _next_line_start(handle, (lo + hi) // 2)
                if start >= hi:
                    break
                line = handle.readline()
                if not line.endswith(b"\n"):
                    break
                if decode_line(line[:-1], start).id < txn_id:
                    lo = start
                else:
                    hi = start
            for offset, line in lines_forward(handle, lo, end):
                if decode_line(line, offset).id >= txn_id:
                    return offset
            return end

    def since(self, txn_id: int) -> Iterator[Transaction]:
        """The transactions after *txn_id*, oldest first, found by bisection.

        Raises ``Trimmed`` (at once) when some of them were replaced by a
        compaction summary.
        """
        summary = self.summary()
        if summary is not None and txn_id < summary.id:
            raise Trimmed(txn_id + 1, summary)
        start = self.offset_of(txn_id + 1)
        return (entry for entry in merged(self.entries(start)) if isinstance(entry, Transaction))

    def get(self, txn_id: int) -> Transaction | None:
        """Transaction *txn_id* (its outcome, or its pending record), found by bisection.

        Raises ``Trimmed`` when a compaction summary replaced it.
        """
        summary = self.summary()
        if summary is not None and txn_id <= summary.id:
            raise Trimmed(txn_id, summary)
        found: Transaction | None = None
        for _offset, entry in self.entries(self.offset_of(txn_id)):
            if not isinstance(entry, Transaction) or entry.id != txn_id:
                break
            found = entry
        return found

    def first_id(self) -> int | None:
        """The oldest transaction id still in the journal (after any summary)."""
        for entry in merged(self.entries()):
            if isinstance(entry, Transaction):
                return entry.id
        return None

    # -- writing (under the store's exclusive lock) ---------------------------------------------

    def append(self, entries: Iterable[Entry], *, sync: bool = True) -> None:
        """Append one line per entry, then fsync (the test step ``journal-append``
        stops half-way through the bytes, as a crash mid-append would)."""
        data = b"".join(encode_line(entry) for entry in entries)
        if not data:
            return
        created = not self.path.exists()
        fd = open_regular(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            try:
                half = len(data) // 2
                write_all(fd, data[:half])
                pause_at("journal-append")
                write_all(fd, data[half:])
                if sync:
                    os.fsync(fd)
            except OSError:
                # A failed write (disk full, file too large) leaves no part of a line behind.
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                raise
        finally:
            os.close(fd)
        if created:
            fsync_directory(self.path.parent)


def _complete_end(handle: BinaryIO) -> int:
    """The offset just past the file's last newline (0 if it has none)."""
    size = handle.seek(0, os.SEEK_END)
    position = size
    while position > 0:
        start = max(0, position - _BLOCK)
        handle.seek(start)
        chunk = handle.read(position - start)
        idx = chunk.rfind(b"\n")
        if idx >= 0:
            return start + idx + 1
        position = start
    return 0


def complete_end(path: Path) -> int:
    """The offset just past the last newline of the file at *path*."""
    with os.fdopen(open_regular(path), "rb") as handle:
        return _complete_end(handle)


def _check_all(entries: list[tuple[int, Entry]]) -> None:
    for (_, earlier), (offset, later) in zip(entries, entries[1:]):
        check_order(earlier, later, offset)


def _append_bytes(path: Path, data: bytes) -> None:
    fd = open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)

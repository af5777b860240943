"""Recovery: bringing a ledger's state up to date with its journal, and knowing the journal is whole.

What ``LedgerStore.load`` does besides reading (see ``pipguard.ledger.store``):

* a torn last line (a crash in the middle of an append) is set aside into
  ``<journal>.torn``, saying so, and never read as data;
* a state behind its journal (a run stopped between writing the two) is
  brought up to date from the journal's last records, read from the end;
* a missing state is rebuilt from the journal (a first run that stopped
  between its two writes, or a state moved away);
* the journal's integrity is known without reading it: the state keeps a
  *mark*, the journal's length when pipguard last wrote both, and the
  lines already found unreadable. A journal of that length, not modified
  after the state was written, is the one pipguard wrote (every line it
  appends is its own record), so nothing is read. Any other journal
  (edited, truncated, replaced behind pipguard's back) is read once, line
  by line, and every unreadable line is kept in the mark, so that ``check``
  reports it (exit 1) and every later run still knows, at no cost.
  A journal newer than its state but found as the mark says (a ledger
  copied or restored without its files' times) is read once: the run that
  read it sets the state's time to now (``LedgerStore.vouch``), and the
  next run trusts it again.

A damaged line in the middle of the journal does not stop installs (the
state is whole), but history, diff and rollback cannot read past it. The
repair is ``pipguard history --compact N`` with N the first transaction
after the last damaged line: compaction keeps what can be read (the
transactions from N on, and a summary of the state before them).

The mark guards against accidents and careless edits, not against someone
who can write the ledger's files and set their times back: the ledger's
safety checks (``pipguard.ledger.safety``) are what refuse such a ledger.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, NamedTuple

from pipguard.core.model import LedgerState, Transaction
from pipguard.core.transactions import replay
from pipguard.errors import LedgerError
from pipguard.ledger import journal as journal_module
from pipguard.ledger.journal import Journal, JournalLineError, Summary, check_order, complete_end, decode_line


class NeedsWriter(Exception):
    """A tentative read (``LedgerStore.tentatively``) found what only a writer repairs: the run
    takes the exclusive lock and reads again, and the repair is made and said there. Never
    shown to a user: it is not a ``PipguardError``."""

if TYPE_CHECKING:
    from pipguard.ledger.store import LedgerStore


def say(message: str) -> None:
    print(message, file=sys.stderr)


# -- the integrity mark ------------------------------------------------------------------------


class Damage(NamedTuple):
    """One unreadable journal line."""

    line: int  # 1-based
    offset: int
    detail: str

    def to_data(self) -> dict[str, Any]:
        return {"line": self.line, "offset": self.offset, "detail": self.detail}


class Mark(NamedTuple):
    """What the state knows of its journal: its length then, and its unreadable lines."""

    size: int
    damaged: tuple[Damage, ...] = ()

    def to_data(self) -> dict[str, Any]:
        return {"size": self.size, "damaged": [d.to_data() for d in self.damaged]}


def mark_from(data: Any) -> Mark | None:
    """The mark as the state recorded it (None when absent or not of this shape: then the
    journal is read once, which is only slower)."""
    if not isinstance(data, dict):
        return None
    size, damaged = data.get("size"), data.get("damaged", [])
    if type(size) is not int or size < 0 or not isinstance(damaged, list):
        return None
    found = []
    for item in damaged:
        if not isinstance(item, dict):
            return None
        line, offset, detail = item.get("line"), item.get("offset"), item.get("detail")
        if type(line) is not int or type(offset) is not int or not isinstance(detail, str):
            return None
        found.append(Damage(line, offset, detail))
    return Mark(size, tuple(found))


def journal_size(journal: Journal) -> int:
    try:
        return os.stat(journal.path).st_size
    except FileNotFoundError:
        return 0


def scan(journal: Journal) -> tuple[Damage, ...]:
    """Read every line of the journal once; the lines that are not valid records (or
    out of order), with their line numbers. Costs the journal's length: only run
    when the mark cannot vouch for it."""
    found: list[Damage] = []
    earlier = None
    for number, (offset, line) in enumerate(journal.raw_lines(), start=1):
        try:
            entry = decode_line(line, offset)
            check_order(earlier, entry, offset)
        except JournalLineError as exc:
            found.append(Damage(number, offset, exc.detail))
            continue
        earlier = entry
    return tuple(found)


def verify(journal: Journal, mark: Mark | None, state_mtime: int | None) -> tuple[Mark, bool]:
    """The journal's mark now, and whether the journal had to be read to know it.

    Trusted without reading when its length is the recorded one and it was not
    modified after the state was written (*state_mtime*, ns)."""
    try:
        info = os.stat(journal.path)
    except FileNotFoundError:
        return Mark(0), False
    if (mark is not None and info.st_size == mark.size and state_mtime is not None
            and info.st_mtime_ns <= state_mtime):
        return mark, False
    return Mark(info.st_size, scan(journal)), True


def repair_from(journal: Journal, damage: tuple[Damage, ...]) -> int | None:
    """The first transaction after the last damaged line (what ``history --compact`` keeps)."""
    if not damage:
        return None
    last = max(damage, key=lambda d: d.offset)
    for offset, line in journal.raw_lines(last.offset):
        if offset == last.offset:
            continue
        try:
            entry = decode_line(line, offset)
        except JournalLineError:
            continue
        if isinstance(entry, Transaction):
            return entry.id
    return None


def readable_start(journal: Journal, damage: tuple[Damage, ...]) -> int:
    """The offset of the first line after the last damaged one (compaction keeps from there)."""
    last = max(d.offset for d in damage)
    for start, _line in journal.raw_lines(last):
        if start > last:
            return start
    return complete_end(journal.path)


def first_id_ever(journal: Journal) -> int | None:
    """The first transaction the journal holds (or its summary replaced), if its head is readable."""
    try:
        head = journal.head()
    except JournalLineError:
        return None
    if isinstance(head, Summary):
        return head.first
    return head.id if head is not None else None


def damage_notes(store: LedgerStore) -> tuple[str, ...]:
    """One line per damaged journal line, saying what to do (``check`` reports these)."""
    damage = store.damage
    if not damage:
        return ()
    journal = store.files.journal
    first = repair_from(Journal(journal), damage)
    fix = (f"'pipguard history --compact {first}' keeps what can be read (transactions {first} and later, "
           "and a summary of the state before them)" if first is not None else
           "restore the journal from a backup")
    return tuple(
        f"the ledger's journal {journal} has an unreadable line {d.line} ({d.detail}): history, diff and "
        f"rollback cannot read past it. Repair: {fix}; or restore the journal from a backup."
        for d in damage
    )


# -- bringing the state up to date ---------------------------------------------------------------


def set_aside_torn(store: LedgerStore) -> None:
    journal = Journal(store.files.journal)
    with store.reading_journal():
        torn = journal.torn()
        if torn is None:
            return
        if store.tentative:
            raise NeedsWriter("a torn last line")
        if not store.writing:
            say(f"pipguard: note: the last line of the journal {journal.path} is torn (a run stopped "
                "while writing it): it is not read, and the next pipguard run that writes sets it aside.")
            return
        journal.set_aside_torn(store.files.torn)
    say(f"pipguard: the last line of the journal {journal.path} was torn (a run stopped while writing "
        f"it, {len(torn[1])} bytes); it was set aside in {store.files.torn} and not read as a record.")


def records_after(store: LedgerStore, state: LedgerState) -> tuple[list[Transaction], Transaction | Summary | None]:
    """The journal's records after the state's position (oldest first), and the one at it."""
    later: list[Transaction] = []
    anchor: Transaction | Summary | None = None
    with store.reading_journal():
        for _offset, entry in Journal(store.files.journal).backwards():
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


def check_anchor(store: LedgerStore, state: LedgerState, anchor: Transaction | Summary | None) -> None:
    if state.last_id == 0 and anchor is None:
        return
    if anchor is not None and anchor.id == state.last_id:
        pending = isinstance(anchor, Transaction) and anchor.status == "pending"
        if pending == (state.pending is not None):
            return
    where = f"transaction {state.last_id}" + (" (pending)" if state.pending else "")
    if anchor is None:
        found = "has no record of it" if Journal(store.files.journal).exists() else "is missing"
    elif isinstance(anchor, Summary):
        found = f"summarises transactions {anchor.first}-{anchor.id} there"
    else:
        found = f"has transaction {anchor.id} ({anchor.status}) there"
    raise LedgerError(
        f"the ledger {store.path} and its journal {store.files.journal} disagree: the state's newest "
        f"record is {where}, but the journal {found}. Both were left as they are. Restore them from "
        "a backup; or move the state aside, and the next run rebuilds it from the journal."
    )


def catch_up(store: LedgerStore, state: LedgerState) -> LedgerState:
    """The state brought up to date with the journal's records after it (said; written
    when the store may write)."""
    later, anchor = records_after(store, state)
    check_anchor(store, state, anchor)
    newest = later[-1] if later else anchor
    store.last_entry = newest if isinstance(newest, Transaction) else None
    if not later:
        return state
    if store.tentative:
        raise NeedsWriter("a state behind its journal")
    state = replay(state, later)
    if store.writing:
        store.save(state)
        say(f"pipguard: the ledger {store.path} was behind its journal {store.files.journal} (a run stopped "
            f"between writing the two); brought it up to date (transaction {state.last_id}).")
    else:
        say(f"pipguard: note: the ledger {store.path} is behind its journal (a run stopped between "
            "writing the two); read as brought up to date; the next pipguard run that writes fixes it.")
    return state


def rebuild(store: LedgerStore) -> LedgerState | None:
    """No state document: none at all, or rebuilt from the journal."""
    journal = Journal(store.files.journal)
    if not journal.exists():
        return None
    if store.tentative:
        raise NeedsWriter("a state to rebuild")
    set_aside_torn(store)
    summary: Summary | None = None
    records: list[Transaction] = []
    with store.reading_journal():
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
    store.last_entry = records[-1] if records else None
    if store.writing:
        store.save(state)
        say(f"pipguard: the ledger {store.path} was missing but its journal {journal.path} is there (a "
            "first run stopped between writing the two, or the state was moved away); rebuilt the "
            f"state from the journal (transaction {state.last_id}; policy and shim settings start "
            "afresh).")
    else:
        say(f"pipguard: note: the ledger {store.path} is missing but its journal is there: read as "
            "rebuilt from the journal; the next pipguard run that writes rebuilds it.")
    return state

"""Points of an environment's history, read from its ledger (an I/O edge).

The state after transaction N is the current state with every later
transaction undone (``transactions.rewind``): only the journal's records
after N are read, found by bisection. The standing constraints after N
are the latest set at or before N (read backwards from N, parsing only the
lines that set them), or the current ones when nothing after N changed
them. A compaction summary is a valid point; a transaction it replaced
is not (refused, naming the earliest point there is).
"""

from __future__ import annotations

from pipguard.core.model import LedgerState, StandingConstraint, StandingFile, Transaction
from pipguard.core.transactions import is_number, rewind
from pipguard.errors import UsageError
from pipguard.ledger.compaction import standing_at
from pipguard.ledger.journal import Journal, Trimmed
from pipguard.ledger.store import LedgerStore
from pipguard.maintenance.diff import Snapshot


def parse_number(text: str, command: str) -> int:
    if not is_number(text):
        raise UsageError(f"{command} needs a transaction number from 'pipguard history', not {text!r}.")
    number = int(text)
    if number < 1:
        raise UsageError(f"{command} needs a transaction number from 'pipguard history' (1 or more), not {number}.")
    return number


def transactions_after(store: LedgerStore, number: int, last_id: int, purpose: str = "roll back to"
                       ) -> list[Transaction]:
    """The journal's transactions after *number*; refuses a number it does not hold.

    *purpose* finishes "the earliest point to ..." in the refusal."""
    with store.reading_journal():
        journal = store.journal
        summary = journal.summary()
        try:
            if summary is None or number != summary.id:
                found = journal.get(number)
                if found is None:
                    first = journal.first_id() or 1
                    raise UsageError(
                        f"there is no transaction {number} in {store.path} "
                        f"(transactions run from {first} to {last_id})."
                    )
            return list(journal.since(number))
        except Trimmed as exc:
            raise UsageError(
                f"transaction {number} of {store.path} is no longer in the journal: transactions "
                f"{exc.summary.first}-{exc.summary.id} were compacted on {exc.summary.compacted_at} and only "
                f"the state after {exc.summary.id} is kept. The earliest point to {purpose} is {exc.summary.id}."
            ) from None


def _standing_after(store: LedgerStore, state: LedgerState, number: int, later: list[Transaction]
                    ) -> tuple[tuple[StandingConstraint, ...], tuple[StandingFile, ...]]:
    if not any(t.standing is not None or t.standing_files is not None for t in later):
        return state.standing, state.standing_files
    with store.reading_journal():
        journal = store.journal
        if isinstance(journal, Journal):
            return standing_at(journal, journal.offset_of(number + 1), state, later, journal.summary())
        standing: tuple[StandingConstraint, ...] = ()
        files: tuple[StandingFile, ...] = ()
        for txn in journal:  # a schema-1 ledger read in memory (a read-only run): it is all there
            if txn.id > number:
                break
            standing = txn.standing if txn.standing is not None else standing
            files = txn.standing_files if txn.standing_files is not None else files
        return standing, files


def snapshot_after(store: LedgerStore, state: LedgerState, number: int, purpose: str = "roll back to"
                   ) -> Snapshot:
    """The ledger's record right after transaction *number*."""
    later = transactions_after(store, number, state.last_id, purpose)
    point = rewind(state, later)
    standing, files = _standing_after(store, state, number, later)
    return Snapshot(str(number), point.distributions, point.roots, standing, files)


def snapshot_now(state: LedgerState) -> Snapshot:
    return Snapshot("now", state.distributions, state.roots, state.standing, state.standing_files)

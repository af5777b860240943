"""``pipguard history``: the ledger's transactions; ``history --compact N`` trims the journal.

Reads the journal only as far as it must: from its end for ``--last K``, by
bisection for ``N`` and ``--since N``, streaming for the whole list, under
the shared lock (``cli.context.reading``). It writes nothing, but for
``--compact N``, which takes the lock exclusively and trims the journal.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterable, Iterator

from pipguard.cli.context import Target, locate, no_ledger_note, open_session, reading
from pipguard.cli.options import CommandParser, Options, command_parser, say
from pipguard.cli.render import history_json_chunks, history_lines
from pipguard.core.model import Transaction
from pipguard.core.printable import safe_line
from pipguard.core.views import Compacted, history_view, transaction_range
from pipguard.errors import UsageError
from pipguard.ledger import now
from pipguard.ledger.journal import Summary, Trimmed


def _transaction_number(text: str, what: str = "N") -> int:
    if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
        raise UsageError(
            f"pipguard history: {what} must be a transaction number (1, 2, ...), not {text!r}. "
            "'pipguard history' lists them all; 'pipguard history --last K' the last K."
        )
    return int(text)


def _count(text: str, option: str) -> int:
    if not re.fullmatch(r"[0-9]+", text):
        raise UsageError(f"pipguard history: {option} needs a number of transactions, not {text!r}.")
    return int(text)


def _history_parser() -> CommandParser:
    parser = command_parser(
        "history",
        "The ledger's transactions, oldest first: when, what command, what changed, how it ended. "
        "With N, transaction N alone, in full.",
    )
    parser.add_argument("n", nargs="?", metavar="N", help="show transaction N in full")
    parser.add_argument("--last", metavar="K", help="only the last K transactions")
    parser.add_argument("--since", metavar="N", help="only the transactions after transaction N (0: all)")
    parser.add_argument("--json", action="store_true", help="print a JSON document (see docs/inspection.md)")
    parser.add_argument("--compact", metavar="N",
                        help="trim the journal: replace the transactions before N by a summary of the state "
                             "after N-1 (rollback to N-1 and later still works)")
    return parser


def _trimmed_message(exc: Trimmed, target: Target) -> str:
    summary = exc.summary
    return (f"pipguard history: transaction {exc.txn_id} was compacted away on {summary.compacted_at}: "
            f"transactions {summary.first}-{summary.id} of the ledger {target.store.path} are kept only as "
            f"a summary of the state after {summary.id}.")


def run_history(options: Options, args: list[str]) -> int:
    ns = _history_parser().parse_args(args)
    if ns.compact is not None:
        if ns.n is not None or ns.last is not None or ns.since is not None:
            raise UsageError("pipguard history: --compact N goes alone.")
        return compact_history(options, _transaction_number(ns.compact, "--compact N"))
    number = _transaction_number(ns.n) if ns.n is not None else None
    last = _count(ns.last, "--last") if ns.last is not None else None
    since = _count(ns.since, "--since") if ns.since is not None else None
    if sum(x is not None for x in (number, last, since)) > 1:
        raise UsageError("pipguard history: give N (one transaction), --last K or --since N, not more than one.")
    with contextlib.ExitStack() as stack:
        # The lock is held while the journal is opened and the selection found; what is
        # printed afterwards comes from that open file (a snapshot), so a long history
        # read into a pager never keeps another run waiting.
        with reading(options, needs=False) as (target, session):  # the journal: no needs
            has_ledger = not session.created
            if number is not None and not has_ledger:
                raise UsageError(
                    f"pipguard history: there is no transaction {number}: there is no ledger yet at "
                    f"{target.store.path} (nothing has been installed through pipguard here)."
                )
            store = target.store
            with store.reading_journal():
                journal = stack.enter_context(store.journal.snapshot())
                summary = journal.summary() if has_ledger else None
                first_id = (journal.first_id() or 0) if has_ledger else 0
                note_compacted = summary is not None and number is None and last is None and (
                    since is None or since < summary.id)
                shown: Iterable[Transaction]
                if not has_ledger:
                    shown = ()
                elif number is not None:
                    try:
                        found = journal.get(number)
                    except Trimmed as exc:
                        raise UsageError(_trimmed_message(exc, target)) from None
                    if found is None:
                        raise UsageError(
                            f"pipguard history: there is no transaction {number} in the ledger {store.path} "
                            f"(it has transactions {transaction_range(first_id, session.ledger.last_id)})."
                        )
                    shown = (found,)
                elif last is not None:
                    shown = journal.last(last)
                elif since is not None:
                    if summary is not None and since < summary.id:
                        since = summary.id  # the note below says what was compacted
                    shown = journal.since(since)
                else:
                    shown = iter(journal)
        pending: list[int] = []
        view = history_view(_noting_pending(shown, pending), session.ledger, session.state.own_versions,
                            str(store.path), has_ledger, detail=number is not None, first_id=first_id,
                            compacted=_compacted(summary))
        with store.reading_journal():  # a bad line met while streaming is exit 11 too
            if ns.json:
                for chunk in history_json_chunks(view):
                    sys.stdout.write(chunk)
                return 0
            if not has_ledger:
                say(no_ledger_note(target))
                return 0
            if note_compacted and summary is not None:
                say(f"pipguard: transactions {summary.first}-{summary.id} were compacted on "
                    f"{summary.compacted_at}; the journal keeps a summary of the state after {summary.id}.")
            for line in history_lines(view):
                sys.stdout.write(safe_line(line) + "\n")
    for txn_id in pending:
        say(f"pipguard: transaction {txn_id} never finished (its run was interrupted); the next "
            "'pipguard install' records what it changed.")
    return 0


def _noting_pending(transactions: Iterable[Transaction], pending: list[int]) -> Iterator[Transaction]:
    for txn in transactions:
        if txn.status == "pending":
            pending.append(txn.id)
        yield txn


def _compacted(summary: Summary | None) -> Compacted | None:
    return Compacted(summary.first, summary.id, summary.compacted_at) if summary else None


def compact_history(options: Options, first_kept: int) -> int:
    """``history --compact N``: trim the journal before transaction N (exclusive lock)."""
    target = locate(options)
    with target.store.locked():
        session = open_session(target)
        for note in session.notes:
            say(note)
        if session.created:
            say(f"pipguard: there was no ledger at {target.store.path}; started one. Nothing to compact.")
            return 0
        done = target.store.compact(session.ledger, first_kept, now)
    if done.summary is None:
        say(f"pipguard: nothing to compact before transaction {first_kept} in {target.store.journal_path}.")
        return 0
    summary = done.summary
    say(f"pipguard: compacted the journal {target.store.journal_path}: transactions {summary.first}-{summary.id} "
        f"are now a summary of the state after {summary.id} ({done.bytes_before / 1e6:.1f} MB -> "
        f"{done.bytes_after / 1e6:.1f} MB). 'pipguard rollback' can go back to {summary.id} at the earliest.")
    return 0

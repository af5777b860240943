"""``pipguard ledger``, ``why``, ``history`` and ``export``: read the ledger, change nothing.

Each command takes the environment's lock *shared* (so it never reads a
ledger half-way through another run's transaction, while other readers
may read at once; on a read-only location, none, said in one line),
probes the target, reads the ledger's state, and prints. ``ledger``,
``why`` and ``export`` read the state alone; ``history`` reads the journal
only as far as it must: from its end for ``--last K``, by bisection for
``N`` and ``--since N``, streaming for the whole list. None of them writes
the ledger: drift they notice is shown, not recorded (the next install
records it). ``history --compact N`` is the exception: it trims the journal.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterable, Iterator

from pipguard.cli.context import Options, Session, Target, locate, open_session
from pipguard.cli.options import CommandParser, command_parser, print_json, say
from pipguard.cli.render import (
    export_json,
    export_text,
    history_json_chunks,
    history_lines,
    ledger_json,
    ledger_text,
    why_json,
    why_text,
)
from pipguard.commands.support import outside_note, read_state, reading
from pipguard.core.health import assess
from pipguard.core.model import StandingConstraint, Transaction
from pipguard.core.redaction import clean, printable
from pipguard.core.views import (
    Compacted,
    close_matches,
    export_pins,
    history_view,
    is_project_name,
    ledger_view,
    transaction_range,
    why,
)
from pipguard.errors import UsageError
from pipguard.ledger import now
from pipguard.ledger.journal import Summary, Trimmed
from pipguard.ledger.state import state_to_data


def _no_ledger_note(target: Target) -> str:
    return (
        f"pipguard: no ledger yet at {target.store.path}: nothing has been installed through "
        "pipguard in this environment ('pipguard install' starts the ledger)."
    )


def standing_to_show(session: Session) -> tuple[StandingConstraint, ...]:
    """The standing constraints in force, for display: a file that cannot be read
    is said, not fatal (``pipguard constraints list`` shows which)."""
    try:
        return session.standing
    except UsageError as exc:
        say(f"pipguard: warning: {exc}")
        from pipguard.ledger.standing import read_standing_file

        found = list(session.ledger.standing)
        for item in session.ledger.standing_files:
            with contextlib.suppress(UsageError):
                found += read_standing_file(item)
        return tuple(found)


# -- ledger ---------------------------------------------------------------------


def run_ledger(options: Options, args: list[str]) -> int:
    parser = command_parser("ledger", "The roots the ledger records: the projects asked for, and how.")
    parser.add_argument("--json", action="store_true", help="print a JSON document (see docs/inspection.md)")
    ns = parser.parse_args(args)
    target, session = read_state(options)
    view = ledger_view(session.ledger, session.state.own_versions, str(target.store.path), not session.created,
                       standing_to_show(session) if not session.created else ())
    outside = sorted((name, dist.version) for name, dist in session.state.outside.items())
    if ns.json:
        document = ledger_json(view)
        document["outside"] = {"policy": session.ledger.outside,
                               "distributions": [{"name": n, "version": v} for n, v in outside]}
        print_json(document)
        return 0
    if not view.has_ledger:
        say(_no_ledger_note(target))
        return 0
    sys.stdout.write(ledger_text(view))
    count = len(view.rows)
    say(f"pipguard: {count} root{'s' if count != 1 else ''} in {view.ledger_path} (policy {view.policy}).")
    if outside:
        say(outside_note(len(outside), session.ledger.outside))
    if any(row.drifted for row in view.rows):
        say("pipguard: '(was ...)': changed outside pipguard since the last transaction; "
            "'pipguard check' lists every difference.")
    return 0


# -- why ------------------------------------------------------------------------


def run_why(options: Options, args: list[str]) -> int:
    parser = command_parser(
        "why", "Who needs NAME: every root and installed distribution requiring it, and how each root "
        "reaches it."
    )
    parser.add_argument("name", metavar="NAME", help="a distribution name (no version, no extras)")
    parser.add_argument("--json", action="store_true", help="print a JSON document (see docs/inspection.md)")
    ns = parser.parse_args(args)
    name: str = ns.name
    if not is_project_name(name):
        raise UsageError(
            f"pipguard why: {name!r} is not a distribution name. Give a bare name such as "
            "'requests' (no version, extras or path)."
        )
    target, session = read_state(options)
    ledger = session.ledger
    result = why(name, session.state.distributions, ledger.roots, session.standing, session.state.markers)
    if not result.known:
        hints = close_matches(name, [*session.state.distributions, *ledger.roots])
        hint = f" Did you mean {' or '.join(hints)}?" if hints else ""
        raise UsageError(
            f"pipguard why: {name} is not installed, not a root, and nothing installed requires it.{hint} "
            "'pipguard ledger' lists the roots, 'pip list' what is installed."
        )
    if session.created:
        say(_no_ledger_note(target) + " Roots below are the top-level distributions.")
    if ns.json:
        print_json(why_json(result))
    else:
        sys.stdout.write(why_text(result))
    return 0


# -- history --------------------------------------------------------------------


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
        with reading(options) as (target, session):
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
                say(_no_ledger_note(target))
                return 0
            if note_compacted and summary is not None:
                say(f"pipguard: transactions {summary.first}-{summary.id} were compacted on "
                    f"{summary.compacted_at}; the journal keeps a summary of the state after {summary.id}.")
            for line in history_lines(view):
                sys.stdout.write(printable(line) + "\n")
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


# -- export ----------------------------------------------------------------------


def run_export(options: Options, args: list[str]) -> int:
    parser = command_parser(
        "export",
        "The known-good set of this environment as a pip constraints file (name==version, with the "
        "markers that apply), ready for 'pip install -c FILE'.",
    )
    parser.add_argument("--all", action="store_true", help="include pip, setuptools, wheel and distribute")
    parser.add_argument("--json", action="store_true",
                        help="print the ledger's current state and the constraints as JSON")
    ns = parser.parse_args(args)
    target, session = read_state(options)
    state, ledger = session.state, session.ledger
    has_ledger = not session.created
    pins = export_pins(state.distributions, ledger.roots, state.markers, include_tooling=ns.all)
    health = assess(state.distributions, ledger, state.markers, ledger_path=str(target.store.path),
                    has_ledger=has_ledger, standing=session.standing)
    problems = health.findings()
    if ns.json:
        print_json(export_json(
            pins,
            clean(state_to_data(ledger)) if has_ledger else None,
            ledger_path=str(target.store.path),
            python={"executable": state.executable, "version": state.python_version, "prefix": state.prefix},
            markers=state.markers,
            problems=problems,
        ))
    else:
        platform = f"{state.markers.get('sys_platform', '?')} {state.markers.get('platform_machine', '?')}"
        header = [
            f"Known-good set of {state.prefix} (Python {state.python_version}, {platform}), "
            "by pipguard export.",
        ]
        if has_ledger and ledger.last_id:
            last = target.store.last_entry
            when = f" ({last.finished or last.started})" if last is not None and last.id == ledger.last_id else ""
            header.append(f"Ledger {target.store.path}, transaction {ledger.last_id}{when}.")
        else:
            header.append("No ledger yet: this is what is installed, not checked against any record.")
        header.append("Use it with: pip install -c THIS_FILE ...")
        if problems:
            header.append(f"WARNING: 'pipguard check' finds {len(problems)} problem(s) here; this is what is "
                          "installed, not a set known to work.")
        sys.stdout.write(export_text(pins, header))
    if problems:
        say(f"pipguard: warning: 'pipguard check' finds {len(problems)} problem(s) in this environment; "
            "the exported set is what is installed, not a set known to work.")
    if not has_ledger:
        say(_no_ledger_note(target))
    return 0

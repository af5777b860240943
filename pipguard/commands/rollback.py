"""``pipguard rollback N``: return the environment to its state after transaction N.

The state after N is the current state with every later transaction's
changes and root changes undone, newest first (``transactions.rewind``):
only the journal's records after N are read, found by bisection. A
compaction summary is a valid point to return to; a transaction it
replaced is not (refused, naming the earliest point there is).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from packaging.utils import NormalizedName

from pipguard.context import Options, locate, open_session, probe
from pipguard.errors import PipFailed, UsageError
from pipguard.ledger import now
from pipguard.ledger.journal import Trimmed
from pipguard.ledger.store import LedgerStore
from pipguard.model import Status, Transaction
from pipguard.pip_runner import check_pip_version, pip_command, run_process
from pipguard.transactions import Point, changes_between, close, rewind, start


def rollback_steps(
    current: Mapping[NormalizedName, str], wanted: Mapping[NormalizedName, str]
) -> tuple[list[str], list[str]]:
    """(pins to install, names to uninstall) that turn *current* into *wanted*."""
    install: list[str] = []
    remove: list[str] = []
    for change in changes_between(current, wanted):
        if change.after is None:
            remove.append(str(change.name))
        else:
            install.append(f"{change.name}=={change.after}")
    return install, remove


def _parse(args: Sequence[str]) -> tuple[int, list[str]]:
    if not args or args[0] in ("-h", "--help"):
        raise UsageError(
            "usage: pipguard rollback N [pip install options such as --no-index -f DIR]. "
            "N is a transaction number from 'pipguard history'."
        )
    try:
        number = int(args[0])
    except ValueError:
        raise UsageError(f"rollback needs a transaction number, not {args[0]!r}.") from None
    return number, list(args[1:])


def transactions_after(store: LedgerStore, number: int, last_id: int) -> list[Transaction]:
    """The journal's transactions after *number*; refuses a number it does not hold."""
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
                f"cannot roll back to transaction {number}: transactions {exc.summary.first}-{exc.summary.id} "
                f"of {store.path} were compacted on {exc.summary.compacted_at} and only the state after "
                f"{exc.summary.id} is kept. The earliest point to roll back to is {exc.summary.id}."
            ) from None


def run_rollback(options: Options, args: list[str]) -> int:
    number, pip_options = _parse(args)
    target = locate(options)
    store = target.store
    with store.locked():
        session = open_session(target)
        ledger = session.ledger
        wanted: Point = rewind(ledger, transactions_after(store, number, ledger.last_id))
        check_pip_version(session.state.pip_version, target.python)
        install, remove = rollback_steps(session.state.own_versions, wanted.distributions)
        if not install and not remove and dict(wanted.roots) == dict(ledger.roots):
            print(f"pipguard: the environment is already as it was after transaction {number}.",
                  file=sys.stderr)
            return 0
        txn = start(ledger, "rollback", ["rollback", *args], session.state.pip_version, ledger.policy, now)
        ledger = store.begin(ledger, txn)
        code = 0
        if remove:
            code = run_process(pip_command(target.python, "uninstall", "-y", *remove)).returncode
        if code == 0 and install:
            code = run_process(
                pip_command(target.python, "install", "--no-deps", *pip_options, *install)
            ).returncode
        after = probe(target).own_versions if install or remove else session.state.own_versions
        status: Status = "committed" if code == 0 else "failed"
        done = close(ledger, txn, status, now, after=after, roots=wanted.roots,
                     reason=f"rollback to the state after transaction {number}")
        store.finish(ledger, done)
        if code != 0:
            raise PipFailed(f"rollback to transaction {number} did not finish; see pip's output.", code)
        print(f"pipguard: rolled back to the state after transaction {number} "
              f"({len(install)} installed, {len(remove)} removed).", file=sys.stderr)
        return 0

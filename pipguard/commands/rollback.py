"""``pipguard rollback N``: return the environment to its state after transaction N."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace

from packaging.utils import NormalizedName

from pipguard.context import Options, locate, open_session
from pipguard.errors import PipFailed, UsageError
from pipguard.ledger import Ledger
from pipguard.pip_runner import check_pip_version, pip_command, run_process
from pipguard.transactions import begin, changes_between, finish


def state_after(ledger: Ledger, txn_id: int) -> dict[NormalizedName, str]:
    """Replay the recorded changes of every transaction up to and including *txn_id*."""
    state: dict[NormalizedName, str] = {}
    for txn in ledger.transactions:
        if txn.id > txn_id:
            break
        for change in txn.changes:
            if change.after is None:
                state.pop(change.name, None)
            else:
                state[change.name] = change.after
    return state


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


def run_rollback(options: Options, args: list[str]) -> int:
    number, pip_options = _parse(args)
    target = locate(options)
    with target.store.locked():
        session = open_session(target)
        ledger = session.ledger
        if ledger.transaction(number) is None:
            raise UsageError(
                f"there is no transaction {number} in {target.store.path} "
                f"(transactions run from 1 to {ledger.next_id - 1})."
            )
        check_pip_version(session.state.pip_version, target.python)
        wanted = state_after(ledger, number)
        install, remove = rollback_steps(session.state.versions, wanted)
        if not install and not remove:
            target.store.save(ledger)
            print(f"pipguard: the environment is already as it was after transaction {number}.",
                  file=sys.stderr)
            return 0
        ledger, txn = begin(ledger, "rollback", ["rollback", *args], session.state.pip_version, ledger.policy)
        target.store.save(ledger)
        code = 0
        if remove:
            code = run_process(pip_command(target.python, "uninstall", "-y", *remove)).returncode
        if code == 0 and install:
            code = run_process(
                pip_command(target.python, "install", "--no-deps", *pip_options, *install)
            ).returncode
        after = open_session(target, reconcile_drift=False).state.versions
        roots = {name: root for name, root in ledger.roots.items() if root.added_by <= number}
        status = "committed" if code == 0 else "failed"
        ledger = finish(ledger, txn, status, after=after, roots=roots,
                        reason=f"rollback to the state after transaction {number}")
        target.store.save(replace(ledger))
        if code != 0:
            raise PipFailed(f"rollback to transaction {number} did not finish; see pip's output.", code)
        print(f"pipguard: rolled back to the state after transaction {number} "
              f"({len(install)} installed, {len(remove)} removed).", file=sys.stderr)
        return 0

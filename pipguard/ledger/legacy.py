"""Schema 1, the single-document ledger of earlier pipguard versions (pure).

A schema-1 ledger kept everything in one JSON file: environment, policy,
roots, standing constraints (lines copied from their files), the
distributions as last recorded, the shim record and *every* transaction.
``from_schema1`` validates such a document as strictly as the new format
(transaction ids positive and strictly increasing, specifiers that parse)
and splits it into a schema-2 state and the transactions for the journal.
The store writes them (under the lock, keeping the old file as a backup).

What the old format did not record is derived, so that later commands
behave as they did: each root is recorded as added by the transaction
that added it (``added_by``), which is what rollback used to restore
roots; standing lines copied from a file follow that file from now on
when it is still there, and stay as copied otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pipguard.core.model import (
    COMMAND_LINE,
    POLICIES,
    LedgerState,
    Root,
    RootChange,
    StandingConstraint,
    StandingFile,
    Transaction,
)
from pipguard.ledger import codec
from pipguard.ledger.state import choice, shim_from


def _transactions(data: Any) -> list[Transaction]:
    found = [
        codec.transaction_from(item, f"transactions[{i}]")
        for i, item in enumerate(codec.expect(data, list, "transactions"))
    ]
    for i, (earlier, later) in enumerate(zip(found, found[1:])):
        if later.id <= earlier.id:
            raise ValueError(
                f"transaction ids are not strictly increasing (transactions[{i + 1}] has id {later.id} "
                f"after {earlier.id})"
            )
    return found


def _with_root_changes(transactions: list[Transaction], roots: Mapping[Any, Root]) -> list[Transaction]:
    """Each root recorded as added by its ``added_by`` transaction (the first one if unknown)."""
    ids = {txn.id for txn in transactions}
    by_txn: dict[int, list[RootChange]] = {}
    for name, root in sorted(roots.items()):
        owner = root.added_by if root.added_by in ids else transactions[0].id
        by_txn.setdefault(owner, []).append(RootChange(name, None, root))
    return [txn._replace(roots=tuple(by_txn.get(txn.id, ()))) for txn in transactions]


def _close_stale_pending(transactions: list[Transaction]) -> list[Transaction]:
    """Only the newest transaction can still be pending; older pending ones never finished."""
    return [
        txn._replace(status="interrupted",
                reason=(txn.reason + " " if txn.reason else "") + "(found unfinished when the ledger was migrated)")
        if txn.status == "pending" and i < len(transactions) - 1 else txn
        for i, txn in enumerate(transactions)
    ]


def _standing(
    lines: tuple[StandingConstraint, ...], follows: Callable[[str], bool]
) -> tuple[tuple[StandingConstraint, ...], tuple[StandingFile, ...]]:
    """Command-line lines stay; a file's copied lines become that file, read afresh, when it is there."""
    kept: list[StandingConstraint] = []
    files: dict[str, int] = {}
    for line in lines:
        if line.source != COMMAND_LINE and follows(line.source):
            files[line.source] = min(files.get(line.source, line.added_by), line.added_by)
        else:
            kept.append(line)
    return tuple(kept), tuple(StandingFile(path, added_by) for path, added_by in files.items())


def from_schema1(
    data: Mapping[str, Any], follows: Callable[[str], bool] = lambda path: False
) -> tuple[LedgerState, list[Transaction]]:
    """Validate a schema-1 document and split it: (the state, the journal's transactions).

    *follows(path)* says whether a standing constraints file is still there
    to be read on every run. Raises ``ValueError``/``KeyError`` naming what is wrong.
    """
    roots = codec.roots_from(data.get("roots", {}), "roots")
    standing, standing_files = _standing(codec.standing_from(data.get("standing", []), "standing"), follows)
    transactions = _transactions(data.get("transactions", []))
    if transactions:
        transactions = _close_stale_pending(_with_root_changes(transactions, roots))
    last = transactions[-1] if transactions else None
    state = LedgerState(
        environment=codec.string_map(data.get("environment", {}), "environment"),
        policy=choice(data.get("policy", "compatible"), POLICIES, "policy"),
        roots=roots,
        standing=standing,
        standing_files=standing_files,
        distributions=codec.versions_from(data.get("distributions", {}), "distributions"),
        shim=shim_from(data.get("shim", {})),
        last_id=last.id if last else 0,
        pending=last if last and last.status == "pending" else None,
    )
    return state, transactions

"""Building ledger records: baseline, transactions, reconciliation (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from packaging.utils import NormalizedName, canonicalize_name

from pipguard.constraints import MarkerEnvironment, active_requirements
from pipguard.ledger import Ledger, Root, Transaction, now
from pipguard.model import TOOLING, Change, Distribution
from pipguard.redaction import redact_all


def changes_between(
    before: Mapping[NormalizedName, str], after: Mapping[NormalizedName, str]
) -> tuple[Change, ...]:
    """Every distribution whose version differs between *before* and *after*, by name."""
    names = sorted(set(before) | set(after))
    return tuple(
        Change(name, before.get(name), after.get(name))
        for name in names
        if before.get(name) != after.get(name)
    )


def top_level(dists: Mapping[NormalizedName, Distribution], markers: MarkerEnvironment) -> list[NormalizedName]:
    """Installed projects nothing else installed requires (the likely roots)."""
    required = set()
    for dist in dists.values():
        for req in active_requirements(dist, markers):
            required.add(canonicalize_name(req.name))
    return sorted(name for name in dists if name not in required and name not in TOOLING)


def baseline_ledger(
    environment: Mapping[str, str],
    dists: Mapping[NormalizedName, Distribution],
    markers: MarkerEnvironment,
    policy: str = "compatible",
) -> Ledger:
    """A new ledger that takes what is already installed as protected."""
    versions = {name: dist.version for name, dist in dists.items()}
    stamp = now()
    txn = Transaction(
        id=1,
        command="baseline",
        status="committed",
        started=stamp,
        finished=stamp,
        pip_version=versions.get(canonicalize_name("pip")),
        policy=policy,
        changes=changes_between({}, versions),
        reason="what was installed before pipguard's first run",
    )
    roots = {
        name: Root(
            name=name,
            display_name=dists[name].display_name or name,
            editable=dists[name].editable,
            url=dists[name].url,
            added_by=1,
            added_at=stamp,
            kind="baseline",
        )
        for name in top_level(dists, markers)
    }
    return Ledger(
        environment=dict(environment),
        policy=policy,
        roots=roots,
        distributions=versions,
        transactions=(txn,),
    )


def begin(ledger: Ledger, command: str, argv: list[str], pip_version: str | None, policy: str,
          constraints: list[str] = (), status: str = "pending") -> tuple[Ledger, Transaction]:  # type: ignore[assignment]
    txn = Transaction(
        id=ledger.next_id,
        command=command,
        argv=tuple(redact_all(argv)),
        status=status,
        started=now(),
        pip_version=pip_version,
        policy=policy,
        constraints=tuple(redact_all(constraints)),
    )
    return ledger.with_transaction(txn), txn


def finish(
    ledger: Ledger,
    txn: Transaction,
    status: str,
    after: Mapping[NormalizedName, str] | None = None,
    reason: str = "",
    roots: Mapping[NormalizedName, Root] | None = None,
) -> Ledger:
    """Close *txn*; with *after*, record what changed and the new state."""
    changes = changes_between(ledger.distributions, after) if after is not None else ()
    done = replace(txn, status=status, finished=now(), changes=changes, reason=reason)
    updated = ledger.with_transaction(done)
    if after is not None:
        updated = replace(updated, distributions=dict(after))
    if roots is not None:
        updated = replace(updated, roots=dict(roots))
    return updated


def reconcile(ledger: Ledger, installed: Mapping[NormalizedName, str]) -> tuple[Ledger, list[str]]:
    """Close interrupted transactions and record changes made behind pipguard's back.

    Called with the lock held, so a pending transaction belongs to a run
    that died: it is marked interrupted, with what really changed.
    """
    notes = []
    for txn in ledger.pending():
        changes = changes_between(ledger.distributions, installed)
        ledger = ledger.with_transaction(
            replace(txn, status="interrupted", finished=now(), changes=changes,
                    reason="the pipguard run stopped before it finished; changes read from the environment")
        )
        ledger = replace(ledger, distributions=dict(installed))
        notes.append(f"pipguard: transaction {txn.id} ({' '.join(txn.argv)}) was interrupted; "
                     f"recorded what it changed ({len(changes)} distributions).")
    drift = changes_between(ledger.distributions, installed)
    if drift:
        stamp = now()
        txn = Transaction(
            id=ledger.next_id, command="drift", status="drift", started=stamp, finished=stamp,
            changes=drift, reason="changed outside pipguard (plain pip, another tool, or by hand)",
        )
        ledger = replace(ledger.with_transaction(txn), distributions=dict(installed))
        notes.append(
            "pipguard: the environment changed outside pipguard since its last run: "
            + ", ".join(c.describe() for c in drift[:10])
            + (f" and {len(drift) - 10} more" if len(drift) > 10 else "")
            + f" (recorded as transaction {txn.id})."
        )
    return ledger, notes

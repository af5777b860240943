"""Building and applying ledger records: baseline, transactions, reconciliation (pure).

The clock is passed in (``now``, a function returning an ISO timestamp),
never read here. A transaction's life:

* ``start`` makes the pending record (id ``state.next_id``, arguments
  redacted and made printable), optionally with the root changes the run
  means to make (so that a run killed before its commit can be reconciled
  with what the user asked for);
* ``close`` makes its outcome: the distributions' changes against the
  state, and a ``RootChange`` for every root added, removed or changed (so
  that a later rollback can restore roots, specifiers, extras, editables);
* ``apply`` lays an outcome (or a pending record) on the state.

The store (``pipguard.ledger.store``) writes each record to the journal and
the state it leads to; ``rewind`` and ``replay`` walk the journal's records
back from the current state or forward from the start (or a compaction
summary), for rollback, compaction and rebuilding a lost state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from pipguard.core.constraints import MarkerEnvironment, active_requirements
from pipguard.core.model import (
    TOOLING,
    Change,
    Distribution,
    LedgerState,
    Policy,
    Root,
    RootChange,
    StandingConstraint,
    StandingFile,
    Status,
    Transaction,
)
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.core.redaction import printable, redact

Clock = Callable[[], str]


def clean_text(text: str) -> str:
    """Printable and redacted: what every recorded string becomes."""
    return redact(printable(text))


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


def root_changes(
    before: Mapping[NormalizedName, Root], after: Mapping[NormalizedName, Root]
) -> tuple[RootChange, ...]:
    """One ``RootChange`` per root added, removed or changed, by name."""
    return tuple(
        RootChange(name, before.get(name), after.get(name))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    )


def baseline(
    environment: Mapping[str, str],
    dists: Mapping[NormalizedName, Distribution],
    markers: MarkerEnvironment,
    now: Clock,
    policy: Policy = "compatible",
) -> tuple[LedgerState, Transaction]:
    """An empty state and the first transaction, which takes what is installed as protected."""
    versions = {name: dist.version for name, dist in dists.items()}
    stamp = now()
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
        roots=root_changes({}, roots),
    )
    return LedgerState(environment=dict(environment), policy=policy), txn


def start(
    state: LedgerState,
    command: str,
    argv: Sequence[str],
    pip_version: str | None,
    policy: str,
    now: Clock,
    *,
    constraints: Sequence[str] = (),
    roots: Sequence[RootChange] = (),
    engine: str | None = None,
    status: Status = "pending",
) -> Transaction:
    """A new transaction record (pending unless *status* says otherwise).

    *roots*: the root changes the run means to make, recorded with the
    pending record for reconciliation after a crash.
    """
    return Transaction(
        id=state.next_id,
        command=command,
        argv=tuple(clean_text(arg) for arg in argv),
        status=status,
        started=now(),
        pip_version=pip_version,
        policy=policy,
        constraints=tuple(clean_text(item) for item in constraints),
        engine=engine or state.engine,
        roots=tuple(roots),
    )


def close(
    state: LedgerState,
    txn: Transaction,
    status: Status,
    now: Clock,
    *,
    after: Mapping[NormalizedName, str] | None = None,
    reason: str = "",
    roots: Mapping[NormalizedName, Root] | None = None,
    standing: tuple[StandingConstraint, ...] | None = None,
    standing_files: tuple[StandingFile, ...] | None = None,
) -> Transaction:
    """The outcome of *txn*: with *after*, what changed against the state's
    distributions; with *roots*, how the roots changed; with *standing* /
    *standing_files*, the standing constraints from now on."""
    return txn._replace(
        status=status,
        finished=now(),
        changes=changes_between(state.distributions, after) if after is not None else (),
        reason=clean_text(reason),
        roots=root_changes(state.roots, roots) if roots is not None else (),
        standing=standing,
        standing_files=standing_files,
    )


def _apply_changes(current: Mapping[NormalizedName, str], txn: Transaction) -> dict[NormalizedName, str]:
    result = dict(current)
    for change in txn.changes:
        if change.after is None:
            result.pop(change.name, None)
        else:
            result[change.name] = change.after
    return result


def _apply_roots(current: Mapping[NormalizedName, Root], changes: Iterable[RootChange]) -> dict[NormalizedName, Root]:
    result = dict(current)
    for change in changes:
        if change.after is None:
            result.pop(change.name, None)
        else:
            result[change.name] = change.after
    return result


def apply(state: LedgerState, txn: Transaction) -> LedgerState:
    """The state after *txn*: a pending record only marks it pending; an outcome
    applies its changes, root changes and standing constraints and ends it."""
    last_id = max(state.last_id, txn.id)
    if txn.status == "pending":
        return state._replace(pending=txn, last_id=last_id)
    return state._replace(
        distributions=_apply_changes(state.distributions, txn),
        roots=_apply_roots(state.roots, txn.roots),
        standing=state.standing if txn.standing is None else txn.standing,
        standing_files=state.standing_files if txn.standing_files is None else txn.standing_files,
        pending=None if state.pending is not None and state.pending.id <= txn.id else state.pending,
        last_id=last_id,
    )


def intended_roots(
    pending: Transaction, roots: Mapping[NormalizedName, Root], installed: Mapping[NormalizedName, str]
) -> dict[NormalizedName, Root]:
    """The roots after an interrupted run: the root changes it meant to make, for
    each whose distribution is installed (a root added) or gone (a root removed)."""
    result = dict(roots)
    for change in pending.roots:
        if change.after is not None and change.name in installed:
            result[change.name] = change.after
        elif change.after is None and change.name not in installed:
            result.pop(change.name, None)
    return result


class Reconciled(NamedTuple):
    """What ``reconcile`` found: the records to write, in order, the state they
    lead to, and a line to say for each."""

    state: LedgerState
    records: tuple[Transaction, ...]
    notes: tuple[str, ...]


def reconcile(state: LedgerState, installed: Mapping[NormalizedName, str], now: Clock) -> Reconciled:
    """Close an interrupted transaction and record changes made behind pipguard's back.

    Called with the lock held, so a pending transaction belongs to a run
    that died: it is closed as interrupted, with what really changed and the
    roots it meant to add or remove (for what is installed afterwards).
    """
    records: list[Transaction] = []
    notes: list[str] = []
    pending = state.pending
    if pending is not None:
        txn = close(
            state, pending, "interrupted", now, after=installed,
            roots=intended_roots(pending, state.roots, installed),
            reason="the pipguard run stopped before it finished; changes read from the environment",
        )
        records.append(txn)
        state = apply(state, txn)
        notes.append(f"pipguard: transaction {txn.id} ({' '.join(txn.argv)}) was interrupted; "
                     f"recorded what it changed ({len(txn.changes)} distributions).")
    drift = changes_between(state.distributions, installed)
    if drift:
        stamp = now()
        txn = Transaction(
            id=state.next_id, command="drift", status="drift", started=stamp, finished=stamp,
            changes=drift, reason="changed outside pipguard (plain pip, another tool, or by hand)",
            engine=state.engine,
        )
        records.append(txn)
        state = apply(state, txn)
        notes.append(
            "pipguard: the environment changed outside pipguard since its last run: "
            + ", ".join(c.describe() for c in drift[:10])
            + (f" and {len(drift) - 10} more" if len(drift) > 10 else "")
            + f" (recorded as transaction {txn.id})."
        )
    return Reconciled(state, tuple(records), tuple(notes))


# -- walking the journal ------------------------------------------------------------------


class Point(NamedTuple):
    """The recorded distributions and roots at some point of the history."""

    distributions: Mapping[NormalizedName, str]
    roots: Mapping[NormalizedName, Root]


def rewind(state: LedgerState, later: Iterable[Transaction]) -> Point:
    """The distributions and roots before the transactions *later* (oldest first,
    every transaction after some point, as the journal holds them): each one's
    changes and root changes undone, the newest first.

    Exact because every outcome records its changes against the state it was
    applied to. Pending records changed nothing yet.
    """
    distributions = dict(state.distributions)
    roots = dict(state.roots)
    for txn in reversed(list(later)):
        if txn.status == "pending":
            continue
        for change in txn.changes:
            if change.before is None:
                distributions.pop(change.name, None)
            else:
                distributions[change.name] = change.before
        for root_change in reversed(txn.roots):
            if root_change.before is None:
                roots.pop(root_change.name, None)
            else:
                roots[root_change.name] = root_change.before
    return Point(distributions, roots)


def replay(start: LedgerState, records: Iterable[Transaction]) -> LedgerState:
    """*start* with every record applied in order (rebuilding a lost state)."""
    state = start
    for txn in records:
        state = apply(state, txn)
    return state


def is_number(text: str) -> bool:
    """ASCII digits only: ``int()`` also takes Arabic-Indic or fullwidth digits, " 3", "+3"
    and "1_0", which no transaction is numbered with."""
    return text.isascii() and text.isdigit()

"""What several commands share (commands never import each other: they import this)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from pipguard.cli.context import Options, Session, Target, locate, open_session, probe
from pipguard.core.model import LedgerState, Root, Status, Transaction
from pipguard.core.names import NormalizedName
from pipguard.core.run_end import RunEnd
from pipguard.core.transactions import close
from pipguard.errors import UsageError
from pipguard.ledger import now
from pipguard.system.process import Interrupted, ProcessResult, run_process

if TYPE_CHECKING:
    from pipguard.pip.request import InstallRequest



@contextlib.contextmanager
def reading(options: Options) -> Iterator[tuple[Target, Session]]:
    """The target and its session, the lock held shared while the caller reads."""
    target = locate(options)
    with target.store.locked(shared=True):
        yield target, open_session(target, reconcile_drift=False)



def read_state(options: Options) -> tuple[Target, Session]:
    """Probe the target and read its ledger's state under the lock; write nothing."""
    with reading(options) as (target, session):
        return target, session



def outside_note(count: int, policy: str) -> str:
    """One line about the distributions seen only from outside the environment."""
    plural = "s" if count != 1 else ""
    if policy == "protect":
        return (f"pipguard: {count} distribution{plural} seen from outside the environment (base interpreter, "
                "user site, PYTHONPATH) are protected too ('pipguard outside ignore' stops that).")
    return (f"pipguard: {count} distribution{plural} seen from outside the environment (base interpreter, user "
            "site, PYTHONPATH) are not guarded: their requirements do not block installs ('pipguard outside "
            "protect' guards them too).")



def refuse_locations(request: InstallRequest) -> None:
    locations = request.locations()
    if locations:
        raise UsageError(
            f"pipguard does not guard installs with {', '.join(locations)}: they go outside the "
            "environment whose ledger it keeps. Run them with --no-guard (recorded as unguarded) or plain pip."
        )


# -- the recorded run: every command that changes the environment ------------------------


class RecordedRun:
    """One transaction around a run that may change the environment, in the one safe order.

    ``begin`` records it as pending (before anything can change: a crash
    leaves a record the next run reconciles); ``close`` reads the
    environment again, closes the transaction by the one exit-status rule
    (``RunEnd``: a signal pipguard passed on, a run killed by a signal, a
    failure, a success), and re-raises an interruption once the ledger is
    written. ``run`` is the three in a row for one pip command.
    """

    def __init__(self, target: Target, ledger: LedgerState, txn: Transaction) -> None:
        self.target = target
        self.ledger = ledger
        self.txn = txn
        self.began = False

    def begin(self) -> None:
        self.ledger = self.target.store.begin(self.ledger, self.txn)
        self.began = True

    def run(self, command: list[str], *, capture: bool = False) -> ProcessResult:
        """Begin, and run *command* (a signal pipguard receives is passed on; close raises it)."""
        self.begin()
        return run_process(command, return_on_signal=True, capture=capture)

    def close(self, end: RunEnd, *, reason: str = "", program: str = "pip", detail: str = "",
              succeeded: Status = "committed", after: Mapping[NormalizedName, str] | None = None,
              roots: Callable[[Mapping[NormalizedName, str]], Mapping[NormalizedName, Root] | None] | None = None,
              ) -> Mapping[NormalizedName, str]:
        """Close the transaction with what really happened; returns the versions after.

        *reason*: what the run was for (kept in front of why it failed);
        *detail*: the failure in the engine's own words (else the rule's);
        *succeeded*: the status of a run that ended well (``unguarded`` for
        --no-guard); *after*: the versions when the caller knows them without
        a probe; *roots*: the ledger's roots after, from the versions after.
        """
        if after is None:
            # the run may have changed something before it stopped: read the environment again
            after = probe(self.target).own_versions
        status: Status = succeeded if end.status == "committed" else end.status
        why = end.reason(program) if end.signal is not None or end.killed else (detail or end.reason(program))
        if end.signal is not None:
            why += f"; what {program} changed before it stopped is recorded"
        done = close(self.ledger, self.txn, status, now, after=after,
                     reason="; ".join(part for part in (reason, why) if part),
                     roots=roots(after) if roots is not None else None)
        self.ledger = self.target.store.finish(self.ledger, done)
        if end.signal is not None:
            raise Interrupted(end.signal)
        return after

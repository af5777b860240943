"""What several commands share (commands never import each other: they import this)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pipguard.cli.context import Target, probe
from pipguard.cli.options import say
from pipguard.core.model import LedgerState, Root, Status, Transaction
from pipguard.core.names import NormalizedName
from pipguard.core.run_end import RunEnd
from pipguard.core.transactions import close
from pipguard.errors import UsageError
from pipguard.ledger import now
from pipguard.system.process import Interrupted, ProcessResult, run_process
from pipguard.system.testhook import pause_at

if TYPE_CHECKING:
    from pipguard.engines.pip.gated import PipAhead
    from pipguard.pip.request import InstallRequest
    from pipguard.shim.record import ShimRecord
    from pipguard.system.environment import EnvironmentState



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
        pause_at("pending")

    def run(self, command: list[str], *, capture: bool = False, ahead: PipAhead | None = None) -> ProcessResult:
        """Begin, and run *command* (a signal pipguard receives is passed on; close raises it).
        *ahead*: the same command, started ahead and waiting at its gate: let go on instead."""
        self.begin()
        if ahead is not None:
            result = ahead.finish()
            if result is not None:
                return result  # else this pip has no place for the gate, and changed nothing
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


def known_after(state: EnvironmentState, removing: set[NormalizedName], end: RunEnd,
                confirmed: bool) -> dict[NormalizedName, str] | None:
    """The environment's own versions after ``pip uninstall`` removed *removing* (uninstall,
    autoremove), when that is certain without reading the environment again (None: probe it,
    ~120-170 ms of a second interpreter).

    Certain only when pip ended well without asking (``-y``, or ``yes`` in its configuration: a
    "Proceed (Y/n)?" answered no also exits 0) and removed what pipguard saw: no name it removes
    hides another copy behind it (``shadowed``) or is itself hidden behind one from outside, which
    pip would take for the one to uninstall and skip as outside the environment.
    """
    if not confirmed or end.status != "committed" or end.signal is not None:
        return None
    if any(name in state.shadowed or name in state.hidden for name in removing):
        return None
    return {name: version for name, version in state.own_versions.items() if name not in removing}


# -- the shims, kept over pip's scripts: install, upgrade and shim share them ---------------------


def originals_directory(target: Target) -> Path:
    from pipguard.shim.paths import originals_beside

    return originals_beside(target.store.path)


def reinstall_pip_advice(target: Target) -> str:
    return f"{target.python} -m pip install --force-reinstall pip"


def read_record(target: Target, ledger: LedgerState | None) -> ShimRecord | None:
    """The ledger's shim record, checked for shape and against *target*; raises ShimRecordInvalid."""
    from pipguard.shim.record import ShimRecordInvalid, parse_shim_record
    from pipguard.shim.runner import record_problems

    record = parse_shim_record(dict(ledger.shim) if ledger else {})
    if record is None:
        return None
    problems = record_problems(record, target.python, target.prefix, target.store.path)
    if problems:
        raise ShimRecordInvalid(problems)
    return record


def pip_installed(target: Target) -> bool:
    """Is pip still one of the environment's own distributions (its scripts are pip's)?"""
    return "pip" in probe(target).own


def shims_kept(target: Target, ledger: LedgerState) -> bool:
    """Would ``keep_shims`` neither write nor say anything (read only: no record, or a sound one
    whose scripts are all still shims)?"""
    if not ledger.shim:
        return True
    from pipguard.shim.record import ShimRecordInvalid
    from pipguard.shim.scripts import shims_in_place

    try:
        record = read_record(target, ledger)
        return record is None or shims_in_place(record)
    except (ShimRecordInvalid, OSError):
        return False


def load_shim_modules(ledger: LedgerState) -> None:
    """Import what ``keep_shims`` needs after pip, before pip is waited for: pipguard's end
    is on the install's time, the wait for pip's plan is not (~4 ms in a shimmed environment)."""
    if ledger.shim:
        import pipguard.shim.runner
        import pipguard.shim.scripts  # noqa: F401  # loaded for later


def keep_shims(target: Target, ledger: LedgerState | None = None) -> None:
    """After pip ran: put the shims back over pip scripts it rewrote (``pip install -U pip``).

    Called with the lock held, at the end of an install. pip's newly written
    script becomes the kept original, so ``shim remove`` restores the pip
    that is installed now. Nothing is written from a record that fails the
    checks of ``read_record``: a warning says so instead. *ledger*: the state
    as the caller last wrote it under this lock (not read again); else read now.
    """
    if ledger is None:
        ledger = target.store.load()
    if ledger is None or not ledger.shim:
        return  # the shim modules, and what they import, load for shimmed environments alone
    from pipguard.shim.record import ShimRecordInvalid

    try:
        record = read_record(target, ledger)
        if record is not None and record.scripts:
            _put_shims_back(target, ledger, record)
    except ShimRecordInvalid as exc:
        say(f"pipguard: warning: {exc}. Nothing was run or written from it, and pip scripts pip "
            "rewrote were left as pip wrote them; check the ledger, then run 'pipguard shim install' "
            "again.")
    except OSError as exc:
        # The install itself succeeded: say what is wrong with the shims, do not fail it.
        say(f"pipguard: warning: could not check the pip shims ({exc.strerror or exc}); run "
            "'pipguard shim install' again to put them back.")


def _put_shims_back(target: Target, ledger: LedgerState, record: ShimRecord) -> None:
    from dataclasses import replace  # loaded with the shim's records (they are dataclasses), not before

    from pipguard.shim.scripts import put_shims_back

    records, put_back, gone = put_shims_back(record)
    if put_back or gone:
        target.store.save(ledger._replace(shim=replace(record, scripts=records).to_dict()))
    if put_back:
        say(f"pipguard: pip rewrote {', '.join(put_back)} in {record.scripts_dir}; put pipguard's shim back "
            f"(pip's new scripts are kept in {record.originals}).")



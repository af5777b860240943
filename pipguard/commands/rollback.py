"""``pipguard rollback N``: return the environment to its state after transaction N.

Versions and roots both: the point after N (``commands.points``) holds
every distribution's version and every root (specifier, extras, editable
path, URL) as they were; ``rollback_plan`` turns it into steps. Before
anything changes, the difference is shown, every editable root to restore
must still have its directory, and the engine checks, with a dry run of the
pins, that every version can still be had from the index, the find-links
or the cache: one that cannot is named and nothing changes (exit 10). Then
one transaction: the versions and editables are installed (without
dependencies: the point is complete), what the point did not have is
uninstalled, and the roots are recorded as they were.

``--dry-run`` shows the difference (and checks the versions) without
changing anything; ``--json`` prints it for scripts. pip's options (an
index, ``--no-index -f DIR``) are passed to the engine; location options
(``--user``, ``--target``, ``--prefix``, ``--root``, ``--python``) are
refused as ``install`` refuses them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from pipguard.cli.context import Session, Target, locate, open_session
from pipguard.cli.options import Options, print_json, say, split_options
from pipguard.cli.render import JSON_SCHEMA
from pipguard.commands.support import RecordedRun, refuse_locations
from pipguard.core.model import LedgerState, Transaction
from pipguard.core.printable import safe_line
from pipguard.core.redaction import redact
from pipguard.core.run_end import RunEnd
from pipguard.core.transactions import start
from pipguard.engines import make_engine
from pipguard.engines.base import Approval, Engine, Invocation, Resolution
from pipguard.engines.pip.runner import check_pip_version, pip_command, run_process
from pipguard.errors import PipFailed, Rejected, UsageError
from pipguard.ledger import now
from pipguard.ledger.points import parse_number, snapshot_after
from pipguard.maintenance.diff import Snapshot, StateDiff, diff_dict, diff_lines, diff_snapshots
from pipguard.maintenance.rollback import LookupFailed, RollbackPlan, plan_rollback, unavailable
from pipguard.pip.request import InstallRequest, read_install
from pipguard.system.process import Interrupted, work_directory

_OWN_FLAGS = {"--json"}
_USAGE = ("usage: pipguard rollback N [--dry-run] [--json] [pip options such as --no-index -f DIR]. "
          "N is a transaction number from 'pipguard history'.")


@dataclass(frozen=True)
class RollbackArgs:
    number: int
    json: bool
    request: InstallRequest  # pip's options (and --dry-run), read as pip would


def parse_rollback(args: Sequence[str], prefix: str) -> RollbackArgs:
    own, rest = split_options(args, _OWN_FLAGS, ())
    if not rest:
        raise UsageError(_USAGE)
    number = parse_number(rest[0], "rollback")
    request = read_install(rest[1:], prefix)
    refuse_locations(request)
    if request.requested or request.values("requirement") or request.remote_files:
        raise UsageError(
            f"rollback takes a transaction number and pip's options, not requirements "
            f"({request.describe()}): the point it returns to says what to install."
        )
    return RollbackArgs(number, "--json" in own, request)


def _pins_request(request: InstallRequest, arguments: Sequence[str], prefix: str) -> InstallRequest:
    """The user's pip options, --no-deps, and *arguments* (pins, -e PATH, name @ URL)."""
    options = request.pip_options(drop=("dry-run", "report", "upgrade", "upgrade-strategy"))
    return read_install([*options, "--no-deps", *arguments], prefix)


def refusal(number: int, missing: Sequence[str], paths: Sequence[tuple[str, str]]) -> str:
    lines = [f"pipguard: cannot roll back to transaction {number}:"]
    for item in missing:
        lines.append(f"  {item} can no longer be found (not on the index, in a find-links directory or in "
                     "pip's cache)")
    for name, path in paths:
        lines.append(f"  the editable root {name} was installed from {path}, which no longer exists")
    lines.append("Nothing was changed. Point pip at where those versions are (e.g. -f DIR, --index-url URL), "
                 "or put the project directories back, and run it again.")
    return "\n".join(lines)


def rollback_json(diff: StateDiff, plan: RollbackPlan, status: str, txn: int | None) -> dict[str, object]:
    return {
        "schema": JSON_SCHEMA, "kind": "rollback", "status": status, "transaction": txn,
        "difference": diff_dict(diff),
        "install": [*plan.pins, *(" ".join(item.argument) for item in plan.reinstall)],
        "uninstall": list(plan.remove), "kept": list(plan.kept),
    }


def _show(diff: StateDiff, plan: RollbackPlan, json_mode: bool) -> None:
    if json_mode:
        return
    for line in diff_lines(diff):
        print(safe_line(line))
    for name in plan.kept:
        say(f"pipguard: note: {name} is kept: it was not installed after transaction {diff.after}, but "
            "pipguard needs it to run.")


def run_rollback(options: Options, args: list[str]) -> int:
    if args[:1] in (["-h"], ["--help"]):
        print(_USAGE)
        return 0
    target = locate(options)
    parsed = parse_rollback(args, target.prefix)
    store = target.store
    with store.locked():
        session = open_session(target, require_pip=options.engine != "uv")
        for note in session.notes:
            say(note)
        ledger = session.ledger
        wanted = snapshot_after(store, ledger, parsed.number)
        current = Snapshot("now", session.state.own_versions, ledger.roots, wanted.standing,
                           wanted.standing_files)
        diff = diff_snapshots(current, wanted)
        plan = plan_rollback(session.state.own, wanted.distributions, wanted.roots, os.path.isdir)
        if plan.empty and not diff.roots:
            say(f"pipguard: the environment is already as it was after transaction {parsed.number}.")
            if parsed.json:
                print_json(rollback_json(diff, plan, "nothing-to-do", None))
            return 0
        _show(diff, plan, parsed.json)
        with work_directory() as workdir:
            engine = make_engine(options.engine or ledger.engine, target.python, session.state.pip_version, workdir,
                                 parsed.request)
            if engine.name == "pip":
                check_pip_version(session.state.pip_version, target.python)
            if plan.missing_paths or parsed.request.dry_run:
                missing = check_versions(engine, parsed, plan, target.prefix)
                if missing or plan.missing_paths:
                    raise Rejected(refusal(parsed.number, missing, plan.missing_paths))
            if parsed.request.dry_run:
                if parsed.json:
                    print_json(rollback_json(diff, plan, "dry-run", None))
                say(f"pipguard: would roll back to the state after transaction {parsed.number} "
                    f"({_counts(plan)}); nothing was changed (--dry-run).")
                return 0
            txn_id = carry_out(target, session, parsed, plan, wanted, engine, args)
        if parsed.json:
            print_json(rollback_json(diff, plan, "rolled-back", txn_id))
        say(f"pipguard: rolled back to the state after transaction {parsed.number} ({_counts(plan)}).")
        return 0


def _counts(plan: RollbackPlan) -> str:
    return f"{len(plan.pins) + len(plan.reinstall)} installed, {len(plan.remove)} removed"


def check_versions(engine: Engine, parsed: RollbackArgs, plan: RollbackPlan, prefix: str) -> list[str]:
    """The recorded versions no index, find-links directory or cache can provide any more."""
    try:
        return unavailable(engine, plan.pins, lambda pins: _pins_request(parsed.request, pins, prefix))
    except LookupFailed as exc:
        raise PipFailed(f"cannot check that the recorded versions can still be installed: "
                        f"{redact(exc.detail)}. Nothing was changed.", exc.returncode) from None


@dataclass
class _Rollback:
    """The transaction of one rollback, begun only once the engine has found every version."""

    target: Target
    ledger: LedgerState
    txn: Transaction
    began: bool = False

    def begin(self) -> None:
        self.ledger = self.target.store.begin(self.ledger, self.txn)
        self.began = True

    def approve(self, _found: Resolution) -> Approval:
        self.begin()
        return Approval(True)


def carry_out(target: Target, session: Session, parsed: RollbackArgs, plan: RollbackPlan, wanted: Snapshot,
              engine: Engine, args: Sequence[str]) -> int:
    """One transaction: install the versions and editables, uninstall what the point lacked, record
    the point's roots. Returns the transaction's id.

    The install's own resolution is the check that every version can still be
    had: the transaction begins when the engine has found them all, before it
    changes anything; a version it cannot find is named (every one, with dry
    runs) and nothing is recorded or changed.
    """
    ledger = session.ledger
    run = _Rollback(target, ledger, start(ledger, "rollback", ["rollback", *args], session.state.pip_version,
                                          ledger.policy, now, engine=engine.name))
    failure = ""
    end, program = RunEnd(0), engine.name
    arguments = plan.install_arguments()
    if arguments:
        request = _pins_request(parsed.request, arguments, target.prefix)
        found = engine.install(Invocation(request, show_output=not parsed.json), run.approve)
        if not found.ok:
            assert found.failure is not None
            end = RunEnd(found.failure.returncode, found.failure.signal, failed=True)
            failure = found.failure.summary or end.reason(engine.name) or f"{engine.name} failed"
            if not run.began:
                _refuse_unchanged(engine, parsed, plan, found, target.prefix)
            if found.held:
                sys.stderr.write(redact(found.held))
    else:
        run.begin()
    if end.status == "committed" and plan.remove:
        result = run_process(pip_command(target.python, "uninstall", "-y", *plan.remove), return_on_signal=True,
                             capture=parsed.json)
        if parsed.json:  # stdout is the JSON document's: pip's own words go to stderr
            sys.stderr.write(result.stdout + result.stderr)
        end, program = RunEnd(result.returncode, result.signal), "pip uninstall"
        failure = end.reason(program)
    RecordedRun(target, run.ledger, run.txn).close(
        end, reason=f"rollback to the state after transaction {parsed.number}", detail=failure, program=program,
        roots=lambda _after: wanted.roots if end.status == "committed" else None)
    if end.status != "committed":
        raise PipFailed(f"rollback to transaction {parsed.number} did not finish ({failure}); what changed is "
                        "recorded. See the output above.", end.exit_status)
    return run.txn.id


def _refuse_unchanged(engine: Engine, parsed: RollbackArgs, plan: RollbackPlan, found: Resolution,
                      prefix: str) -> None:
    """The engine stopped before changing anything: say why, and record nothing."""
    failure = found.failure
    assert failure is not None
    if failure.signal is not None:
        raise Interrupted(failure.signal)
    if failure.kind in ("no-match", "not-found", "impossible"):
        missing = check_versions(engine, parsed, plan, prefix)
        if missing:
            raise Rejected(refusal(parsed.number, missing, ()))
    if found.held:
        sys.stderr.write(redact(found.held))
    detail = failure.summary or f"{engine.name} exited with {failure.returncode}"
    raise PipFailed(f"cannot roll back to transaction {parsed.number}: {redact(detail)} Nothing was changed.",
                    failure.returncode if failure.returncode > 0 else 1)

"""``pipguard upgrade [NAME...]``: every root (or the named ones) to the newest versions that fit.

Two engine runs at most: a cheap look-up of the newest release of
everything that may move (``-U --no-deps``, no constraints: the newest the
way pip sees it; when nothing is newer, that is the end), then one resolve
of all of it (``-U --upgrade-strategy eager`` with the roots' recorded
requirements) under ``upgrade_plan``'s protections. The plan is judged like
an install's and shown as a table (name, from, to) with, for each target
that stopped short of its newest release, the requirement that held it
back and whose it is, before anything changes. ``--dry-run`` stops there;
otherwise the engine installs exactly that plan, as one transaction
(recorded, with its root changes, like an install). ``--json`` prints the
plan and the outcome for scripts and CI.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from packaging.utils import NormalizedName, canonicalize_name

from pipguard.commands.install import refuse_locations
from pipguard.commands.options import print_json, say, split_options
from pipguard.commands.shim import keep_shims
from pipguard.constraints import Need, Violation
from pipguard.context import Options, Session, Target, locate, open_session, probe
from pipguard.decide import overlay
from pipguard.engines import make_engine
from pipguard.engines.base import Approval, Engine, Invocation, Resolution
from pipguard.errors import PipFailed, Rejected, UsageError
from pipguard.ledger import now
from pipguard.model import LedgerState, PlannedInstall, Status, Transaction
from pipguard.pip_runner import check_pip_version
from pipguard.process import Interrupted, signal_name, work_directory
from pipguard.redaction import redact
from pipguard.render import JSON_SCHEMA, table
from pipguard.request import InstallRequest, read_install
from pipguard.transactions import close, start
from pipguard.upgrade_plan import (
    ALLOW_MAJOR,
    UnknownTarget,
    UpgradeAssessment,
    UpgradeSituation,
    UpgradeSpec,
    assess,
    newer_exists,
    plan_upgrade,
)
from pipguard.verdicts import Explainer, shadow_notes

_OWN_FLAGS = {"--json", ALLOW_MAJOR}
_USAGE = (
    "usage: pipguard upgrade [NAME...] [--dry-run] [--json] [--allow-major] [pip options such as --no-index "
    "-f DIR]. Without names, every root; with names, those projects only (every other root stays). Each "
    "moves to the newest version that keeps every root's recorded requirement, the standing constraints "
    "and the rest of the environment working; a root stays in its major version unless --allow-major."
)
# pip's options pipguard sets itself for upgrade's runs.
_DROPPED = ("dry-run", "report", "upgrade", "upgrade-strategy")


# -- the command line --------------------------------------------------------------------------


@dataclass(frozen=True)
class UpgradeArgs:
    names: tuple[str, ...]
    json: bool
    allow_major: bool
    request: InstallRequest  # pip's options (and --dry-run), read as pip would


def parse_upgrade(args: Sequence[str], prefix: str) -> UpgradeArgs:
    own, rest = split_options(args, _OWN_FLAGS, ())
    request = read_install(rest, prefix)
    refuse_locations(request)
    if request.values("requirement") or request.editables or request.remote_files:
        raise UsageError("upgrade takes project names, not requirement files or editables: it upgrades what "
                         "the ledger records. To install something new, use pipguard install.")
    names = []
    for item in request.requested:
        req = item.requirement
        if item.kind != "named" or req is None or str(req.specifier) or req.extras or req.marker:
            raise UsageError(
                f"upgrade takes project names, not {item.label!r}: the ledger already records each root's "
                "requirement (to change one, pipguard install it with the new requirement)."
            )
        names.append(req.name)
    return UpgradeArgs(tuple(names), "--json" in own, ALLOW_MAJOR in own, request)


def engine_request(request: InstallRequest, requirements: Sequence[str], extra: Sequence[str],
                   prefix: str) -> InstallRequest:
    """The user's pip options, upgrade's own (*extra*) and *requirements*, read as pip will."""
    return read_install([*request.pip_options(drop=_DROPPED), *extra, *requirements], prefix)


# -- words ---------------------------------------------------------------------------------------


def plan_lines(assessment: UpgradeAssessment) -> list[str]:
    lines: list[str] = []
    if assessment.moves:
        lines += table(["name", "from", "to"],
                       [[m.display_name, m.before or "(new)", m.after] for m in assessment.moves])
    if assessment.holds:
        lines += ["", "held back:"] if lines else ["held back:"]
        for hold in assessment.holds:
            lines.append(f"  {hold.display_name} {hold.reached} (newest {hold.newest}): {hold.reason}")
    return lines


def blocking_message(explainer: Explainer, blocking: Sequence[Violation]) -> str:
    lines = ["pipguard: not upgrading: the plan would break earlier projects."]
    for violation in blocking:
        need = violation.need
        wanted = f"{need.name}{need.specifier}" if need.specifier else need.name
        brought = f"bring {need.name} {violation.installed}" if violation.installed else f"remove {need.name}"
        verb = "allows only" if need.kind == "standing" else "needs"
        lines.append(f"  {explainer.who(violation)} {verb} {wanted}; the upgrade would {brought}.")
    return "\n".join([*lines, "Nothing was changed."])


def upgrade_json(status: str, assessment: UpgradeAssessment | None, spec: UpgradeSpec | None,
                 txn: int | None = None, newest_known: bool = True, message: str = "") -> dict[str, Any]:
    moves = assessment.moves if assessment else ()
    holds = assessment.holds if assessment else ()
    return {
        "schema": JSON_SCHEMA, "kind": "upgrade", "status": status, "transaction": txn,
        "changes": [{"name": m.name, "display_name": m.display_name, "from": m.before, "to": m.after}
                    for m in moves],
        "held_back": [{"name": h.name, "display_name": h.display_name, "installed": h.installed,
                       "version": h.reached, "newest": h.newest, "held_by": h.kind, "reason": h.reason}
                      for h in holds],
        "skipped": [{"name": s.name, "reason": s.reason} for s in (spec.skipped if spec else ())],
        "blocking": [v.describe() for v in (assessment.blocking if assessment else ())],
        "newest_known": newest_known,
        "message": message,
    }


# -- one upgrade ---------------------------------------------------------------------------------


@dataclass
class UpgradeRun:
    """The edge of one upgrade: the engine's answers, the terminal, the ledger."""

    target: Target
    session: Session
    parsed: UpgradeArgs
    argv: Sequence[str]
    situation: UpgradeSituation
    spec: UpgradeSpec
    engine: Engine
    newest: Mapping[NormalizedName, PlannedInstall] = field(default_factory=dict)
    newest_known: bool = True
    assessment: UpgradeAssessment | None = None
    txn: Transaction | None = None
    stop_reason: str = ""

    def __post_init__(self) -> None:
        state, ledger = self.session.state, self.session.ledger
        self.ledger: LedgerState = ledger
        self.explainer = Explainer(self.parsed.request, state.distributions, ledger.roots, state.markers,
                                   self.parsed.request.constraints,
                                   pipguard_here=canonicalize_name("pipguard") in state.own)

    def who_after(self, plan: Sequence[PlannedInstall]) -> Callable[[Need], str]:
        """Names parties as they will be after *plan* (the versions the requirements come from)."""
        after = replace(self.explainer, distributions=overlay(self.session.state.distributions, plan))
        return lambda need: after.who(Violation(need, None))

    def invocation(self) -> Invocation:
        request = engine_request(self.parsed.request, self.spec.requirements,
                                 ["--upgrade", "--upgrade-strategy", "eager"], self.target.prefix)
        constraints = self.spec.constraints()
        return Invocation(request, constraints, constraints,
                          show_output=bool(self.parsed.request.verbose) and not self.parsed.json)

    def judge(self, found: Resolution) -> UpgradeAssessment:
        self.assessment = assess(self.situation, self.spec, found.plan, self.newest, self.who_after(found.plan))
        if self.assessment.blocking:
            self.stop_reason = blocking_message(self.explainer, self.assessment.blocking)
        return self.assessment

    def show(self) -> None:
        if self.parsed.json or self.assessment is None:
            return
        for line in plan_lines(self.assessment):
            print(line)
        sys.stdout.flush()

    def approve(self, found: Resolution) -> Approval:
        """The plan, before anything changes: judged, shown, and the transaction begun."""
        assessment = self.judge(found)
        if assessment.blocking:
            return Approval(False, self.stop_reason)
        self.show()
        if not assessment.moves:
            return Approval(False, "")  # nothing to upgrade: nothing to record
        self.txn = start(self.ledger, "upgrade", ["upgrade", *self.argv], self.session.state.pip_version,
                         self.ledger.policy, now, engine=self.engine.name)
        self.ledger = self.target.store.begin(self.ledger, self.txn)
        return Approval(True)

    # -- recording ---------------------------------------------------------------------------------

    def record_rejection(self) -> None:
        txn = start(self.ledger, "upgrade", ["upgrade", *self.argv], self.session.state.pip_version,
                    self.ledger.policy, now, engine=self.engine.name, status="rejected")
        self.ledger = self.target.store.finish(self.ledger, close(self.ledger, txn, "rejected", now,
                                                                  reason=self.stop_reason))

    def finish(self, status: Status, after: Mapping[NormalizedName, str] | None, reason: str) -> None:
        assert self.txn is not None
        done = close(self.ledger, self.txn, status, now, after=after, reason=reason,
                     roots=self.ledger.roots if status == "committed" else None)
        self.ledger = self.target.store.finish(self.ledger, done)


def look_up_newest(run: UpgradeRun) -> None:
    """The newest release of everything that may move, the way pip sees it (no constraints)."""
    request = engine_request(run.parsed.request, run.spec.lookup, ["--upgrade", "--no-deps"], run.target.prefix)
    found = run.engine.resolve(Invocation(request, show_output=False))
    if found.ok:
        run.newest = {item.name: item for item in found.plan}
        return
    run.newest_known = False
    assert found.failure is not None
    detail = found.failure.summary or f"{run.engine.name} exited with {found.failure.returncode}"
    say(f"pipguard: note: could not look up the newest releases ({redact(detail)}); what is held back "
        "cannot be explained.")


def _engine_failed(found: Resolution) -> PipFailed:
    failure = found.failure
    assert failure is not None
    if found.held:
        sys.stderr.write(redact(found.held))
    code = failure.returncode if failure.returncode > 0 else (128 - failure.returncode if failure.returncode < 0
                                                              else 1)
    return PipFailed(f"the upgrade did not finish: {failure.summary or 'see the output above'}.", code)


def run_upgrade(options: Options, args: list[str]) -> int:
    if args[:1] in (["-h"], ["--help"]):
        print(_USAGE)
        return 0
    if not options.guard:
        raise UsageError("upgrade is guarded by nature (it moves what the ledger records); for plain pip, "
                         "run pip install -U yourself.")
    target = locate(options)
    parsed = parse_upgrade(args, target.prefix)
    with target.store.locked():
        session = open_session(target, policy=options.policy or "compatible", require_pip=options.engine != "uv")
        for note in session.notes:
            say(note)
        state, ledger = session.state, session.ledger
        situation = UpgradeSituation(state.distributions, state.markers, ledger.roots, session.standing,
                                     ledger.outside, parsed.names, parsed.allow_major)
        try:
            spec = plan_upgrade(situation)
        except UnknownTarget as exc:
            raise UsageError(f"cannot upgrade: {exc}. Nothing was changed.") from None
        for skip in spec.skipped:
            say(f"pipguard: not upgrading {skip.display_name}: {skip.reason}.")
        if spec.empty:
            return _nothing(parsed, None, spec, "nothing to upgrade: no root is installed from an index.")
        with work_directory() as workdir:
            engine = make_engine(options.engine or ledger.engine, target.python, state.pip_version, workdir,
                                 parsed.request)
            if engine.name == "pip":
                check_pip_version(state.pip_version, target.python)
            run = UpgradeRun(target, session, parsed, args, situation, spec, engine)
            look_up_newest(run)
            if run.newest_known and not newer_exists(run.newest.values(), state.own):
                return _nothing(parsed, None, spec, "everything is at the newest release the index offers.")
            code = _resolve_and_install(run)
        keep_shims(target)
        return code


def _nothing(parsed: UpgradeArgs, run: UpgradeRun | None, spec: UpgradeSpec, message: str) -> int:
    if parsed.json:
        print_json(upgrade_json("nothing-to-do", run.assessment if run else None, spec,
                                newest_known=run.newest_known if run else True, message=message))
    say(f"pipguard: {message} Nothing was changed.")
    return 0


def _resolve_and_install(run: UpgradeRun) -> int:
    parsed = run.parsed
    if parsed.request.dry_run:
        found = run.engine.resolve(run.invocation())
        if not found.ok:
            raise _engine_failed(found)
        assessment = run.judge(found)
        if assessment.blocking:
            raise Rejected(run.stop_reason)
        run.show()
        if parsed.json:
            print_json(upgrade_json("dry-run", assessment, run.spec, newest_known=run.newest_known))
        count = len(assessment.moves)
        say(f"pipguard: would upgrade {count} distribution{'s' if count != 1 else ''}; nothing was changed "
            "(--dry-run).")
        return 0
    found = run.engine.install(run.invocation(), run.approve)
    failure = found.failure
    if failure is not None and failure.kind == "stopped" and run.txn is None:
        if run.stop_reason:
            run.record_rejection()
            raise Rejected(run.stop_reason)
        return _nothing(parsed, run, run.spec, "nothing can be upgraded: what is newer is held back (above).")
    if failure is not None:
        if run.txn is not None:
            after = probe(run.target).own_versions
            status: Status = "interrupted" if failure.signal is not None or failure.kind == "killed" else "failed"
            reason = failure.summary or f"{run.engine.name} exited with {failure.returncode}"
            if failure.signal is not None:
                reason = f"pipguard received {signal_name(failure.signal)} while {run.engine.name} ran"
            run.finish(status, after, reason)
        if failure.signal is not None:
            raise Interrupted(failure.signal)
        raise _engine_failed(found)
    assert run.txn is not None and run.assessment is not None
    after = {name: dist.version for name, dist in overlay(run.session.state.own, found.plan).items()}
    run.finish("committed", after, "")
    for violation in run.assessment.warnings:
        say(f"pipguard: warning: {violation.describe()} (installed with unmet requirements).")
    for note in shadow_notes(run.session.state.distributions, found.plan):
        say(note)
    if parsed.json:
        print_json(upgrade_json("upgraded", run.assessment, run.spec, run.txn.id, run.newest_known))
    count = len(run.assessment.moves)
    say(f"pipguard: upgraded {count} distribution{'s' if count != 1 else ''} (transaction {run.txn.id}; "
        f"'pipguard rollback {run.txn.id - 1}' undoes it).")
    return 0

"""``pipguard upgrade [NAME...]``: every root (or the named ones) to the newest versions that fit.

The edge of an upgrade: the command line (project names, ``--dry-run``,
``--json``, ``--allow-major`` and pip's own options; location options
refused as ``install`` refuses them), the lock, the probe, the terminal and
the ledger. What moves and under which protections (``plan_upgrade``), the
engine runs (a look-up of the newest releases, then one resolve of
everything) and the judgement (``decide_upgrade``) are ``maintenance.upgrade``'s. The plan
is shown as a table (name, from, to), with the requirement that held each
target back and whose it is, before anything changes; a real upgrade is one
transaction, recorded like an install.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipguard.cli.context import Session, Target, locate, open_session
from pipguard.cli.options import Options, print_json, say, split_options
from pipguard.cli.render import JSON_SCHEMA, table
from pipguard.commands.support import RecordedRun, keep_shims, refuse_locations
from pipguard.core.decide import overlay
from pipguard.core.model import Distribution, LedgerState, Status, Transaction
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.core.printable import safe_line
from pipguard.core.redaction import redact
from pipguard.core.run_end import RunEnd, exit_status
from pipguard.core.transactions import close, start
from pipguard.core.verdicts import Explainer, shadow_notes
from pipguard.engines import make_engine
from pipguard.engines.pip.runner import check_pip_version
from pipguard.errors import PipFailed, Rejected, UsageError
from pipguard.ledger import now
from pipguard.maintenance.upgrade import (
    ALLOW_MAJOR,
    UnknownTarget,
    UpgradeAssessment,
    UpgradeOutcome,
    UpgradeSituation,
    UpgradeSpec,
    decide_upgrade,
    plan_upgrade,
)
from pipguard.pip.request import InstallRequest, read_install
from pipguard.system.process import Interrupted, work_directory

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
    """The plan as a table (name, from, to), then what was held back and by whom."""
    lines: list[str] = []
    if assessment.moves:
        lines += table(["name", "from", "to"],
                       [[m.display_name, m.before or "(new)", m.after] for m in assessment.moves])
    if assessment.holds:
        lines += ["", "held back:"] if lines else ["held back:"]
        for hold in assessment.holds:
            lines.append(f"  {hold.display_name} {hold.reached} (newest {hold.newest}): {hold.reason}")
    return lines


def upgrade_json(status: str, outcome: UpgradeOutcome | None, spec: UpgradeSpec, txn: int | None = None
                 ) -> dict[str, Any]:
    assessment = outcome.assessment if outcome else None
    moves = assessment.moves if assessment else ()
    holds = assessment.holds if assessment else ()
    return {
        "schema": JSON_SCHEMA, "kind": "upgrade", "status": status, "transaction": txn,
        "changes": [{"name": m.name, "display_name": m.display_name, "from": m.before, "to": m.after}
                    for m in moves],
        "held_back": [{"name": h.name, "display_name": h.display_name, "installed": h.installed,
                       "version": h.reached, "newest": h.newest, "held_by": h.kind, "reason": h.reason}
                      for h in holds],
        "skipped": [{"name": s.name, "reason": s.reason} for s in spec.skipped],
        "blocking": [v.describe() for v in (assessment.blocking if assessment else ())],
        "newest_known": outcome.newest_known if outcome else True,
        "message": outcome.message if outcome else "",
    }


# -- effects -------------------------------------------------------------------------------------


@dataclass
class UpgradeEffects:
    """The edge of one upgrade: the terminal and the ledger."""

    target: Target
    session: Session
    parsed: UpgradeArgs
    argv: Sequence[str]
    engine_name: str
    txn: Transaction | None = None

    def __post_init__(self) -> None:
        self.ledger: LedgerState = self.session.ledger

    def show(self, assessment: UpgradeAssessment) -> None:
        if self.parsed.json:
            return
        for line in plan_lines(assessment):
            print(safe_line(line))
        sys.stdout.flush()

    def _start(self, status: Status = "pending") -> Transaction:
        return start(self.ledger, "upgrade", ["upgrade", *self.argv], self.session.state.pip_version,
                     self.ledger.policy, now, engine=self.engine_name, status=status)

    def begin(self) -> None:
        """The pending record, before the engine changes anything."""
        self.txn = self._start()
        self.ledger = self.target.store.begin(self.ledger, self.txn)

    def record_rejection(self, reason: str) -> None:
        txn = self._start("rejected")
        self.ledger = self.target.store.finish(self.ledger, close(self.ledger, txn, "rejected", now, reason=reason))

    def finish(self, after: Mapping[NormalizedName, str]) -> None:
        """Close the upgrade's transaction: it succeeded."""
        assert self.txn is not None
        run = RecordedRun(self.target, self.ledger, self.txn)
        run.close(RunEnd(0), after=after, roots=lambda _after: self.ledger.roots)
        self.ledger = run.ledger

    def carry_out(self, outcome: UpgradeOutcome, spec: UpgradeSpec) -> int:
        if outcome.lookup_failure:
            say(f"pipguard: note: could not look up the newest releases ({redact(outcome.lookup_failure)}); "
                "what is held back is not explained.")
        json_mode = self.parsed.json
        if outcome.kind == "nothing":
            if json_mode:
                print_json(upgrade_json("nothing-to-do", outcome, spec))
            say(f"pipguard: {outcome.message} Nothing was changed.")
            return 0
        if outcome.kind == "rejected":
            if not self.parsed.request.dry_run:
                self.record_rejection(outcome.message)
            if json_mode:
                print_json(upgrade_json("rejected", outcome, spec))
            raise Rejected(outcome.message)
        if outcome.kind == "failed":
            return self.failed(outcome)
        assert outcome.assessment is not None
        count = len(outcome.assessment.moves)
        if outcome.kind == "dry-run":
            if json_mode:
                print_json(upgrade_json("dry-run", outcome, spec))
            say(f"pipguard: would upgrade {count} distribution{'s' if count != 1 else ''}; nothing was changed "
                "(--dry-run).")
            return 0
        assert self.txn is not None
        self.finish(_versions(overlay(self.session.state.own, outcome.plan)))
        for violation in outcome.assessment.warnings:
            say(f"pipguard: warning: {violation.describe()} (installed with unmet requirements).")
        for note in shadow_notes(self.session.state.distributions, outcome.plan):
            say(note)
        if json_mode:
            print_json(upgrade_json("upgraded", outcome, spec, self.txn.id))
        say(f"pipguard: upgraded {count} distribution{'s' if count != 1 else ''} (transaction {self.txn.id}; "
            f"'pipguard rollback {self.txn.id - 1}' undoes it).")
        return 0

    def failed(self, outcome: UpgradeOutcome) -> int:
        failure = outcome.failure
        assert failure is not None
        if outcome.began and self.txn is not None:
            run = RecordedRun(self.target, self.ledger, self.txn)
            try:  # raises Interrupted for a signal pipguard passed on, once the ledger is written
                run.close(RunEnd(failure.returncode, failure.signal, failed=True), detail=failure.summary,
                          program=self.engine_name)
            finally:
                self.ledger = run.ledger
        if failure.signal is not None:
            raise Interrupted(failure.signal)
        if outcome.held:
            sys.stderr.write(redact(outcome.held))
        code = exit_status(failure.returncode, failed=True)
        raise PipFailed(f"the upgrade did not finish: {failure.summary or 'see the output above'}.", code)


def _versions(dists: Mapping[NormalizedName, Distribution]) -> dict[NormalizedName, str]:
    return {name: dist.version for name, dist in dists.items()}


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
            outcome = UpgradeOutcome("nothing", message="nothing to upgrade: no root is installed from an index.")
            return UpgradeEffects(target, session, parsed, args, "pip").carry_out(outcome, spec)
        with work_directory() as workdir:
            engine = make_engine(options.engine or ledger.engine, target.python, state.pip_version, workdir,
                                 parsed.request)
            if engine.name == "pip":
                check_pip_version(state.pip_version, target.python)
            effects = UpgradeEffects(target, session, parsed, args, engine.name)
            explainer = Explainer(parsed.request, state.distributions, ledger.roots, state.markers,
                                  parsed.request.constraints,
                                  pipguard_here=target.python if canonicalize_name("pipguard") in state.own else "")

            def request_for(requirements: Sequence[str], extra: Sequence[str]) -> InstallRequest:
                return engine_request(parsed.request, requirements, extra, target.prefix)

            outcome = decide_upgrade(situation, spec, engine, request_for, explainer,
                                     dry_run=parsed.request.dry_run,
                                     show_output=bool(parsed.request.verbose) and not parsed.json,
                                     show=effects.show, begin=effects.begin)
            code = effects.carry_out(outcome, spec)
        keep_shims(target)
        return code

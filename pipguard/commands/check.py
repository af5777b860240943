"""``pipguard check``: the CI guard over an environment and its ledger."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from pipguard.constraints import Violation, find_violations
from pipguard.context import Options, locate, open_session
from pipguard.ledger import Change, Transaction
from pipguard.planner import all_needs, changes_between


@dataclass(frozen=True)
class CheckResult:
    ledger_path: str
    has_ledger: bool
    roots: tuple[str, ...]
    violations: tuple[Violation, ...]
    drift: tuple[Change, ...]
    interrupted: tuple[Transaction, ...]

    @property
    def ok(self) -> bool:
        return not (self.violations or self.drift or self.interrupted)

    def problems(self) -> list[str]:
        found = []
        for violation in self.violations:
            kind = "unsatisfied root" if violation.need.kind == "root" else "unsatisfied requirement"
            found.append(f"{kind}: {violation.describe()}")
        for change in self.drift:
            found.append(f"changed outside pipguard: {change.describe()}")
        for txn in self.interrupted:
            found.append(f"interrupted transaction {txn.id}: {' '.join(txn.argv)} (started {txn.started})")
        return found


def compute_check(options: Options) -> CheckResult:
    target = locate(options)
    with target.store.locked():
        session = open_session(target, reconcile_drift=False)
    state, ledger = session.state, session.ledger
    needs = all_needs(state.distributions, ledger.roots, ledger.standing, state.markers)
    violations = find_violations(state.versions, needs)
    drift = () if session.created else changes_between(ledger.distributions, state.versions)
    return CheckResult(
        ledger_path=str(target.store.path),
        has_ledger=not session.created,
        roots=tuple(sorted(ledger.roots)),
        violations=tuple(violations),
        drift=drift,
        interrupted=tuple(ledger.pending()),
    )


def run_check(options: Options, args: list[str]) -> int:
    result = compute_check(options)
    if not result.has_ledger:
        print(f"pipguard: no ledger yet at {result.ledger_path}; checked the environment only.",
              file=sys.stderr)
    problems = result.problems()
    for problem in problems:
        print(problem)
    if problems:
        print(f"pipguard check: {len(problems)} problem(s) found.", file=sys.stderr)
        return 1
    print(f"pipguard check: OK ({len(result.roots)} roots satisfied, environment consistent).",
          file=sys.stderr)
    return 0

"""What ``pipguard check`` finds in an environment and its ledger (pure).

Every need of the installed state (roots, installed requirements, standing
constraints), the ledger compared with what is installed (drift), and
transactions that never finished; optionally, transactions after a given
one that were rejected or failed (for a CI job's own installs).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from pipguard.core.constraints import (
    Distribution,
    MarkerEnvironment,
    Need,
    Unreadable,
    Violation,
    all_needs,
    guarded_distributions,
    guarded_violations,
    outside_standing_violations,
    unreadable_requirements,
)
from pipguard.core.model import Change, LedgerState, Root, StandingConstraint, Transaction
from pipguard.core.names import NormalizedName
from pipguard.core.redaction import redact, redact_all
from pipguard.core.transactions import changes_between

# Statuses ``check --since`` reports as problems.
FAILED_STATUSES = ("rejected", "failed", "interrupted")


class Problem(NamedTuple):
    """One thing wrong, as a line of text and as data."""

    kind: str  # unsatisfied-root, unsatisfied-requirement, unsatisfied-constraint, drift,
    # interrupted, rejected, failed, unreadable-requirement, ledger-damaged
    subject: str  # a short name for it (a JUnit test name)
    message: str  # one line for a person
    name: NormalizedName | None = None  # the distribution concerned, if any
    transaction: int | None = None  # the transaction concerned, if any
    detail: str = ""  # more (a rejection's reason), possibly several lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": redact(self.subject),
            "message": redact(self.message),
            "name": self.name,
            "transaction": self.transaction,
            "detail": redact(self.detail),
        }


class RootStatus(NamedTuple):
    """A root and what is wrong in what it needs (itself and its dependencies)."""

    name: NormalizedName
    requirement: str
    installed: str | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _command(txn: Transaction) -> str:
    return " ".join(redact_all(txn.argv)) or txn.command


def _violation_problem(violation: Violation) -> Problem:
    need = violation.need
    kind = {
        "root": "unsatisfied-root",
        "standing": "unsatisfied-constraint",
    }.get(need.kind, "unsatisfied-requirement")
    label = {"root": "unsatisfied root", "standing": "unsatisfied constraint"}.get(
        need.kind, "unsatisfied requirement"
    )
    return Problem(kind, violation.describe(), f"{label}: {violation.describe()}", need.name)


class CheckResult(NamedTuple):
    ledger_path: str
    has_ledger: bool
    roots: tuple[str, ...]
    violations: tuple[Violation, ...]
    drift: tuple[Change, ...]
    interrupted: tuple[Transaction, ...]
    root_status: tuple[RootStatus, ...] = ()
    failed: tuple[Transaction, ...] = ()  # rejected/failed/interrupted after ``since``
    since: int | None = None
    # distributions seen only from outside the environment, as (name, version), and what is done with them
    outside: tuple[tuple[NormalizedName, str], ...] = ()
    outside_policy: str = "ignore"
    # standing constraints that distributions seen from outside do not meet (reported, not problems)
    outside_unmet: tuple[Violation, ...] = ()
    old_pip_note: str = ""  # the target's pip cannot constrain build environments
    # requirements of the environment's distributions that cannot be read or evaluated
    unreadable: tuple[Unreadable, ...] = ()
    # Unreadable lines in the ledger's journal, one message each (the store finds them).
    ledger_damage: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.violations or self.drift or self.interrupted or self.failed or self.unreadable
                    or self.ledger_damage)

    def findings(self) -> list[Problem]:
        found = [_violation_problem(v) for v in self.violations]
        for item in self.unreadable:
            found.append(
                Problem("unreadable-requirement", f"{item.required_by}: unreadable requirement",
                        f"unreadable requirement: {item.describe()}; it is not checked or protected "
                        f"(reinstall {item.required_by.split(' ')[0]} or fix its metadata)", item.source)
            )
        for change in self.drift:
            found.append(
                Problem("drift", f"{change.name} changed outside pipguard",
                        f"changed outside pipguard: {change.describe()}", change.name)
            )
        for txn in self.interrupted:
            found.append(
                Problem("interrupted", f"transaction {txn.id} interrupted",
                        f"interrupted transaction {txn.id}: {_command(txn)} (started {txn.started})",
                        transaction=txn.id)
            )
        for txn in self.failed:
            found.append(
                Problem(txn.status, f"transaction {txn.id} {txn.status}",
                        f"{txn.status} transaction {txn.id}: {_command(txn)} ({txn.started})",
                        transaction=txn.id, detail=txn.reason)
            )
        found.extend(Problem("ledger-damaged", "ledger journal damaged", message) for message in self.ledger_damage)
        return found

    def problems(self) -> list[str]:
        return [problem.message for problem in self.findings()]


def _dependency_graph(needs: Sequence[Need]) -> dict[str, list[NormalizedName]]:
    graph: dict[str, list[NormalizedName]] = {}
    for need in needs:
        if need.kind == "dependency":
            graph.setdefault(need.source, []).append(need.name)
    return graph


def _closure(
    root: NormalizedName, graph: Mapping[str, Sequence[NormalizedName]], installed: Mapping[NormalizedName, str]
) -> set[str]:
    """The root and every installed distribution it reaches through requirements."""
    seen: set[str] = {root}
    queue = deque([root])
    while queue:
        for name in graph.get(queue.popleft(), ()):
            if name not in seen and name in installed:
                seen.add(name)
                queue.append(name)
    return seen


def root_statuses(
    roots: Mapping[NormalizedName, Root],
    needs: Sequence[Need],
    violations: Iterable[Violation],
    installed: Mapping[NormalizedName, str],
) -> tuple[RootStatus, ...]:
    """Each root, with the unmet needs of it and of everything it pulls in."""
    broken = list(violations)
    graph = _dependency_graph(needs) if broken else {}
    result = []
    for name, root in sorted(roots.items()):
        problems: tuple[str, ...] = ()
        if broken:  # a healthy environment (the usual case) needs no closures
            reach = _closure(name, graph, installed)
            problems = tuple(
                v.describe()
                for v in broken
                if (v.need.kind == "root" and v.need.source == name)
                or (v.need.kind == "dependency" and v.need.source in reach)
                or (v.need.kind == "standing" and v.need.name in reach)
            )
        result.append(RootStatus(name, root.requirement, installed.get(name), problems))
    return tuple(result)


def assess(
    dists: Mapping[NormalizedName, Distribution],
    ledger: LedgerState,
    markers: MarkerEnvironment,
    *,
    ledger_path: str,
    has_ledger: bool,
    standing: Sequence[StandingConstraint] = (),
    since: int | None = None,
    later: Iterable[Transaction] = (),
) -> CheckResult:
    """Everything ``pipguard check`` reports, for this state and ledger.

    *standing*: the standing constraints in force. *later*: with *since*,
    the transactions after it (read from the journal by the command).
    """
    installed = {name: dist.version for name, dist in dists.items()}
    own = {name: dist.version for name, dist in dists.items() if not dist.outside}
    roots = ledger.roots if has_ledger else {}
    needs = all_needs(dists, roots, standing, markers, ledger.outside)
    violations = tuple(guarded_violations(dists, needs, ledger.outside))
    # what is seen from outside the environment is not its drift
    drift = changes_between(ledger.distributions, own) if has_ledger else ()
    failed: tuple[Transaction, ...] = ()
    if since is not None and has_ledger:
        failed = tuple(t for t in later if t.id > since and t.status in FAILED_STATUSES)
    pending = (ledger.pending,) if has_ledger and ledger.pending is not None else ()
    return CheckResult(
        ledger_path=ledger_path,
        has_ledger=has_ledger,
        roots=tuple(sorted(roots)),
        violations=violations,
        drift=drift,
        interrupted=pending,
        root_status=root_statuses(roots, needs, violations, installed),
        failed=failed,
        since=since,
        outside=tuple(sorted((name, dist.version) for name, dist in dists.items() if dist.outside)),
        outside_policy=ledger.outside,
        outside_unmet=tuple(outside_standing_violations(dists, needs, ledger.outside)),
        unreadable=tuple(unreadable_requirements(guarded_distributions(dists, ledger.outside), markers)),
    )


def outside_unmet_summary(unmet: Sequence[Violation], shown: int = 5) -> str:
    """The outside distributions that standing constraints do not admit, for one line of text:
    ``ds-crypto 2.0 (constraint: ds-crypto===1.0), ... and 3 more``."""
    seen: dict[str, list[str]] = {}
    for violation in unmet:
        label = f"{violation.need.name} {violation.installed}"
        seen.setdefault(label, []).append(violation.need.describe())
    items = [f"{label} (constraint: {', '.join(sorted(set(specs)))})" for label, specs in sorted(seen.items())]
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")

"""``pipguard check``: the CI guard over an environment and its ledger.

Without ``--plan``: is the environment healthy now? Every root and every
installed requirement satisfied, the ledger matching what is installed (no
drift by plain pip behind pipguard's back), no interrupted transaction.

With ``--plan``: could these requirement sources be installed together
(``commands/plan.py``)? Both exit 0 when all is well and 1 when not, and
both write ``--json`` and ``--junit FILE`` on request.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipguard.cli.context import locate, open_session
from pipguard.cli.options import CommandParser, Options, command_parser, print_json, say, split_options
from pipguard.cli.render import (
    check_cases,
    check_json,
    junit_xml,
    outside_note,
    plan_cases,
    plan_json,
    plan_text,
)
from pipguard.core.health import CheckResult, assess
from pipguard.core.model import Transaction
from pipguard.core.printable import safe_line
from pipguard.core.transactions import is_number
from pipguard.errors import UsageError
from pipguard.ledger import now
from pipguard.ledger.journal import Trimmed

if TYPE_CHECKING:
    from pipguard.core.conflicts import PlanResult

__all__ = ["CheckResult", "compute_check", "run_check"]

_OWN_FLAGS = {"--json", "--plan", "--no-ledger", "-h", "--help"}
_OWN_VALUED = {"--junit", "--since"}


def compute_check(options: Options, since: int | None = None) -> CheckResult:
    """Probe and read the ledger under the shared lock (writing nothing), then assess.

    Reads the ledger's state alone; with *since*, also the journal's
    transactions after it (found by bisection, not by reading the rest).
    """
    target = locate(options)
    store = target.store
    with store.locked(shared=True):
        session = open_session(target, reconcile_drift=False)
        later: list[Transaction] = []
        if since is not None and not session.created:
            with store.reading_journal():
                try:
                    later = list(store.journal.since(since))
                except Trimmed as exc:
                    summary = exc.summary
                    raise UsageError(
                        f"pipguard check: --since {since}: transactions {summary.first}-{summary.id} were "
                        f"compacted on {summary.compacted_at}; give --since {summary.id} or later."
                    ) from None
    state = session.state
    result = assess(state.distributions, session.ledger, state.markers, ledger_path=str(store.path),
                    has_ledger=not session.created, standing=session.standing, since=since, later=later)
    from pipguard.engines.pip.runner import build_constraints_note  # the engines load only where needed

    return result._replace(old_pip_note=build_constraints_note(state.pip_version),
                   ledger_damage=store.damage_notes())  # journal lines that cannot be read


def split_arguments(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """pipguard check's own options, and the rest (pip's, for --plan)."""
    return split_options(args, _OWN_FLAGS, _OWN_VALUED)


def _parser() -> CommandParser:
    parser = command_parser(
        "check",
        "The CI guard. Without --plan: every root and requirement satisfied, the ledger matching what "
        "is installed, no interrupted transaction. With --plan: could the given requirement sources be "
        "installed together? Exit 0 when all is well, 1 when not.",
    )
    parser.usage = (
        "pipguard check [--json] [--junit FILE] [--since N]\n"
        "       pipguard check --plan [--no-ledger] [--json] [--junit FILE] PIP-INSTALL-ARGUMENTS..."
    )
    parser.add_argument("--json", action="store_true", help="print a JSON document (see docs/ci.md)")
    parser.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report to FILE")
    parser.add_argument("--since", metavar="N",
                        help="also report transactions after N that were rejected, failed or interrupted")
    parser.add_argument("--plan", action="store_true",
                        help="check whether the requirement sources that follow (pip install arguments: "
                             "-r FILE, -c FILE, requirements, paths, index options) can be installed "
                             "together, before installing anything")
    parser.add_argument("--no-ledger", action="store_true",
                        help="with --plan: as if into an empty environment, ignoring what is installed")
    return parser


def _junit_path(value: str | None) -> Path | None:
    """Refuse a --junit path that cannot be written before any work is done."""
    if value is None:
        return None
    path = Path(value)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(
            f"cannot write the JUnit report to {value}: it is a directory. Give --junit a file path."
        )
    if parent.exists() and not parent.is_dir():
        raise UsageError(
            f"cannot write the JUnit report to {value}: {parent} is not a directory. "
            "Give --junit another path."
        )
    if not parent.is_dir():
        raise UsageError(
            f"cannot write the JUnit report to {value}: the directory {parent} does not exist. "
            "Create it first, or give --junit another path."
        )
    if not os.access(parent, os.W_OK):
        raise UsageError(
            f"cannot write the JUnit report to {value}: the directory {parent} is not writable. "
            "Give --junit another path."
        )
    return path


def write_junit(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot write the JUnit report to {path}: {exc.strerror or exc}. Give --junit a writable path."
        ) from None


def run_check(options: Options, args: list[str]) -> int:
    own, rest = split_arguments(args)
    ns = _parser().parse_args(own)
    junit = _junit_path(ns.junit)
    if ns.plan:
        if ns.since is not None:
            raise UsageError("pipguard check: --since goes with a check of the environment, not with --plan.")
        return run_plan_check(options, rest, with_ledger=not ns.no_ledger, as_json=ns.json, junit=junit)
    if ns.no_ledger:
        raise UsageError("pipguard check: --no-ledger only goes with --plan.")
    if rest:
        raise UsageError(
            f"pipguard check: unexpected argument {rest[0]!r}. Requirement sources go with --plan "
            "(pipguard check --plan -r requirements.txt ...)."
        )
    since = None
    if ns.since is not None:
        if not is_number(ns.since):
            raise UsageError(
                f"pipguard check: --since needs a transaction number (0 for all), not {ns.since!r}."
            )
        since = int(ns.since)
    result = compute_check(options, since)
    if junit is not None:
        write_junit(junit, junit_xml("pipguard check", check_cases(result), now()))
    if ns.json:
        print_json(check_json(result))
    else:
        for problem in result.findings():
            print(safe_line(problem.message))
    if not result.has_ledger:
        say(f"pipguard: no ledger yet at {result.ledger_path}; checked the environment only.")
    if result.outside:
        say(outside_note(len(result.outside), result.outside_policy, result.outside_unmet))
    if result.old_pip_note:
        say(result.old_pip_note)
    if not result.ok:
        count = len(result.findings())
        say(f"pipguard check: {count} problem{'s' if count != 1 else ''} found.")
        return 1
    roots = len(result.root_status)
    say(f"pipguard check: OK ({roots} root{'s' if roots != 1 else ''} satisfied, environment consistent).")
    return 0


def run_plan_check(options: Options, pip_args: list[str], *, with_ledger: bool, as_json: bool,
                   junit: Path | None) -> int:
    from pipguard.commands.check_plan import plan

    result: PlanResult = plan(options, pip_args, with_ledger=with_ledger)
    if junit is not None:
        write_junit(junit, junit_xml("pipguard check --plan", plan_cases(result), now()))
    if as_json:
        print_json(plan_json(result))
    else:
        sys.stdout.write(plan_text(result))
    if with_ledger and not result.has_ledger:
        say(f"pipguard: no ledger yet at {result.ledger_path}; planned over what is installed.")
    return 0 if result.ok else 1

"""``pipguard autoremove``: remove the distributions no root needs any more.

The plan is ``autoremove_plan``'s (pure): the environment's own
distributions that no root reaches, with why each is unneeded; pip's
tooling, pipguard and what it needs, and everything outside the
environment are never in it. It is shown first; then pipguard asks
(``-y`` answers yes; without a terminal there is no one to ask, so ``-y``
is required: exit 2). The removal is judged like an uninstall (nothing
left may lose what it needs) and is one transaction, which ``rollback``
undoes.
"""

from __future__ import annotations

import sys
from typing import Any

from pipguard.cli.context import locate, open_session
from pipguard.cli.options import Options, command_parser, print_json, say
from pipguard.cli.render import JSON_SCHEMA, table
from pipguard.commands.support import RecordedRun, known_after
from pipguard.core.decide import removal_blockers
from pipguard.core.printable import safe_line
from pipguard.core.run_end import RunEnd
from pipguard.core.transactions import start
from pipguard.engines.pip.runner import pip_command
from pipguard.errors import Rejected, UsageError
from pipguard.ledger import now
from pipguard.maintenance.autoremove import AutoremovePlan, plan_autoremove


def plan_lines(plan: AutoremovePlan) -> list[str]:
    return table(["name", "version", "why it is unneeded"],
                 [[item.display_name, item.version, item.reason] for item in plan.remove])


def plan_json(plan: AutoremovePlan, status: str, txn: int | None) -> dict[str, Any]:
    return {
        "schema": JSON_SCHEMA, "kind": "autoremove", "status": status, "transaction": txn,
        "remove": [{"name": item.name, "display_name": item.display_name, "version": item.version,
                    "reason": item.reason} for item in plan.remove],
        "kept": list(plan.kept_tooling),
    }


def confirm(count: int) -> bool:
    """Ask on the terminal; refuse to ask where there is none."""
    if not sys.stdin.isatty():
        raise UsageError(
            f"autoremove would remove {count} distribution{'s' if count != 1 else ''}, and asks "
            "first, but there is no terminal to ask on. Run it with -y to remove them, or with --dry-run to "
            "only list them. Nothing was changed."
        )
    sys.stderr.write(f"Remove {'it' if count == 1 else f'these {count}'}? [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def run_autoremove(options: Options, args: list[str]) -> int:
    parser = command_parser(
        "autoremove", "Remove the distributions that no root needs any more (the roots' requirements "
        "followed transitively). pip's tooling, pipguard itself and anything outside the environment stay.")
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed; change nothing")
    parser.add_argument("-y", "--yes", action="store_true", help="remove without asking")
    parser.add_argument("--json", action="store_true", help="print a JSON document (see docs/maintenance.md)")
    ns = parser.parse_args(args)
    if not options.guard:
        raise UsageError("autoremove decides what is unneeded from the ledger's roots: it has no unguarded form.")
    target = locate(options)
    store = target.store
    with store.locked():
        session = open_session(target, require_pip=True)
        for note in session.notes:
            say(note)
        state, ledger = session.state, session.ledger
        plan = plan_autoremove(state.own, state.outside, ledger.roots, state.markers, ledger.outside)
        if not plan.remove:
            if ns.json:
                print_json(plan_json(plan, "nothing-to-do", None))
            say("pipguard: nothing to remove: every distribution of the environment is needed by a root "
                "(or is pip's tooling).")
            return 0
        removing = set(plan.names)
        blockers = removal_blockers(state.distributions, ledger.roots, session.standing, state.markers,
                                    removing, ledger.outside)
        if blockers:  # nothing needs them by the plan's reckoning; the judge has the last word
            lines = ["pipguard: not removing unneeded distributions: something still needs them."]
            lines += [f"  {v.describe()}" for v in blockers]
            raise Rejected("\n".join([*lines, "Nothing was changed."]))
        if not ns.json:
            for line in plan_lines(plan):
                print(safe_line(line))
        if ns.dry_run:
            if ns.json:
                print_json(plan_json(plan, "dry-run", None))
            say(f"pipguard: would remove {len(plan.remove)} unneeded distribution"
                f"{'s' if len(plan.remove) != 1 else ''}; nothing was changed (--dry-run).")
            return 0
        if not ns.yes and not confirm(len(plan.remove)):
            if ns.json:
                print_json(plan_json(plan, "declined", None))
            say("pipguard: nothing was removed.")
            return 0
        names = [str(name) for name in plan.names]
        txn = start(ledger, "autoremove", ["autoremove", *args], state.pip_version, ledger.policy, now)
        run = RecordedRun(target, ledger, txn)
        result = run.run(pip_command(target.python, "uninstall", "-y", *names), capture=ns.json)
        if ns.json:  # stdout is the JSON document's: pip's own words go to stderr
            sys.stderr.write(result.stdout + result.stderr)
        end = RunEnd(result.returncode, result.signal)
        run.close(end, reason="removed what no root needs", program="pip uninstall",
                  after=known_after(state, removing, end, confirmed=True), roots=lambda _after: ledger.roots)
        if ns.json:
            print_json(plan_json(plan, end.status, txn.id))
        if result.returncode != 0:
            return end.exit_status
        say(f"pipguard: removed {len(names)} unneeded distribution{'s' if len(names) != 1 else ''} "
            f"(transaction {txn.id}; 'pipguard rollback {txn.id - 1}' brings them back).")
        return 0

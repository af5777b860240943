"""``pipguard ledger``: the roots the ledger records, and the standing constraints in force.

Reads the ledger's state alone, under the shared lock (``cli.context.reading``);
writes nothing: drift it notices is shown, not recorded.
"""

from __future__ import annotations

import contextlib
import sys

from pipguard.cli.context import Session, no_ledger_note, read_state
from pipguard.cli.options import Options, command_parser, print_json, say
from pipguard.cli.render import ledger_json, ledger_text, outside_note
from pipguard.core.model import StandingConstraint
from pipguard.core.views import ledger_view
from pipguard.errors import UsageError


def standing_to_show(session: Session) -> tuple[StandingConstraint, ...]:
    """The standing constraints in force, for display: a file that cannot be read
    is said, not fatal (``pipguard constraints list`` shows which)."""
    try:
        return session.standing
    except UsageError as exc:
        say(f"pipguard: warning: {exc}")
        from pipguard.ledger.standing import read_standing_file

        found = list(session.ledger.standing)
        for item in session.ledger.standing_files:
            with contextlib.suppress(UsageError):
                found += read_standing_file(item)
        return tuple(found)


def run_ledger(options: Options, args: list[str]) -> int:
    parser = command_parser("ledger", "The roots the ledger records: the projects asked for, and how.")
    parser.add_argument("--json", action="store_true", help="print a JSON document (see docs/inspection.md)")
    ns = parser.parse_args(args)
    target, session = read_state(options, needs=False)  # roots and constraints: no needs
    view = ledger_view(session.ledger, session.state.own_versions, str(target.store.path), not session.created,
                       standing_to_show(session) if not session.created else ())
    outside = sorted((name, dist.version) for name, dist in session.state.outside.items())
    if ns.json:
        document = ledger_json(view)
        document["outside"] = {"policy": session.ledger.outside,
                               "distributions": [{"name": n, "version": v} for n, v in outside]}
        print_json(document)
        return 0
    if not view.has_ledger:
        say(no_ledger_note(target))
        return 0
    sys.stdout.write(ledger_text(view))
    count = len(view.rows)
    say(f"pipguard: {count} root{'s' if count != 1 else ''} in {view.ledger_path} (policy {view.policy}).")
    if outside:
        say(outside_note(len(outside), session.ledger.outside))
    if any(row.drifted for row in view.rows):
        say("pipguard: '(was ...)': changed outside pipguard since the last transaction; "
            "'pipguard check' lists every difference.")
    return 0

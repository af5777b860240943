"""``pipguard why NAME``: who needs NAME, with which specifiers, and how each root reaches it.

Reads the ledger's state alone, under the shared lock; writes nothing.
"""

from __future__ import annotations

import sys

from pipguard.cli.context import no_ledger_note, read_state
from pipguard.cli.options import Options, command_parser, print_json, say
from pipguard.cli.render import why_json, why_text
from pipguard.core.views import close_matches, is_project_name, why
from pipguard.errors import UsageError


def run_why(options: Options, args: list[str]) -> int:
    parser = command_parser(
        "why", "Who needs NAME: every root and installed distribution requiring it, and how each root "
        "reaches it."
    )
    parser.add_argument("name", metavar="NAME", help="a distribution name (no version, no extras)")
    parser.add_argument("--json", action="store_true", help="print a JSON document (see docs/inspection.md)")
    ns = parser.parse_args(args)
    name: str = ns.name
    if not is_project_name(name):
        raise UsageError(
            f"pipguard why: {name!r} is not a distribution name. Give a bare name such as "
            "'requests' (no version, extras or path)."
        )
    target, session = read_state(options)
    ledger = session.ledger
    result = why(name, session.state.distributions, ledger.roots, session.standing, session.state.markers)
    if not result.known:
        hints = close_matches(name, [*session.state.distributions, *ledger.roots])
        hint = f" Did you mean {' or '.join(hints)}?" if hints else ""
        raise UsageError(
            f"pipguard why: {name} is not installed, not a root, and nothing installed requires it.{hint} "
            "'pipguard ledger' lists the roots, 'pip list' what is installed."
        )
    if session.created:
        say(no_ledger_note(target) + " Roots below are the top-level distributions.")
    if ns.json:
        print_json(why_json(result))
    else:
        sys.stdout.write(why_text(result))
    return 0

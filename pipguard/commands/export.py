"""``pipguard export``: the known-good set of the environment as a pip constraints file.

Reads the ledger's state alone, under the shared lock; writes nothing. A
distribution whose metadata gives an invalid name or version is named, never
exported.
"""

from __future__ import annotations

import sys

from pipguard.cli.context import keep_derived, no_ledger_note, read_state
from pipguard.cli.options import Options, command_parser, print_json, say
from pipguard.cli.render import export_json, export_text
from pipguard.core.health import assess
from pipguard.core.redaction import clean
from pipguard.core.views import export_pins, not_exported
from pipguard.ledger.state import state_to_data


def run_export(options: Options, args: list[str]) -> int:
    parser = command_parser(
        "export",
        "The known-good set of this environment as a pip constraints file (name==version, with the "
        "markers that apply), ready for 'pip install -c FILE'.",
    )
    parser.add_argument("--all", action="store_true", help="include pip, setuptools, wheel and distribute")
    parser.add_argument("--json", action="store_true",
                        help="print the ledger's current state and the constraints as JSON")
    ns = parser.parse_args(args)
    target, session = read_state(options)
    state, ledger = session.state, session.ledger
    has_ledger = not session.created
    pins = export_pins(state.distributions, ledger.roots, state.markers, include_tooling=ns.all)
    keep_derived(session)  # each requirement's marker, simplified: not again while nothing changes
    health = assess(state.distributions, ledger, state.markers, ledger_path=str(target.store.path),
                    has_ledger=has_ledger, standing=session.standing)
    problems = health.findings()
    left_out = not_exported(state.distributions, include_tooling=ns.all)
    if ns.json:
        print_json(export_json(
            pins,
            clean(state_to_data(ledger)) if has_ledger else None,
            left_out=left_out,
            ledger_path=str(target.store.path),
            python={"executable": state.executable, "version": state.python_version, "prefix": state.prefix},
            markers=state.markers,
            problems=problems,
        ))
    else:
        platform = f"{state.markers.get('sys_platform', '?')} {state.markers.get('platform_machine', '?')}"
        header = [
            f"Known-good set of {state.prefix} (Python {state.python_version}, {platform}), "
            "by pipguard export.",
        ]
        if has_ledger and ledger.last_id:
            last = target.store.last_entry
            when = f" ({last.finished or last.started})" if last is not None and last.id == ledger.last_id else ""
            header.append(f"Ledger {target.store.path}, transaction {ledger.last_id}{when}.")
        else:
            header.append("No ledger yet: this is what is installed, not checked against any record.")
        header.append("Use it with: pip install -c THIS_FILE ...")
        header += [f"NOT EXPORTED: {dist.display_name or dist.name} {dist.version or '(no version)'}: {reason}."
                   for dist, reason in left_out]
        if problems:
            header.append(f"WARNING: 'pipguard check' finds {len(problems)} problem(s) here; this is what is "
                          "installed, not a set known to work.")
        sys.stdout.write(export_text(pins, header))
    for dist, reason in left_out:
        say(f"pipguard: warning: {dist.display_name or dist.name} {dist.version or '(no version)'} is not "
            f"exported: {reason} (its metadata is broken; reinstall it).")
    if problems:
        say(f"pipguard: warning: 'pipguard check' finds {len(problems)} problem(s) in this environment; "
            "the exported set is what is installed, not a set known to work.")
    if not has_ledger:
        say(no_ledger_note(target))
    return 0

"""``pipguard ledger``, ``why``, ``history`` and ``export``: read the ledger, change nothing.

Each command takes the environment's lock (so it never reads a ledger
half-way through another run's transaction), probes the target, reads the
ledger, releases the lock, and prints. None of them writes the ledger:
drift they notice is shown, not recorded (the next install records it).
"""

from __future__ import annotations

import re
import sys
from typing import Any

from pipguard.commands.options import command_parser, print_json, say
from pipguard.context import Options, Session, Target, locate, open_session
from pipguard.errors import UsageError
from pipguard.explain import (
    close_matches,
    export_pins,
    history_view,
    is_project_name,
    ledger_view,
    transaction_range,
    why,
)
from pipguard.health import assess
from pipguard.ledger import ledger_to_dict
from pipguard.redaction import redact
from pipguard.render import (
    export_json,
    export_text,
    history_json,
    history_text,
    ledger_json,
    ledger_text,
    why_json,
    why_text,
)


def read_state(options: Options) -> tuple[Target, Session]:
    """Probe the target and read its ledger under the lock; write nothing."""
    target = locate(options)
    with target.store.locked():
        session = open_session(target, reconcile_drift=False)
    return target, session


def _no_ledger_note(target: Target) -> str:
    return (
        f"pipguard: no ledger yet at {target.store.path}: nothing has been installed through "
        "pipguard in this environment ('pipguard install' starts the ledger)."
    )


# -- ledger ---------------------------------------------------------------------


def run_ledger(options: Options, args: list[str]) -> int:
    parser = command_parser("ledger", "The roots the ledger records: the projects asked for, and how.")
    parser.add_argument("--json", action="store_true", help="print a JSON document (see docs/inspection.md)")
    ns = parser.parse_args(args)
    target, session = read_state(options)
    view = ledger_view(session.ledger, session.state.versions, str(target.store.path), not session.created)
    if ns.json:
        print_json(ledger_json(view))
        return 0
    if not view.has_ledger:
        say(_no_ledger_note(target))
        return 0
    sys.stdout.write(ledger_text(view))
    count = len(view.rows)
    say(f"pipguard: {count} root{'s' if count != 1 else ''} in {view.ledger_path} (policy {view.policy}).")
    if any(row.drifted for row in view.rows):
        say("pipguard: '(was ...)': changed outside pipguard since the last transaction; "
            "'pipguard check' lists every difference.")
    return 0


# -- why ------------------------------------------------------------------------


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
    result = why(name, session.state.distributions, ledger, session.state.markers)
    if not result.known:
        hints = close_matches(name, [*session.state.distributions, *ledger.roots])
        hint = f" Did you mean {' or '.join(hints)}?" if hints else ""
        raise UsageError(
            f"pipguard why: {name} is not installed, not a root, and nothing installed requires it.{hint} "
            "'pipguard ledger' lists the roots, 'pip list' what is installed."
        )
    if session.created:
        say(_no_ledger_note(target) + " Roots below are the top-level distributions.")
    if ns.json:
        print_json(why_json(result))
    else:
        sys.stdout.write(why_text(result))
    return 0


# -- history --------------------------------------------------------------------


def _transaction_number(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
        raise UsageError(
            f"pipguard history: N must be a transaction number (1, 2, ...), not {text!r}. "
            "'pipguard history' lists them all; 'pipguard history --last K' the last K."
        )
    return int(text)


def run_history(options: Options, args: list[str]) -> int:
    parser = command_parser(
        "history",
        "The ledger's transactions, oldest first: when, what command, what changed, how it ended. "
        "With N, transaction N alone, in full.",
    )
    parser.add_argument("n", nargs="?", metavar="N", help="show transaction N in full")
    parser.add_argument("--last", metavar="K", help="only the last K transactions")
    parser.add_argument("--json", action="store_true", help="print a JSON document (see docs/inspection.md)")
    ns = parser.parse_args(args)
    number = _transaction_number(ns.n) if ns.n is not None else None
    last = None
    if ns.last is not None:
        if number is not None:
            raise UsageError("pipguard history: give N (one transaction) or --last K, not both.")
        if not re.fullmatch(r"[0-9]+", ns.last):
            raise UsageError(f"pipguard history: --last needs a number of transactions, not {ns.last!r}.")
        last = int(ns.last)
    target, session = read_state(options)
    has_ledger = not session.created
    if number is not None and not has_ledger:
        raise UsageError(
            f"pipguard history: there is no transaction {number}: there is no ledger yet at "
            f"{target.store.path} (nothing has been installed through pipguard here)."
        )
    try:
        view = history_view(session.ledger, session.state.versions, str(target.store.path), has_ledger,
                            transaction=number, last=last)
    except LookupError:
        raise UsageError(
            f"pipguard history: there is no transaction {number} in the ledger {target.store.path} "
            f"(it has transactions {transaction_range(session.ledger)})."
        ) from None
    if ns.json:
        print_json(history_json(view))
        return 0
    if not has_ledger:
        say(_no_ledger_note(target))
        return 0
    sys.stdout.write(history_text(view))
    for txn in view.transactions:
        if txn.status == "pending":
            say(f"pipguard: transaction {txn.id} never finished (its run was interrupted); the next "
                "'pipguard install' records what it changed.")
    return 0


# -- export ----------------------------------------------------------------------


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    return value


def run_export(options: Options, args: list[str]) -> int:
    parser = command_parser(
        "export",
        "The known-good set of this environment as a pip constraints file (name==version, with the "
        "markers that apply), ready for 'pip install -c FILE'.",
    )
    parser.add_argument("--all", action="store_true", help="include pip, setuptools, wheel and distribute")
    parser.add_argument("--json", action="store_true",
                        help="print the full ledger state and the constraints as JSON")
    ns = parser.parse_args(args)
    target, session = read_state(options)
    state, ledger = session.state, session.ledger
    has_ledger = not session.created
    pins = export_pins(state.distributions, ledger.roots, state.markers, include_tooling=ns.all)
    health = assess(state.distributions, ledger, state.markers, ledger_path=str(target.store.path),
                    has_ledger=has_ledger)
    problems = health.findings()
    if ns.json:
        print_json(export_json(
            pins,
            _redacted(ledger_to_dict(ledger)) if has_ledger else None,
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
        if has_ledger and ledger.transactions:
            last = ledger.transactions[-1]
            when = last.finished or last.started
            header.append(f"Ledger {target.store.path}, transaction {last.id} ({when}).")
        else:
            header.append("No ledger yet: this is what is installed, not checked against any record.")
        header.append("Use it with: pip install -c THIS_FILE ...")
        if problems:
            header.append(f"WARNING: 'pipguard check' finds {len(problems)} problem(s) here; this is what is "
                          "installed, not a set known to work.")
        sys.stdout.write(export_text(pins, header))
    if problems:
        say(f"pipguard: warning: 'pipguard check' finds {len(problems)} problem(s) in this environment; "
            "the exported set is what is installed, not a set known to work.")
    if not has_ledger:
        say(_no_ledger_note(target))
    return 0

"""``pipguard diff N [M]``: what changed between two points of the history (or N and now).

Versions, roots (specifiers, extras, editables, URLs) and standing
constraints, from the state after transaction N to the state after M (or
the ledger's current state). Read-only: the lock is taken shared, the
journal is read only after the older of the two points (``commands.points``).
``diff 7 3`` reads the other way round: what ``rollback 3`` would undo of 7.
"""

from __future__ import annotations

from pipguard.cli.context import reading
from pipguard.cli.options import Options, command_parser, print_json, say
from pipguard.cli.render import JSON_SCHEMA
from pipguard.core.printable import safe_line
from pipguard.core.transactions import changes_between
from pipguard.errors import UsageError
from pipguard.ledger.points import parse_number, snapshot_after, snapshot_now
from pipguard.maintenance.diff import StateDiff, diff_dict, diff_lines, diff_snapshots


def _summary(diff: StateDiff) -> str:
    def count(n: int, word: str) -> str:
        return f"{n} {word}{'s' if n != 1 else ''}"

    standing = len(diff.standing_added) + len(diff.standing_removed) + len(diff.files_added) + \
        len(diff.files_removed)
    return (f"pipguard: from {_label(diff.before)} to {_label(diff.after)}: {count(len(diff.versions), 'version')}, "
            f"{count(len(diff.roots), 'root')}, {count(standing, 'standing constraint')} changed.")


def _label(label: str) -> str:
    return label if label == "now" else f"transaction {label}"


def run_diff(options: Options, args: list[str]) -> int:
    parser = command_parser(
        "diff", "What changed from the state after transaction N to the state after M (default: now): "
        "versions, roots, standing constraints.")
    parser.add_argument("first", metavar="N", help="a transaction number from 'pipguard history'")
    parser.add_argument("second", metavar="M", nargs="?", help="another one (default: the current state)")
    parser.add_argument("--json", action="store_true", help="print a JSON document (see docs/maintenance.md)")
    ns = parser.parse_args(args)
    first = parse_number(ns.first, "diff")
    second = parse_number(ns.second, "diff") if ns.second is not None else None
    with reading(options) as (target, session):
        if session.created:
            raise UsageError(f"no ledger yet at {target.store.path}: there is no history to compare "
                             "('pipguard install' or 'pipguard adopt' starts one).")
        ledger = session.ledger
        before = snapshot_after(target.store, ledger, first, "compare with")
        after = snapshot_after(target.store, ledger, second, "compare with") if second is not None \
            else snapshot_now(ledger)
        drift = changes_between(ledger.distributions, session.state.own_versions)
    diff = diff_snapshots(before, after)
    if ns.json:
        document = {"schema": JSON_SCHEMA, "kind": "diff", **diff_dict(diff),
                    "unrecorded": [{"name": c.name, "before": c.before, "after": c.after} for c in drift]}
        print_json(document)
    else:
        for line in diff_lines(diff):
            print(safe_line(line))
        say(_summary(diff) if not diff.empty else
            f"pipguard: no difference from {_label(diff.before)} to {_label(diff.after)}.")
    if drift:
        say(f"pipguard: note: {len(drift)} distribution{'s' if len(drift) != 1 else ''} changed outside pipguard "
            "since its last transaction (not recorded yet: 'pipguard check' lists them).")
    return 0

"""``pipguard constraints add|list|remove``: constraints remembered for every later install.

devstack passes ``-c upper-constraints.txt`` on every call; making the file
standing applies it to later installs even without ``-c`` (through
``planner.all_needs``: in the constraints pipguard hands pip, in the build
environments where pip supports ``--build-constraint``, and in the
judgement of every plan). Each line is kept with its source (the file's
absolute path, or ``command line``) and the transaction that added it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pipguard.constraints import find_violations, standing_needs
from pipguard.context import Options, locate, open_session
from pipguard.errors import UsageError
from pipguard.ledger import Ledger, StandingConstraint
from pipguard.transactions import begin, finish

COMMAND_LINE = "command line"
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")


def say(message: str) -> None:
    print(message, file=sys.stderr)


@dataclass(frozen=True)
class ConstraintLine:
    requirement: str
    source: str


def check_constraint(text: str, where: str) -> str:
    """A constraint line pip would accept and that limits something; else UsageError."""
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise UsageError(f"invalid constraint {text!r} ({where}): {exc}.") from None
    if req.extras:
        raise UsageError(f"invalid constraint {text!r} ({where}): constraints cannot have extras "
                         "(pip refuses them). Drop the [extras].")
    if not req.specifier and not req.url:
        raise UsageError(f"constraint {text!r} ({where}) has no version specifier, so it limits "
                         "nothing. Give one, such as 'name<2' or 'name===1.4.2'.")
    return str(req)


def read_constraints_file(path: Path, seen: frozenset[Path] = frozenset()) -> list[str]:
    """Requirement lines of a constraints file (nested -c/-r files followed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"constraints file not found: {path}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the constraints file {path}: {exc}.") from None
    lines: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        line = _ENV_VAR.sub(lambda m: os.environ.get(m.group(1), m.group(0)), line)
        if not line:
            continue
        if line.startswith("-"):
            words = line.split(None, 1)
            opt = words[0].split("=", 1)[0]
            value = words[0].split("=", 1)[1] if "=" in words[0] else (words[1] if len(words) > 1 else "")
            if opt in ("-c", "--constraint", "-r", "--requirement") and value:
                nested = (path.parent / value.strip()).resolve()
                if nested not in seen:
                    lines += read_constraints_file(nested, seen | {path})
            continue  # other options (index URLs ...) are pip's business
        lines.append(check_constraint(line, f"{path}, line {number}"))
    return lines


def looks_like_file(item: str) -> bool:
    return os.path.exists(item) or os.sep in item or item.endswith(".txt")


def read_items(items: Sequence[str]) -> list[ConstraintLine]:
    found = []
    for item in items:
        if looks_like_file(item):
            path = Path(item).resolve()
            found += [ConstraintLine(line, str(path)) for line in read_constraints_file(path)]
        else:
            found.append(ConstraintLine(check_constraint(item, COMMAND_LINE), COMMAND_LINE))
    return found


def _name_of(requirement: str) -> str:
    return canonicalize_name(Requirement(requirement).name)


def added(standing: Sequence[StandingConstraint], lines: Sequence[ConstraintLine],
          txn_id: int) -> tuple[StandingConstraint, ...]:
    """*standing* with *lines* added: a file added again replaces its old lines; a
    command-line constraint replaces earlier command-line ones for the same name (pure)."""
    files = {line.source for line in lines if line.source != COMMAND_LINE}
    names = {_name_of(line.requirement) for line in lines if line.source == COMMAND_LINE}
    kept = [
        item for item in standing
        if item.source not in files
        and not (item.source == COMMAND_LINE and _name_of(item.requirement) in names)
    ]
    old = {(item.requirement, item.source): item for item in standing}
    new = [
        old.get((line.requirement, line.source)) or StandingConstraint(line.requirement, line.source, txn_id)
        for line in lines
    ]
    result: list[StandingConstraint] = []
    seen = set()
    for item in [*kept, *new]:
        key = (item.requirement, item.source)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return tuple(result)


def removed(standing: Sequence[StandingConstraint], items: Sequence[str]) -> tuple[StandingConstraint, ...]:
    """*standing* less what *items* name: a file (its lines) or a project name (pure)."""
    sources = {str(Path(item).resolve()) for item in items if looks_like_file(item)}
    names = set()
    for item in items:
        if looks_like_file(item):
            continue
        try:
            names.add(canonicalize_name(Requirement(item).name))
        except InvalidRequirement:
            raise UsageError(f"{item!r} is neither a constraints file nor a project name.") from None
    unmatched = [
        item for item in items
        if (str(Path(item).resolve()) not in {s.source for s in standing} if looks_like_file(item)
            else canonicalize_name(Requirement(item).name) not in {_name_of(s.requirement) for s in standing})
    ]
    if unmatched:
        raise UsageError(f"no standing constraint comes from or names {', '.join(unmatched)}. "
                         "See 'pipguard constraints list'.")
    return tuple(s for s in standing if s.source not in sources and _name_of(s.requirement) not in names)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}. See '{self.prog} --help'.")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pipguard constraints",
                     description="Constraints pipguard applies to every later install, even without -c.")
    sub = parser.add_subparsers(dest="action", metavar="{add,list,remove}")
    add = sub.add_parser("add", help="make constraints standing: FILE (e.g. upper-constraints.txt) "
                         "or REQ ('name<2')")
    add.add_argument("items", nargs="+", metavar="FILE|REQ")
    show = sub.add_parser("list", help="list standing constraints")
    show.add_argument("--json", action="store_true", help="print JSON")
    drop = sub.add_parser("remove", help="forget standing constraints: FILE (all its lines) or NAME")
    drop.add_argument("items", nargs="*", metavar="FILE|NAME")
    drop.add_argument("--all", action="store_true", help="forget every standing constraint")
    for action in (add, show, drop):
        action.__class__ = _Parser
    return parser


def run_constraints(options: Options, args: list[str]) -> int:
    ns = build_parser().parse_args(args)
    if ns.action is None:
        raise UsageError("pipguard constraints: say what to do: add, list or remove. "
                         "See 'pipguard constraints --help'.")
    target = locate(options)
    if ns.action == "list":
        ledger = target.store.load() or Ledger()
        return list_standing(ledger, str(target.store.path), ns.json)
    if ns.action == "remove" and not ns.items and not ns.all:
        raise UsageError("pipguard constraints remove: name a FILE or NAME, or give --all.")
    lines = read_items(ns.items) if ns.action == "add" else []
    with target.store.locked():
        session = open_session(target)
        for note in session.notes:
            say(note)
        ledger = session.ledger
        if ns.action == "add":
            standing = added(ledger.standing, lines, ledger.next_id)
        else:
            standing = () if ns.all else removed(ledger.standing, ns.items)
        if standing == ledger.standing:
            if session.created or session.notes:
                target.store.save(ledger)
            say("pipguard: the standing constraints are unchanged.")
            return 0
        ledger, txn = begin(ledger, "constraints", ["constraints", *args], session.state.pip_version,
                            ledger.policy, constraints=[s for s in ns.items if looks_like_file(s)]
                            if ns.action == "add" else [])
        ledger = replace(finish(ledger, txn, "committed"), standing=standing)
        target.store.save(ledger)
    before, after = len(session.ledger.standing), len(standing)
    if ns.action == "add":
        say(f"pipguard: {after} standing constraints (was {before}; transaction {txn.id}). "
            "Later installs honour them even without -c.")
    else:
        say(f"pipguard: forgot {before - after} standing constraints; {after} remain (transaction {txn.id}).")
    if ns.action == "add":
        needs = []
        for item in standing:
            needs += standing_needs([item.requirement], item.source, session.state.markers)
        for violation in find_violations(session.state.versions, needs)[:10]:
            say(f"pipguard: warning: {violation.describe()} (pipguard check reports it; later "
                "installs are not blocked by it, but may not make it worse).")
    return 0


def list_standing(ledger: Ledger, path: str, as_json: bool) -> int:
    if as_json:
        print(json.dumps({
            "schema": 1,
            "ledger": path,
            "standing": [{"requirement": s.requirement, "source": s.source, "added_by": s.added_by}
                         for s in ledger.standing],
        }, indent=1))
        return 0
    if not ledger.standing:
        say("pipguard: no standing constraints.")
        return 0
    width = max(len(s.requirement) for s in ledger.standing)
    for item in ledger.standing:
        print(f"{item.requirement:<{width}}  {item.source} (transaction {item.added_by})")
    return 0

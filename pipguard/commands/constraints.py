"""``pipguard constraints add|list|remove``: constraints remembered for every later install.

devstack passes ``-c upper-constraints.txt`` on every call; making the file
standing applies it to later installs even without ``-c`` (through
``planner.all_needs``: in the constraints pipguard hands pip, in the build
environments where pip supports ``--build-constraint``, and in the
judgement of every plan).

A file added is *followed*: the ledger records its absolute path
(a ``StandingFile``) and every run reads it again, so an edit made in
place (devstack's ``edit-constraints`` deletes a library's pin before
installing it from git) takes effect at once; a file that vanished or
cannot be read is an error naming it (exit 2). A constraint given on the
command line (``'name<2'``, ``'name @ URL'``, its credentials redacted) is
kept as it is. ``list`` says where each line comes from: its file or the
command line, and the transaction that added it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from pipguard.cli.context import locate, open_session
from pipguard.cli.options import Options, say
from pipguard.core.constraints import (
    guarded_violations,
    outside_standing_violations,
    requirement_text,
    standing_needs,
)
from pipguard.core.health import outside_unmet_summary
from pipguard.core.model import COMMAND_LINE, LedgerState, StandingConstraint, StandingFile
from pipguard.core.names import canonicalize_name
from pipguard.core.printable import safe_line
from pipguard.core.redaction import redact
from pipguard.core.transactions import close, start
from pipguard.errors import UsageError
from pipguard.ledger import now
from pipguard.ledger.standing import read_constraints_file, read_standing_file, standing_in_force

_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")


@dataclass(frozen=True)
class ConstraintLine:
    requirement: str
    source: str


def check_constraint(text: str, where: str) -> str:
    """A constraint line pip would accept and that limits something; else UsageError."""
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise UsageError(f"invalid constraint {redact(text)!r} ({where}): {redact(str(exc))}.") from None
    if req.extras:
        raise UsageError(f"invalid constraint {redact(text)!r} ({where}): constraints cannot have extras "
                         "(pip refuses them). Drop the [extras].")
    if not req.specifier and not req.url:
        raise UsageError(f"constraint {text!r} ({where}) has no version specifier, so it limits "
                         "nothing. Give one, such as 'name<2' or 'name===1.4.2'.")
    return requirement_text(req)


# -- what the ledger holds, in force ---------------------------------------------------


# -- what the user gave ----------------------------------------------------------------


def looks_like_file(item: str) -> bool:
    return os.path.exists(item) or os.sep in item or item.endswith(".txt")


def is_url_constraint(item: str) -> bool:
    """``name @ URL``: a constraint, never a path, however many slashes it holds."""
    if "://" not in item:
        return False
    try:
        return Requirement(item).url is not None
    except InvalidRequirement:
        return False


def _refuse_url(item: str) -> None:
    if "://" in item and not is_url_constraint(item):
        raise UsageError(
            f"pipguard constraints: {redact(item)!r} is a URL, not a constraints file pipguard can read "
            "on every run. Download it and add the file, or give a constraint as 'name @ URL'."
        )


@dataclass(frozen=True)
class Items:
    files: tuple[str, ...]  # absolute paths
    lines: tuple[ConstraintLine, ...]  # from the command line


def read_items(items: Sequence[str]) -> Items:
    """Files (checked by reading them now) and command-line constraints."""
    files: list[str] = []
    lines: list[ConstraintLine] = []
    for item in items:
        _refuse_url(item)
        if not is_url_constraint(item) and looks_like_file(item):
            path = Path(item).resolve()
            read_constraints_file(path)  # every line must be a valid constraint
            files.append(str(path))
        else:
            lines.append(ConstraintLine(check_constraint(item, COMMAND_LINE), COMMAND_LINE))
    return Items(tuple(dict.fromkeys(files)), tuple(lines))


def _name_of(requirement: str) -> str:
    return canonicalize_name(Requirement(requirement).name)


def added(standing: Sequence[StandingConstraint], lines: Sequence[ConstraintLine],
          txn_id: int) -> tuple[StandingConstraint, ...]:
    """*standing* with *lines* added: a command-line constraint replaces earlier
    command-line ones for the same name; lines already there keep their transaction (pure)."""
    names = {_name_of(line.requirement) for line in lines if line.source == COMMAND_LINE}
    kept = [item for item in standing
            if not (item.source == COMMAND_LINE and _name_of(item.requirement) in names)]
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


def added_files(files: Sequence[StandingFile], paths: Sequence[str], txn_id: int) -> tuple[StandingFile, ...]:
    """*files* with *paths* added (a file already followed keeps its transaction) (pure)."""
    known = {item.path for item in files}
    return (*files, *(StandingFile(path, txn_id) for path in paths if path not in known))


def _item_path(item: str) -> str:
    return str(Path(item).resolve())


def removed(
    standing: Sequence[StandingConstraint], files: Sequence[StandingFile], items: Sequence[str],
    in_force: Sequence[StandingConstraint] = (),
) -> tuple[tuple[StandingConstraint, ...], tuple[StandingFile, ...]]:
    """*standing* and *files* less what *items* name: a file, or a project name (pure).

    *in_force*: the lines read from the followed files (to say where a name
    comes from when only a file holds it).
    """
    paths, names, unmatched = set(), set(), []
    followed = {item.path for item in files}
    sources = {item.source for item in standing} | followed
    for item in items:
        _refuse_url(item)
        if not is_url_constraint(item) and looks_like_file(item):
            path = _item_path(item)
            paths.add(path)
            if path not in sources:
                unmatched.append(item)
            continue
        try:
            name = canonicalize_name(Requirement(item).name)
        except InvalidRequirement:
            raise UsageError(f"{redact(item)!r} is neither a constraints file nor a project name.") from None
        names.add(name)
        if not any(_name_of(s.requirement) == name for s in standing):
            holders = sorted({s.source for s in in_force if s.source in followed and _name_of(s.requirement) == name})
            if holders:
                raise UsageError(
                    f"pipguard constraints: {item} comes from the standing file {', '.join(holders)}, which "
                    "pipguard reads on every run: edit that file, or forget the whole file with "
                    f"'pipguard constraints remove {holders[0]}'."
                )
            unmatched.append(item)
    if unmatched:
        raise UsageError(f"no standing constraint comes from or names {', '.join(map(redact, unmatched))}. "
                         "See 'pipguard constraints list'.")
    return (
        tuple(s for s in standing if s.source not in paths and _name_of(s.requirement) not in names),
        tuple(f for f in files if f.path not in paths),
    )


# -- the command ------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}. See '{self.prog} --help'.")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pipguard constraints",
                     description="Constraints pipguard applies to every later install, even without -c.")
    sub = parser.add_subparsers(dest="action", metavar="{add,list,remove}")
    add = sub.add_parser("add", help="make constraints standing: FILE (e.g. upper-constraints.txt, read "
                         "again on every run) or REQ ('name<2', 'name @ URL')")
    add.add_argument("items", nargs="+", metavar="FILE|REQ")
    show = sub.add_parser("list", help="list standing constraints and where each comes from")
    show.add_argument("--json", action="store_true", help="print JSON")
    drop = sub.add_parser("remove", help="forget standing constraints: FILE or NAME")
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
        with target.store.locked(shared=True):
            ledger = target.store.load() or LedgerState()
        return list_standing(ledger, str(target.store.path), ns.json)
    if ns.action == "remove" and not ns.items and not ns.all:
        raise UsageError("pipguard constraints remove: name a FILE or NAME, or give --all.")
    items = read_items(ns.items) if ns.action == "add" else Items((), ())
    with target.store.locked():
        session = open_session(target)
        for note in session.notes:
            say(note)
        ledger = session.ledger
        if ns.action == "add":
            standing = added(ledger.standing, items.lines, ledger.next_id)
            files = added_files(ledger.standing_files, items.files, ledger.next_id)
        elif ns.all:
            standing, files = (), ()
        else:
            in_force = _readable_lines(ledger)
            standing, files = removed(ledger.standing, ledger.standing_files, ns.items, in_force)
        if standing == ledger.standing and files == ledger.standing_files:
            say("pipguard: the standing constraints are unchanged.")
            return 0
        txn = start(ledger, "constraints", ["constraints", *args], session.state.pip_version, ledger.policy,
                    now, constraints=items.files, status="committed")
        done = close(ledger, txn, "committed", now, standing=standing, standing_files=files)
        ledger = target.store.finish(ledger, done)
    before = len(session.ledger.standing) + len(session.ledger.standing_files)
    after = len(standing) + len(files)
    if ns.action == "add":
        lines = standing_in_force(ledger)
        say(f"pipguard: {len(lines)} standing constraints, from {len(files)} file(s) read on every run and "
            f"{len(standing)} given here (transaction {txn.id}). Later installs honour them even without -c.")
        needs = []
        for item in lines:
            needs += standing_needs([item.requirement], item.source, session.state.markers)
        dists, outside = session.state.distributions, session.ledger.outside
        violations = guarded_violations(dists, needs, outside)
        for violation in violations[:VIOLATIONS_SHOWN]:
            say(f"pipguard: warning: {violation.describe()} (pipguard check reports it; later "
                "installs are not blocked by it, but may not make it worse).")
        if len(violations) > VIOLATIONS_SHOWN:
            say(f"pipguard: warning: ... and {len(violations) - VIOLATIONS_SHOWN} more ('pipguard check' "
                "lists them all).")
        unmet = outside_standing_violations(dists, needs, outside)
        if unmet:
            say(f"pipguard: note: seen from outside the environment, not judged by standing constraints "
                f"('pipguard outside protect' would): {outside_unmet_summary(unmet)}.")
    else:
        say(f"pipguard: forgot {before - after} standing constraint file(s) or line(s); {after} remain "
            f"(transaction {txn.id}).")
    return 0


# Violations of new standing constraints named by 'constraints add' (check lists them all).
VIOLATIONS_SHOWN = 10


def _readable_lines(ledger: LedgerState) -> list[StandingConstraint]:
    found: list[StandingConstraint] = []
    for item in ledger.standing_files:
        try:
            found += read_standing_file(item)
        except UsageError:
            continue  # a vanished file can still be forgotten
    return found


def list_standing(ledger: LedgerState, path: str, as_json: bool) -> int:
    lines = list(ledger.standing)
    files: list[dict[str, Any]] = []
    for followed in ledger.standing_files:
        try:
            read = read_standing_file(followed)
        except UsageError as exc:
            files.append({"path": followed.path, "added_by": followed.added_by, "lines": None, "error": str(exc)})
            continue
        lines += read
        files.append({"path": followed.path, "added_by": followed.added_by, "lines": len(read), "error": None})
    if as_json:
        print(json.dumps({
            "schema": 1,
            "ledger": path,
            "standing": [{"requirement": redact(s.requirement), "source": redact(s.source), "added_by": s.added_by}
                         for s in lines],
            "files": files,
        }, indent=1))
    else:
        width = max((len(s.requirement) for s in lines), default=0)
        for item in lines:
            print(safe_line(redact(f"{item.requirement:<{width}}  {item.source} (transaction {item.added_by})")))
    for info in files:
        if info["error"]:
            say(f"pipguard: warning: {info['error']}")
    if not lines and not files and not as_json:
        say("pipguard: no standing constraints.")
    return 0

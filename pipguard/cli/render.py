"""Text, JSON and JUnit XML for the inspection and check results (pure).

Every function takes a result object and returns a string or a JSON-ready
dict; printing and writing files is the commands' business. Every JSON
document carries ``schema`` (this module's ``JSON_SCHEMA``) and ``kind``;
the keys are documented in docs/inspection.md and docs/ci.md.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from pipguard.core.model import STATUSES, Change, Distribution, Root, RootChange, Transaction
from pipguard.core.printable import root_dict as root_dict
from pipguard.core.printable import safe_line
from pipguard.core.printable import table as table
from pipguard.core.redaction import printable, redact, redact_all
from pipguard.ledger.codec import transaction_public_data

if TYPE_CHECKING:  # the result types only: every command imports this module, few need each of them
    from pipguard.core.conflicts import Clash, PlanResult
    from pipguard.core.constraints import Violation
    from pipguard.core.health import CheckResult, Problem
    from pipguard.core.views import Compacted, HistoryView, LedgerView, Pin, WhyResult

# Version of every --json document pipguard prints (not the ledger file's own schema).
JSON_SCHEMA = 1
# Changes listed per transaction in the history list (all of them with 'history N').
CHANGES_SHOWN = 8


def lines_text(lines: Sequence[str]) -> str:
    """Lines as text for a terminal: each made one printable line, each ending in a newline."""
    return "".join(safe_line(line) + "\n" for line in lines)


def _indent(text: str, prefix: str) -> list[str]:
    return [prefix + line for line in text.splitlines()]


def _without_prefix(text: str) -> str:
    return text[len("pipguard: "):] if text.startswith("pipguard: ") else text


def command_text(txn: Transaction) -> str:
    """The command a transaction ran, credentials redacted, quoted for a shell, printable."""
    return printable(shlex.join(redact_all(txn.argv)) if txn.argv else txn.command)


def outside_note(count: int, policy: str, unmet: Sequence[Violation] = ()) -> str:
    """One line about the distributions seen only from outside the environment."""
    plural = "s" if count != 1 else ""
    if policy == "protect":
        return (f"pipguard: {count} distribution{plural} seen from outside the environment (base interpreter, "
                "user site, PYTHONPATH) are protected too ('pipguard outside ignore' stops that).")
    standing = ""
    if unmet:
        from pipguard.core.health import outside_unmet_summary  # only with something to summarise

        standing = f"; standing constraints judge only the environment's own, not {outside_unmet_summary(unmet)}"
    return (f"pipguard: {count} distribution{plural} seen from outside the environment (base interpreter, user "
            f"site, PYTHONPATH) are not guarded: their requirements do not block installs{standing} ('pipguard "
            "outside protect' guards them too).")


# -- ledger ---------------------------------------------------------------------


def ledger_json(view: LedgerView) -> dict[str, Any]:
    return {
        "schema": JSON_SCHEMA,
        "kind": "ledger",
        "ledger_path": view.ledger_path,
        "has_ledger": view.has_ledger,
        "policy": view.policy,
        "roots": [
            {**root_dict(row.root), "installed": row.installed, "recorded": row.recorded,
             "satisfied": row.satisfied}
            for row in view.rows
        ],
        "standing": [
            {"requirement": s.requirement, "source": redact(s.source), "added_by": s.added_by}
            for s in view.standing
        ],
    }


def ledger_text(view: LedgerView) -> str:
    rows = []
    for row in view.rows:
        installed = row.installed or "(not installed)"
        if row.installed is not None and row.drifted:
            installed += f" (was {row.recorded or 'not installed'})"
        if row.installed is not None and not row.satisfied:
            installed += " (unmet)"
        added = str(row.root.added_by) + (" (baseline)" if row.root.kind == "baseline" else "")
        rows.append([row.root.name, row.root.requirement, installed, added, redact(row.source)])
    lines = table(["NAME", "REQUIREMENT", "INSTALLED", "ADDED BY", "SOURCE"], rows) if rows else []
    by_source: dict[tuple[str, int], int] = {}
    for item in view.standing:
        key = (redact(item.source), item.added_by)
        by_source[key] = by_source.get(key, 0) + 1
    for (source, added_by), count in sorted(by_source.items()):
        lines.append(f"standing constraints: {count} from {source} (transaction {added_by})")
    return lines_text(lines)


# -- why ----------------------------------------------------------------------------


def why_json(result: WhyResult) -> dict[str, Any]:
    return {
        "schema": JSON_SCHEMA,
        "kind": "why",
        "name": result.name,
        "display_name": result.display_name,
        "installed": result.installed,
        "root": root_dict(result.root) if result.root else None,
        "needed": result.needed,
        "merged_specifier": result.merged_specifier,
        "satisfied": result.satisfied,
        "required_by": [
            {
                "kind": r.need.kind,
                "by": r.need.source,
                "label": r.need.required_by,
                "version": r.version,
                "specifier": r.need.specifier,
                "extras": list(r.need.extras),
                "satisfied": r.satisfied,
            }
            for r in result.requirers
        ],
        "chains": [
            {
                "root": chain.root,
                "root_requirement": chain.root_requirement,
                "links": [
                    {"name": link.name, "label": link.display, "requires": link.requires,
                     "specifier": link.specifier}
                    for link in chain.links
                ],
                "text": chain.describe(),
            }
            for chain in result.chains
        ],
    }


def why_text(result: WhyResult) -> str:
    name = result.name
    have = f"{name} {result.installed} is installed" if result.installed else f"{name} is not installed"
    lines = []
    if result.root is not None:
        added = ("there before pipguard" if result.root.kind == "baseline"
                 else f"added by transaction {result.root.added_by}")
        lines.append(f"{have}; it is a root: {result.root.requirement} ({added}).")
    if not result.needed:
        if result.root is None:
            lines.append(f"Nothing needs {name}: {have}, but no root, installed distribution or "
                         "standing constraint requires it.")
        return lines_text(lines)
    met = "met" if result.satisfied else "NOT met"
    count = len(result.requirers)
    merged = f"{name}{result.merged_specifier}" if result.merged_specifier else "any version"
    if result.root is None:
        lines.append(f"{have}; {count} requirement{'s' if count != 1 else ''} on it, "
                     f"merged: {merged} ({met}).")
    else:
        lines.append(f"{count} requirement{'s' if count != 1 else ''} on it, merged: {merged} ({met}).")
    rows = []
    for requirer in result.requirers:
        need = requirer.need
        extras = f"[{','.join(need.extras)}]" if need.extras else ""
        rows.append([need.required_by, f"{name}{extras}{need.specifier}",
                     "yes" if requirer.satisfied else "no"])
    lines.append("")
    lines += table(["REQUIRED BY", "REQUIREMENT", "MET"], rows)
    if result.chains:
        lines.append("")
        lines.append("from the roots:")
        lines += [f"  {chain.describe()}" for chain in result.chains]
    else:
        lines.append("")
        lines.append(f"No root reaches {name}: only the distributions above need it.")
    return lines_text(lines)


# -- history ---------------------------------------------------------------------


def change_dict(change: Change) -> dict[str, Any]:
    return {"name": change.name, "before": change.before, "after": change.after}


def transaction_dict(txn: Transaction) -> dict[str, Any]:
    """A transaction's full record (as the journal keeps it: the ledger's own encoder),
    credentials redacted."""
    return transaction_public_data(txn)


def compacted_dict(compacted: Compacted | None) -> dict[str, Any] | None:
    if compacted is None:
        return None
    return {"first": compacted.first, "last": compacted.last, "at": compacted.at}


def history_head(view: HistoryView) -> dict[str, Any]:
    """The history document without its transactions (``history_json`` adds them)."""
    return {
        "schema": JSON_SCHEMA,
        "kind": "history",
        "ledger_path": view.ledger_path,
        "has_ledger": view.has_ledger,
        "total": view.total,
        "first_id": view.first_id,
        "last_id": view.last_id,
        "compacted": compacted_dict(view.compacted),
    }


def history_json(view: HistoryView) -> dict[str, Any]:
    return {
        **history_head(view),
        "transactions": [transaction_dict(t) for t in view.transactions],
        "unrecorded": [change_dict(c) for c in view.unrecorded],
    }


def history_json_chunks(view: HistoryView) -> Iterator[str]:
    """``history_json`` as text, streamed: one transaction at a time (a long journal
    is never held in memory). The same document as ``json.dumps(history_json(view))``."""
    head = json.dumps(history_head(view), indent=2)
    yield head[:-2] + ',\n  "transactions": ['
    for number, txn in enumerate(view.transactions):
        text = json.dumps(transaction_dict(txn), indent=2).replace("\n", "\n    ")
        yield ("," if number else "") + "\n    " + text
    unrecorded = json.dumps([change_dict(c) for c in view.unrecorded], indent=2).replace("\n", "\n  ")
    yield f'\n  ],\n  "unrecorded": {unrecorded}\n}}\n'


def _shows_reason(txn: Transaction) -> bool:
    return txn.status in ("rejected", "failed", "interrupted", "unguarded") and bool(txn.reason)


# Columns of the history list: fixed widths, so that a journal of any length is
# printed as it is read (the id column fits the newest id; ISO times; the longest status).
_STARTED_WIDTH = 20
_STATUS_WIDTH = max(len(status) for status in (*STATUSES, "unrecorded"))


def _history_row(cells: Sequence[str], id_width: int) -> str:
    widths = (id_width, _STARTED_WIDTH, _STATUS_WIDTH)
    padded = [cell.ljust(width) for cell, width in zip(cells, widths)]
    return "  ".join([*padded, *cells[len(widths):]]).rstrip()


def history_lines(view: HistoryView) -> Iterator[str]:
    """The history list (or one transaction in full), line by line, as it is read."""
    if view.detail:
        for txn in view.transactions:
            yield from transaction_detail(txn).splitlines()
        return
    id_width = max(len("ID"), len(str(view.last_id)))
    indent = " " * 6
    header = False
    for txn in view.transactions:
        if not header:
            yield _history_row(["ID", "STARTED", "STATUS", "COMMAND"], id_width)
            header = True
        yield _history_row([str(txn.id), txn.started, txn.status, command_text(txn)], id_width)
        for change in txn.changes[:CHANGES_SHOWN]:
            yield indent + change.describe()
        if len(txn.changes) > CHANGES_SHOWN:
            yield (f"{indent}... and {len(txn.changes) - CHANGES_SHOWN} more "
                   f"('pipguard history {txn.id}' lists them all)")
        if _shows_reason(txn):
            yield from _indent(_without_prefix(redact(txn.reason)), indent)
    if view.unrecorded:
        if not header:
            yield _history_row(["ID", "STARTED", "STATUS", "COMMAND"], id_width)
        yield _history_row(["-", "now", "unrecorded", "changed outside pipguard, not yet in the ledger"], id_width)
        yield from (indent + change.describe() for change in view.unrecorded)


def history_text(view: HistoryView) -> str:
    return lines_text(list(history_lines(view)))


def transaction_detail(txn: Transaction) -> str:
    rows = [
        ["command:", command_text(txn)],
        ["status:", txn.status],
        ["started:", txn.started],
        ["finished:", txn.finished or "(not finished)"],
        ["pip:", txn.pip_version or "(unknown)"],
        ["policy:", txn.policy],
    ]
    if txn.engine != "pip":
        rows.append(["engine:", txn.engine])
    if txn.constraints:
        rows.append(["constraints:", ", ".join(redact_all(txn.constraints))])
    lines = [f"transaction {txn.id}"]
    lines += ["  " + line for line in table(["", ""], rows)[1:]]
    lines.append("  changes:" if txn.changes else "  changes:   (none)")
    lines += ["    " + change.describe() for change in txn.changes]
    if txn.roots:
        lines.append("  roots:")
        lines += ["    " + _describe_root_change(change) for change in txn.roots]
    if txn.reason:
        lines.append("  reason:")
        lines += _indent(_without_prefix(redact(txn.reason)), "    ")
    return lines_text(lines)


def _describe_root_change(change: RootChange) -> str:
    def spell(root: Root | None) -> str:
        if root is None:
            return "(none)"
        source = f" (editable {root.editable})" if root.editable else (f" ({root.url})" if root.url else "")
        return redact(root.requirement + source)

    if change.before is None:
        return f"added {spell(change.after)}"
    if change.after is None:
        return f"removed {spell(change.before)}"
    return f"{spell(change.before)} -> {spell(change.after)}"


# -- export ---------------------------------------------------------------------


def export_text(pins: Sequence[Pin], header: Sequence[str]) -> str:
    lines = [f"# {line}" if line else "#" for line in header]
    lines += [pin.line for pin in pins]
    return lines_text(lines)


def export_json(
    pins: Sequence[Pin],
    ledger: Mapping[str, Any] | None,
    *,
    left_out: Sequence[tuple[Distribution, str]] = (),
    ledger_path: str,
    python: Mapping[str, str],
    markers: Mapping[str, str],
    problems: Sequence[Problem],
) -> dict[str, Any]:
    return {
        "schema": JSON_SCHEMA,
        "kind": "export",
        "ledger_path": ledger_path,
        "has_ledger": ledger is not None,
        "python": dict(python),
        "markers": dict(markers),
        "constraints": [
            {"name": p.name, "version": p.version, "marker": p.marker, "note": p.note, "line": p.line}
            for p in pins
        ],
        "not_exported": [{"name": dist.display_name or dist.name, "version": dist.version, "reason": reason}
                         for dist, reason in left_out],
        "problems": [p.to_dict() for p in problems],
        "ledger": dict(ledger) if ledger is not None else None,
    }


# -- check ----------------------------------------------------------------------


def check_json(result: CheckResult) -> dict[str, Any]:
    return {
        "schema": JSON_SCHEMA,
        "kind": "check",
        "ok": result.ok,
        "ledger_path": result.ledger_path,
        "has_ledger": result.has_ledger,
        "since": result.since,
        "roots": [
            {"name": s.name, "requirement": s.requirement, "installed": s.installed, "ok": s.ok,
             "problems": list(s.problems)}
            for s in result.root_status
        ],
        "problems": [p.to_dict() for p in result.findings()],
        "outside": {
            "policy": result.outside_policy,
            "distributions": [{"name": name, "version": version} for name, version in result.outside],
            # standing constraints these do not meet: reported, not problems (under the ignore policy)
            "unmet_constraints": [{"name": v.need.name, "version": v.installed, "constraint": v.need.describe(),
                                   "source": v.need.source} for v in result.outside_unmet],
        },
    }


def _clash_json(clash: Clash) -> dict[str, Any]:
    return clash.to_dict()


def plan_json(result: PlanResult) -> dict[str, Any]:
    return {
        "schema": JSON_SCHEMA,
        "kind": "plan",
        "ok": result.ok,
        "with_ledger": result.with_ledger,
        "ledger_path": result.ledger_path,
        "has_ledger": result.has_ledger,
        "sources": [
            {"label": s.label, "args": redact_all(s.args), "requirements": list(s.requirements)}
            for s in result.sources
        ],
        "constraint_files": redact_all(result.constraint_files),
        "install": [{"name": name, "version": version} for name, version in result.install],
        "changes": [change_dict(c) for c in result.changes],
        "clashes": [_clash_json(c) for c in result.clashes],
        "alone": [
            {"source": label, "clashes": [_clash_json(c) for c in clashes]} for label, clashes in result.alone
        ],
        "warnings": list(result.warnings),
        "pip_summary": result.pip_summary,
        "problems": [p.to_dict() for p in result.findings()],
    }


def plan_text(result: PlanResult) -> str:
    labels = ", ".join(s.label for s in result.sources)
    together = " together" if len(result.sources) > 1 else ""
    where = " in this environment" if result.with_ledger else ""
    if result.constraint_files:
        where += f" (with {', '.join(redact_all(result.constraint_files))})"
    lines = []
    if result.ok:
        lines.append(f"OK: {labels} can be installed{together}{where}.")
        if result.with_ledger:
            lines += [f"  would change {c.describe()}" for c in result.changes]
            if not result.changes:
                lines.append("  (nothing would change)")
        else:
            lines.append("  would install: " + ", ".join(f"{n} {v}" for n, v in result.install))
        lines += [f"  warning: {w}" for w in result.warnings]
        return lines_text(lines)
    lines.append(f"NOT OK: {labels} cannot be installed{together}{where}.")
    for problem in result.findings():
        lines.append(f"  {problem.message}")
    if result.pip_summary:
        lines.append(f"  (pip: {result.pip_summary})")
    return lines_text(lines)


# -- JUnit XML --------------------------------------------------------------------

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


class Case(NamedTuple):
    classname: str
    name: str
    failure: str | None = None  # the failure's one-line message; None: passed
    detail: str = ""


def junit_xml(suite: str, cases: Sequence[Case], timestamp: str = "") -> str:
    """One <testsuite> in <testsuites>, as CI services read it."""
    import xml.etree.ElementTree as ET  # only --junit needs it

    def clean(text: str) -> str:
        return _XML_INVALID.sub("?", text)

    failures = sum(1 for case in cases if case.failure is not None)
    root = ET.Element("testsuites", name="pipguard", tests=str(len(cases)), failures=str(failures),
                      errors="0")
    attrs = {"name": suite, "tests": str(len(cases)), "failures": str(failures), "errors": "0",
             "skipped": "0"}
    if timestamp:
        attrs["timestamp"] = timestamp
    element = ET.SubElement(root, "testsuite", attrs)
    for case in cases:
        node = ET.SubElement(element, "testcase", classname=clean(case.classname), name=clean(case.name))
        if case.failure is not None:
            failure = ET.SubElement(node, "failure", message=clean(case.failure), type="pipguard")
            failure.text = clean(case.detail or case.failure)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def check_cases(result: CheckResult) -> list[Case]:
    """One test case per root (failing when it or what it needs is broken), one per problem."""
    cases = [
        Case("pipguard.roots", status.requirement,
             None if status.ok else f"{status.requirement}: " + "; ".join(status.problems),
             "\n".join(status.problems))
        for status in result.root_status
    ]
    for problem in result.findings():
        cases.append(Case(f"pipguard.problems.{problem.kind}", problem.subject, problem.message,
                          problem.message + ("\n\n" + redact(problem.detail) if problem.detail else "")))
    if not cases:
        cases.append(Case("pipguard.system.environment", "environment consistent"))
    return cases


def plan_cases(result: PlanResult) -> list[Case]:
    """One test case per source (failing when it takes part in a problem), one per problem."""
    problems = result.findings()
    involved: dict[str, list[str]] = {}
    for clash in result.clashes:
        for label in clash.sources:
            involved.setdefault(label, []).append(clash.describe())
    for label, clashes in result.alone:
        involved.setdefault(label, []).extend(c.describe() for c in clashes)
        if not clashes:
            involved[label].append(f"{label} cannot be installed even on its own.")
    cases = []
    for source in result.sources:
        messages = involved.get(source.label, [])
        if not messages and result.unexplained:
            messages = [result.unexplained]
        cases.append(Case("pipguard.plan.sources", source.label,
                          messages[0] if messages else None, "\n".join(messages)))
    for problem in problems:
        cases.append(Case(f"pipguard.plan.{problem.kind}", problem.subject, problem.message, problem.message))
    return cases

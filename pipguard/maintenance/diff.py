"""What differs between two points of an environment's history (pure).

A point is the ledger's record after some transaction: the distributions'
versions, the roots (specifiers, extras, editables, URLs) and the standing
constraints. ``pipguard diff`` shows the difference of two points (or of one
and now); ``pipguard rollback N --dry-run`` shows the difference between now
and the point after N.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipguard.core.model import Change, Root, RootChange, StandingConstraint, StandingFile
from pipguard.core.names import NormalizedName
from pipguard.core.printable import root_dict, table
from pipguard.core.redaction import redact
from pipguard.core.transactions import changes_between, root_changes


@dataclass(frozen=True)
class Snapshot:
    """The ledger's record at one point: after transaction ``label`` (or "now")."""

    label: str
    distributions: Mapping[NormalizedName, str] = field(default_factory=dict)
    roots: Mapping[NormalizedName, Root] = field(default_factory=dict)
    standing: tuple[StandingConstraint, ...] = ()
    standing_files: tuple[StandingFile, ...] = ()


@dataclass(frozen=True)
class StateDiff:
    """From one snapshot to another: versions, roots, standing constraints."""

    before: str
    after: str
    versions: tuple[Change, ...] = ()
    roots: tuple[RootChange, ...] = ()
    standing_added: tuple[StandingConstraint, ...] = ()
    standing_removed: tuple[StandingConstraint, ...] = ()
    files_added: tuple[StandingFile, ...] = ()
    files_removed: tuple[StandingFile, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.versions or self.roots or self.standing_added or self.standing_removed
                    or self.files_added or self.files_removed)


def _by_line(items: tuple[StandingConstraint, ...]) -> dict[tuple[str, str], StandingConstraint]:
    return {(item.requirement, item.source): item for item in items}


def diff_snapshots(before: Snapshot, after: Snapshot) -> StateDiff:
    old, new = _by_line(before.standing), _by_line(after.standing)
    old_files = {f.path: f for f in before.standing_files}
    new_files = {f.path: f for f in after.standing_files}
    return StateDiff(
        before=before.label,
        after=after.label,
        versions=changes_between(before.distributions, after.distributions),
        roots=root_changes(before.roots, after.roots),
        standing_added=tuple(new[key] for key in sorted(set(new) - set(old))),
        standing_removed=tuple(old[key] for key in sorted(set(old) - set(new))),
        files_added=tuple(new_files[p] for p in sorted(set(new_files) - set(old_files))),
        files_removed=tuple(old_files[p] for p in sorted(set(old_files) - set(new_files))),
    )


# -- words --------------------------------------------------------------------------------


def root_text(root: Root) -> str:
    """A root as the user asked for it: requirement, or ``-e PATH`` / ``name @ URL``."""
    extras = f"[{','.join(root.extras)}]" if root.extras else ""
    if root.editable:
        return f"-e {redact(root.editable)}{extras} ({root.display_name})"
    if root.url:
        return f"{root.display_name}{extras} @ {redact(root.url)}"
    return root.requirement


def describe_root_change(change: RootChange) -> str:
    if change.before is None and change.after is not None:
        return f"+ {root_text(change.after)}"
    if change.after is None and change.before is not None:
        return f"- {root_text(change.before)}"
    assert change.before is not None and change.after is not None
    before, after = root_text(change.before), root_text(change.after)
    if before == after:
        return f"~ {after} (recorded by transaction {change.after.added_by} instead of "\
               f"{change.before.added_by})"
    return f"~ {before}  ->  {after}"


def column(label: str) -> str:
    """A point's column heading: "after 3", or "now"."""
    return f"after {label}" if label.isdigit() else label


def _version_cell(version: str | None) -> str:
    return version if version is not None else "-"


def diff_lines(diff: StateDiff) -> list[str]:
    """The difference as aligned text (empty when there is none)."""
    lines: list[str] = []
    if diff.versions:
        rows = [[c.name, _version_cell(c.before), _version_cell(c.after)] for c in diff.versions]
        lines += table(["name", column(diff.before), column(diff.after)], rows)
    if diff.roots:
        lines += ["", "roots:"] if lines else ["roots:"]
        lines += ["  " + describe_root_change(c) for c in diff.roots]
    standing = [f"  + {redact(s.requirement)} ({_source(s)})" for s in diff.standing_added]
    standing += [f"  - {redact(s.requirement)} ({_source(s)})" for s in diff.standing_removed]
    standing += [f"  + file {f.path}" for f in diff.files_added]
    standing += [f"  - file {f.path}" for f in diff.files_removed]
    if standing:
        lines += ["", "standing constraints:"] if lines else ["standing constraints:"]
        lines += standing
    return lines


def _source(item: StandingConstraint) -> str:
    return "command line" if item.source == "command line" else f"from {redact(item.source)}"


def diff_dict(diff: StateDiff) -> dict[str, Any]:
    def root(value: Root | None) -> dict[str, Any] | None:
        return root_dict(value) if value is not None else None

    return {
        "from": diff.before,
        "to": diff.after,
        "versions": [{"name": c.name, "before": c.before, "after": c.after} for c in diff.versions],
        "roots": [{"name": c.name, "before": root(c.before), "after": root(c.after)} for c in diff.roots],
        "standing": {
            "added": [{"requirement": redact(s.requirement), "source": redact(s.source)} for s in diff.standing_added],
            "removed": [{"requirement": redact(s.requirement), "source": redact(s.source)}
                        for s in diff.standing_removed],
            "files_added": [f.path for f in diff.files_added],
            "files_removed": [f.path for f in diff.files_removed],
        },
    }

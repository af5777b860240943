"""Standing constraints files (an I/O edge): the files ``pipguard constraints add`` follows.

The ledger records a followed file by its path; its lines are read again
on every run (devstack edits upper-constraints.txt in place), as pip
reads a constraints file. ``pipguard constraints`` manages the list; every
command that judges a plan reads the lines in force through here.
"""

from __future__ import annotations

from pathlib import Path

from pipguard.core.model import LedgerState, StandingConstraint, StandingFile
from pipguard.errors import UsageError


def read_constraints_file(path: Path) -> list[str]:
    """The constraint lines of a constraints file, read as pip reads it (nested files, encodings,
    continuations, ``${VAR}``); a bare name constrains nothing and is left out."""
    from pipguard.core.constraints import remember_requirement
    from pipguard.pip.request import read_constraints_file as read_lines

    # parsed once here, not again when the lines are turned into needs
    return [remember_requirement(line.requirement) for line in read_lines(str(path))
            if line.requirement.specifier or line.requirement.url]



def read_standing_file(item: StandingFile) -> list[StandingConstraint]:
    """The lines of a standing file, read now; a clear error (exit 2) naming it if it cannot be."""
    try:
        lines = read_constraints_file(Path(item.path))
    except UsageError as exc:
        raise UsageError(
            f"the standing constraints file {item.path} (added by transaction {item.added_by}) cannot be "
            f"used: {str(exc).rstrip('.')}. pipguard reads it on every run. Put it back, or forget it "
            f"with: pipguard constraints remove {item.path}"
        ) from None
    return [StandingConstraint(line, item.path, item.added_by) for line in lines]



def standing_in_force(ledger: LedgerState) -> tuple[StandingConstraint, ...]:
    """The command line's constraints and every standing file's lines, read now."""
    found = list(ledger.standing)
    for item in ledger.standing_files:
        found += read_standing_file(item)
    return tuple(found)

"""Standing constraints files (an I/O edge): the files ``pipguard constraints add`` follows.

The ledger records a followed file by its path; its lines are read again
on every run (devstack edits upper-constraints.txt in place), as pip
reads a constraints file. ``pipguard constraints`` manages the list; every
command that judges a plan reads the lines in force through here.

Reading a file as pip reads it costs pip's command-line tables, the
requirement parser and a parse of every line (~60 ms for OpenStack's 575
pins), on every command, even one that only prints the ledger. So the
lines of a file that is all its own (no ``-r``/``-c`` of another file, no
``$`` that could expand an environment variable) are kept beside the
probe's cache, under the file's identity (device, inode, size, modification
and change times), with the versions of pipguard and packaging that read
them; an edit in place changes the change time at least, and the file is
read again. The cache is only a cache: written and read as the probe's is
(``system.environment``), and any doubt reads the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipguard.core.model import LedgerState, StandingConstraint, StandingFile
from pipguard.errors import UsageError

_CACHE_SCHEMA = 1


def read_constraints_file(path: Path) -> list[str]:
    """The constraint lines of a constraints file, read as pip reads it (nested files, encodings,
    continuations, ``${VAR}``); a bare name constrains nothing and is left out."""
    return _read_lines(path)[0]


def _read_lines(path: Path) -> tuple[list[str], bool, list[list[str] | None]]:
    """The constraint lines of *path*; whether they depend on its bytes alone (no nested
    file, no remote one, no environment variable): only then may they be kept; and what a
    standing need takes of each line, as packaging parsed it."""
    from pipguard.core.constraints import remember_requirement, standing_line_parts
    from pipguard.pip.request import constraint_lines, read_requirements_file

    content = read_requirements_file(str(path), constraint=True)
    wanted = [line.requirement for line in constraint_lines(content.constraints)
              if line.requirement.specifier or line.requirement.url]
    # parsed once here, not again when the lines are turned into needs
    lines = [remember_requirement(requirement) for requirement in wanted]
    parts = [standing_line_parts(requirement) for requirement in wanted]
    alone = content.constraint_files == (str(path),) and not content.requirement_files and not content.remote
    return lines, alone, [list(part) if part is not None else None for part in parts]


def _identity(path: str) -> list[int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


def _signature(path: str, identity: list[int]) -> str:
    import packaging

    from pipguard import __version__

    return json.dumps([_CACHE_SCHEMA, __version__, packaging.__version__, path, identity])


def standing_cache_path(probe_cache: Path) -> Path:
    """Where the lines of standing files are kept, beside the probe's cache."""
    return probe_cache.with_name(probe_cache.name + "-standing")


def _kept_lines(cache: Path, path: str) -> list[str] | None:
    from pipguard.system.environment import read_cache

    identity = _identity(path)
    data = read_cache(cache) if identity is not None else None
    if data is None or identity is None or data["signature"] != _signature(path, identity):
        return None
    lines, parts = data.get("lines"), data.get("parts")
    if (not isinstance(lines, list) or not all(isinstance(line, str) for line in lines)
            or not isinstance(parts, list) or len(parts) != len(lines)):
        return None
    taken: list[tuple[str, str, str]] = []
    for line, part in zip(lines, parts):
        if part is None:
            continue
        if not (isinstance(part, list) and len(part) == 2 and all(isinstance(x, str) for x in part)):
            return None
        taken.append((line, part[0], part[1]))
    from pipguard.core.constraints import remember_standing_line
    from pipguard.core.names import NormalizedName

    for line, name, specifier in taken:
        remember_standing_line(line, NormalizedName(name), specifier)
    return lines


def _keep_lines(cache: Path, path: str, before: list[int] | None, lines: list[str],
                parts: list[list[str] | None]) -> None:
    """Keep *lines* for the file as it was before it was read (*before*), if it is still so."""
    from pipguard.system.environment import write_cache

    if before is None or _identity(path) != before:
        return
    try:
        if b"$" in Path(path).read_bytes():  # ${VAR}: the lines depend on the environment too
            return
    except OSError:
        return
    write_cache(cache, json.dumps({"signature": _signature(path, before), "lines": lines, "parts": parts}))


def _lines_of(path: str, cache: Path | None, keep: bool) -> list[str]:
    if cache is None:
        return read_constraints_file(Path(path))
    kept = _kept_lines(cache, path)
    if kept is not None:
        return kept
    if not keep:
        return read_constraints_file(Path(path))
    before = _identity(path)
    lines, alone, parts = _read_lines(Path(path))
    if alone:
        _keep_lines(cache, path, before, lines, parts)
    return lines


def read_standing_file(item: StandingFile, cache: Path | None = None, keep: bool = True) -> list[StandingConstraint]:
    """The lines of a standing file, read now (or kept in *cache* from a run that read this very
    file; with *keep*, a file read now is kept there: only a lock holder may); a clear error
    (exit 2) naming it if it cannot be read."""
    try:
        lines = _lines_of(item.path, cache, keep)
    except UsageError as exc:
        raise UsageError(
            f"the standing constraints file {item.path} (added by transaction {item.added_by}) cannot be "
            f"used: {str(exc).rstrip('.')}. pipguard reads it on every run. Put it back, or forget it "
            f"with: pipguard constraints remove {item.path}"
        ) from None
    return [StandingConstraint(line, item.path, item.added_by) for line in lines]



def standing_in_force(ledger: LedgerState, cache: Path | None = None,
                      keep: bool = True) -> tuple[StandingConstraint, ...]:
    """The command line's constraints and every standing file's lines, read now (*cache*: where
    the lines of one file may be kept, one file at a time, the last read; *keep*: keep a file
    read now there)."""
    found = list(ledger.standing)
    for item in ledger.standing_files:
        found += read_standing_file(item, cache if len(ledger.standing_files) == 1 else None, keep)
    return tuple(found)

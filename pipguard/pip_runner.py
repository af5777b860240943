"""pip's side of the process edge: its command line, version and report.

Processes themselves are run by ``pipguard.process`` (the one seam);
``run_process``, ``RunningProcess`` and ``ProcessResult`` are re-exported
here for the code that still imports them from this module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from pipguard.errors import EnvironmentError_, PipTooOld

# Re-exported: the seam lives in pipguard.process.
from pipguard.process import ProcessResult as ProcessResult
from pipguard.process import RunningProcess as RunningProcess
from pipguard.process import run_process as run_process

# --dry-run and --report arrived in pip 22.2; the report format is stable
# ("version": "1") from pip 23.0 on.
MINIMUM_PIP = Version("23.0")
# --build-constraint (constraints for isolated build environments).
BUILD_CONSTRAINT_PIP = Version("25.3")


def pip_command(python: str, *args: str) -> list[str]:
    return [python, "-m", "pip", *args]


def check_pip_version(version: str | None, python: str) -> Version:
    """Refuse a target without pip, or with a pip older than pipguard needs."""
    if version is None:
        raise EnvironmentError_(
            f"pip is not installed in the target environment ({python}). "
            f"Install it first: {python} -m ensurepip --upgrade"
        )
    try:
        parsed = Version(version)
    except InvalidVersion:
        raise PipTooOld(f"cannot read the target's pip version {version!r}.") from None
    if parsed < MINIMUM_PIP:
        raise PipTooOld(
            f"the target's pip is {version}; pipguard needs pip {MINIMUM_PIP} or newer "
            f"(for 'pip install --dry-run --report'). Upgrade it with: "
            f"{python} -m pip install --upgrade 'pip>={MINIMUM_PIP}'"
        )
    return parsed


@dataclass(frozen=True)
class PlannedInstall:
    """One item of pip's installation report."""

    name: NormalizedName
    display_name: str
    version: str
    requires: tuple[str, ...]
    requested: bool
    requested_extras: tuple[str, ...]
    editable: str | None
    url: str | None


def _item_from_report(item: Mapping[str, Any]) -> PlannedInstall:
    meta = item.get("metadata", {})
    info = item.get("download_info", {}) or {}
    url = info.get("url")
    editable = url if (info.get("dir_info") or {}).get("editable") else None
    is_direct = bool(item.get("is_direct"))
    return PlannedInstall(
        name=canonicalize_name(meta["name"]),
        display_name=meta["name"],
        version=str(meta["version"]),
        requires=tuple(meta.get("requires_dist", []) or ()),
        requested=bool(item.get("requested")),
        requested_extras=tuple(item.get("requested_extras", []) or ()),
        editable=editable,
        url=url if is_direct and not editable else None,
    )


def parse_report(text: str) -> list[PlannedInstall]:
    """Items of a ``pip install --report`` JSON document (format version 1)."""
    data = json.loads(text)
    return [_item_from_report(item) for item in data.get("install", [])]


def read_report(path: Path) -> list[PlannedInstall]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    if not text.strip():
        return []
    return parse_report(text)


def is_resolution_impossible(result: ProcessResult) -> bool:
    return "ResolutionImpossible" in result.stderr or "ResolutionImpossible" in result.stdout

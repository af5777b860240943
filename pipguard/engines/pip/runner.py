"""pip's side of the process edge: its command line, version and report.

Processes themselves are run by ``pipguard.system.process`` (the one seam);
``run_process``, ``RunningProcess`` and ``ProcessResult`` are re-exported
here for the code that still imports them from this module.
"""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from pipguard.errors import EnvironmentUnusable, PipTooOld

# Re-exported: the seam lives in pipguard.system.process.
from pipguard.system.process import ProcessResult as ProcessResult
from pipguard.system.process import RunningProcess as RunningProcess
from pipguard.system.process import WatchedProcess as WatchedProcess
from pipguard.system.process import run_process as run_process
from pipguard.system.process import work_directory as work_directory

# --dry-run and --report arrived in pip 22.2; the report format is stable
# ("version": "1") from pip 23.0 on.
MINIMUM_PIP = Version("23.0")
# --build-constraint arrived in pip 25.3.
BUILD_CONSTRAINT_PIP = Version("25.3")


def build_constraints_note(pip_version: str | None) -> str:
    """What to say when this pip cannot constrain isolated build environments ("" when it can).

    Here rather than in the pip engine: ``check`` says it too, and need not load the engine.
    """
    try:
        if pip_version is None or Version(pip_version) >= BUILD_CONSTRAINT_PIP:
            return ""
    except ValueError:
        return ""
    return (f"pipguard: note: pip {pip_version} is older than {BUILD_CONSTRAINT_PIP}, so isolated build "
            "environments are not constrained: build requirements of source projects are resolved apart "
            "from the ledger (pip 25.3+ fixes this).")


def pip_command(python: str, *args: str) -> list[str]:
    return [python, "-m", "pip", *args]


def check_pip_version(version: str | None, python: str) -> Version:
    """Refuse a target without pip, or with a pip older than pipguard needs."""
    if version is None:
        raise EnvironmentUnusable(
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

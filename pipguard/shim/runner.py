"""How a shim reaches pipguard, and the shim record checked against this environment.

The shims run the pipguard that ran ``shim install``: the interpreter chosen
here (``choose_runner``) is recorded, and every later use of the record
first checks it (``record_problems``): the paths must be the ones this
environment's shims use, and the runner an interpreter only root or this
user could have put there (``interpreter_problem``). The record's shape is
checked before that, purely, by ``pipguard.shim.record``.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from pipguard.engines.pip.runner import run_process
from pipguard.shim.hook import HOOK_NAME
from pipguard.shim.paths import originals_beside
from pipguard.shim.record import ShimRecord
from pipguard.shim.scripts import same_interpreter, scripts_directory

# -- choosing how the shim runs pipguard ---------------------------------------------------

_HAS_PIP_COMMAND = "from pipguard.cli.registry import COMMANDS; raise SystemExit('pip' not in COMMANDS)"


def can_import_pipguard(python: str, isolated: bool = True) -> bool:
    flags = ["-I"] if isolated else []
    return run_process([python, *flags, "-c", _HAS_PIP_COMMAND], capture=True).returncode == 0


def choose_runner(target_python: str, target_prefix: str) -> tuple[tuple[str, ...], str | None]:
    """How the shim reaches pipguard, and a note when that depends on the caller's setup.

    The pipguard running now is the one the user chose: from its own venv (or
    pipx) it guards the target from outside, as devstack should use it; run
    from inside the target, the shims import it there.
    """
    own = sys.executable
    here = os.path.realpath(sys.prefix) == os.path.realpath(target_prefix)
    if here and can_import_pipguard(target_python):
        return (), None
    if can_import_pipguard(own):
        return (own, "-I", "-m", "pipguard"), None
    if can_import_pipguard(target_python):
        return (), None
    return (own, "-m", "pipguard"), (
        f"pipguard: note: pipguard is not installed for {own} (it runs from PYTHONPATH or the "
        "current directory), so the shim works only where that is still the case. Install "
        "pipguard (pip install pipguard) and run 'pipguard shim install' again to make it permanent."
    )


# -- the record, checked against this environment -------------------------------------------


def interpreter_problem(path: str) -> str | None:
    """Why the runner's interpreter is not one only root or this user could have put there."""
    try:
        info = os.stat(path)
    except OSError as exc:
        return f"runner {path} cannot be found ({exc.strerror or exc})"
    if not stat.S_ISREG(info.st_mode) or not info.st_mode & 0o111:
        return f"runner {path} is not an executable file"
    me = os.geteuid() if hasattr(os, "geteuid") else 0
    resolved = os.path.realpath(path)
    for where in dict.fromkeys((resolved, os.path.dirname(resolved), os.path.dirname(path))):
        try:
            info = os.stat(where)
        except OSError as exc:
            return f"cannot inspect {where} ({exc.strerror or exc})"
        if info.st_uid not in (0, me):
            return f"runner {path}: {where} is owned by user id {info.st_uid}"
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return f"runner {path}: {where} is writable by others (mode {stat.filemode(info.st_mode)})"
    return None


def _inside(path: str, prefix: str) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(prefix)
    return real.startswith(top.rstrip("/") + "/")


def record_problems(record: ShimRecord, python: str, prefix: str, ledger: Path) -> list[str]:
    """What in *record* is not what ``shim install`` would have recorded for the environment
    of *python* (at *prefix*, with its ledger at *ledger*)."""
    problems = []
    directory = str(scripts_directory(python))
    originals = originals_beside(ledger)
    if record.scripts_dir != directory:
        problems.append(f"scripts_dir {record.scripts_dir} is not {directory}")
    if os.path.dirname(record.target_python) != directory or not same_interpreter(
            record.target_python, python):
        problems.append(f"target_python {record.target_python} is not the interpreter {python}")
    if record.originals != str(originals):
        problems.append(f"originals {record.originals} is not {originals}")
    if record.ledger is not None and record.ledger != str(ledger):
        problems.append(f"ledger {record.ledger} is not {ledger}")
    if record.pip_hook is not None and (
            os.path.basename(record.pip_hook) != HOOK_NAME or not _inside(record.pip_hook, prefix)):
        problems.append(f"pip_hook {record.pip_hook} is not a {HOOK_NAME} inside {prefix}")
    if record.runner:
        problem = interpreter_problem(record.runner[0])
        if problem:
            problems.append(problem)
    return problems

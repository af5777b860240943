"""The target interpreter: which one is guarded, its prefixes, and a short query run in it.

Kept apart from ``system.environment`` (the probe and its caches, which load
``core.constraints`` and with it ``packaging.specifiers``): a pip command that
passes through pipguard (the shim's ``pip list``) asks which interpreter it is
and where its ledger lives, and nothing more.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from pipguard.errors import EnvironmentUnusable, UsageError
from pipguard.system.process import ProcessResult, run_process

PROBE_TIMEOUT_ENV = "PIPGUARD_PROBE_TIMEOUT"
# Long enough for a cold read of a large environment on slow storage; short
# enough that a --python that never answers does not hold the lock for ever.
DEFAULT_PROBE_TIMEOUT = 60.0


def resolve_python(python: str | None) -> str:
    """The interpreter to guard: --python, or the one pipguard runs in."""
    if not python:
        return sys.executable
    candidate = Path(python)
    if candidate.is_dir():
        # pip's --python accepts an environment directory too.
        for sub in ("bin/python", "Scripts/python.exe"):
            if (candidate / sub).exists():
                return str(candidate / sub)
        raise EnvironmentUnusable(
            f"no Python interpreter in {python}: it is a directory without bin/python. Give "
            "--python the path of an existing Python interpreter or virtual environment."
        )
    if candidate.exists() or os.sep in python:
        if not candidate.exists():
            raise EnvironmentUnusable(
                f"interpreter not found: {python}. Give --python the path of an existing "
                "Python interpreter or virtual environment."
            )
        return str(candidate)
    import shutil  # only for a bare name: loaded when needed

    found = shutil.which(python)
    if not found:
        raise EnvironmentUnusable(
            f"interpreter not found: {python}. Give --python the path of an existing "
            "Python interpreter or virtual environment."
        )
    return found


def prefixes(python: str) -> tuple[str, str]:
    """*python*'s ``sys.prefix`` and ``sys.base_prefix``. A virtual environment is known by its
    ``pyvenv.cfg`` without starting the interpreter: its base is then "" (not asked)."""
    if python == sys.executable:
        return sys.prefix, sys.base_prefix
    venv = Path(os.path.abspath(python)).parent.parent
    if (venv / "pyvenv.cfg").is_file():
        return str(venv), ""
    result = run_in_target([python, "-I", "-c", "import sys; print(sys.prefix); print(sys.base_prefix)"])
    lines = result.stdout.splitlines()
    if result.returncode != 0 or len(lines) < 2:
        raise EnvironmentUnusable(
            f"cannot run the interpreter {python}. Check the path given with --python."
        )
    return lines[0], lines[1]


def probe_timeout() -> float:
    """Seconds the target interpreter gets to answer (PIPGUARD_PROBE_TIMEOUT)."""
    raw = os.environ.get(PROBE_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_PROBE_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise UsageError(
            f"{PROBE_TIMEOUT_ENV} must be a number of seconds greater than zero, not {raw!r}."
        )
    return value


def run_in_target(cmd: list[str], stdin_text: str | None = None) -> ProcessResult:
    """Run a short query in the target interpreter (*cmd*[0]), within the probe timeout.

    An interpreter that does not answer in time is stopped, with everything
    it started, and that is an unusable environment (exit 12), never a hang
    with the lock held.
    """
    timeout = probe_timeout()
    result = run_process(cmd, capture=True, stdin_text=stdin_text, timeout=timeout)
    if result.timed_out:
        raise EnvironmentUnusable(
            f"the interpreter {cmd[0]} did not answer within {timeout:g} s, so pipguard stopped it. "
            "Check that --python names a working Python 3.9 or newer; if it is only slow (a large "
            f"environment on slow storage), allow it more time with {PROBE_TIMEOUT_ENV}=SECONDS."
        )
    return result

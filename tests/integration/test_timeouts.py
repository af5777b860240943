"""A --python that never answers: a clear error (exit 12), never a hang with the lock held.

The fake interpreter is a shell script that starts a long sleep and waits
for it: pipguard must stop the whole tree, not only the script.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import filelock
import pytest

from pipguard.cli.main import EXIT_ENVIRONMENT, EXIT_USAGE
from tests.conftest import REPO, scrubbed_env
from tests.reliability_support import pid_alive, wait_for

pytestmark = pytest.mark.integration


def blocking_interpreter(directory: Path, *, venv_like: bool) -> tuple[Path, Path]:
    """``bin/python`` that blocks for ever (writing its sleeping child's pid); a venv layout or not."""
    (directory / "bin").mkdir(parents=True)
    pid_file = directory / "sleeper.pid"
    python = directory / "bin" / "python"
    python.write_text(f"#!/bin/sh\nsleep 1000 &\necho $! > {pid_file}\nwait\n")
    python.chmod(0o755)
    if venv_like:
        (directory / "pyvenv.cfg").write_text("home = /nonexistent\n")
    return python, pid_file


def run(python: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipguard", "--python", str(python), *args],
        capture_output=True, text=True, env=scrubbed_env(env), cwd=REPO, timeout=120, check=False,
    )


@pytest.mark.parametrize("venv_like", [False, True], ids=["prefix query", "probe"])
def test_an_interpreter_that_never_answers_is_stopped_and_exits_12(tmp_path: Path, venv_like: bool) -> None:
    python, pid_file = blocking_interpreter(tmp_path / "fake", venv_like=venv_like)
    result = run(python, "install", "A", env={"PIPGUARD_PROBE_TIMEOUT": "1"})  # a hang fails on run's timeout
    assert result.returncode == EXIT_ENVIRONMENT, result.stderr
    assert f"the interpreter {python} did not answer within 1 s, so pipguard stopped it" in result.stderr
    assert "PIPGUARD_PROBE_TIMEOUT=SECONDS" in result.stderr
    assert "Traceback" not in result.stderr
    # The whole tree was stopped: the script's own child too.
    sleeper = int(pid_file.read_text())
    wait_for(lambda: not pid_alive(sleeper), "the fake interpreter's child to be gone", timeout=10)
    if venv_like:  # the probe runs with the lock held: it is free again
        lock = filelock.FileLock(str(tmp_path / "fake" / ".pipguard" / "ledger.json.lock"))
        lock.acquire(timeout=0)
        lock.release()


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-3", "soon"])
def test_a_bad_probe_timeout_is_a_usage_error(tmp_path: Path, value: str) -> None:
    python, _ = blocking_interpreter(tmp_path / "fake", venv_like=False)
    result = run(python, "check", env={"PIPGUARD_PROBE_TIMEOUT": value})
    assert result.returncode == EXIT_USAGE, result.stderr
    assert f"PIPGUARD_PROBE_TIMEOUT must be a number of seconds greater than zero, not {value!r}" in result.stderr


def test_a_slow_but_working_interpreter_within_the_timeout_is_fine(venv_python: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipguard", "--python", venv_python, "check"],
        capture_output=True, text=True, env=scrubbed_env({"PIPGUARD_PROBE_TIMEOUT": "30"}), cwd=REPO,
        timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def venv_python(venv) -> str:  # type: ignore[no-untyped-def]
    return str(venv.python)

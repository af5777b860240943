"""A fake ``uv`` on PATH that hangs or talks nonsense, with ``--engine uv`` (issue 19 items 13, 15)."""

from __future__ import annotations

import importlib
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO, Pipguard, combined, scrubbed_env


def run_with_fake_uv(guard: Pipguard, tmp_path: Path, body: str, *args: str,
                     env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """pipguard without this interpreter's uv package, and *body* as the ``uv`` on PATH."""
    lib = tmp_path / "lib"
    if not lib.exists():
        lib.mkdir()
        for module in ("packaging", "filelock"):
            (lib / module).symlink_to(Path(importlib.import_module(module).__file__ or "").parent)
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir(exist_ok=True)
    uv = bin_dir / "uv"
    uv.write_text(f"#!/bin/sh\n{body}\n")
    uv.chmod(uv.stat().st_mode | stat.S_IXUSR)
    cmd = [sys.executable, "-S", "-m", "pipguard", "--python", guard.venv.python, "--engine", "uv", *args]
    path = os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])
    full_env = scrubbed_env({"PATH": path, "PYTHONPATH": os.pathsep.join([str(lib), str(REPO)]), **(env or {})})
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, check=False, cwd=REPO, timeout=300)


def test_a_uv_whose_version_never_answers_is_stopped_and_the_lock_released(guard: Pipguard,
                                                                          tmp_path: Path) -> None:
    pid_file = tmp_path / "uv.pid"
    started = time.monotonic()
    result = run_with_fake_uv(guard, tmp_path, f"echo $$ > {pid_file}\nexec sleep 600",
                              "install", *guard.index_args(), "A", env={"PIPGUARD_PROBE_TIMEOUT": "5"})
    assert result.returncode == 12, combined(result)
    assert "--version) did not answer within 5 s, so pipguard stopped it" in result.stderr
    assert "Traceback" not in combined(result)
    assert time.monotonic() - started < 120
    try:
        os.kill(int(pid_file.read_text()), 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive, "the hanging uv was left running"
    assert "a" not in guard.venv.versions()
    after = guard.run("--lock-timeout", "5", "install", *guard.index_args(), "A")  # the lock was released
    assert after.returncode == 0, combined(after)


def test_an_unreadable_uv_plan_exits_12(guard: Pipguard, tmp_path: Path) -> None:
    body = 'case "$1" in --version) echo "uv 0.13.9 (x86_64-unknown-linux-gnu)";; *) echo "not JSON";; esac'
    result = run_with_fake_uv(guard, tmp_path, body, "install", *guard.index_args(), "A")
    assert result.returncode == 12, combined(result)
    assert "cannot read the plan of uv 0.13.9" in result.stderr and "--engine pip" in result.stderr
    assert "Traceback" not in combined(result)
    assert "a" not in guard.venv.versions()

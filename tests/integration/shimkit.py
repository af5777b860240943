"""Helpers for tests that run an environment's pip scripts (shimmed or not)."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tests.conftest import scrubbed_env

SHIM_MARKER = b"# pipguard-shim"


def pip_scripts(bin_dir: Path) -> dict[str, tuple[bytes, int]]:
    """name -> (bytes, mode) of every pip script in *bin_dir*."""
    return {
        path.name: (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
        for path in sorted(bin_dir.iterdir())
        if path.name.startswith("pip")
    }


def is_shim(path: Path) -> bool:
    return SHIM_MARKER in path.read_bytes()


def run_script(script: Path | str, *args: str, cwd: Path | None = None,
               env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a script file the way devstack runs $VENV/bin/pip (bytes out, for exact comparison)."""
    return subprocess.run([str(script), *args], capture_output=True, cwd=cwd, env=scrubbed_env(env),
                          check=False, timeout=300)


def same_output(a: subprocess.CompletedProcess[bytes], b: subprocess.CompletedProcess[bytes]) -> bool:
    return (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr)


def show(result: subprocess.CompletedProcess[bytes]) -> str:
    out, err = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
    return f"exit {result.returncode}\n{out}{err}"


def without_pythonpath(env: Mapping[str, str] | None = None) -> dict[str, str]:
    clean = {k: v for k, v in scrubbed_env(env).items() if k != "PYTHONPATH"}
    clean["PATH"] = os.environ.get("PATH", "")
    return clean

"""Helpers for tests that run an environment's pip scripts (shimmed or not)."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tests.conftest import Venv, scrubbed_env

SHIM_MARKER = b"# pipguard-shim"
HOOK = "pipguard-pip-hook.pth"


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


def site_packages_of(venv: Venv) -> Path:
    return next((venv.path / "lib").glob("python3*/site-packages"))


def tree(directory: Path) -> dict[str, bytes]:
    """relative path -> bytes (or the link, or "dir") of everything under *directory*."""
    found: dict[str, bytes] = {}
    for path in sorted(directory.rglob("*")):
        key = str(path.relative_to(directory))
        if path.is_symlink():
            found[key] = b"link:" + os.readlink(path).encode()
        elif path.is_dir():
            found[key] = b"dir"
        else:
            found[key] = path.read_bytes() + oct(stat.S_IMODE(path.stat().st_mode)).encode()
    return found


def run_python(python: str | Path, *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None,
               input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run ``PYTHON ARGS`` (e.g. ``-m pip install X``) as devstack does, bytes out."""
    return subprocess.run([str(python), *args], capture_output=True, cwd=cwd, env=scrubbed_env(env),
                          check=False, timeout=300, input=input)

"""Helpers for the reliability tests: processes to start, wait for, and kill.

No timing asserts: every wait here is for an observable event (a marker
file, a line on stderr, a process ending) with a generous deadline that
only turns a hang into a failure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import REPO, Venv, scrubbed_env

DEADLINE = 120.0


def wait_for(
    condition: Callable[[], bool],
    what: str,
    timeout: float = DEADLINE,
    watch: subprocess.Popen[Any] | None = None,
) -> None:
    """Poll *condition*; fail (not hang) if it is not met, or if *watch* dies first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        if watch is not None and watch.poll() is not None:
            if condition():
                return
            raise AssertionError(f"process exited ({watch.returncode}) before {what}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def pid_alive(pid: int) -> bool:
    """Is *pid* running (a zombie counts as gone)?"""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def kill9(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class Started:
    """A pipguard run started in the background, its output going to files."""

    proc: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def err(self) -> str:
        return self.stderr.read_text(errors="replace")

    def out(self) -> str:
        return self.stdout.read_text(errors="replace")

    def finish(self, timeout: float = DEADLINE) -> int:
        return self.proc.wait(timeout=timeout)


def start_pipguard(
    venv: Venv,
    args: Sequence[str],
    logs: Path,
    env: Mapping[str, str] | None = None,
    python: str | None = None,
    new_session: bool = False,
) -> Started:
    """``python -m pipguard --python VENV ARGS`` in the background.

    *new_session*: without a controlling terminal, as a service runs it (a
    SIGINT sent with ``kill`` is then never taken for a Ctrl-C at a terminal).
    """
    logs.mkdir(parents=True, exist_ok=True)
    stdout, stderr = logs / "stdout", logs / "stderr"
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipguard", "--python", python or venv.python, *args],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=scrubbed_env(env),
            cwd=logs,
            start_new_session=new_session,
        )
    return Started(proc, stdout, stderr)


def index_args(*find_links: Path) -> list[str]:
    args = ["--no-index"]
    for link in find_links:
        args += ["--find-links", str(link)]
    return args


def load_ledger(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def statuses(transactions: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]]:
    return [(t["id"], t["status"]) for t in transactions]


def changes_of(txn: Mapping[str, Any]) -> dict[str, tuple[str | None, str | None]]:
    return {c["name"]: (c["before"], c["after"]) for c in txn["changes"]}


_SLOW_BACKEND = '''
"""A PEP 517 backend that stops in build_wheel until the test lets it go."""
import base64, hashlib, json, os, time, zipfile

NAME, VERSION = {name!r}, {version!r}
MODULE = NAME.replace("-", "_")
DIST_INFO = f"{{MODULE}}-{{VERSION}}.dist-info"
METADATA = f"Metadata-Version: 2.1\\nName: {{NAME}}\\nVersion: {{VERSION}}\\n\\n"
WHEEL = "Wheel-Version: 1.0\\nGenerator: slow-backend\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    os.makedirs(os.path.join(metadata_directory, DIST_INFO))
    for name, text in (("METADATA", METADATA), ("WHEEL", WHEEL)):
        with open(os.path.join(metadata_directory, DIST_INFO, name), "w") as handle:
            handle.write(text)
    return DIST_INFO


def _hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    marker, release = os.environ["SLOW_BUILD_MARKER"], os.environ["SLOW_BUILD_RELEASE"]
    tmp = marker + ".tmp"
    with open(tmp, "w") as handle:
        json.dump({{"backend": os.getpid(), "pip": os.getppid()}}, handle)
    os.replace(tmp, marker)
    deadline = time.monotonic() + 120
    while not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.02)
    files = {{
        f"{{MODULE}}/__init__.py": f"__version__ = {{VERSION!r}}\\n".encode(),
        f"{{DIST_INFO}}/METADATA": METADATA.encode(),
        f"{{DIST_INFO}}/WHEEL": WHEEL.encode(),
    }}
    record = "".join(f"{{p}},{{_hash(d)}},{{len(d)}}\\n" for p, d in files.items())
    record += f"{{DIST_INFO}}/RECORD,,\\n"
    files[f"{{DIST_INFO}}/RECORD"] = record.encode()
    wheel = f"{{MODULE}}-{{VERSION}}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel
'''


def write_slow_project(directory: Path, name: str, version: str) -> Path:
    """A source project whose build stops until ``SLOW_BUILD_RELEASE`` exists.

    When pip builds it, the backend (a subprocess of pip) writes
    ``SLOW_BUILD_MARKER`` as JSON ``{"backend": pid, "pip": pid}`` and waits:
    pip is then really running, mid-install, for as long as the test likes.
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "slow_backend.py").write_text(_SLOW_BACKEND.format(name=name, version=version))
    (directory / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "slow_backend"\nbackend-path = ["."]\n'
    )
    return directory


def repo_pythonpath() -> str:
    return str(REPO)

"""The edge where pipguard runs processes: pip, the probe, everything.

Every subprocess goes through ``run_process`` (argument lists, never a
shell), so there is one place that logs command lines and one seam.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from packaging.version import InvalidVersion, Version

from pipguard.errors import EnvironmentError_, PipTooOld
from pipguard.redaction import redact, redact_all

# --dry-run and --report arrived in pip 22.2; the report format is stable
# ("version": "1") from pip 23.0 on.
MINIMUM_PIP = Version("23.0")


@dataclass(frozen=True)
class ProcessResult:
    returncode: int
    stdout: str = ""
    stderr: str = ""


def _debug(cmd: list[str]) -> None:
    if os.environ.get("PIPGUARD_DEBUG"):
        print("pipguard: running " + " ".join(redact_all(cmd)), file=sys.stderr)


def _pump(source: IO[str], sink: IO[str] | None, store: list[str]) -> None:
    for line in iter(source.readline, ""):
        store.append(line)
        if sink is not None:
            sink.write(redact(line))
            sink.flush()
    source.close()


def run_process(
    cmd: list[str],
    *,
    capture: bool = False,
    tee: bool = False,
    stdin_text: str | None = None,
    env: Mapping[str, str] | None = None,
) -> ProcessResult:
    """Run *cmd*; with *capture* keep its output, with *tee* also show it live."""
    _debug(cmd)
    if not capture:
        try:
            completed = subprocess.run(cmd, check=False, env=env)
        except OSError as exc:  # missing, not executable, not a program
            raise EnvironmentError_(
                f"cannot run {cmd[0]}: {exc.strerror or exc}. Check the path given with --python."
            ) from None
        return ProcessResult(completed.returncode)
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=env,
        )
    except OSError as exc:  # missing, not executable, not a program
        raise EnvironmentError_(
            f"cannot run {cmd[0]}: {exc.strerror or exc}. Check the path given with --python."
        ) from None
    out: list[str] = []
    err: list[str] = []
    assert proc.stdout is not None and proc.stderr is not None
    pumps = [
        threading.Thread(target=_pump, args=(proc.stdout, sys.stdout if tee else None, out)),
        threading.Thread(target=_pump, args=(proc.stderr, sys.stderr if tee else None, err)),
    ]
    for pump in pumps:
        pump.start()
    if stdin_text is not None and proc.stdin is not None:
        try:
            proc.stdin.write(stdin_text)
            proc.stdin.close()
        except BrokenPipeError:
            pass
    returncode = proc.wait()
    for pump in pumps:
        pump.join()
    return ProcessResult(returncode, "".join(out), "".join(err))


class RunningProcess:
    """A process started in the background, its output collected."""

    def __init__(self, cmd: list[str], env: Mapping[str, str] | None = None) -> None:
        _debug(cmd)
        self._out: list[str] = []
        self._err: list[str] = []
        try:
            self._proc: subprocess.Popen[str] | None = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, errors="replace", env=env,
            )
        except OSError:
            self._proc = None
            return
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._pumps = [
            threading.Thread(target=_pump, args=(self._proc.stdout, None, self._out)),
            threading.Thread(target=_pump, args=(self._proc.stderr, None, self._err)),
        ]
        for pump in self._pumps:
            pump.start()

    def finish(self) -> ProcessResult:
        if self._proc is None:
            return ProcessResult(127)
        returncode = self._proc.wait()
        for pump in self._pumps:
            pump.join()
        return ProcessResult(returncode, "".join(self._out), "".join(self._err))


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


@contextlib.contextmanager
def work_directory(purpose: str) -> Iterator[Path]:
    """A private temporary directory for one run, removed on every way out."""
    path = Path(tempfile.mkdtemp(prefix=f"pipguard-{purpose}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class WatchedProcess:
    """A process whose output lines are handed to callbacks as they come, and that
    can be paused, resumed and stopped (the pip engine's install, judged mid-way).

    *on_line(stream, line)* is called from a reader thread for every line of
    ``"stdout"`` and ``"stderr"``; what it shows is its own business.
    """

    def __init__(self, cmd: list[str], on_line: Callable[[str, str], None]) -> None:
        _debug(cmd)
        self._out: list[str] = []
        self._err: list[str] = []
        try:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, errors="replace",
            )
        except OSError as exc:
            raise EnvironmentError_(
                f"cannot run {cmd[0]}: {exc.strerror or exc}. Check the path given with --python."
            ) from None
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._pumps = [
            threading.Thread(target=_watch, args=(self._proc.stdout, "stdout", on_line, self._out), daemon=True),
            threading.Thread(target=_watch, args=(self._proc.stderr, "stderr", on_line, self._err), daemon=True),
        ]
        for pump in self._pumps:
            pump.start()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def stdout_so_far(self) -> str:
        return "".join(list(self._out))

    def running(self) -> bool:
        return self._proc.poll() is None

    def pause(self) -> None:
        with contextlib.suppress(OSError):
            os.kill(self._proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        with contextlib.suppress(OSError):
            os.kill(self._proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        """End it before it goes on (it is paused or resolving: nothing was changed yet)."""
        with contextlib.suppress(OSError):
            os.kill(self._proc.pid, signal.SIGTERM)
        self.resume()

    def wait(self) -> ProcessResult:
        returncode = self._proc.wait()
        for pump in self._pumps:
            pump.join()
        return ProcessResult(returncode, "".join(self._out), "".join(self._err))


def _watch(source: IO[str], stream: str, on_line: Callable[[str, str], None], store: list[str]) -> None:
    for line in iter(source.readline, ""):
        store.append(line)
        on_line(stream, line)
    source.close()

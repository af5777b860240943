"""The two pipes between pipguard and a gated pip (``pipguard.engines.pip.gate``, run in the
target), and a gated ``pip uninstall`` started ahead."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
from pathlib import Path

from pipguard.engines.base import AHEAD_GRACE
from pipguard.engines.pip.gate import NO_GATE
from pipguard.system.process import ProcessResult, RunningProcess


class Gate:
    """Two pipes between pipguard and the gated pip (``pipguard.engines.pip.gate``): pip says
    ``ready`` on one before its first change (an install's plan is then in its report), and
    waits on the other for ``go``."""

    def __enter__(self) -> Gate:
        self._ready_read, self._ready_write = os.pipe()
        self._go_read, self._go_write = os.pipe()
        self._open = {self._ready_read, self._ready_write, self._go_read, self._go_write}
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self._open:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._open.clear()

    @property
    def child_ends(self) -> tuple[int, int]:
        return self._ready_write, self._go_read

    def command(self, pip: list[str], temp_dir: Path | None) -> list[str]:
        """``python -m pip ARGS`` as ``python -c <gate> READY GO TEMP_DIR ARGS`` (no *temp_dir*:
        pip's own choice)."""
        python, _, _, *args = pip
        return [python, "-c", gate_source(), str(self._ready_write), str(self._go_read),
                "" if temp_dir is None else str(temp_dir), *args]

    def started(self) -> None:
        """pip has its ends: close pipguard's copies, so that pip's end of either pipe is seen."""
        self._close(self._ready_write)
        self._close(self._go_read)

    def wait_until_ready(self) -> bool:
        """True when pip waits at the gate; False when it ended without reaching it."""
        data = b""
        while True:
            chunk = os.read(self._ready_read, 64)  # a signal to pipguard goes to pip, which then ends
            if not chunk:
                return data.startswith(b"ready")
            data += chunk
            if data.endswith(b"\n"):
                return data.startswith(b"ready")

    def answer(self, proceed: bool) -> None:
        with contextlib.suppress(OSError):  # pip may be gone already (a signal): nothing to tell
            os.write(self._go_write, b"go\n" if proceed else b"stop\n")
        self._close(self._go_write)

    def _close(self, fd: int) -> None:
        if fd in self._open:
            self._open.discard(fd)
            os.close(fd)


@functools.cache
def gate_source() -> str:
    """The gate's text, run with ``python -c`` in the target (read once per process)."""
    return (Path(__file__).parent / "gate.py").read_text(encoding="utf-8")


class PipAhead:
    """``python -m pip ARGS`` started ahead on pipguard's terminal (stdin too: pip's own prompt),
    waiting at its gate before its first change until ``finish`` lets it go on; ``cancel`` stops
    it there, having changed nothing.

    For ``uninstall``, nearly all of pip's time comes before its gate (its start-up, its session,
    the reading of its arguments): it passes while pipguard reads the environment and judges.
    """

    def __init__(self, pip: list[str]) -> None:
        self._gate = Gate().__enter__()
        try:
            self._process = RunningProcess(self._gate.command(pip, None), capture=False, return_on_signal=True,
                                           pass_fds=self._gate.child_ends, shown=pip)
        except BaseException:
            self._gate.__exit__()
            raise
        self._gate.started()
        self._waiting = True  # at its gate, or on its way there: finish or cancel ends that

    @property
    def started(self) -> bool:
        return self._process.started

    def finish(self) -> ProcessResult | None:
        """Let pip go on, and wait for its end (a signal pipguard receives meanwhile is passed on to
        it, and is in the result); None when this pip has no place for the gate (it changed nothing:
        run it plainly)."""
        self._waiting = False
        try:
            with self._process.waited_for():
                ready = self._gate.wait_until_ready()
                self._gate.answer(ready)
                result = self._process.finish()
        finally:
            self._gate.__exit__()
        if not ready and result.signal is None and result.returncode == NO_GATE:
            return None
        return result

    def cancel(self) -> None:
        """Stop it at its gate (or before), having changed nothing: told to stop, interrupted.
        Nothing to do once ``finish`` has let it go on."""
        if not self._waiting:
            return
        self._waiting = False
        try:
            self._gate.answer(False)
            # pip may still be starting: a SIGTERM ends it quietly, where a KeyboardInterrupt in its
            # imports would print a traceback on the terminal it shares with pipguard
            self._process.stop(AHEAD_GRACE, signal.SIGTERM)
        finally:
            self._gate.__exit__()

"""How a run that may change the environment ended: ONE rule for its ledger status and exit status.

Every command that lets pip (or uv) change the environment closes its
transaction by this rule (through ``commands.support.RecordedRun``), and
the core's verdict on a failed engine run uses it too:

* a signal pipguard received and passed on to the run: ``interrupted``, and
  pipguard exits 128 + N once it has unwound (``Interrupted``);
* a run killed by signal N that pipguard did not send (a negative return
  code, as ``subprocess`` reports it): ``interrupted``, exit 128 + N, as a shell
  reports it (never the negative code itself);
* any other non-zero code: ``failed``, exit with that code; a failure that
  reported 0 still exits 1 (a failed run never looks like a success);
* 0: success.
"""

from __future__ import annotations

import signal as _signal
from typing import Literal, NamedTuple

RunStatus = Literal["committed", "failed", "interrupted"]


def signal_name(number: int) -> str:
    try:
        return _signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def exit_status(returncode: int, signal: int | None = None, *, failed: bool = False) -> int:
    """The exit status of a run: 128 + N for signal N; *failed* runs never 0."""
    if signal is not None:
        return 128 + signal
    if returncode < 0:
        return 128 - returncode
    if returncode == 0 and failed:
        return 1
    return returncode


class RunEnd(NamedTuple):
    """A finished run: its return code, and the signal pipguard received and passed on, if any."""

    returncode: int
    signal: int | None = None
    failed: bool = False  # the engine failed though its code was 0 (a failure it reported in words)

    @property
    def killed(self) -> bool:
        """Killed by a signal pipguard did not pass on (``kill -9`` of pip itself)."""
        return self.signal is None and self.returncode < 0

    @property
    def status(self) -> RunStatus:
        if self.signal is not None or self.killed:
            return "interrupted"
        return "committed" if self.returncode == 0 and not self.failed else "failed"

    @property
    def exit_status(self) -> int:
        return exit_status(self.returncode, self.signal, failed=self.failed)

    def reason(self, program: str) -> str:
        """Why the run did not succeed, in the ledger's words ("" when it did)."""
        if self.signal is not None:
            return f"pipguard received {signal_name(self.signal)} while {program} ran"
        if self.killed:
            return f"{program} was killed by signal {signal_name(-self.returncode)}"
        return f"{program} exited with {self.returncode}" if self.returncode else ""

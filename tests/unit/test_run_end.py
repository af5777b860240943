"""The one exit-status rule (core/run_end.py) for every run that may change the environment."""

from __future__ import annotations

import signal

import pytest

from pipguard.cli.main import exit_status as cli_exit_status
from pipguard.core.run_end import RunEnd, exit_status
from pipguard.system.process import Interrupted


@pytest.mark.parametrize(("end", "status", "code", "reason"), [
    (RunEnd(0), "committed", 0, ""),
    (RunEnd(1), "failed", 1, "pip exited with 1"),
    (RunEnd(23), "failed", 23, "pip exited with 23"),
    (RunEnd(-signal.SIGKILL), "interrupted", 137, "pip was killed by signal SIGKILL"),
    (RunEnd(-signal.SIGTERM), "interrupted", 143, "pip was killed by signal SIGTERM"),
    # pipguard received SIGTERM and passed it on: pip's own code (whatever it is) does not decide
    (RunEnd(-signal.SIGTERM, signal.SIGTERM), "interrupted", 143, "pipguard received SIGTERM while pip ran"),
    (RunEnd(1, signal.SIGINT), "interrupted", 130, "pipguard received SIGINT while pip ran"),
    (RunEnd(0, signal.SIGINT), "interrupted", 130, "pipguard received SIGINT while pip ran"),
])
def test_run_end_status_code_and_reason(end: RunEnd, status: str, code: int, reason: str) -> None:
    assert end.status == status
    assert end.exit_status == code
    assert end.reason("pip") == reason


def test_a_negative_code_is_never_passed_on() -> None:
    for returncode in range(-64, 0):
        assert exit_status(returncode) == 128 - returncode > 128
        assert exit_status(returncode, failed=True) > 128


def test_a_failed_run_never_exits_zero() -> None:
    assert exit_status(0, failed=True) == 1
    assert exit_status(0) == 0
    assert exit_status(2, failed=True) == 2


def test_the_cli_and_an_interruption_follow_the_same_rule() -> None:
    for returncode in (-15, -9, 0, 1, 2, 10):
        assert cli_exit_status(returncode) == exit_status(returncode)
    assert Interrupted(signal.SIGTERM).exit_status == exit_status(0, signal.SIGTERM) == 143

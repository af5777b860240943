"""cli.py: exit codes live in one table; pipguard's own options are split from pip's."""

from __future__ import annotations

import pytest

from pipguard.cli import main as cli
from pipguard.cli.options import split_own_options
from pipguard.errors import (
    EnvironmentUnusable,
    LedgerError,
    PipTooOld,
    Rejected,
    UsageError,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError, 2),
        (Rejected, 10),
        (LedgerError, 11),
        (EnvironmentUnusable, 12),
        (PipTooOld, 12),
    ],
)
def test_each_error_class_has_its_documented_exit_code(error: type, code: int) -> None:
    assert cli.EXIT_CODES[error] == code


@pytest.mark.parametrize(("returncode", "status"), [(0, 0), (1, 1), (2, 2), (-9, 137), (-15, 143)])
def test_a_child_killed_by_a_signal_exits_like_a_shell_reports_it(returncode: int, status: int) -> None:
    assert cli.exit_status(returncode) == status


@pytest.mark.parametrize(
    ("args", "own", "rest"),
    [
        (["A", "--no-guard"], ["--no-guard"], ["A"]),
        (["--policy", "strict", "A"], ["--policy", "strict"], ["A"]),
        (["--lock-timeout=5", "-q", "A"], ["--lock-timeout=5"], ["-q", "A"]),
        (["-i", "https://x", "A"], [], ["-i", "https://x", "A"]),
    ],
)
def test_split_own_options(args: list[str], own: list[str], rest: list[str]) -> None:
    assert split_own_options(args) == (own, rest)


def test_an_own_option_missing_its_value_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="option --ledger needs a value"):
        split_own_options(["A", "--ledger"])


def test_main_prints_one_redacted_line_and_returns_the_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--python", "/nonexistent/https://u:secret@host/python", "check"]) == 12
    err = capsys.readouterr().err
    assert err.startswith("pipguard: interpreter not found") and "secret" not in err
    assert cli.main(["--frobnicate"]) == 2

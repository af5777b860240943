"""A uv that never answers, or answers what pipguard cannot read (issue 19 items 13, 15)."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from pipguard.cli import main as cli
from pipguard.engines.uv.engine import check_uv_version
from pipguard.engines.uv.output import UvUnreadable, read_changes
from pipguard.errors import EnvironmentUnusable, LedgerError, PipguardError, UsageError


def script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "uv"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return [str(path)]


def test_a_uv_whose_version_never_answers_is_stopped_within_the_probe_timeout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPGUARD_PROBE_TIMEOUT", "1")
    started = time.monotonic()
    with pytest.raises(EnvironmentUnusable, match=r"--version\) did not answer within 1 s"):
        check_uv_version(script(tmp_path, "exec sleep 600"))
    assert time.monotonic() - started < 30


def test_an_unreadable_uv_plan_exits_12_as_docs_engines_says() -> None:
    with pytest.raises(UvUnreadable) as caught:
        read_changes("not JSON", "0.13.9")
    assert cli.exit_code(caught.value) == cli.EXIT_ENVIRONMENT == 12


@pytest.mark.parametrize(("error", "code"), [
    (UsageError("x"), 2), (LedgerError("x"), 11), (EnvironmentUnusable("x"), 12), (PipguardError("x"), 2),
])
def test_a_subclass_exits_as_its_base(error: PipguardError, code: int) -> None:
    subclass = type("Sub", (type(error),), {})
    assert cli.exit_code(subclass("x")) == code

"""A re-plan where pip backtracks: pipguard says what pip tries, on real pip (issue 18)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Pipguard, Venv
from tests.support.wheelkit import build_wheel


@pytest.fixture
def many_releases(tmp_path: Path) -> Path:
    """A needs B<2; every Plugin but the oldest needs B>=2: under the protections pip walks back
    through the Plugin releases, one by one."""
    directory = tmp_path / "wheels"
    directory.mkdir()
    build_wheel(directory, "A", "1.0", ["B>1.0,<2.0"])
    build_wheel(directory, "B", "1.5", [])
    build_wheel(directory, "B", "2.0", [])
    build_wheel(directory, "Plugin", "1.0", [])
    for minor in range(1, 9):
        build_wheel(directory, "Plugin", f"1.{minor}", ["B>=2.0"])
    return directory


def test_a_backtracking_replan_says_what_pip_tries(venv: Venv, many_releases: Path) -> None:
    guard = Pipguard(venv, [many_releases], env={"PIPGUARD_PROGRESS_INTERVAL": "0"})
    assert guard.install("A").returncode == 0
    result = guard.install("Plugin")
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stderr.splitlines() if line.startswith("pipguard: pip is still resolving")]
    assert progress, result.stderr
    assert "looking at several versions of plugin" in progress[-1].lower()
    assert "versions of plugin tried so far" in progress[-1].lower()
    assert sum("--engine auto" in line for line in progress) <= 1  # the uv hint, once at most
    assert "installed Plugin 1.0 instead of 1.8" in result.stderr


def test_no_progress_line_where_pip_does_not_backtrack(venv: Venv, many_releases: Path) -> None:
    guard = Pipguard(venv, [many_releases], env={"PIPGUARD_PROGRESS_INTERVAL": "0"})
    result = guard.install("A")
    assert result.returncode == 0, result.stderr
    assert "pip is still resolving" not in result.stderr

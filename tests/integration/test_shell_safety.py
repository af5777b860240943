"""pip is run with an argument list: a path full of shell syntax is just a path."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from tests.conftest import REPO, Pipguard, combined

pytestmark = pytest.mark.integration

# Spaces, command substitution both ways, "&&", a pipe, a redirection and
# both quotes: any shell that saw this would run "touch". (No ";": pip itself
# reads "path;..." as a path followed by an environment marker.)
NASTY = "src dir $(touch pwned-dollar) `touch pwned-tick` && touch pwned-and | tee pwned-pipe > x 'q' \"dq\""


def pwned_files(*roots: Path) -> list[Path]:
    found = []
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            found += [Path(dirpath) / name for name in files if name.startswith("pwned")]
    return found


def test_paths_with_shell_syntax_install_by_path_and_editable_without_running_anything(
    guard: Pipguard,
    make_project,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    project = make_project("Weird", "1.0", ["B>=1.0"], directory=NASTY)
    assert project.name == NASTY
    cwd = Path.cwd()

    by_path = guard.install(str(project))
    assert by_path.returncode == 0, combined(by_path)
    assert guard.venv.versions()["weird"] == "1.0"

    editable = guard.install("-e", str(project))
    assert editable.returncode == 0, combined(editable)
    root = guard.venv.ledger()["roots"]["weird"]
    assert root["editable"] and root["editable"].startswith("file://")
    assert "src%20dir" in root["editable"] or "src dir" in root["editable"]

    check = guard.run("check")
    assert check.returncode == 0, combined(check)
    assert pwned_files(tmp_path, cwd) == []


def test_pipguard_never_asks_for_a_shell() -> None:
    """No shell=True, os.system, os.popen or os.exec*p with a string anywhere in pipguard."""
    offenders = []
    for path in sorted((REPO / "pipguard").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "shell":
                offenders.append(f"{path.name}:{node.value.lineno} shell=")
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
                and node.attr in ("system", "popen", "spawnlp", "spawnvp", "execlp", "execvp")
            ):
                offenders.append(f"{path.name}:{node.lineno} os.{node.attr}")
    assert offenders == []

"""Build environments get the cumulative and standing constraints (pip 25.3+), or a notice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Pipguard, combined, make_ensurepip_venv
from tests.support.wheelkit import write_source_project


def test_standing_constraint_reaches_the_isolated_build_environment(guard: Pipguard, make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project("proj", "1.0", ["B>=1.0"])
    assert guard.run("constraints", "add", "setuptools<0").returncode == 0  # no setuptools can build it
    failed = guard.install("-e", str(project))
    assert failed.returncode == 1, combined(failed)
    assert "installing build dependencies" in failed.stderr
    assert "setuptools<0" in combined(failed)
    assert "proj" not in guard.venv.versions()
    assert "not constrained" not in failed.stderr  # pip 26.3 takes --build-constraint
    assert guard.venv.transactions()[-1]["status"] == "failed"

    assert guard.run("constraints", "remove", "setuptools").returncode == 0
    built = guard.install("-e", str(project))
    assert built.returncode == 0, combined(built)
    assert guard.venv.versions()["proj"] == "1.0"


def test_older_pip_gets_a_one_line_notice_that_builds_are_not_constrained(
        tmp_path: Path, wheelhouse: Path) -> None:
    path = tmp_path / "old-pip"
    venv = make_ensurepip_venv(path)
    version = venv.pip("--version").stdout.split()[1]
    if tuple(int(p) for p in version.split(".")[:2]) >= (25, 3):
        pytest.skip(f"ensurepip's pip {version} already supports --build-constraint")
    quiet = Pipguard(venv, [wheelhouse]).install("A")  # wheels only, no index: nothing to build
    assert quiet.returncode == 0 and "not constrained" not in quiet.stderr
    project = write_source_project(tmp_path / "proj", "Proj", "1.0", ["B<2"])
    result = Pipguard(venv, [wheelhouse]).install("-e", str(project))
    assert result.returncode == 0, combined(result)
    notices = [line for line in result.stderr.splitlines() if "not constrained" in line]
    assert notices == [
        f"pipguard: note: pip {version} is older than 25.3, so isolated build environments are not "
        "constrained: build requirements of source projects are resolved apart from the ledger "
        "(pip 25.3+ fixes this)."
    ]
    wheels_only = Pipguard(venv, [wheelhouse]).install("--only-binary=:all:", "G")
    assert wheels_only.returncode == 0 and "not constrained" not in wheels_only.stderr

"""A re-plan that builds its chosen candidate from a source distribution says so (issue 19 item 25)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from tests.conftest import Pipguard, combined
from tests.support.wheelkit import write_source_project

pytestmark = pytest.mark.integration


@pytest.fixture
def guard(engine_guard: Pipguard) -> Pipguard:
    return engine_guard


def make_sdist(directory: Path, scratch: Path, name: str, version: str, *requires: str) -> Path:
    """NAME-VERSION.tar.gz: a setuptools project pip and uv build from source."""
    project = write_source_project(scratch / f"{name}-{version}", name, version, requires)
    archive = directory / f"{name.lower()}-{version}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(project, arcname=f"{name.lower()}-{version}")
    return archive


def test_a_replan_onto_an_older_source_release_says_it_is_built_from_source(
        guard: Pipguard, make_wheel, extra_wheels: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_sdist(extra_wheels, tmp_path / "src", "Srcpkg", "1.0", "B>=1.0")
    make_wheel("Srcpkg", "1.1", ["B>=2.0"])  # the newest, plain pip's choice: breaks A
    assert guard.install("A").returncode == 0
    result = guard.install("Srcpkg")
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["srcpkg"] == "1.0"
    assert ("pipguard: installed Srcpkg 1.0 instead of 1.1, plain pip's choice here (1 minor version back; "
            "built from source): ") in result.stderr, combined(result)

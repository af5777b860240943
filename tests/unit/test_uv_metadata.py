"""The metadata of uv's planned distributions, from the files uv names (no second resolution)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipguard.engines.uv.metadata import (
    Metadata,
    find_wheel,
    from_pyproject,
    from_target,
    from_url,
    from_wheel,
    parse_metadata,
)
from tests.support.wheelkit import build_wheel

needs_tomllib = pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+ (uv is asked instead)")


def test_metadata_text_gives_name_version_and_requirements() -> None:
    text = "Metadata-Version: 2.1\nName: Svc\nVersion: 1.0\nRequires-Dist: B<2\nRequires-Dist: C; extra == 'x'\n\n"
    assert parse_metadata(text) == Metadata("Svc", "1.0", ("B<2", "C; extra == 'x'"))
    assert parse_metadata("Metadata-Version: 2.1\nName: Svc\n\n") is None


def test_wheel_metadata_is_read_from_the_file_uv_chose(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "App", "1.0", ["Lib>1.0,<2.0"], {"x": ["Other"]})
    assert find_wheel(wheel.name, ["/nonexistent", f"file://{tmp_path}"]) == wheel
    assert find_wheel(wheel.name, ["https://example.org/wheels"]) is None
    assert find_wheel("app-1.0.tar.gz", [str(tmp_path)]) is None
    meta = from_wheel(wheel)
    assert meta is not None and (meta.name, meta.version) == ("App", "1.0")
    assert meta.requires == ("Lib>1.0,<2.0", 'Other; extra == "x"')
    assert from_url(f"file://{wheel}") == meta


def test_a_file_that_is_not_a_wheel_gives_no_metadata(tmp_path: Path) -> None:
    broken = tmp_path / "broken-1.0-py3-none-any.whl"
    broken.write_text("not a zip")
    assert from_wheel(broken) is None


@needs_tomllib
def test_static_pyproject_gives_requirements_with_extras(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "Svc"\nversion = "1.0"\ndependencies = ["G"]\n'
        '[project.optional-dependencies]\ndb = ["B<1.8", "C; python_version >= \'3\'"]\n')
    meta = from_pyproject(tmp_path)
    assert meta == Metadata("Svc", "1.0", ("G", 'B<1.8; extra == "db"',
                                           'C; (python_version >= "3") and extra == "db"'))
    assert from_url(f"file://{tmp_path}") == meta


@needs_tomllib
@pytest.mark.parametrize("project", [
    '[project]\nname = "Svc"\ndynamic = ["version"]\n',
    '[project]\nname = "Svc"\nversion = "1"\ndynamic = ["dependencies"]\n',
    '[tool.setuptools]\n',
    'not toml [',
])
def test_dynamic_or_missing_metadata_is_left_to_uv(tmp_path: Path, project: str) -> None:
    (tmp_path / "pyproject.toml").write_text(project)
    assert from_pyproject(tmp_path) is None


def test_remote_references_are_left_to_uv() -> None:
    assert from_url("https://example.org/svc-1.0.tar.gz") is None
    assert from_url("git+https://example.org/svc") is None


def test_scratch_target_metadata_is_read_by_name(tmp_path: Path) -> None:
    info = tmp_path / "svc-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: Svc\nVersion: 1.0\nRequires-Dist: B\n\n")
    (tmp_path / "empty-1.0.dist-info").mkdir()  # no METADATA: skipped
    assert from_target(tmp_path) == {"svc": Metadata("Svc", "1.0", ("B",))}

"""Finding the uv package's binary and its version from the package's record, with no process."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from pipguard.engines.uv.engine import packaged_uv_version
from pipguard.engines.uv.package import packaged_uv


def fake_uv_package(root: Path, version: str, size_recorded: int | None = None) -> Path:
    """A uv package as pip installs it: site-packages/uv, its dist-info, and bin/uv three levels up."""
    site = root / "lib" / "python3" / "site-packages"
    (site / "uv").mkdir(parents=True)
    (site / "uv" / "__init__.py").write_text("")
    binary = root / "bin" / "uv"
    binary.parent.mkdir()
    binary.write_bytes(b"\x7fELF not really uv")
    size = binary.stat().st_size if size_recorded is None else size_recorded
    info = site / f"uv-{version}.dist-info"
    info.mkdir()
    (info / "RECORD").write_text(f"../../../bin/uv,sha256=abc,{size}\nuv/__init__.py,,\n")
    return site


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def add(site: Path) -> None:
        monkeypatch.setattr(sys, "path", [str(site), *[p for p in sys.path if "site-packages" not in p]])
        monkeypatch.delitem(sys.modules, "uv", raising=False)
        importlib.invalidate_caches()
    return add


def test_the_recorded_binary_and_version_are_found(tmp_path: Path, on_path) -> None:  # type: ignore[no-untyped-def]
    on_path(fake_uv_package(tmp_path, "0.14.2"))
    found = packaged_uv()
    assert found == (str(tmp_path / "bin" / "uv"), "0.14.2")
    assert str(packaged_uv_version([found[0]])) == "0.14.2"
    assert packaged_uv_version(["/usr/bin/uv"]) is None  # another uv: asked with --version
    assert packaged_uv_version([sys.executable, "-m", "uv"]) is None


def test_a_binary_of_another_size_than_recorded_is_not_taken(tmp_path: Path, on_path) -> None:  # type: ignore[no-untyped-def]
    on_path(fake_uv_package(tmp_path, "0.14.2", size_recorded=1))
    assert packaged_uv() is None
    assert packaged_uv_version([str(tmp_path / "bin" / "uv")]) is None


def test_no_uv_package(tmp_path: Path, on_path) -> None:  # type: ignore[no-untyped-def]
    on_path(tmp_path)
    assert packaged_uv() is None


def test_ready_runs_no_process_for_the_packaged_binary(tmp_path: Path, on_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pipguard.engines.uv import engine

    on_path(fake_uv_package(tmp_path, "0.14.2"))
    started: list[list[str]] = []
    monkeypatch.setattr(engine, "run_process", lambda cmd, **_: started.append(cmd))
    uv = engine.UvEngine("/nonexistent/python", [str(tmp_path / "bin" / "uv")], tmp_path)
    uv.ready()
    assert str(uv.version) == "0.14.2" and started == []


def test_an_old_packaged_uv_is_still_refused(tmp_path: Path, on_path) -> None:  # type: ignore[no-untyped-def]
    """0.1.0 from the record is not trusted as usable: uv --version is asked, and it refuses."""
    from pipguard.engines.uv import engine
    from pipguard.errors import EnvironmentUnusable

    on_path(fake_uv_package(tmp_path, "0.1.0"))
    uv = engine.UvEngine("/nonexistent/python", [str(tmp_path / "bin" / "uv")], tmp_path)
    with pytest.raises(EnvironmentUnusable):
        uv.ready()  # the fake binary cannot answer --version either

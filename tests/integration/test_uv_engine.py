"""The uv engine's own behaviour: choosing it, remembering it, and what it refuses (real uv)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, Pipguard, combined, scrubbed_env


@pytest.fixture
def uv_guard(pip_guard: Pipguard, uv_ready: str) -> Pipguard:
    pip_guard.engine = "uv"
    return pip_guard


def test_engine_is_remembered_per_ledger_and_used(pip_guard: Pipguard, uv_ready: str) -> None:
    assert pip_guard.install("B==1.0").returncode == 0
    assert pip_guard.run("engine").stdout.strip() == "pip"
    changed = pip_guard.run("engine", "uv")
    assert changed.returncode == 0, combined(changed)
    assert "now use uv's pip interface" in changed.stderr
    assert pip_guard.venv.ledger()["engine"] == "uv"
    result = pip_guard.install("G")
    assert result.returncode == 0, combined(result)
    assert "Using Python" in result.stderr  # uv's own words: uv installed it
    assert pip_guard.venv.versions()["g"] == "1.2"
    per_call = pip_guard.run("--engine", "pip", "install", *pip_guard.index_args(), "C==1.0")
    assert "Successfully installed C-1.0" in per_call.stdout, combined(per_call)
    bad = pip_guard.run("engine", "fast")
    assert bad.returncode == 2 and "usage: pipguard engine" in bad.stderr


def test_engine_option_inside_an_install_command_line(pip_guard: Pipguard, uv_ready: str) -> None:
    result = pip_guard.install("--engine", "uv", "A")
    assert result.returncode == 0, combined(result)
    assert "Using Python" in result.stderr
    assert pip_guard.venv.ledger()["roots"]["a"]["display_name"] == "A"


def test_missing_uv_with_engine_uv_exits_12(pip_guard: Pipguard, tmp_path: Path) -> None:
    """No uv package for pipguard's interpreter and none on PATH: a clear error, nothing changed."""
    lib = tmp_path / "lib"  # pipguard's dependencies alone, without this interpreter's uv package
    lib.mkdir()
    for module in ("packaging", "filelock"):
        (lib / module).symlink_to(Path(importlib.import_module(module).__file__ or "").parent)
    cmd = [sys.executable, "-S", "-m", "pipguard", "--python", pip_guard.venv.python, "--engine", "uv",
           "install", *pip_guard.index_args(), "A"]
    env = scrubbed_env({"PATH": "/nonexistent", "PYTHONPATH": os.pathsep.join([str(lib), str(REPO)])})
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, cwd=REPO)
    assert result.returncode == 12, combined(result)
    assert "no uv was found" in result.stderr and "--engine pip" in result.stderr
    assert "Traceback" not in combined(result)
    assert "a" not in pip_guard.venv.versions()


def test_report_is_refused_by_the_uv_engine(uv_guard: Pipguard, tmp_path: Path) -> None:
    result = uv_guard.install("--report", str(tmp_path / "report.json"), "A")
    assert result.returncode == 2, combined(result)
    assert "the uv engine cannot honour --report" in result.stderr and "--engine pip" in result.stderr
    assert "a" not in uv_guard.venv.versions()
    assert not (tmp_path / "report.json").exists()


def test_untranslatable_pip_conf_setting_is_refused_naming_the_file(uv_guard: Pipguard, wheelhouse: Path,
                                                                    tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nno-index = true\nfind-links = {wheelhouse}\nprefer-binary = yes\n")
    result = uv_guard.run("install", "A", env={"PIP_CONFIG_FILE": str(conf)})
    assert result.returncode == 2, combined(result)
    assert f"--prefer-binary (from {conf} [global])" in result.stderr
    assert "a" not in uv_guard.venv.versions()
    pending = [t for t in uv_guard.venv.transactions() if t["status"] == "pending"]
    assert pending == []


def test_users_uv_configuration_does_not_change_what_is_allowed(uv_guard: Pipguard, tmp_path: Path) -> None:
    """A UV_CONSTRAINT or uv.toml of the user's would change uv's answer: pipguard keeps them out."""
    (tmp_path / "uv.toml").write_text('constraint-dependencies = ["b<1.5"]\n')
    cap = tmp_path / "cap.txt"
    cap.write_text("b<1.5\n")
    result = uv_guard.install("A", env={"UV_CONSTRAINT": str(cap), "UV_CONFIG_FILE": str(tmp_path / "uv.toml"),
                                        "UV_RESOLUTION": "lowest"})
    assert result.returncode == 0, combined(result)
    assert uv_guard.venv.versions()["b"] == "1.8"  # as pip would: the newest B that fits A


def simple_index(directory: Path, wheels: Path) -> str:
    """A PEP 503 index on disk (file://) serving *wheels*: uv does not say where its files are."""
    projects: dict[str, list[Path]] = {}
    for wheel in sorted(wheels.glob("*.whl")):
        projects.setdefault(wheel.name.split("-")[0].replace("_", "-").lower(), []).append(wheel)
    for project, files in projects.items():
        page = directory / project
        page.mkdir(parents=True)
        links = "".join(f'<a href="{w.as_uri()}">{w.name}</a>\n' for w in files)
        (page / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    return directory.as_uri()


def test_requirements_come_from_uv_when_no_local_file_holds_them(uv_guard: Pipguard, wheelhouse: Path,
                                                                  tmp_path: Path) -> None:
    """From an index (not --find-links), the metadata is read from uv's scratch install: the guard holds."""
    index = simple_index(tmp_path / "simple", wheelhouse)
    first = uv_guard.run("install", "--index-url", index, "A")
    assert first.returncode == 0, combined(first)
    assert uv_guard.venv.versions()["b"] == "1.8"
    rejected = uv_guard.run("install", "--index-url", index, "E")  # E 1.0 needs B>=2.0
    assert rejected.returncode == 10, combined(rejected)
    assert "E 1.0 needs B>=2.0" in rejected.stderr  # E's Requires-Dist, as uv's scratch install read it
    assert "e" not in uv_guard.venv.versions()


def test_quiet_installs_are_quiet_and_still_checked(uv_guard: Pipguard) -> None:
    """-qq silences uv's JSON too: pipguard never passes it to uv, and hides uv's progress itself."""
    result = uv_guard.install("-qq", "A")
    assert result.returncode == 0, combined(result)
    assert result.stderr == "" and result.stdout == ""
    assert uv_guard.venv.transactions()[-1]["status"] == "committed"
    assert uv_guard.venv.versions()["a"] == "1.0"

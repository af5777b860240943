"""Settings that would send an install outside the guarded environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipguard.ledger.paths import default_ledger_path
from pipguard.locations import configured_locations, install_locations


def test_command_line_location_options_and_pips_python_are_found() -> None:
    env = {"PIP_CONFIG_FILE": "/dev/null"}
    assert install_locations(["--python", "/x"], ["--user"], "/nowhere", env) == ["--user", "--python"]


def test_environment_variables_count_and_false_flags_do_not() -> None:
    env = {"PIP_CONFIG_FILE": "/dev/null", "PIP_TARGET": "/t", "PIP_USER": "0", "PIP_PREFIX": ""}
    assert configured_locations("/nowhere", env) == ["PIP_TARGET=/t"]
    env = {"PIP_CONFIG_FILE": "/dev/null", "PIP_USER": "yes"}
    assert configured_locations("/nowhere", env) == ["PIP_USER=yes"]


def test_pip_configuration_files_count(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[install]\nuser = true\n[global]\ntimeout = 5\n")
    env = {"PIP_CONFIG_FILE": str(conf), "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "x"),
           "XDG_CONFIG_DIRS": str(tmp_path / "y")}
    assert configured_locations(str(tmp_path / "prefix"), env) == [f"user = true in {conf}"]


def test_system_interpreter_ledger_goes_to_the_users_state_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert default_ledger_path("/usr", False) == tmp_path / "pipguard" / "usr" / "ledger.json"
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert default_ledger_path("/usr/local", False) == Path("/var/lib/pipguard/usr_local/ledger.json")
    assert default_ledger_path("/venv", True) == Path("/venv/.pipguard/ledger.json")

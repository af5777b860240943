"""Choosing an engine (pip, uv, auto), finding uv, checking its version, and the --engine option."""

from __future__ import annotations

import importlib.util
import shutil
import stat
from pathlib import Path

import pytest

import pipguard.engines as engines
from pipguard.cli.options import Options, split_own_options
from pipguard.commands.pip import with_own_options
from pipguard.engines.pip.engine import PipEngine
from pipguard.engines.uv.engine import UvEngine, check_uv_version
from pipguard.errors import EnvironmentUnusable, UsageError
from pipguard.pip.request import read_install


def fake_uv(tmp_path: Path, answer: str, code: int = 0) -> list[str]:
    """A program that answers ``--version`` as some uv would."""
    script = tmp_path / "uv"
    script.write_text(f"#!/bin/sh\necho '{answer}'\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return [str(script)]


def test_pip_is_the_default_and_needs_no_uv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines, "find_uv", lambda: None)
    assert isinstance(engines.make_engine("pip", "/py", "26.0", tmp_path), PipEngine)


def test_auto_takes_uv_where_found_and_pip_otherwise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines, "find_uv", lambda: ["/opt/uv"])
    chosen = engines.make_engine("auto", "/py", "26.0", tmp_path)
    assert isinstance(chosen, UvEngine) and chosen.uv == ["/opt/uv"]
    monkeypatch.setattr(engines, "find_uv", lambda: None)
    assert isinstance(engines.make_engine("auto", "/py", "26.0", tmp_path), PipEngine)


def test_engine_uv_without_uv_is_an_environment_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines, "find_uv", lambda: None)
    with pytest.raises(EnvironmentUnusable) as caught:
        engines.make_engine("uv", "/py", "26.0", tmp_path)
    assert "no uv was found" in str(caught.value) and "pipguard[uv]" in str(caught.value)


def test_unknown_engine_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        engines.make_engine("conda", "/py", "26.0", tmp_path)


def test_uv_refuses_an_untranslatable_request_when_chosen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before anything is recorded: the command asks for the engine before the core begins."""
    monkeypatch.setattr(engines, "find_uv", lambda: ["/opt/uv"])
    request = read_install(["--prefer-binary", "A"], "/nowhere", {"PIP_CONFIG_FILE": "/dev/null"})
    with pytest.raises(UsageError, match="--prefer-binary"):
        engines.make_engine("uv", "/py", "26.0", tmp_path, request)
    assert isinstance(engines.make_engine("pip", "/py", "26.0", tmp_path, request), PipEngine)


def test_find_uv_prefers_the_uv_package_of_pipguards_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    # find_uv imports these where it runs (`check` loads the engines package and needs neither)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/local/bin/uv")
    assert engines.find_uv() == ["/usr/local/bin/uv"]
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert engines.find_uv() is None


def test_supported_uv_version_is_accepted(tmp_path: Path) -> None:
    assert str(check_uv_version(fake_uv(tmp_path, "uv 0.13.9 (x86_64-unknown-linux-gnu)"))) == "0.13.9"


@pytest.mark.parametrize(("answer", "code", "says"), [
    ("uv 0.9.2", 0, "uv 0.9.2"),
    ("uv 0.13.8 (abc)", 0, "older than the uv engine supports (0.13.9 and later"),
    ("not uv at all", 0, "cannot tell the version of uv"),
    ("uv 0.13.9", 3, "exited 3"),
])
def test_unsupported_or_unreadable_uv_is_refused(tmp_path: Path, answer: str, code: int, says: str) -> None:
    with pytest.raises(EnvironmentUnusable) as caught:
        check_uv_version(fake_uv(tmp_path, answer, code))
    assert says in str(caught.value) and "--engine pip" in str(caught.value)


def test_engine_option_inside_an_install_command_line_is_pipguards() -> None:
    own, rest = split_own_options(["--engine", "uv", "-U", "A", "--engine=pip"])
    assert own == ["--engine", "uv", "--engine=pip"] and rest == ["-U", "A"]


def test_shim_passes_the_engine_option_on() -> None:
    options = with_own_options(Options(policy="strict"), ["--engine", "uv"], None)
    assert (options.engine, options.policy) == ("uv", "strict")
    assert with_own_options(Options(engine="auto"), [], None).engine == "auto"
    with pytest.raises(UsageError):
        with_own_options(Options(), ["--engine", "fast"], None)

"""Installs that would leave the guarded environment are refused, never silently unguarded."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.conftest import Pipguard, Venv, combined


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--user"], "--user"),
        (["--target", "{tmp}/t"], "--target"),
        (["-t", "{tmp}/t"], "--target"),
        (["--prefix={tmp}/p"], "--prefix"),
        (["--root", "{tmp}/r"], "--root"),
        (["--python", "{python}"], "--python"),
    ],
)
def test_location_options_are_refused_with_exit_2_and_nothing_installed(
        guard: Pipguard, tmp_path: Path, args: list[str], named: str) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{python}", guard.venv.python) for a in args]
    result = guard.install(*argv, "B")
    assert result.returncode == 2, combined(result)
    assert f"pipguard does not guard installs with {named}" in result.stderr
    assert "--no-guard" in result.stderr
    assert "b" not in guard.venv.versions()
    assert not (tmp_path / "t").exists()


def test_location_from_the_environment_or_pip_config_is_refused_too(guard: Pipguard, tmp_path: Path) -> None:
    result = guard.install("B", env={"PIP_TARGET": str(tmp_path / "t")})
    assert result.returncode == 2 and f"--target {tmp_path / 't'} (PIP_TARGET)" in result.stderr
    conf = tmp_path / "pip.conf"
    conf.write_text("[install]\nprefix = /somewhere\n")
    result = guard.install("B", env={"PIP_CONFIG_FILE": str(conf)})
    assert result.returncode == 2 and f"--prefix /somewhere ({conf} [install])" in result.stderr
    assert "b" not in guard.venv.versions()


def test_no_guard_target_install_runs_and_is_recorded_as_unguarded(guard: Pipguard, tmp_path: Path) -> None:
    result = guard.install("--no-guard", "--target", str(tmp_path / "t"), "B==1.5")
    assert result.returncode == 0, combined(result)
    assert (tmp_path / "t" / "b" / "__init__.py").exists()
    assert "b" not in guard.venv.versions()
    last = guard.venv.transactions()[-1]
    assert (last["status"], last["changes"]) == ("unguarded", [])


def test_ledger_override_is_honoured_for_a_system_interpreter(tmp_path: Path) -> None:
    """A non-venv interpreter (here the base Python, read only): --ledger and PIPGUARD_LEDGER win."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    if not base.exists():
        pytest.skip("no base interpreter")
    (tmp_path / "sys" / "bin").mkdir(parents=True)
    (tmp_path / "sys" / "bin" / "python").symlink_to(base)
    guard = Pipguard(Venv(tmp_path / "sys"))
    chosen = tmp_path / "elsewhere" / "ledger.json"
    result = guard.run("--ledger", str(chosen), "constraints", "list", "--json")
    assert result.returncode == 0, combined(result)
    assert f'"ledger": "{chosen}"' in result.stdout
    result = guard.run("constraints", "list", "--json", env={"PIPGUARD_LEDGER": str(chosen)})
    assert f'"ledger": "{chosen}"' in result.stdout
    result = guard.run("constraints", "list", "--json", env={"XDG_STATE_HOME": str(tmp_path / "state")})
    expected = ("/var/lib/pipguard/" if os.geteuid() == 0 else f"{tmp_path}/state/pipguard/")
    assert f'"ledger": "{expected}' in result.stdout

"""Findings of the adversarial pass (issue 14) kept end to end, on real pip.

Each test is named after what it protects; the unit tests of the same rules
(tests/unit/test_request.py, test_decide.py, test_uninstall_plan.py) cover
every shape, these show the whole program does what they promise.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Pipguard, combined


@pytest.mark.parametrize("setting", ["environment", "pip.conf"])
def test_pips_configured_upgrade_counts_like_the_option_and_defeats_the_fast_path(
        guard: Pipguard, tmp_path: Path, setting: str) -> None:
    assert guard.install("G==1.0").returncode == 0
    satisfied = guard.install("G")
    assert satisfied.returncode == 0 and "already satisfied" in satisfied.stdout.lower(), combined(satisfied)
    assert guard.venv.versions()["g"] == "1.0"
    if setting == "environment":
        env = {"PIP_UPGRADE": "1"}
    else:
        conf = tmp_path / "pip.conf"
        conf.write_text("[install]\nupgrade = true\n")
        env = {"PIP_CONFIG_FILE": str(conf)}
    upgraded = guard.install("G", env=env)
    assert upgraded.returncode == 0, combined(upgraded)
    assert guard.venv.versions()["g"] == "1.2"  # what 'pip install -U G' does
    assert guard.venv.transactions()[-1]["changes"] == [{"name": "g", "before": "1.0", "after": "1.2"}]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_requirement_files_with_a_bom_or_in_utf16_are_installed_as_pip_installs_them(
        guard: Pipguard, tmp_path: Path, encoding: str) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# the story's first project\nA\nG==1.1\n", encoding=encoding)
    assert requirements.read_bytes()[:2] in (b"\xef\xbb", b"\xff\xfe", b"\xfe\xff")
    result = guard.install("-r", str(requirements))
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["g"] == "1.1"
    assert set(guard.venv.ledger()["roots"]) == {"a", "g"}
    rejected = guard.install("E")  # the roots read from that file are protected
    assert rejected.returncode == 10 and "A 1.0 (root, transaction" in rejected.stderr, combined(rejected)


def test_a_double_dash_does_not_smuggle_in_no_guard(guard: Pipguard) -> None:
    assert guard.install("A").returncode == 0
    result = guard.install("E", "--", "--no-guard")
    assert result.returncode == 2, combined(result)
    assert "invalid requirement '--no-guard'" in result.stderr and "Traceback" not in result.stderr
    assert guard.venv.versions()["b"] == "1.8"
    assert "e" not in guard.venv.versions()


def test_pips_own_tooling_is_protected_from_uninstall(guard: Pipguard) -> None:
    assert guard.install("A").returncode == 0
    result = guard.run("uninstall", "-y", "pip")
    assert result.returncode == 10, combined(result)
    assert "not uninstalling pip" in result.stderr and "--no-guard" in result.stderr
    assert guard.venv.pip("--version").returncode == 0
    last = guard.venv.transactions()[-1]
    assert (last["command"], last["status"]) == ("uninstall", "rejected")


def test_a_url_requirement_with_a_bad_marker_is_a_usage_error_not_pips_traceback(
        guard: Pipguard, wheelhouse: Path) -> None:
    wheel = next(wheelhouse.glob("b-1.5-*.whl"))
    result = guard.install(f'B @ {wheel.as_uri()} ; python_version >>> "3"')
    assert result.returncode == 2, combined(result)
    assert "invalid requirement" in result.stderr and "marker" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "b" not in guard.venv.versions()


def test_a_two_file_requirements_cycle_is_a_usage_error_naming_both_files(guard: Pipguard, tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("A\n-r two.txt\n")
    (tmp_path / "two.txt").write_text("G\n-r one.txt\n")
    result = guard.install("-r", str(tmp_path / "one.txt"))
    assert result.returncode == 2, combined(result)
    assert "one.txt" in result.stderr and "two.txt" in result.stderr and "recursively" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not {"a", "g"} & set(guard.venv.versions())


def test_reinstalling_an_editable_without_its_extra_keeps_the_root_as_first_recorded(
        guard: Pipguard, make_project) -> None:  # type: ignore[no-untyped-def]
    """``-e nova`` after ``-e nova[compute]``: the extra's dependencies stay installed, so
    they stay protected, and the root keeps the transaction that added it."""
    project = make_project("Svc", "1.0", requires=["G"], extras={"db": ["B<1.8"]})
    assert guard.install("-e", f"{project}[db]").returncode == 0
    first = guard.venv.ledger()["roots"]["svc"]
    again = guard.install("-e", str(project))
    assert again.returncode == 0, combined(again)
    root = guard.venv.ledger()["roots"]["svc"]
    assert root["extras"] == ["db"] and root["editable"]
    assert root["added_by"] == first["added_by"]
    rejected = guard.install("B==1.8")
    assert rejected.returncode == 10, combined(rejected)
    assert "Svc 1.0 (root, transaction" in rejected.stderr and "b<1.8" in rejected.stderr

"""``pipguard uninstall``: refused while an earlier project still needs the package."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Pipguard, combined


def transactions(guard: Pipguard) -> list[dict]:  # type: ignore[type-arg]
    return list(guard.venv.transactions())


def test_uninstalling_what_an_earlier_project_needs_is_refused_and_changes_nothing(guard: Pipguard) -> None:
    assert guard.install("A").returncode == 0
    result = guard.run("uninstall", "-y", "B")
    assert result.returncode == 10, combined(result)
    assert "not uninstalling B: earlier projects still need it" in result.stderr
    assert "A 1.0 needs b<2.0,>1.0" in result.stderr
    assert "--no-guard" in result.stderr
    assert guard.venv.versions()["b"] == "1.8"
    last = transactions(guard)[-1]
    assert (last["command"], last["status"], last["changes"]) == ("uninstall", "rejected", [])


def test_uninstalling_a_root_removes_it_from_the_ledger_and_records_the_change(guard: Pipguard) -> None:
    assert guard.install("A", "G==1.0").returncode == 0
    result = guard.run("uninstall", "-y", "G")
    assert result.returncode == 0, combined(result)
    assert "g" not in guard.venv.versions()
    ledger = guard.venv.ledger()
    assert "g" not in ledger["roots"] and "a" in ledger["roots"]
    assert "g" not in ledger["distributions"]
    last = guard.venv.transactions()[-1]
    assert last["status"] == "committed"
    assert last["changes"] == [{"name": "g", "before": "1.0", "after": None}]
    assert guard.run("check").returncode == 0


def test_a_project_and_its_dependency_can_go_together(guard: Pipguard) -> None:
    assert guard.install("A").returncode == 0
    result = guard.run("uninstall", "-y", "A", "B")
    assert result.returncode == 0, combined(result)
    assert {"a", "b"}.isdisjoint(guard.venv.versions())
    assert guard.venv.ledger()["roots"] == {}


def test_no_guard_removes_it_anyway_and_records_it_as_unguarded(guard: Pipguard) -> None:
    assert guard.install("A").returncode == 0
    result = guard.run("uninstall", "--no-guard", "-y", "B")
    assert result.returncode == 0, combined(result)
    assert "b" not in guard.venv.versions()
    assert transactions(guard)[-1]["status"] == "unguarded"
    check = guard.run("check")
    assert check.returncode == 1 and "b is not installed" in check.stdout


def test_requirements_file_names_are_judged_too(guard: Pipguard, tmp_path: Path) -> None:
    assert guard.install("A", "G").returncode == 0
    reqs = tmp_path / "remove.txt"
    reqs.write_text("G\nB>=1\n")
    result = guard.run("uninstall", "-y", "-r", str(reqs))
    assert result.returncode == 10, combined(result)
    assert set(guard.venv.versions()) >= {"g", "b"}


def test_uninstalling_something_not_installed_is_pips_warning_and_exit_zero(guard: Pipguard) -> None:
    result = guard.run("uninstall", "-y", "nothing-such")
    assert result.returncode == 0, combined(result)
    assert "Skipping nothing-such as it is not installed" in result.stderr

"""The core story, end to end: real pip, real venvs, the real ledger."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.conftest import Pipguard, combined, engine_words


@pytest.fixture
def guard(engine_guard: Pipguard) -> Pipguard:
    """Every test here runs under both engines: the verdicts, messages and ledger are the same."""
    return engine_guard


def statuses(guard: Pipguard) -> list[tuple[str, str]]:
    return [(t["command"], t["status"]) for t in guard.venv.transactions()]


@pytest.mark.engines("pip")  # uv: test_engine_parity.py [fits] (same ledger, versions, words)
def test_first_install_records_root_and_transaction(guard: Pipguard) -> None:
    result = guard.install("A")
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["a"] == "1.0"
    assert guard.venv.versions()["b"] == "1.8"
    ledger = guard.venv.ledger()
    assert ledger["schema"] == 2 and ledger["last_id"] == 2 and ledger["pending"] is None
    assert ledger["roots"]["a"]["display_name"] == "A"
    last = guard.venv.transactions()[-1]
    assert last["status"] == "committed"
    assert {"name": "b", "before": None, "after": "1.8"} in last["changes"]
    assert last["argv"][:1] == ["install"]


@pytest.mark.engines("pip")  # uv: test_engine_parity.py [rejection]
def test_install_that_breaks_earlier_root_is_rejected(guard: Pipguard) -> None:
    guard.install("A")
    before = guard.venv.versions()
    result = guard.install("E")  # every E needs B>=2.0; A needs B>1.0,<2.0
    assert result.returncode == 10, combined(result)
    message = result.stderr
    assert "not installing E" in message
    assert "A 1.0" in message and "b<2.0,>1.0" in message and "B>=2.0" in message
    assert "Nothing was changed." in message
    assert guard.venv.versions() == before
    assert statuses(guard)[-1] == ("install", "rejected")
    assert "A 1.0" in guard.venv.transactions()[-1]["reason"]


@pytest.mark.engines("pip")  # uv: test_engine_parity.py [rejection]
def test_pinned_request_that_breaks_earlier_root_is_rejected(guard: Pipguard) -> None:
    guard.install("A")
    result = guard.install("C==1.1")
    assert result.returncode == 10, combined(result)
    assert "A 1.0 (root, transaction 2) needs b<2.0,>1.0" in result.stderr
    assert "c" not in guard.venv.versions()


@pytest.mark.engines("pip")  # uv: test_engine_parity.py [re-plan within a major version]
def test_install_replans_to_older_version_that_keeps_earlier_root(guard: Pipguard) -> None:
    guard.install("A")
    result = guard.install("C")
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["c"] == "1.0"
    assert guard.venv.versions()["b"] == "1.8"
    assert ("pipguard: installed C 1.0 instead of 1.1, plain pip's choice here (1 minor version back): "
            "C 1.1 needs B>=2.0, but A 1.0 (root, transaction 2) needs b<2.0,>1.0.") in result.stderr
    assert guard.run("check").returncode == 0
    assert guard.venv.pip_check().returncode == 0


def test_plain_pip_breaks_the_earlier_project_control(pip_guard: Pipguard) -> None:
    """The control: pip alone upgrades B under A and exits 0."""
    assert pip_guard.pip_install("A").returncode == 0
    result = pip_guard.pip_install("C")
    assert result.returncode == 0
    assert pip_guard.venv.versions()["c"] == "1.1"
    assert pip_guard.venv.versions()["b"].startswith("2.")
    broken = pip_guard.venv.pip_check()
    assert broken.returncode == 1 and "a 1.0 has requirement" in broken.stdout.lower()


def test_requirements_file_with_several_projects(guard: Pipguard, tmp_path: Path) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("# several projects\nA\nG>=1.1  # a comment\nD[x]\n")
    result = guard.install("-r", str(reqs))
    assert result.returncode == 0, combined(result)
    versions = guard.venv.versions()
    assert versions["a"] == "1.0" and versions["g"] == "1.2" and versions["d"] == "1.0"
    roots = guard.venv.ledger()["roots"]
    assert roots["g"]["specifier"] == ">=1.1"
    assert roots["d"]["extras"] == ["x"]


def test_user_constraints_combine_with_the_ledger(guard: Pipguard, tmp_path: Path) -> None:
    guard.install("A")
    constraints = tmp_path / "upper.txt"
    constraints.write_text("g==1.1\nb==1.8\n")
    result = guard.install("-c", str(constraints), "G")
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["g"] == "1.1"
    assert guard.venv.transactions()[-1]["constraints"] == [str(constraints)]
    # The user's constraint and the ledger's together leave no B for H (B>=2.5).
    rejected = guard.install("-c", str(constraints), "H")
    assert rejected.returncode != 0
    assert guard.venv.versions()["b"] == "1.8"


def test_editable_project_requirements_are_protected(guard: Pipguard, make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project("Service", "0.1", requires=["B<1.8"])
    result = guard.install("-e", str(project))
    assert result.returncode == 0, combined(result)
    root = guard.venv.ledger()["roots"]["service"]
    assert root["editable"] and root["editable"].endswith("src-Service")
    rejected = guard.install("H")  # H needs B>=2.5
    assert rejected.returncode == 10, combined(rejected)
    assert "Service 0.1 (root, transaction 2) needs b<1.8" in rejected.stderr


def test_extra_installed_later_is_protected(guard: Pipguard) -> None:
    assert guard.install("A").returncode == 0
    assert guard.install("D[x]").returncode == 0
    assert guard.venv.ledger()["roots"]["d"]["extras"] == ["x"]
    rejected = guard.install("B==1.8")  # D[x] needs B<1.8
    assert rejected.returncode == 10, combined(rejected)
    assert "D 1.0 (root, transaction 3) needs b<1.8" in rejected.stderr
    assert guard.venv.versions()["b"] == "1.5"


# uv: the core reads markers; uv's Requires-Dist: test_uv_metadata.py, test_engine_parity.py
@pytest.mark.engines("pip")
def test_marker_that_does_not_apply_to_the_target_is_ignored(guard: Pipguard) -> None:
    assert guard.install("F").returncode == 0  # B<2.0 only on Python 2
    result = guard.install("C")
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["c"] == "1.1"


@pytest.mark.engines("pip")  # uv: test_engine_parity.py [held-back upgrade]
def test_upgrading_a_root_within_its_own_specifier_is_allowed(guard: Pipguard) -> None:
    assert guard.install("G==1.0").returncode == 0
    result = guard.install("-U", "G>=1.0")
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["g"] == "1.2"
    assert guard.venv.ledger()["roots"]["g"]["specifier"] == ">=1.0"


def test_no_guard_runs_plain_pip_and_records_it_unguarded(pip_guard: Pipguard) -> None:
    pip_guard.install("A")
    result = pip_guard.run("--no-guard", "install", *pip_guard.index_args(), "C==1.1")
    assert result.returncode == 0, combined(result)
    assert pip_guard.venv.versions()["c"] == "1.1"
    last = pip_guard.venv.transactions()[-1]
    assert last["status"] == "unguarded"
    assert {"name": "c", "before": None, "after": "1.1"} in last["changes"]
    assert pip_guard.run("check").returncode == 1  # A is broken now, and check says so


def test_pipguard_disable_variable_runs_plain_pip(pip_guard: Pipguard) -> None:
    pip_guard.install("A")
    result = pip_guard.install("C==1.1", env={"PIPGUARD_DISABLE": "1"})
    assert result.returncode == 0, combined(result)
    assert pip_guard.venv.transactions()[-1]["status"] == "unguarded"


@pytest.mark.engines("pip")  # uv: the baseline is the probe's, not the engine's; test_engine_parity.py [fits]
def test_environment_broken_before_pipguard_is_not_blocking(guard: Pipguard) -> None:
    assert guard.pip_install("A").returncode == 0
    assert guard.pip_install("B==2.0").returncode == 0  # breaks A, behind pipguard's back
    result = guard.install("G")
    assert result.returncode == 0, combined(result)
    assert "already broken before this install" in result.stderr
    assert guard.venv.versions()["g"] == "1.2"
    ledger = guard.venv.ledger()
    assert guard.venv.transactions()[0]["command"] == "baseline"
    assert "a" in ledger["roots"] and ledger["roots"]["a"]["kind"] == "baseline"


@pytest.mark.engines("pip")  # uv: test_engine_parity.py [rejection]
def test_baseline_packages_are_protected_from_then_on(guard: Pipguard) -> None:
    assert guard.pip_install("A").returncode == 0
    result = guard.install("E")
    assert result.returncode == 10, combined(result)
    assert "A 1.0 (root, there before pipguard) needs b<2.0,>1.0" in result.stderr


def test_malformed_requirement_is_a_clear_error_and_ledger_untouched(pip_guard: Pipguard) -> None:
    pip_guard.install("A")
    before = pip_guard.venv.ledger_path.read_bytes()
    result = pip_guard.install("A>>1")
    assert result.returncode == 2
    assert "invalid requirement 'A>>1'" in result.stderr
    assert "Traceback" not in combined(result)
    assert pip_guard.venv.ledger_path.read_bytes() == before


def test_corrupt_ledger_exits_11_and_is_left_as_it_was(pip_guard: Pipguard) -> None:
    pip_guard.install("A")
    pip_guard.venv.ledger_path.write_text('{"schema": 1, "roots": ')
    digest = hashlib.sha256(pip_guard.venv.ledger_path.read_bytes()).hexdigest()
    result = pip_guard.install("G")
    assert result.returncode == 11, combined(result)
    assert str(pip_guard.venv.ledger_path) in result.stderr and "unusable" in result.stderr
    assert "Traceback" not in combined(result)
    assert hashlib.sha256(pip_guard.venv.ledger_path.read_bytes()).hexdigest() == digest
    assert "g" not in pip_guard.venv.versions()


@pytest.mark.engines("pip")  # uv: check runs no engine; installs under uv: test_engine_parity.py
def test_check_reports_every_unsatisfied_requirement(guard: Pipguard) -> None:
    guard.install("A")
    guard.install("D[x]")
    assert guard.run("check").returncode == 0
    guard.venv.pip("install", *guard.index_args(), "B==2.0")
    result = guard.run("check")
    assert result.returncode == 1
    assert "A 1.0 needs b<2.0,>1.0, but b 2.0 is installed" in result.stdout
    assert "D 1.0 needs b<1.8, but b 2.0 is installed" in result.stdout
    assert "changed outside pipguard: b: 1.5 -> 2.0" in result.stdout


@pytest.mark.engines("pip")  # uv: test_engine_parity.py [already satisfied]
def test_already_satisfied_install_changes_nothing(guard: Pipguard) -> None:
    guard.install("A")
    count = len(guard.venv.transactions())
    result = guard.install("A")
    assert result.returncode == 0, combined(result)
    assert "already satisfied" in result.stdout.lower()
    assert len(guard.venv.transactions()) == count


@pytest.mark.engines("pip")  # uv: test_engine_parity.py [dry run], [dry run rejected]
def test_dry_run_changes_nothing_and_still_rejects(guard: Pipguard) -> None:
    guard.install("A")
    before = guard.venv.ledger_path.read_bytes()
    assert guard.install("--dry-run", "G").returncode == 0
    rejected = guard.install("--dry-run", "E")
    assert rejected.returncode == 10, combined(rejected)
    assert "g" not in guard.venv.versions()
    assert guard.venv.ledger_path.read_bytes() == before


def test_user_report_file_is_written(pip_guard: Pipguard, tmp_path: Path) -> None:
    """pip's report (the uv engine refuses --report: tests/integration/test_uv_engine.py)."""
    report = tmp_path / "report.json"
    result = pip_guard.install("--report", str(report), "A")
    assert result.returncode == 0, combined(result)
    assert '"install"' in report.read_text()


def test_pip_failure_passes_pips_exit_code(guard: Pipguard, engine: str) -> None:
    result = guard.install("no-such-project")
    assert result.returncode == 1
    assert engine_words(engine, "No matching distribution", "no-such-project was not found") in result.stderr
    assert guard.venv.transactions()[-1]["status"] == "failed"


@pytest.mark.engines("pip")  # uv: the policy is the core's; a held-back upgrade under uv: test_engine_parity.py
def test_strict_policy_only_adds_new_distributions(guard: Pipguard) -> None:
    guard.install("B==1.0")
    result = guard.install("--policy", "strict", "G")
    assert result.returncode == 0, combined(result)
    upgrade = guard.install("--policy", "strict", "-U", "B")
    assert upgrade.returncode == 0, combined(upgrade)
    assert guard.venv.versions()["b"] == "1.0"
    assert "kept B at 1.0 instead of upgrading to 2.5: the strict policy keeps installed versions" in upgrade.stderr


def test_a_rejected_and_a_replanned_install_leave_nothing_in_tmpdir(guard: Pipguard, tmp_path: Path) -> None:
    """pip stopped at its gate is ended without pip's own clean-up, so its temporary directories are
    pipguard's to remove: a re-plan or a refusal must not leave pip-install-*, pip-unpack-* behind."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {"TMPDIR": str(tmpdir)}
    assert guard.install("A", env=env).returncode == 0

    rejected = guard.install("E", env=env)
    replanned = guard.install("C", env=env)

    assert rejected.returncode == 10, combined(rejected)
    assert replanned.returncode == 0 and guard.venv.versions()["c"] == "1.0", combined(replanned)
    assert sorted(os.listdir(tmpdir)) == []

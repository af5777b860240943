"""pip's own arguments and configuration reach pip unchanged, and are guarded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Pipguard, combined


@pytest.fixture
def guard(engine_guard: Pipguard) -> Pipguard:
    """Every test here runs under both engines: the verdicts, messages and ledger are the same."""
    return engine_guard


def test_find_links_from_environment_variable(guard: Pipguard, wheelhouse: Path) -> None:
    result = guard.run("install", "--no-index", "A", env={"PIP_FIND_LINKS": str(wheelhouse)})
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["a"] == "1.0"


def test_pip_conf_is_honoured(guard: Pipguard, wheelhouse: Path, tmp_path: Path) -> None:
    """A pip.conf with find-links, no-index and a constraint file, as this machine has."""
    cap = tmp_path / "cap.txt"
    cap.write_text("g<1.2\n")
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nno-index = true\nfind-links = {wheelhouse}\nconstraint = {cap}\n")
    result = guard.run("install", "G", env={"PIP_CONFIG_FILE": str(conf)})
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["g"] == "1.1"  # the configured constraint applied
    again = guard.run("install", "G", env={"PIP_CONFIG_FILE": str(conf)})
    assert again.returncode == 0 and "already satisfied" in again.stdout.lower()


@pytest.mark.engines("pip")  # uv: a pip.conf constraint reaching uv: test_pip_conf_is_honoured[uv]
def test_configured_constraint_defeats_the_fast_path(guard: Pipguard, wheelhouse: Path, tmp_path: Path) -> None:
    """pip would downgrade G to meet a constraint from pip.conf: so must pipguard."""
    assert guard.install("G").returncode == 0
    assert guard.venv.versions()["g"] == "1.2"
    cap = tmp_path / "cap.txt"
    cap.write_text("g<1.2\n")
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[install]\nconstraint = {cap}\n")
    plain = guard.venv.pip("install", "--dry-run", *guard.index_args(), "G", env={"PIP_CONFIG_FILE": str(conf)})
    assert "Would install G-1.1" in plain.stdout  # what pip itself would do
    guarded = guard.install("G", env={"PIP_CONFIG_FILE": str(conf)})
    assert guarded.returncode == 0, combined(guarded)
    assert guard.venv.versions()["g"] == "1.1"


def test_no_deps_install_is_warned_not_blocked(guard: Pipguard) -> None:
    guard.install("A")
    result = guard.install("--no-deps", "H")  # H needs B>=2.5; --no-deps skips it
    assert result.returncode == 0, combined(result)
    assert "H 1.0 needs b>=2.5, but b 1.8 is installed" in result.stderr
    assert guard.venv.versions()["b"] == "1.8"


def test_pre_releases_with_pre(guard: Pipguard, make_wheel) -> None:  # type: ignore[no-untyped-def]
    make_wheel("G", "2.0rc1", ["B>=1.0"])
    assert guard.install("G").returncode == 0
    assert guard.venv.versions()["g"] == "1.2"
    result = guard.install("--pre", "-U", "G")
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["g"] == "2.0rc1"


def test_editable_with_extras(guard: Pipguard, make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project("Svc", "1.0", requires=["G"], extras={"db": ["B<1.8"]})
    result = guard.install("-e", f"{project}[db]")
    assert result.returncode == 0, combined(result)
    root = guard.venv.ledger()["roots"]["svc"]
    assert root["extras"] == ["db"] and root["editable"]
    rejected = guard.install("B==2.0")
    assert rejected.returncode == 10, combined(rejected)
    assert "Svc 1.0 (root, transaction 2) needs b<1.8" in rejected.stderr


def test_local_path_install_is_recorded_with_its_url(guard: Pipguard, make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project("Tool", "3.0", requires=["B<2"])
    result = guard.install(str(project))
    assert result.returncode == 0, combined(result)
    root = guard.venv.ledger()["roots"]["tool"]
    assert root["url"].startswith("file://") and not root["editable"]
    assert guard.install("H").returncode == 10


def test_requirements_file_missing_is_a_clear_error(pip_guard: Pipguard, tmp_path: Path) -> None:
    result = pip_guard.install("-r", str(tmp_path / "nope.txt"))
    assert result.returncode == 2
    assert "requirements file not found" in result.stderr and "nope.txt" in result.stderr
    assert not pip_guard.venv.ledger_path.exists()


def test_location_options_are_refused_with_a_reason(pip_guard: Pipguard, tmp_path: Path) -> None:
    result = pip_guard.install("--target", str(tmp_path / "t"), "G")
    assert result.returncode == 2
    assert "does not guard installs with --target" in result.stderr


@pytest.mark.engines("pip")  # uv: the fast path runs no engine
def test_fast_path_reads_constraint_markers_for_the_target(guard: Pipguard, tmp_path: Path) -> None:
    """upper-constraints pins per Python version; only the line for the target applies."""
    assert guard.install("G").returncode == 0
    upper = tmp_path / "upper.txt"
    upper.write_text('G===1.2; python_version >= "3"\nG===1.0; python_version < "3"\n# a comment\n')
    result = guard.install("-c", str(upper), "G")
    assert result.returncode == 0, combined(result)
    # pipguard's own answer (pip's would name the site-packages directory)
    assert "Requirement already satisfied: G (1.2)" in result.stdout
    assert guard.venv.versions()["g"] == "1.2"


def test_fast_path_yields_to_pip_when_a_constraint_excludes_the_installed_version(
    guard: Pipguard, tmp_path: Path
) -> None:
    assert guard.install("G").returncode == 0
    upper = tmp_path / "upper.txt"
    upper.write_text('G===1.1; python_version >= "3"\n')
    result = guard.install("-c", str(upper), "G")
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["g"] == "1.1"


def test_install_help_is_pips_and_starts_no_ledger(pip_guard: Pipguard) -> None:
    result = pip_guard.run("install", "--help")
    plain = pip_guard.venv.pip("install", "--help")
    assert result.returncode == 0 == plain.returncode
    assert result.stdout == plain.stdout
    assert not pip_guard.venv.ledger_path.exists()

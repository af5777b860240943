"""pipguard check as a CI guard: --junit errors, --plan (co-installability), pipguard/commands/ci-guard.sh."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import REPO, Pipguard, combined, scrubbed_env


def cases_of(report: Path) -> list[tuple[str, str, str | None]]:
    """(classname, name, failure message or None) of every test case in a JUnit file."""
    root = ET.parse(report).getroot()
    result = []
    for case in root.iter("testcase"):
        failure = case.find("failure")
        result.append((case.get("classname") or "", case.get("name") or "",
                       failure.get("message") if failure is not None else None))
    return result


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Requirement files of three projects, and an upper-constraints file."""
    made = {}
    for name, text in {"a.txt": "A\n", "b.txt": "E\n", "g.txt": "G\n", "upper.txt": "b<2\n"}.items():
        made[name] = tmp_path / name
        made[name].write_text(text)
    return made


# -- check on a healthy environment, and bad --junit paths --------------------------


def test_check_of_a_healthy_environment_passes_with_junit(guard: Pipguard, tmp_path: Path) -> None:
    assert guard.install("A").returncode == 0
    assert guard.install("G").returncode == 0
    report = tmp_path / "junit.xml"
    result = guard.run("check", "--junit", str(report))
    assert result.returncode == 0, combined(result)
    assert "OK (2 roots satisfied" in result.stderr
    assert cases_of(report) == [("pipguard.roots", "A", None), ("pipguard.roots", "G", None)]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing/junit.xml", "the directory {tmp}/missing does not exist"),
        ("file.txt/junit.xml", "{tmp}/file.txt is not a directory"),
        (".", "{tmp}: it is a directory"),
    ],
)
def test_check_refuses_an_unwritable_junit_path(guard: Pipguard, tmp_path: Path, where: str,
                                                message: str) -> None:
    (tmp_path / "file.txt").write_text("")
    result = guard.run("check", "--junit", str(tmp_path / where) if where != "." else str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("pipguard: cannot write the JUnit report to ")
    assert message.format(tmp=tmp_path) in result.stderr


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write anywhere")
def test_check_refuses_a_read_only_junit_directory(guard: Pipguard, tmp_path: Path) -> None:
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o555)
    result = guard.run("check", "--junit", str(locked / "junit.xml"))
    assert result.returncode == 2 and "is not writable" in result.stderr


def test_check_reports_an_interrupted_transaction(guard: Pipguard, tmp_path: Path) -> None:
    assert guard.install("A").returncode == 0
    # What a pipguard run killed mid-install leaves: a transaction still pending.
    pending = {"id": 3, "command": "install", "argv": ["install", "G"], "status": "pending",
               "started": "2025-01-01T00:00:00Z"}
    data = guard.venv.ledger()
    guard.venv.ledger_path.write_text(json.dumps({**data, "last_id": 3, "pending": pending}))
    with guard.venv.journal_path.open("a") as journal:
        journal.write(json.dumps({"v": 1, "kind": "transaction", **pending}) + "\n")
    report = tmp_path / "junit.xml"
    result = guard.run("check", "--junit", str(report))
    assert result.returncode == 1
    assert result.stdout.startswith("interrupted transaction 3: install G")
    assert ("pipguard.problems.interrupted", "transaction 3 interrupted",
            "interrupted transaction 3: install G (started 2025-01-01T00:00:00Z)") in cases_of(report)


def test_check_without_plan_refuses_requirement_arguments(guard: Pipguard) -> None:
    result = guard.run("check", "A")
    assert result.returncode == 2 and "Requirement sources go with --plan" in result.stderr


# -- check --plan -----------------------------------------------------------------------


def test_plan_names_the_two_files_that_clash(guard: Pipguard, files: dict[str, Path], tmp_path: Path) -> None:
    report = tmp_path / "plan.xml"
    a, b = str(files["a.txt"]), str(files["b.txt"])
    result = guard.run("check", "--plan", "--no-ledger", *guard.index_args(), "-r", a, "-r", b,
                       "--junit", str(report))
    assert result.returncode == 1, combined(result)
    assert result.stdout.startswith(f"NOT OK: {a}, {b} cannot be installed together.")
    assert (f"{a} and {b} clash (b): a 1.0 (from {a}) needs b<2.0,>1.0; e 1.0 (from {b}) needs b>=2.0."
            in result.stdout)
    cases = cases_of(report)
    assert [(c[0], c[1], c[2] is not None) for c in cases] == [
        ("pipguard.plan.sources", a, True), ("pipguard.plan.sources", b, True),
        ("pipguard.plan.conflict", f"{a} and {b}: b", True)]
    assert guard.venv.versions().keys() == {"pip"}  # nothing was installed


def test_plan_json_lists_the_clash_sides(guard: Pipguard, files: dict[str, Path]) -> None:
    a, b = str(files["a.txt"]), str(files["b.txt"])
    result = guard.run("check", "--plan", "--no-ledger", "--json", *guard.index_args(), "-r", a, "-r", b)
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert doc["schema"] == 1 and doc["kind"] == "plan" and doc["ok"] is False
    (clash,) = doc["clashes"]
    assert clash["name"] == "b" and clash["sources"] == [a, b]
    assert [(s["who"], s["requirement"]) for s in clash["sides"]] == [("a 1.0", "b<2.0,>1.0"),
                                                                     ("e 1.0", "b>=2.0")]


def test_plan_blames_a_constraints_file(guard: Pipguard, files: dict[str, Path]) -> None:
    b, upper = str(files["b.txt"]), str(files["upper.txt"])
    result = guard.run("check", "--plan", "--no-ledger", *guard.index_args(), "-r", b, "-c", upper)
    assert result.returncode == 1
    assert (f"{b} cannot be installed even on its own (b): e 1.0 (from {b}) needs b>=2.0; "
            f"constraints file {upper} allows only b<2." in result.stdout)


def test_plan_blames_a_constraints_file_given_by_pip_constraint(guard: Pipguard,
                                                                 files: dict[str, Path]) -> None:
    b, upper = str(files["b.txt"]), str(files["upper.txt"])
    result = guard.run("check", "--plan", "--no-ledger", *guard.index_args(), "-r", b,
                       env={"PIP_CONSTRAINT": upper})
    assert result.returncode == 1
    assert f"constraints file {upper} allows only b<2." in result.stdout


def test_plan_that_fits_says_what_pip_would_install(guard: Pipguard, files: dict[str, Path]) -> None:
    result = guard.run("check", "--plan", "--no-ledger", *guard.index_args(), "-r", str(files["a.txt"]), "G")
    assert result.returncode == 0, combined(result)
    assert "would install: a 1.0, b 1.8, g 1.2" in result.stdout


def test_plan_over_the_ledger_names_the_earlier_project_it_would_break(guard: Pipguard) -> None:
    assert guard.install("A").returncode == 0
    ledger_before = guard.venv.ledger_path.read_bytes()
    clash = guard.run("check", "--plan", *guard.index_args(), "C==1.1")
    assert clash.returncode == 1, combined(clash)
    assert ("C==1.1 would break an earlier project (b): A 1.0, already installed, needs b<2.0,>1.0; "
            "C 1.1 (from C==1.1) needs b>=2.0." in clash.stdout)
    fits = guard.run("check", "--plan", *guard.index_args(), "C")
    assert fits.returncode == 0 and "would change c: (none) -> 1.0" in fits.stdout
    alone = guard.run("check", "--plan", "--no-ledger", *guard.index_args(), "C==1.1")
    assert alone.returncode == 0, combined(alone)  # fine in an empty environment
    assert guard.venv.versions().keys() == {"pip", "a", "b"}
    assert guard.venv.ledger_path.read_bytes() == ledger_before


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "nothing to plan"),
        (["-c", "/nonexistent/upper.txt", "A"], 2, "constraints file not found: /nonexistent/upper.txt"),
        (["zzz"], 1, "pip could not plan the install (exit 1), so nothing was checked"),
        (["--since", "3", "A"], 2, "--since goes with a check of the environment"),
    ],
)
def test_plan_bad_input(guard: Pipguard, args: list[str], code: int, message: str) -> None:
    result = guard.run("check", "--plan", *guard.index_args(), *args)
    assert result.returncode == code, combined(result)
    assert message in result.stderr and "Traceback" not in result.stderr


# -- pipguard/commands/ci-guard.sh ---------------------------------------------------------------------


def ci_guard(tmp_path: Path, wheelhouse: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = scrubbed_env({
        "PIPGUARD_CI_PYTHON": sys.executable,
        "PIPGUARD_CI_PIPGUARD": f"{sys.executable} {REPO / 'tests' / 'run_pipguard.py'}",
        "PIPGUARD_CI_PIP_ARGS": f"--no-index --find-links {wheelhouse}",
    })
    return subprocess.run(["bash", str(REPO / "pipguard" / "commands" / "ci-guard.sh"), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def test_ci_guard_builds_a_venv_installs_and_passes(tmp_path: Path, wheelhouse: Path) -> None:
    result = ci_guard(tmp_path, wheelhouse, "--venv", "ci-venv", "--export", "known-good.txt", "A", "C")
    assert result.returncode == 0, combined(result)
    assert "OK: every step installed" in result.stderr
    assert "installed C 1.0 instead of 1.1" in result.stderr  # re-planned, not broken
    assert cases_of(tmp_path / "pipguard-junit.xml") == [("pipguard.roots", "A", None),
                                                         ("pipguard.roots", "C", None)]
    exported = (tmp_path / "known-good.txt").read_text().splitlines()
    pins = [line for line in exported if not line.startswith("#")]
    assert pins == ["a==1.0", "b==1.8", "c==1.0"]


def test_ci_guard_fails_the_job_with_the_rejection_in_the_report(guard: Pipguard, tmp_path: Path,
                                                                 wheelhouse: Path) -> None:
    result = ci_guard(tmp_path, wheelhouse, "--venv", str(guard.venv.path), "--junit", "report.xml",
                      "--export", "known-good.txt", "A", "E", "G")
    assert result.returncode == 1, combined(result)
    assert "REJECTED: 'E' would break an earlier project" in result.stderr
    failures = [c for c in cases_of(tmp_path / "report.xml") if c[2] is not None]
    assert [(c[0], c[1]) for c in failures] == [("pipguard.problems.rejected", "transaction 3 rejected")]
    assert (failures[0][2] or "").startswith("rejected transaction 3: install --no-index --find-links ")
    assert "e" not in guard.venv.versions() and guard.venv.versions()["g"] == "1.2"  # later steps still ran
    assert not (tmp_path / "known-good.txt").exists()


def test_ci_guard_plan_first_stops_before_installing(guard: Pipguard, tmp_path: Path, wheelhouse: Path,
                                                     files: dict[str, Path]) -> None:
    result = ci_guard(tmp_path, wheelhouse, "--venv", str(guard.venv.path), "--plan-first",
                      f"-r {files['a.txt']}", f"-r {files['b.txt']}")
    assert result.returncode == 1, combined(result)
    assert "cannot be installed together" in result.stdout
    assert "nothing was installed" in result.stderr
    assert guard.venv.versions().keys() == {"pip"}
    assert ("pipguard.plan.conflict", f"{files['a.txt']} and {files['b.txt']}: b") in [
        (c[0], c[1]) for c in cases_of(tmp_path / "pipguard-junit.xml")]


def test_ci_guard_without_steps_is_a_usage_error(tmp_path: Path, wheelhouse: Path) -> None:
    result = ci_guard(tmp_path, wheelhouse, "--venv", "v")
    assert result.returncode == 2 and "nothing to install" in result.stderr
    assert not (tmp_path / "v").exists()


def test_ci_guard_ships_in_the_wheel_and_runs_as_a_pipguard_command(tmp_path: Path, wheelhouse: Path) -> None:
    """A CI job that did 'pip install pipguard' has no checkout: 'pipguard ci-guard' is the job."""
    built = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(built), str(REPO)], env=scrubbed_env(), check=True, capture_output=True, timeout=300)
    (wheel,) = built.glob("pipguard-*.whl")
    installed = tmp_path / "installed"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(installed),
                    str(wheel)], env=scrubbed_env(), check=True, capture_output=True, timeout=300)
    assert (installed / "pipguard" / "commands" / "ci-guard.sh").is_file()
    job = tmp_path / "job"
    job.mkdir()
    env = scrubbed_env({"PYTHONPATH": str(installed), "PIPGUARD_CI_PYTHON": sys.executable,
                        "PIPGUARD_CI_PIP_ARGS": f"--no-index --find-links {wheelhouse}"})
    env.pop("PIPGUARD_CI_PIPGUARD", None)
    where = subprocess.run([sys.executable, "-c", "import pipguard; print(pipguard.__file__)"], env=env, cwd=job,
                           capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(installed))  # the wheel's pipguard, not this checkout's
    result = subprocess.run([sys.executable, "-m", "pipguard", "ci-guard", "--venv", "ci-venv", "A", "E"], cwd=job,
                            env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 1, combined(result)
    assert "REJECTED: 'E' would break an earlier project" in result.stderr
    assert [c[1] for c in cases_of(job / "pipguard-junit.xml") if c[2] is not None] == ["transaction 3 rejected"]
    refused = subprocess.run([sys.executable, "-m", "pipguard", "--python", sys.executable, "ci-guard", "A"],
                             cwd=job, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 2 and "give it --venv DIR, not --python" in refused.stderr

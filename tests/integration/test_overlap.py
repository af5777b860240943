"""Plain pip's run started ahead (issue 18): pip resolves while pipguard reads the environment.

The install's first pip run needs nothing of pipguard's, so where the
ledger says the request is not met yet it is started before the environment
is read again; it waits at its gate until the core has judged its plan.
These tests run real pip: the order of the starts, a run started ahead and
then not needed (the request turned out satisfied), and a signal
while pip runs ahead and pipguard is still busy with its own work.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.conftest import Pipguard, combined, make_venv
from tests.integration.test_engine_runs import count_pip_runs, runs
from tests.reliability_support import pid_alive, start_pipguard, wait_for
from tests.support.fakes import count_file_reads

pytestmark = pytest.mark.integration

def children(pid: int) -> list[int]:
    """The processes *pid* started and that still run (Linux's /proc)."""
    return [int(word) for word in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def debug_starts(stderr: str, python: str) -> list[str]:
    """What pipguard started, in order, from its PIPGUARD_DEBUG lines: "pip" or "probe"."""
    found = []
    for line in stderr.splitlines():
        if not line.startswith(f"pipguard: running {python} "):
            continue
        rest = line[len(f"pipguard: running {python} "):]
        if rest.startswith("-m pip install"):
            found.append("pip")
        elif rest.startswith("- "):
            found.append("probe")
    return found


def test_a_run_started_ahead_for_a_request_found_satisfied_is_stopped_having_changed_nothing(
        guard: Pipguard, tmp_path: Path) -> None:
    first = guard.install("A")
    assert first.returncode == 0, combined(first)
    behind = guard.venv.pip("install", *guard.index_args(), "G==1.1")  # pipguard's ledger does not know G
    assert behind.returncode == 0, combined(behind)
    before = guard.venv.versions()
    log = tmp_path / "pip-runs.jsonl"
    count_pip_runs(guard.venv, log)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()

    result = guard.install("G", env={"PIPGUARD_TEST_PIP_RUNS": str(log), "TMPDIR": str(tmpdir)})

    assert result.returncode == 0, combined(result)
    assert "Requirement already satisfied: G" in result.stdout
    assert "Traceback" not in result.stderr and "cancelled" not in combined(result).lower()
    assert len(runs(log)) == 1  # started ahead (G was not in the ledger), then not needed
    assert guard.venv.versions() == before
    assert sorted(os.listdir(tmpdir)) == []  # neither pipguard's work directory nor pip's are left
    assert guard.venv.transactions()[-1]["status"] != "pending"


def test_a_signal_while_pip_runs_ahead_stops_pip_and_releases_everything(guard: Pipguard, tmp_path: Path) -> None:
    signum = signal.SIGTERM  # SIGINT and SIGHUP take the same way (system/process.py)
    changed = guard.venv.pip("install", *guard.index_args(), "G==1.0")  # the environment changed: a head start
    assert changed.returncode == 0, combined(changed)
    log = tmp_path / "pip-runs.jsonl"
    count_pip_runs(guard.venv, log)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    marker = tmp_path / "paused"
    started = start_pipguard(
        guard.venv, ["install", *guard.index_args(), "A"], tmp_path / "run",
        env={"PIPGUARD_TEST_PIP_RUNS": str(log), "PIPGUARD_TEST_PAUSE_AT": "pending",
             "PIPGUARD_TEST_PAUSE_MARKER": str(marker), "TMPDIR": str(tmpdir)},
        new_session=True,
    )
    wait_for(marker.exists, "pipguard to stop at its pending step", watch=started.proc)
    wait_for(lambda: bool(runs(log)), "pip to start ahead", watch=started.proc)
    pip_pids = children(started.proc.pid)
    assert len(pip_pids) == 1  # pip, started ahead, runs while pipguard is paused

    os.kill(started.proc.pid, signum)

    assert started.finish() == 128 + signum
    assert not pid_alive(pip_pids[0])  # pip was ended before pipguard
    assert "Traceback" not in started.err()
    assert "a" not in guard.venv.versions()  # pip never passed its gate
    assert [p for p in os.listdir(tmpdir) if p.startswith("pipguard-")] == []
    again = guard.install("A")  # the lock is free; the pending record is closed as interrupted
    assert again.returncode == 0, combined(again)
    assert "interrupted" in [txn["status"] for txn in guard.venv.transactions()]


def test_with_standing_constraints_pip_starts_ahead_once_carrying_them(guard: Pipguard, tmp_path: Path) -> None:
    upper = tmp_path / "upper-constraints.txt"
    upper.write_text("B===1.5; python_version >= '3'\nB===2.5; python_version < '3'\nG===1.1\n")
    added = guard.run("constraints", "add", str(upper))
    assert added.returncode == 0, combined(added)
    first = guard.install("G")
    assert first.returncode == 0, combined(first)
    log = tmp_path / "pip-runs.jsonl"
    count_pip_runs(guard.venv, log)

    result = guard.install("A", env={"PIPGUARD_DEBUG": "1", "PIPGUARD_TEST_PIP_RUNS": str(log)})

    assert result.returncode == 0, combined(result)
    assert debug_starts(result.stderr, guard.venv.python) == ["pip", "probe"]
    (only,) = runs(log)  # the run started ahead was the one the core asked for: not started again
    pip_args = only[only.index("install"):]
    assert any(Path(word).name.startswith("constraints-") for word in pip_args)  # the standing ones, as -c
    assert guard.venv.versions()["b"] == "1.5" and guard.venv.versions()["g"] == "1.1"


def test_a_standing_file_the_command_line_also_passes_reaches_pip_once(guard: Pipguard, tmp_path: Path) -> None:
    """devstack passes ``-c upper-constraints.txt`` on every call, and the file may be kept
    standing too: plain pip's run gets it once, from the command line, and the run started ahead
    is still the one the core asks for. The standing file's lines still protect."""
    upper = tmp_path / "upper-constraints.txt"
    upper.write_text("B===1.5\nG===1.1\n")
    assert guard.run("constraints", "add", str(upper)).returncode == 0
    assert guard.install("G").returncode == 0
    log = tmp_path / "pip-runs.jsonl"
    count_pip_runs(guard.venv, log)
    link = tmp_path / "devstack-requirements" / "upper-constraints.txt"  # the same file, by another path
    link.parent.mkdir()
    link.symlink_to(upper)

    result = guard.install("-c", str(link), "A", env={"PIPGUARD_TEST_PIP_RUNS": str(log)})

    assert result.returncode == 0, combined(result)
    (only,) = runs(log)  # started ahead, and taken over
    assert str(link) in only
    assert not [word for word in only if Path(word).name.startswith("constraints-")]  # no -c of pipguard's
    # but pip's isolated builds, which a -c file does not reach, still get the standing lines
    # (what that file holds: test_overlap_invocation.py; it is gone with pipguard's work directory)
    assert "--build-constraint" in only
    assert [word for word in only if Path(word).name.startswith("build-constraints-")]
    assert guard.venv.versions()["b"] == "1.5" and guard.venv.versions()["a"] == "1.0"

    other = tmp_path / "other-constraints.txt"  # another file: the standing lines go with it, as before
    other.write_text("H===1.0\n")
    log.unlink()
    again = guard.install("-c", str(other), "C==1.0", env={"PIPGUARD_TEST_PIP_RUNS": str(log)})
    assert again.returncode == 0, combined(again)
    (only,) = runs(log)
    assert any(Path(word).name.startswith("constraints-") for word in only)


def test_an_unchanged_standing_file_is_not_read_again_by_the_next_install(
        guard: Pipguard, tmp_path: Path, in_process, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The head start reads the standing lines as the session does: from beside the probe's cache
    (devstack's upper-constraints is ~600 lines, parsed as pip parses them)."""
    upper = tmp_path / "upper-constraints.txt"
    upper.write_text("B===1.5\nG===1.1\n")
    assert guard.run("constraints", "add", str(upper)).returncode == 0
    first = guard.install("G")  # reads the file, and keeps its lines beside the probe's cache
    assert first.returncode == 0, combined(first)
    reads = count_file_reads(monkeypatch)

    again = in_process("--python", guard.venv.python, "install", *guard.index_args(), "G")
    newer = in_process("--python", guard.venv.python, "install", *guard.index_args(), "A")

    assert again.returncode == 0 and "Requirement already satisfied: G" in again.stdout, combined(again)
    assert newer.returncode == 0 and guard.venv.versions()["a"] == "1.0", combined(newer)
    assert str(upper) not in reads


def test_pip_started_on_a_guess_before_the_lock_is_started_afresh_when_another_run_changed_the_ledger(
        guard: Pipguard, tmp_path: Path) -> None:
    """pip is started ahead from the state document read without the lock; when another run
    holds the lock then and changes the ledger, the run started ahead is stopped and the
    install starts again from the ledger as it is under the lock."""
    first = guard.install("G==1.0")
    assert first.returncode == 0, combined(first)
    marker = tmp_path / "paused"
    other = start_pipguard(  # holds the lock, about to write its pending record (not in the state yet)
        guard.venv, ["install", *guard.index_args(), "G==1.1"], tmp_path / "other",
        env={"PIPGUARD_TEST_PAUSE_AT": "ledger-write", "PIPGUARD_TEST_PAUSE_MARKER": str(marker),
             "PIPGUARD_TEST_PAUSE_SECONDS": "3"},
    )
    wait_for(marker.exists, "the other run to hold the lock", watch=other.proc)
    log = tmp_path / "pip-runs.jsonl"
    count_pip_runs(guard.venv, log)

    result = guard.install("A", env={"PIPGUARD_TEST_PIP_RUNS": str(log)})

    assert other.finish() == 0, other.err()
    assert result.returncode == 0, combined(result)
    assert len(runs(log)) == 2  # the run started on the guess, stopped; and the one under the lock
    assert guard.venv.versions()["a"] == "1.0" and guard.venv.versions()["g"] == "1.1"
    assert [t["status"] for t in guard.venv.transactions()][-2:] == ["committed", "committed"]


def test_pip_gone_from_the_target_after_an_install_exits_12_with_nothing_left_running(
        guard: Pipguard, tmp_path: Path) -> None:
    first = guard.install("G==1.0")
    assert first.returncode == 0, combined(first)
    gone = guard.venv.pip("uninstall", "-y", "pip")  # behind pipguard's back: pip starts ahead, and fails
    assert gone.returncode == 0, combined(gone)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()

    result = guard.install("A", env={"TMPDIR": str(tmpdir)})

    assert result.returncode == 12, combined(result)
    assert "Traceback" not in result.stderr and "No module named pip" not in combined(result)
    assert "pip" in result.stderr.splitlines()[-1]  # the session's own refusal, naming pip
    assert os.listdir(tmpdir) == []
    assert guard.venv.transactions()[-1]["status"] != "pending"


def test_a_ledger_of_another_environment_is_refused_as_before_with_pip_started_ahead_stopped(
        guard: Pipguard, tmp_path: Path) -> None:
    other = Pipguard(make_venv(tmp_path / "other"), guard.find_links)
    first = other.install("G==1.0")
    assert first.returncode == 0, combined(first)
    ledger = other.venv.ledger_path
    before = ledger.read_bytes()
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()

    result = guard.run("--ledger", str(ledger), "install", *guard.index_args(), "A", env={"TMPDIR": str(tmpdir)})

    assert result.returncode == 11, combined(result)  # the ledger's exit code
    assert "belongs to the environment" in result.stderr and "Traceback" not in result.stderr
    assert ledger.read_bytes() == before
    assert "a" not in guard.venv.versions()
    assert os.listdir(tmpdir) == []


def test_after_an_install_pip_starts_before_the_probe_and_its_run_is_the_one_installing(
        guard: Pipguard, tmp_path: Path) -> None:
    first = guard.install("G==1.0")  # the environment changed: the probe runs again next time
    assert first.returncode == 0, combined(first)
    upper = tmp_path / "upper.txt"
    upper.write_text("B<1.8\nG<=1.1\n")
    log = tmp_path / "pip-runs.jsonl"
    count_pip_runs(guard.venv, log)

    result = guard.install("-c", str(upper), "A", env={"PIPGUARD_DEBUG": "1", "PIPGUARD_TEST_PIP_RUNS": str(log)})

    assert result.returncode == 0, combined(result)
    assert debug_starts(result.stderr, guard.venv.python) == ["pip", "probe"]
    assert len(runs(log)) == 1  # the run started before the -c file was read is the core's
    assert "Successfully installed A-1.0" in result.stdout  # plain pip's own words, as before
    assert guard.venv.versions()["a"] == "1.0" and guard.venv.versions()["b"] == "1.5"
    assert [(txn["command"], txn["status"]) for txn in guard.venv.transactions()][-2:] == [
        ("install", "committed"), ("install", "committed")]


def test_a_bad_constraints_file_read_after_pip_started_ahead_is_refused_as_before(
        guard: Pipguard, tmp_path: Path) -> None:
    first = guard.install("G==1.0")
    assert first.returncode == 0, combined(first)
    upper = tmp_path / "upper.txt"
    upper.write_text("B<1.8\nthis is not a requirement\n")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()

    result = guard.install("-c", str(upper), "A", env={"TMPDIR": str(tmpdir)})

    assert result.returncode == 2, combined(result)
    assert str(upper) in result.stderr and "Traceback" not in result.stderr
    assert "a" not in guard.venv.versions()
    assert os.listdir(tmpdir) == []
    assert guard.venv.transactions()[-1]["command"] == "install"  # G's: nothing recorded for A


def test_under_uv_the_dry_run_starts_before_the_probe_and_is_the_one_the_core_reads(
        guard: Pipguard, tmp_path: Path, uv_ready: str) -> None:
    uv = Pipguard(guard.venv, guard.find_links, engine="uv")
    first = uv.install("G==1.0")
    assert first.returncode == 0, combined(first)

    result = uv.install("A", env={"PIPGUARD_DEBUG": "1"})

    assert result.returncode == 0, combined(result)
    starts = [line for line in result.stderr.splitlines() if line.startswith("pipguard: running ")]
    dry_runs = [i for i, line in enumerate(starts) if " pip install " in line and "--dry-run" in line]
    probes = [i for i, line in enumerate(starts) if line.startswith(f"pipguard: running {guard.venv.python} - ")]
    assert len(dry_runs) == 1 and len(probes) == 1, starts  # one dry run: started ahead, then taken over
    assert dry_runs[0] < probes[0]
    assert guard.venv.versions()["a"] == "1.0"

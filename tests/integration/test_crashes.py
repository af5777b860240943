"""kill -9 at every step of a transaction: nothing is lost, nothing half-written.

pipguard stops at a named step through its test hook
(``PIPGUARD_TEST_PAUSE_AT``, see pipguard/testhook.py); "during pip" is a real
pip stopped inside a real build (a source project whose build backend waits
for the test). Then the process (pipguard, or its pip child) gets SIGKILL,
and the ledger, ``pipguard check`` and the next guarded run are examined.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipguard.ledger import ledger_from_dict
from tests.conftest import REPO, Pipguard, combined, scrubbed_env
from tests.reliability_support import (
    Started,
    changes_of,
    kill9,
    pid_alive,
    start_pipguard,
    statuses,
    wait_for,
    write_slow_project,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def guarded(guard: Pipguard, make_wheel) -> Pipguard:  # type: ignore[no-untyped-def]
    """An environment with a ledger: the baseline and A (which needs B>1.0,<2.0)."""
    make_wheel("newpkg", "1.0")
    make_wheel("other", "1.0")
    result = guard.install("A")
    assert result.returncode == 0, combined(result)
    return guard


def start_paused(guard: Pipguard, tmp_path: Path, step: str, *args: str) -> tuple[Started, Path]:
    marker = tmp_path / f"paused-{step}"
    started = start_pipguard(
        guard.venv,
        ["install", *guard.index_args(), *args],
        tmp_path / f"run-{step}",
        env={"PIPGUARD_TEST_PAUSE_AT": step, "PIPGUARD_TEST_PAUSE_MARKER": str(marker)},
    )
    wait_for(marker.exists, f"pipguard to reach step {step}", watch=started.proc)
    pid, reached = marker.read_text().split()
    assert int(pid) == started.proc.pid and reached == step.split("#")[0]
    return started, marker


def kill_pipguard(started: Started) -> None:
    kill9(started.proc.pid)
    assert started.finish() == -signal.SIGKILL


def installed(guard: Pipguard) -> dict[str, str]:
    return guard.venv.versions()


def assert_next_run_reconciles(guard: Pipguard, txn_id: int, before: dict[str, str]) -> dict[str, object]:
    """The next guarded run marks *txn_id* interrupted with what really changed."""
    really = installed(guard)
    result = guard.install("other")
    assert result.returncode == 0, combined(result)
    assert f"transaction {txn_id}" in result.stderr and "was interrupted" in result.stderr
    ledger = guard.venv.ledger()
    txn = next(t for t in ledger["transactions"] if t["id"] == txn_id)
    assert txn["status"] == "interrupted"
    expected = {
        name: (before.get(name), really.get(name))
        for name in set(before) | set(really)
        if before.get(name) != really.get(name)
    }
    assert changes_of(txn) == expected
    assert "drift" not in [t["status"] for t in ledger["transactions"]]
    assert ledger["distributions"] == installed(guard)
    check = guard.run("check")
    assert check.returncode == 0, combined(check)
    return txn


def assert_check_reports_interrupted(guard: Pipguard, txn_id: int) -> None:
    check = guard.run("check")
    assert check.returncode == 1, combined(check)
    assert f"interrupted transaction {txn_id}: install" in check.stdout


def test_kill_after_pending_is_written_leaves_a_pending_record_that_the_next_run_closes(
    guarded: Pipguard, tmp_path: Path
) -> None:
    before = installed(guarded)
    started, _ = start_paused(guarded, tmp_path, "pending", "newpkg")
    kill_pipguard(started)

    ledger = guarded.venv.ledger()
    ledger_from_dict(ledger)
    txn_id, status = statuses(ledger)[-1]
    assert status == "pending"
    assert "newpkg" in ledger["transactions"][-1]["argv"]
    assert "newpkg" not in installed(guarded)
    assert_check_reports_interrupted(guarded, txn_id)

    txn = assert_next_run_reconciles(guarded, txn_id, before)
    assert txn["changes"] == []  # pip never ran


def test_kill_before_commit_records_what_pip_installed(guarded: Pipguard, tmp_path: Path) -> None:
    before = installed(guarded)
    started, _ = start_paused(guarded, tmp_path, "commit", "newpkg")
    kill_pipguard(started)

    ledger = guarded.venv.ledger()
    txn_id, status = statuses(ledger)[-1]
    assert status == "pending"
    assert installed(guarded)["newpkg"] == "1.0"  # pip finished before the kill
    assert_check_reports_interrupted(guarded, txn_id)

    txn = assert_next_run_reconciles(guarded, txn_id, before)
    assert changes_of(txn) == {"newpkg": (None, "1.0")}


@pytest.mark.parametrize(("step", "expect_pending"), [("ledger-write", False), ("ledger-write#2", True)])
def test_kill_in_the_middle_of_a_ledger_save_leaves_the_previous_ledger_whole(
    guarded: Pipguard, tmp_path: Path, step: str, expect_pending: bool
) -> None:
    """First save of the run (the pending record) and second (the commit)."""
    ledger_path = guarded.venv.ledger_path
    before_bytes = ledger_path.read_bytes()
    before = installed(guarded)
    started, _ = start_paused(guarded, tmp_path, step, "newpkg")
    on_disk = ledger_path.read_bytes()  # the writer is stopped mid-write
    kill_pipguard(started)

    leftovers = list(ledger_path.parent.glob(".ledger.json.*.tmp"))
    assert len(leftovers) == 1, "the kill should have caught a save half-way"
    with pytest.raises(ValueError):
        json.loads(leftovers[0].read_text())  # really half-written...
    assert ledger_path.read_bytes() == on_disk  # ...and the ledger untouched by it
    ledger = ledger_from_dict(json.loads(on_disk))
    if expect_pending:
        assert ledger.transactions[-1].status == "pending"
        assert_check_reports_interrupted(guarded, ledger.transactions[-1].id)
        assert_next_run_reconciles(guarded, ledger.transactions[-1].id, before)
    else:
        assert on_disk == before_bytes
        result = guarded.install("other")
        assert result.returncode == 0, combined(result)
    assert not list(ledger_path.parent.glob(".ledger.json.*.tmp")), "the next run cleans up"


@pytest.fixture
def slow_project(tmp_path: Path) -> Path:
    return write_slow_project(tmp_path / "slow project", "slowpkg", "1.0")


def start_slow_install(
    guard: Pipguard, tmp_path: Path, project: Path
) -> tuple[Started, dict[str, int], Path]:
    marker, release = tmp_path / "build-started", tmp_path / "build-release"
    started = start_pipguard(
        guard.venv,
        ["install", "-q", *guard.index_args(), str(project)],
        tmp_path / "run-slow",
        env={"SLOW_BUILD_MARKER": str(marker), "SLOW_BUILD_RELEASE": str(release)},
    )
    wait_for(marker.exists, "pip to start building the slow project", watch=started.proc)
    pids: dict[str, int] = json.loads(marker.read_text())
    assert pid_alive(pids["pip"]) and pid_alive(pids["backend"])
    return started, pids, release


def test_kill_pipguard_while_pip_runs_then_pip_finishes_and_the_next_run_records_it(
    guarded: Pipguard, tmp_path: Path, slow_project: Path
) -> None:
    before = installed(guarded)
    started, pids, release = start_slow_install(guarded, tmp_path, slow_project)
    kill_pipguard(started)
    assert pid_alive(pids["pip"]), "pip goes on without pipguard"
    release.touch()
    wait_for(lambda: not pid_alive(pids["pip"]), "the orphaned pip to finish")

    ledger = guarded.venv.ledger()
    txn_id, status = statuses(ledger)[-1]
    assert status == "pending"
    assert_check_reports_interrupted(guarded, txn_id)
    txn = assert_next_run_reconciles(guarded, txn_id, before)
    # Whatever the orphaned pip managed is what is recorded: it may finish the
    # install, or stop at its first line into the pipe its dead parent left.
    finished = "slowpkg" in installed(guarded)
    assert changes_of(txn) == ({"slowpkg": (None, "1.0")} if finished else {})


def test_kill_pip_while_it_runs_is_recorded_as_interrupted_by_pipguard(
    guarded: Pipguard, tmp_path: Path, slow_project: Path
) -> None:
    before_ledger = guarded.venv.ledger()
    started, pids, _release = start_slow_install(guarded, tmp_path, slow_project)
    kill9(pids["pip"])
    try:
        code = started.finish()
    finally:
        kill9(pids["backend"])
    assert code == 128 + signal.SIGKILL
    assert "pip was killed by signal SIGKILL" in started.err()
    assert "Traceback" not in started.err()

    ledger = guarded.venv.ledger()
    assert len(ledger["transactions"]) == len(before_ledger["transactions"]) + 1
    txn = ledger["transactions"][-1]
    assert txn["status"] == "interrupted"
    assert txn["reason"] == "pip was killed by signal SIGKILL"
    assert changes_of(txn) == {}  # pip died while building: nothing was installed
    assert "slowpkg" not in installed(guarded)
    assert ledger["distributions"] == installed(guarded)
    check = guarded.run("check")
    assert check.returncode == 0, combined(check)


_WRITER = textwrap.dedent(
    """
    import sys
    from dataclasses import replace
    from pathlib import Path
    from pipguard.ledger import Ledger, LedgerStore, Transaction
    store = LedgerStore(Path(sys.argv[1]))
    ledger = store.load() or Ledger()
    print("ready", flush=True)
    for i in range(100000):
        txn = Transaction(id=ledger.next_id, command="install", argv=("install", "x" * 2000),
                          status="committed", started="2024-01-01T00:00:00Z")
        ledger = ledger.with_transaction(txn)
        store.save(ledger)
    """
)


def test_a_writer_killed_at_random_moments_never_leaves_a_truncated_ledger(tmp_path: Path) -> None:
    """No hook here: SIGKILL lands wherever the writer happens to be."""
    import random

    ledger_path = tmp_path / "ledger" / "ledger.json"
    seen_sizes = set()
    rng = random.Random(1234)
    for _ in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(ledger_path)],
            stdout=subprocess.PIPE,
            env=scrubbed_env({"PYTHONPATH": str(REPO)}),
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        previous = ledger_path.stat().st_size if ledger_path.exists() else 0
        wait_for(
            lambda previous=previous: ledger_path.exists() and ledger_path.stat().st_size != previous,
            "the writer to save at least once",
            watch=proc,
        )
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        text = ledger_path.read_text()
        ledger = ledger_from_dict(json.loads(text))  # parses, validates: whole
        assert [t.id for t in ledger.transactions] == list(range(1, len(ledger.transactions) + 1))
        seen_sizes.add(len(ledger.transactions))
    assert len(seen_sizes) > 1, "the writer made progress between kills"

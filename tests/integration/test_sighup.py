"""SIGHUP (a closed terminal or ssh session) is handled as SIGTERM is (issue 19.14).

While pip runs, a SIGHUP to pipguard's pid is passed on to pip, pipguard waits
for pip to end, records the transaction as interrupted, and only then releases
the lock (exit 129). Outside a child, SIGHUP unwinds like Ctrl-C. The same
shapes as tests/integration/test_signals.py's SIGTERM cases.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import filelock
import pytest

from tests.conftest import REPO, Pipguard, Venv, combined, scrubbed_env
from tests.reliability_support import Started, kill9, pid_alive, statuses, wait_for, write_slow_project

pytestmark = pytest.mark.integration


@pytest.fixture
def guarded(guard: Pipguard, make_wheel) -> Pipguard:  # type: ignore[no-untyped-def]
    make_wheel("other", "1.0")
    result = guard.install("A")
    assert result.returncode == 0, combined(result)
    return guard


def start_pipguard(venv: Venv, args: list[str], logs: Path, env: dict[str, str],
                   new_session: bool = False) -> Started:
    """``python -m pipguard --python VENV ARGS`` in the background, from this checkout (cwd=REPO, as
    the ``guard`` fixture runs it: no installed pipguard needed, no PYTHONPATH leaking into pip)."""
    logs.mkdir(parents=True, exist_ok=True)
    stdout, stderr = logs / "stdout", logs / "stderr"
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipguard", "--python", venv.python, *args], stdout=out, stderr=err,
            stdin=subprocess.DEVNULL, env=scrubbed_env(env), cwd=REPO, start_new_session=new_session,
        )
    return Started(proc, stdout, stderr)


def lock_is_free(guard: Pipguard) -> bool:
    lock = filelock.FileLock(str(guard.venv.ledger_path) + ".lock")
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        return False
    lock.release()
    return True


def start_slow_install(guard: Pipguard, tmp_path: Path) -> tuple[Started, dict[str, int]]:
    project = write_slow_project(tmp_path / "slow project", "slowpkg", "1.0")
    marker, release = tmp_path / "build-started", tmp_path / "build-release"
    started = start_pipguard(
        guard.venv, ["install", "-q", *guard.index_args(), str(project)], tmp_path / "run-slow",
        env={"SLOW_BUILD_MARKER": str(marker), "SLOW_BUILD_RELEASE": str(release)}, new_session=True,
    )
    wait_for(marker.exists, "pip to start building the slow project", watch=started.proc)
    pids: dict[str, int] = json.loads(marker.read_text())
    assert pid_alive(pids["pip"])
    return started, pids


def test_sighup_during_pip_stops_pip_first_and_records_it_before_the_lock_goes(guarded: Pipguard,
                                                                              tmp_path: Path) -> None:
    before = guarded.venv.transactions()
    started, pids = start_slow_install(guarded, tmp_path)
    try:
        os.kill(started.proc.pid, signal.SIGHUP)  # pipguard's pid alone
        code = started.finish()
        pip_alive_after = pid_alive(pids["pip"])
    finally:
        kill9(pids["pip"])
        kill9(pids["backend"])
    assert not pip_alive_after, "pipguard ended (and let go of the lock) while pip still ran"
    assert code == 128 + signal.SIGHUP == 129, started.err()
    assert "Traceback" not in started.err()
    assert "pipguard: interrupted by SIGHUP." in started.err()
    transactions = guarded.venv.transactions()
    assert len(transactions) == len(before) + 1
    txn = transactions[-1]
    assert txn["status"] == "interrupted"  # never left pending
    assert txn["reason"].startswith("pipguard received SIGHUP while pip ran; ")
    assert "slowpkg" not in guarded.venv.versions()
    assert lock_is_free(guarded)
    check = guarded.run("check")
    assert check.returncode == 0, combined(check)


def test_sighup_outside_a_child_unwinds_and_releases_the_lock(guarded: Pipguard, tmp_path: Path) -> None:
    marker = tmp_path / "paused"
    started = start_pipguard(
        guarded.venv, ["install", *guarded.index_args(), "other"], tmp_path / "run",
        env={"PIPGUARD_TEST_PAUSE_AT": "pending", "PIPGUARD_TEST_PAUSE_MARKER": str(marker)},
    )
    wait_for(marker.exists, "pipguard to stop at its pending step", watch=started.proc)
    assert not lock_is_free(guarded)
    os.kill(started.proc.pid, signal.SIGHUP)
    assert started.finish() == 129
    assert started.err().splitlines()[-1] == "pipguard: interrupted by SIGHUP."
    assert "Traceback" not in started.err()
    assert lock_is_free(guarded)
    # The pending record it left is closed by the next run, as after SIGTERM.
    assert statuses(guarded.venv.transactions())[-1][1] == "pending"
    result = guarded.install("other")
    assert result.returncode == 0, combined(result)
    assert "interrupted" in [status for _, status in statuses(guarded.venv.transactions())]

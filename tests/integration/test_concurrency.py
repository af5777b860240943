"""Concurrent runs: serialised per environment, independent across environments.

The test process holds an environment's lock itself (filelock, the same
lock file pipguard uses) to make the contention certain rather than likely,
and every wait is for an observable event, never a duration.
"""

from __future__ import annotations

import filelock
import pytest

from pipguard.core.model import LedgerState, Transaction
from pipguard.ledger.store import LedgerStore
from tests.conftest import Pipguard, Venv, combined, make_venv
from tests.reliability_support import changes_of, start_pipguard, wait_for

pytestmark = pytest.mark.integration

WAITING = "waiting for another pipguard run on this environment"


def hold_lock(venv: Venv) -> filelock.FileLock:
    venv.ledger_path.parent.mkdir(mode=0o755, exist_ok=True)
    lock = filelock.FileLock(str(venv.ledger_path) + ".lock")
    lock.acquire(timeout=5)
    return lock


def test_eight_installs_started_at_once_are_serialised_and_all_recorded(
    guard: Pipguard,
    make_wheel,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    names = [f"pkg{i}" for i in range(8)]
    for i, name in enumerate(names):
        make_wheel(name, "1.0", ["B>=1.0"] if i % 2 else [])
    lock = hold_lock(guard.venv)
    try:
        runs = [
            start_pipguard(guard.venv, ["install", *guard.index_args(), name], tmp_path / f"run-{name}")
            for name in names
        ]
        for run in runs:  # all eight are blocked on the lock at the same moment
            wait_for(lambda run=run: WAITING in run.err(), "every run to wait for the lock", watch=run.proc)
    finally:
        lock.release()
    for run in runs:
        assert run.finish() == 0, run.err()

    txns = guard.venv.transactions()
    ledger = guard.venv.ledger()
    assert [t["id"] for t in txns] == list(range(1, 10))
    assert [t["status"] for t in txns] == ["committed"] * 9
    assert txns[0]["command"] == "baseline"
    # Serialised: each run saw the state the previous one left, so each
    # package shows up in exactly one transaction's changes, and no run
    # recorded another's install as drift.
    for name in names:
        owners = [t["id"] for t in txns if name in changes_of(t)]
        assert len(owners) == 1, (name, owners)
        assert changes_of(txns[owners[0] - 1])[name] == (None, "1.0")
    assert sorted(name for name in ledger["roots"] if name.startswith("pkg")) == names
    assert ledger["distributions"] == guard.venv.versions()
    pip_check = guard.venv.pip("check")
    assert pip_check.returncode == 0, pip_check.stdout
    check = guard.run("check")
    assert check.returncode == 0, combined(check)


def test_installs_into_two_environments_do_not_wait_for_each_other(
    guard: Pipguard,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    other = Pipguard(make_venv(tmp_path / "venv2"), guard.find_links)
    lock = hold_lock(guard.venv)
    try:
        blocked = start_pipguard(guard.venv, ["install", *guard.index_args(), "G"], tmp_path / "run-env1")
        wait_for(lambda: WAITING in blocked.err(), "the run on env1 to wait", watch=blocked.proc)
        result = other.install("A")  # env2: runs to the end while env1's run waits
        assert result.returncode == 0, combined(result)
        assert WAITING not in result.stderr
        assert other.venv.versions()["a"] == "1.0"
        assert blocked.proc.poll() is None, "env1's run is still waiting"
        assert "g" not in guard.venv.versions()
    finally:
        lock.release()
    assert blocked.finish() == 0, blocked.err()
    assert guard.venv.versions()["g"] == "1.2"


@pytest.mark.parametrize(
    ("where", "extra_env"),
    [
        ("global option", {}),
        ("inside the install arguments", {}),
        ("PIPGUARD_LOCK_TIMEOUT", {"PIPGUARD_LOCK_TIMEOUT": "0.3"}),
    ],
)
def test_a_lock_held_too_long_gives_a_clear_message_and_exit_11(
    guard: Pipguard, where: str, extra_env: dict[str, str]
) -> None:
    store = LedgerStore(guard.venv.ledger_path)
    with store.locked():
        store.finish(LedgerState(), Transaction(1, "baseline", status="committed"))
    before = guard.venv.ledger_path.read_bytes()
    args = ["install", *guard.index_args(), "G"]
    if where == "global option":
        args = ["--lock-timeout", "0.3", *args]
    elif where == "inside the install arguments":
        args = [*args, "--lock-timeout=0.3"]
    lock = hold_lock(guard.venv)
    try:
        result = guard.run(*args, env=extra_env)
    finally:
        lock.release()
    assert result.returncode == 11, combined(result)
    assert "timed out after 0.3 s waiting for the lock" in result.stderr
    assert str(guard.venv.ledger_path) + ".lock" in result.stderr
    assert "--lock-timeout" in result.stderr
    assert "Traceback" not in result.stderr
    assert guard.venv.ledger_path.read_bytes() == before
    assert "g" not in guard.venv.versions()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--lock-timeout", "-1"], {}, "--lock-timeout must be zero or more seconds"),
        (["--lock-timeout", "nan"], {}, "--lock-timeout must be zero or more seconds, a finite number"),
        (["--lock-timeout", "inf"], {}, "--lock-timeout must be zero or more seconds, a finite number"),
        ([], {"PIPGUARD_LOCK_TIMEOUT": "nan"}, "PIPGUARD_LOCK_TIMEOUT must be zero or more seconds"),
        ([], {"PIPGUARD_LOCK_TIMEOUT": "-inf"}, "PIPGUARD_LOCK_TIMEOUT must be zero or more seconds"),
        (["--lock-timeout", "soon"], {}, "argument --lock-timeout: invalid float value: 'soon'"),
        ([], {"PIPGUARD_LOCK_TIMEOUT": "soon"}, "PIPGUARD_LOCK_TIMEOUT must be a number of seconds"),
    ],
)
def test_a_bad_lock_timeout_is_a_usage_error(
    guard: Pipguard, args: list[str], env: dict[str, str], message: str
) -> None:
    result = guard.run(*args, "install", *guard.index_args(), "G", env=env)
    assert result.returncode == 2, combined(result)
    assert message in result.stderr
    assert not guard.venv.ledger_path.exists()


def test_a_read_waits_for_a_writer_and_readers_do_not_wait_for_each_other(
    guard: Pipguard,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    assert guard.install("A").returncode == 0
    lock = hold_lock(guard.venv)  # a writer, as far as pipguard can tell
    try:
        result = guard.run("--lock-timeout", "0.3", "check")
    finally:
        lock.release()
    assert result.returncode == 11 and "timed out after 0.3 s waiting for the lock" in result.stderr
    import fcntl

    with open(str(guard.venv.ledger_path) + ".lock") as reader:  # another reader
        fcntl.flock(reader, fcntl.LOCK_SH)
        for args in (["check"], ["ledger"], ["history", "--last", "1"], ["export"], ["why", "b"]):
            shared = guard.run("--lock-timeout", "0", *args)
            assert shared.returncode == 0, combined(shared)
            assert WAITING not in shared.stderr


def test_a_long_history_read_into_a_pager_never_keeps_an_install_waiting(guard: Pipguard) -> None:
    import contextlib
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import REPO, scrubbed_env

    assert guard.install("A").returncode == 0
    store = LedgerStore(guard.venv.ledger_path)
    with store.locked():
        state = store.load()
        assert state is not None
        padding = [Transaction(state.last_id + 1 + i, "install", ("install", "x" * 200), "failed")
                   for i in range(3000)]  # far more than a pipe holds
        state = store.record_many(state, padding)
    reader = subprocess.Popen(  # stdout a pipe nobody reads yet: a pager the user left open
        [sys.executable, "-m", "pipguard", "--python", guard.venv.python, "history"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=scrubbed_env(), cwd=REPO,
    )
    def reading_the_journal() -> bool:
        fds = Path(f"/proc/{reader.pid}/fd")
        with contextlib.suppress(OSError):
            return any(os.readlink(fd) == str(guard.venv.journal_path) for fd in fds.iterdir())
        return False

    try:
        wait_for(reading_the_journal, "the reader to open the journal", watch=reader)
        result = guard.run("--lock-timeout", "20", "install", *guard.index_args(), "G")
        assert result.returncode == 0, combined(result)
        assert reader.poll() is None, "the reader was still blocked on its output"
    finally:
        out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err.decode()
    ids = [int(line.split()[0]) for line in out.decode().splitlines()[1:] if line[:1].isdigit()]
    assert ids[-1] == state.last_id, "it shows the journal as it was when it was opened"

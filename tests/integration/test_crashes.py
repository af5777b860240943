"""kill -9 at every step of a transaction: nothing is lost, nothing half-written.

pipguard stops at a named step through its test hook
(``PIPGUARD_TEST_PAUSE_AT``, see pipguard/testhook.py); "during pip" is a real
pip stopped inside a real build (a source project whose build backend waits
for the test). Then the process (pipguard, or its pip child) gets SIGKILL,
and the ledger (its state and its journal), ``pipguard check`` and the next
guarded run are examined. For an install on an existing ledger, the first
journal append and state save are the pending record, the second the commit.
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

from pipguard.ledger.state import decode_state
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
    transactions = guard.venv.transactions()
    txn = next(t for t in transactions if t["id"] == txn_id)
    assert txn["status"] == "interrupted"
    expected = {
        name: (before.get(name), really.get(name))
        for name in set(before) | set(really)
        if before.get(name) != really.get(name)
    }
    assert changes_of(txn) == expected
    assert "drift" not in [t["status"] for t in transactions]
    assert guard.venv.ledger()["distributions"] == installed(guard)
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

    state = decode_state(guarded.venv.ledger_path.read_text())
    txn_id, status = statuses(guarded.venv.transactions())[-1]
    assert status == "pending" and state.pending is not None and state.pending.id == txn_id
    assert "newpkg" in guarded.venv.transactions()[-1]["argv"]
    assert "newpkg" not in installed(guarded)
    assert_check_reports_interrupted(guarded, txn_id)

    txn = assert_next_run_reconciles(guarded, txn_id, before)
    assert txn["changes"] == []  # pip never ran
    assert "newpkg" not in guarded.venv.ledger()["roots"]  # ...so the root it meant to add is not


def test_kill_before_commit_records_what_pip_installed_and_the_root_asked_for(
    guarded: Pipguard, tmp_path: Path
) -> None:
    before = installed(guarded)
    started, _ = start_paused(guarded, tmp_path, "commit", "newpkg")
    kill_pipguard(started)

    txn_id, status = statuses(guarded.venv.transactions())[-1]
    assert status == "pending"
    assert installed(guarded)["newpkg"] == "1.0"  # pip finished before the kill
    assert_check_reports_interrupted(guarded, txn_id)

    txn = assert_next_run_reconciles(guarded, txn_id, before)
    assert changes_of(txn) == {"newpkg": (None, "1.0")}
    root = guarded.venv.ledger()["roots"]["newpkg"]
    assert (root["display_name"], root["added_by"]) == ("newpkg", txn_id)
    assert [change["name"] for change in txn["roots"]] == ["newpkg"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("step", "expect_pending"), [("ledger-write", False), ("ledger-write#2", True)])
def test_kill_in_the_middle_of_a_state_save_leaves_the_previous_ledger_whole(
    guarded: Pipguard, tmp_path: Path, step: str, expect_pending: bool
) -> None:
    """The state is staged before the journal line is appended: killed while staging
    the pending state (#1), nothing is recorded yet; while staging the commit (#2),
    the pending record stands and the next run closes it with what pip changed."""
    ledger_path, journal = guarded.venv.ledger_path, guarded.venv.journal_path
    before_bytes, journal_bytes = ledger_path.read_bytes(), journal.read_bytes()
    before = installed(guarded)
    started, _ = start_paused(guarded, tmp_path, step, "newpkg")
    on_disk = ledger_path.read_bytes()  # the writer is stopped mid-write
    kill_pipguard(started)

    leftovers = list(ledger_path.parent.glob(".ledger.json.*.tmp"))
    assert len(leftovers) == 1, "the kill should have caught a save half-way"
    with pytest.raises(ValueError):
        json.loads(leftovers[0].read_text())  # really half-written...
    assert ledger_path.read_bytes() == on_disk  # ...and the state untouched by it
    state = decode_state(on_disk.decode())
    if expect_pending:
        assert state.pending is not None
        assert_check_reports_interrupted(guarded, state.pending.id)
        txn = assert_next_run_reconciles(guarded, state.pending.id, before)
        assert changes_of(txn) == {"newpkg": (None, "1.0")}
    else:
        assert on_disk == before_bytes and journal.read_bytes() == journal_bytes
        check = guarded.run("check")
        assert check.returncode == 0, combined(check)
        result = guarded.install("other")
        assert result.returncode == 0, combined(result)
        assert "interrupted" not in result.stderr and "newpkg" not in installed(guarded)
    assert not list(ledger_path.parent.glob(".ledger.json.*.tmp")), "the next run cleans up"


@pytest.mark.parametrize("step", ["journal-append", "journal-append#2"])
def test_kill_in_the_middle_of_a_journal_append_sets_the_torn_line_aside(
    guarded: Pipguard, tmp_path: Path, step: str
) -> None:
    """#1: the pending record is torn (pip never ran); #2: the commit is torn (pip ran)."""
    journal = guarded.venv.journal_path
    state_before = guarded.venv.ledger_path.read_bytes()
    before = installed(guarded)
    started, _ = start_paused(guarded, tmp_path, step, "newpkg")
    torn = journal.read_bytes()
    kill_pipguard(started)

    assert not torn.endswith(b"\n"), "the kill should have caught an append half-way"
    fragment = torn[torn.rindex(b"\n") + 1:]
    check = guarded.run("check")
    assert "is torn" in check.stderr and "Traceback" not in check.stderr
    assert journal.read_bytes() == torn, "a read sets nothing aside"
    if step == "journal-append":
        assert guarded.venv.ledger_path.read_bytes() == state_before
        assert check.returncode == 0, combined(check)
        result = guarded.install("other")
        assert result.returncode == 0, combined(result)
        assert "newpkg" not in installed(guarded)
    else:
        assert check.returncode == 1 and "interrupted transaction" in check.stdout
        txn_id = decode_state(guarded.venv.ledger_path.read_text()).last_id
        assert_next_run_reconciles(guarded, txn_id, before)
        result = None
    aside = journal.with_name(journal.name + ".torn")
    assert aside.read_bytes() == fragment + b"\n", "set aside, never lost"
    assert journal.read_bytes().endswith(b"\n")
    for record in journal.read_text().splitlines():
        json.loads(record)  # every line left is whole
    if result is not None:
        assert "was torn" in result.stderr and str(aside) in result.stderr


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

    txn_id, status = statuses(guarded.venv.transactions())[-1]
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
    before_transactions = guarded.venv.transactions()
    started, pids, _release = start_slow_install(guarded, tmp_path, slow_project)
    kill9(pids["pip"])
    try:
        code = started.finish()
    finally:
        kill9(pids["backend"])
    assert code == 128 + signal.SIGKILL
    assert "pip was killed by signal SIGKILL" in started.err()
    assert "Traceback" not in started.err()

    transactions = guarded.venv.transactions()
    assert len(transactions) == len(before_transactions) + 1
    txn = transactions[-1]
    assert txn["status"] == "interrupted"
    assert txn["reason"] == "pip was killed by signal SIGKILL"
    assert changes_of(txn) == {}  # pip died while building: nothing was installed
    assert "slowpkg" not in installed(guarded)
    assert guarded.venv.ledger()["distributions"] == installed(guarded)
    check = guarded.run("check")
    assert check.returncode == 0, combined(check)


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pipguard.ledger.store import LedgerStore
    from pipguard.core.model import LedgerState
    from pipguard.core.transactions import close, start
    clock = lambda: "2024-01-01T00:00:00Z"
    store = LedgerStore(Path(sys.argv[1]))
    with store.locked():
        state = store.load() or LedgerState()
        if state.pending is not None:  # the run before was killed mid-transaction
            state = store.finish(state, close(state, state.pending, "interrupted", clock))
        print("ready", flush=True)
        for i in range(100000):
            txn = start(state, "install", ["install", "x" * 2000], None, "compatible", clock)
            state = store.begin(state, txn)
            state = store.finish(state, close(state, txn, "committed", clock, after={"x": str(i)}))
    """
)


def test_a_writer_killed_at_random_moments_never_leaves_a_broken_ledger(tmp_path: Path) -> None:
    """No hook here: SIGKILL lands wherever the writer happens to be, in the journal
    or in the state; the next load repairs, sets aside, and reads a whole ledger."""
    import random

    from pipguard.ledger.store import LedgerStore

    ledger_path = tmp_path / "ledger" / "ledger.json"
    journal = ledger_path.with_name("ledger.journal.jsonl")
    seen = set()
    rng = random.Random(1234)
    for _ in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(ledger_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=scrubbed_env({"PYTHONPATH": str(REPO)}),
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        previous = journal.stat().st_size if journal.exists() else 0
        wait_for(
            lambda previous=previous: journal.exists() and journal.stat().st_size != previous,
            "the writer to append at least once",
            watch=proc,
        )
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        store = LedgerStore(ledger_path)
        with store.locked():
            state = store.load()  # parses, validates, repairs: whole
            assert state is not None
            ids = [t.id for t in store.journal]
        assert ids == list(range(1, len(ids) + 1)) and state.last_id == ids[-1]
        assert all(t.status != "pending" for t in store.journal if t.id != state.last_id)
        seen.add(state.last_id)
    assert len(seen) > 1, "the writer made progress between kills"

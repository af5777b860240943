"""An install already satisfied is answered under the shared lock when it has nothing to record
(``commands.install._satisfied_reading``), and by the writer's path whenever something must be
recorded, repaired or said: each such case is done once and said once, as before."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipguard.cli.main import EXIT_LEDGER
from tests.conftest import Pipguard, combined
from tests.integration.shimkit import is_shim

pytestmark = pytest.mark.integration


def ledger_files(guard: Pipguard) -> dict[str, bytes]:
    """The ledger's state and journal (the caches beside them may be written by any reader)."""
    return {path.name: path.read_bytes() for path in (guard.venv.ledger_path, guard.venv.journal_path)}


@pytest.fixture
def installed(guard: Pipguard) -> Pipguard:
    result = guard.install("A")
    assert result.returncode == 0, combined(result)
    return guard


def satisfied_again(guard: Pipguard) -> str:
    result = guard.install("A")
    assert result.returncode == 0, combined(result)
    assert "Requirement already satisfied: A (1.0)" in result.stdout
    return result.stderr


def test_nothing_to_record_writes_nothing(installed: Pipguard) -> None:
    before = ledger_files(installed)
    assert satisfied_again(installed) == ""
    assert ledger_files(installed) == before


def test_a_new_root_is_recorded(installed: Pipguard) -> None:
    count = len(installed.venv.transactions())
    satisfied = installed.install("B")  # installed for A, asked for now: a root from here on
    assert satisfied.returncode == 0, combined(satisfied)
    assert "b" in installed.venv.ledger()["roots"]
    assert len(installed.venv.transactions()) == count + 1


def test_a_change_made_behind_pipguards_back_is_recorded_once(installed: Pipguard) -> None:
    plain = installed.pip_install("G==1.0")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    stderr = satisfied_again(installed)
    assert stderr.count("changed outside pipguard") == 1, stderr
    assert installed.venv.transactions()[-1]["status"] == "drift"
    assert satisfied_again(installed) == "", "recorded: the next run has nothing to say"


def test_a_torn_journal_line_is_set_aside_once(installed: Pipguard) -> None:
    with installed.venv.journal_path.open("ab") as journal:
        journal.write(b'{"v": 2, "kind": "transac')
    stderr = satisfied_again(installed)
    assert stderr.count("was torn") == 1 and "set aside" in stderr, stderr
    assert "is torn (a run stopped" not in stderr, "a reader's note: this run writes"
    assert installed.venv.journal_path.read_bytes().endswith(b"\n")
    assert satisfied_again(installed) == ""


def test_a_state_behind_its_journal_is_brought_up_to_date_once(installed: Pipguard, tmp_path: Path) -> None:
    state = installed.venv.ledger_path
    kept = tmp_path / "state-before"
    shutil.copy2(state, kept)
    assert installed.install("G==1.0").returncode == 0
    shutil.copy2(kept, state)  # as if the run stopped between its journal line and its state
    stderr = satisfied_again(installed)
    assert stderr.count("was behind its journal") == 1 and "brought it up to date" in stderr, stderr
    assert "read as brought up to date" not in stderr, "a reader's note: this run writes"
    assert installed.venv.ledger()["last_id"] == installed.venv.transactions()[-1]["id"]
    assert satisfied_again(installed) == ""


def test_a_ledger_others_can_write_is_refused_as_a_writer_refuses_it(installed: Pipguard) -> None:
    ledger = installed.venv.ledger_path
    ledger.chmod(0o664)
    try:
        result = installed.install("A")
        assert result.returncode == EXIT_LEDGER, combined(result)
        assert f"refusing the ledger {ledger}" in result.stderr and "writable by its group" in result.stderr
        assert "already satisfied" not in result.stdout.lower()
    finally:
        ledger.chmod(0o644)


def test_without_a_lock_file_the_writer_makes_it(installed: Pipguard) -> None:
    lock = Path(str(installed.venv.ledger_path) + ".lock")
    lock.unlink()
    assert satisfied_again(installed) == ""
    assert lock.is_file()


def test_a_pip_script_rewritten_behind_the_shim_is_put_back_once(installed: Pipguard) -> None:
    assert installed.run("shim", "install").returncode == 0
    pip3 = installed.venv.path / "bin" / "pip3"
    original = installed.venv.path / ".pipguard" / "shim-originals" / "pip3"
    pip3.unlink()
    shutil.copy2(original, pip3)  # what pip does to its own scripts when it reinstalls itself
    assert not is_shim(pip3)
    stderr = satisfied_again(installed)
    assert stderr.count("put pipguard's shim back") == 1, stderr
    assert is_shim(pip3) and os.access(pip3, os.X_OK)
    assert satisfied_again(installed) == ""


@pytest.mark.skipif(os.geteuid() != 0, reason="about running as root (only a writer refuses another owner)")
def test_as_root_a_ledger_another_user_owns_is_refused_as_a_writer_refuses_it(installed: Pipguard) -> None:
    ledger = installed.venv.ledger_path
    os.chown(ledger, 54321, 54321)  # readers accept it; a run that may write does not
    try:
        result = installed.install("A")
        assert result.returncode == EXIT_LEDGER, combined(result)
        assert "is owned by user id 54321" in result.stderr and "already satisfied" not in result.stdout.lower()
        assert installed.run("ledger").returncode == 0
    finally:
        os.chown(ledger, 0, 0)


def test_a_damaged_journal_line_is_warned_of_as_a_writer_warns(installed: Pipguard) -> None:
    for args in (["G==1.0"], ["-U", "G"]):
        assert installed.install(*args).returncode == 0
    journal = installed.venv.journal_path
    lines = journal.read_text().splitlines()
    lines[1] = lines[1][: len(lines[1]) // 2]  # a damaged line, not the last one
    journal.write_text("\n".join(lines) + "\n")
    stderr = satisfied_again(installed)
    assert stderr.count("warning: the ledger's journal") == 1 and "unreadable line 2" in stderr, stderr


def test_a_writer_at_work_is_waited_for_once(installed: Pipguard) -> None:
    """A writer holds the lock: the shared read is not tried (nothing to wait for twice), the
    writer's path waits for it, says so once, and times out as every writer does."""
    import filelock

    with filelock.FileLock(str(installed.venv.ledger_path) + ".lock"):
        result = installed.run("--lock-timeout", "0.5", "install", *installed.index_args(), "A")
    assert result.returncode == EXIT_LEDGER, combined(result)
    assert result.stderr.count("waiting for another pipguard run") == 1, result.stderr
    assert "timed out after 0.5 s waiting for the lock" in result.stderr
    assert satisfied_again(installed) == ""

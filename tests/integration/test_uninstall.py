"""``pipguard uninstall``: refused while an earlier project still needs the package."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, Pipguard, combined, scrubbed_env
from tests.integration.test_overlap import children
from tests.reliability_support import pid_alive, start_pipguard, wait_for


def transactions(guard: Pipguard) -> list[dict]:  # type: ignore[type-arg]
    return list(guard.venv.transactions())


def test_uninstalling_what_an_earlier_project_needs_is_refused_and_changes_nothing(guard: Pipguard) -> None:
    assert guard.install("A").returncode == 0
    result = guard.run("uninstall", "-y", "B")
    assert result.returncode == 10, combined(result)
    assert "not uninstalling B: earlier projects still need it" in result.stderr
    assert "A 1.0 needs b<2.0,>1.0" in result.stderr
    assert "--no-guard" in result.stderr
    assert "Traceback" not in result.stderr  # pip, started ahead, was stopped quietly
    assert result.stdout == ""
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


# The probe runs the target's interpreter as ``python - SIGNATURE`` (its source on stdin): a
# ``.pth`` hook in the target logs each such start.
_PROBE_COUNTER = '''\
import os, sys
_log = os.environ.get("PIPGUARD_TEST_PROBES")
if _log and list(getattr(sys, "orig_argv", sys.argv))[1:2] == ["-"]:
    with open(_log, "a") as _handle:
        _handle.write("probe\\n")
'''


def count_probes(guard: Pipguard, log: Path) -> dict[str, str]:
    """Log every probe of *guard*'s venv to *log*; the environment that turns the log on."""
    purelib = guard.venv.path / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    (purelib / "_pipguard_test_probes.py").write_text(_PROBE_COUNTER)
    (purelib / "_pipguard_test_probes.pth").write_text("import _pipguard_test_probes\n")
    return {"PIPGUARD_TEST_PROBES": str(log)}


def probes(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_a_confirmed_uninstall_records_what_pip_removed_without_reading_the_environment_again(
        guard: Pipguard, tmp_path: Path) -> None:
    assert guard.install("A", "G==1.0").returncode == 0
    log = tmp_path / "probes.log"
    env = count_probes(guard, log)
    assert guard.run("check", env=env).returncode == 0  # the environment as it is now, read once
    assert probes(log) == 1
    result = guard.run("uninstall", "-y", "G", env=env)
    assert result.returncode == 0, combined(result)
    assert probes(log) == 1  # -y: pip removed G or failed; its exit status says which
    last = guard.venv.transactions()[-1]
    assert (last["status"], last["changes"]) == ("committed", [{"name": "g", "before": "1.0", "after": None}])
    ledger = guard.venv.ledger()
    assert "g" not in ledger["distributions"] and "g" not in ledger["roots"]
    assert ledger["distributions"] == guard.venv.versions()  # as recorded, so as installed
    check = guard.run("check", env=env)  # the next command reads the changed environment
    assert check.returncode == 0, combined(check)
    assert probes(log) == 2


def test_an_uninstall_answered_no_records_nothing_removed(guard: Pipguard) -> None:
    """pip exits 0 when its "Proceed (Y/n)?" is answered no: what it did is read, not assumed."""
    assert guard.install("A", "G==1.0").returncode == 0
    asking = scrubbed_env()
    del asking["PIP_NO_INPUT"]  # pip asks only where input is allowed (it reads the variable as set or not)
    result = subprocess.run([sys.executable, "-m", "pipguard", "--python", guard.venv.python, "uninstall", "G"],
                            input="n\n", capture_output=True, text=True, env=asking, cwd=REPO, check=False)
    assert result.returncode == 0, combined(result)
    assert "Proceed (Y/n)?" in result.stdout
    assert guard.venv.versions()["g"] == "1.0"
    last = guard.venv.transactions()[-1]
    assert (last["command"], last["status"], last["changes"]) == ("uninstall", "committed", [])
    assert "g" in guard.venv.ledger()["roots"]


def test_pip_starts_before_the_environment_is_read_and_removes_nothing_until_judged(guard: Pipguard) -> None:
    """pip's start-up is nearly all of an uninstall's time: it runs while pipguard reads the
    environment and judges, and pip waits at its gate before it looks up or removes anything."""
    assert guard.install("A", "G==1.0").returncode == 0  # the environment changed: read again below
    result = guard.run("uninstall", "-y", "G", env={"PIPGUARD_DEBUG": "1"})
    assert result.returncode == 0, combined(result)
    started = [line.split(f"running {guard.venv.python} ", 1)[1].split(" ")[:2]
               for line in result.stderr.splitlines() if line.startswith(f"pipguard: running {guard.venv.python} ")]
    assert [words[0] for words in started] == ["-m", "-"]  # pip first (-m pip uninstall), then the probe
    assert started[0] == ["-m", "pip"]
    assert "Successfully uninstalled G-1.0" in result.stdout
    assert "g" not in guard.venv.versions()


def test_a_signal_while_pip_waits_at_its_gate_stops_it_having_removed_nothing(guard: Pipguard, tmp_path: Path) -> None:
    assert guard.install("A", "G==1.0").returncode == 0
    marker = tmp_path / "paused"
    started = start_pipguard(guard.venv, ["uninstall", "-y", "G"], tmp_path / "run", new_session=True,
                             env={"PIPGUARD_TEST_PAUSE_AT": "pending", "PIPGUARD_TEST_PAUSE_MARKER": str(marker)})
    wait_for(marker.exists, "pipguard to stop at its pending step", watch=started.proc)
    (pip,) = children(started.proc.pid)  # started ahead; it waits at its gate

    os.kill(started.proc.pid, signal.SIGTERM)

    assert started.finish() == 128 + signal.SIGTERM
    assert not pid_alive(pip)
    assert "Traceback" not in started.err()
    assert guard.venv.versions()["g"] == "1.0"  # pip never passed its gate
    again = guard.run("uninstall", "-y", "G")  # the lock is free; the pending record is closed first
    assert again.returncode == 0, combined(again)
    stopped, done = guard.venv.transactions()[-2:]
    assert (stopped["command"], stopped["status"], stopped["changes"]) == ("uninstall", "interrupted", [])
    assert (done["status"], done["changes"]) == ("committed", [{"name": "g", "before": "1.0", "after": None}])


@pytest.mark.parametrize("args", [["--help"], [], ["-y"]], ids=["help", "nothing-named", "only-y"])
def test_an_uninstall_that_names_nothing_is_pips_own_answer_and_records_nothing(
        guard: Pipguard, args: list[str]) -> None:
    """pip answers --help, and says what is missing, itself: pipguard gives it its place."""
    before = guard.venv.transactions()
    result = guard.run("uninstall", *args)
    plain = guard.venv.pip("uninstall", *args)
    assert (result.returncode, result.stdout, result.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert guard.venv.transactions() == before

"""SIGTERM and SIGINT sent to pipguard alone, and work directories.

While pip runs, a signal to pipguard's pid is passed on to pip, pipguard
waits for pip to end, records what it changed, and only then releases the
lock (exit 128 + N). Outside a child, SIGTERM unwinds like Ctrl-C. Work
directories (``pipguard-<pid>-…`` in TMPDIR) go on every exit path, and one
left by a SIGKILL goes with the next run. Ctrl-C while pipguard's modules
load is one line and exit 130, from every entry point.

"During pip" is a real pip building a source project whose backend waits
(tests/reliability_support.py); "outside a child" is the test hook's pause.
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

from tests.conftest import REPO, Pipguard, combined, scrubbed_env
from tests.reliability_support import (
    Started,
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
    make_wheel("other", "1.0")
    result = guard.install("A")
    assert result.returncode == 0, combined(result)
    return guard


@pytest.fixture
def tmpdir_for_pipguard(tmp_path: Path) -> Path:
    """pipguard's TMPDIR: where its work directories go, so the test can look."""
    path = tmp_path / "tmp"
    path.mkdir()
    return path


def work_directories(tmpdir: Path) -> list[str]:
    return sorted(p.name for p in tmpdir.iterdir() if p.name.startswith("pipguard-"))


def lock_is_free(guard: Pipguard) -> bool:
    lock = filelock.FileLock(str(guard.venv.ledger_path) + ".lock")
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        return False
    lock.release()
    return True


def start_slow_install(guard: Pipguard, tmp_path: Path, tmpdir: Path) -> tuple[Started, dict[str, int], Path]:
    project = write_slow_project(tmp_path / "slow project", "slowpkg", "1.0")
    marker, release = tmp_path / "build-started", tmp_path / "build-release"
    started = start_pipguard(
        guard.venv,
        ["install", "-q", *guard.index_args(), str(project)],
        tmp_path / "run-slow",
        env={"SLOW_BUILD_MARKER": str(marker), "SLOW_BUILD_RELEASE": str(release), "TMPDIR": str(tmpdir)},
        new_session=True,
    )
    wait_for(marker.exists, "pip to start building the slow project", watch=started.proc)
    pids: dict[str, int] = json.loads(marker.read_text())
    assert pid_alive(pids["pip"])
    assert work_directories(tmpdir), "pipguard's work directory exists while pip runs"
    return started, pids, release


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)],
                         ids=["SIGTERM", "SIGINT", "SIGHUP"])  # SIGHUP: a closed terminal or ssh session
def test_a_signal_to_pipguard_during_pip_stops_pip_first_and_records_it_before_the_lock_goes(
    guarded: Pipguard, tmp_path: Path, tmpdir_for_pipguard: Path, signum: int, status: int
) -> None:
    before = guarded.venv.transactions()
    started, pids, _release = start_slow_install(guarded, tmp_path, tmpdir_for_pipguard)
    try:
        os.kill(started.proc.pid, signum)  # pipguard's pid alone, as `kill` does
        code = started.finish()
        # pipguard waited for pip: when pipguard is gone, pip is gone too,
        # so pip was over before the lock was released.
        pip_alive_after = pid_alive(pids["pip"])
    finally:
        kill9(pids["pip"])
        kill9(pids["backend"])  # pip's build backend: pip's child, not pipguard's
    assert not pip_alive_after, "pipguard ended (and let go of the lock) while pip still ran"
    assert code == status, started.err()
    name = signal.Signals(signum).name
    assert "Traceback" not in started.err()
    assert f"pipguard: interrupted{'' if signum == signal.SIGINT else ' by ' + name}." in started.err()

    ledger = guarded.venv.ledger()
    transactions = guarded.venv.transactions()
    assert len(transactions) == len(before) + 1
    txn = transactions[-1]
    assert txn["status"] == "interrupted"
    assert txn["reason"].startswith(f"pipguard received {name} while pip ran; ")
    assert txn["changes"] == []  # pip stopped while building: nothing installed
    assert "slowpkg" not in guarded.venv.versions()
    assert ledger["distributions"] == guarded.venv.versions()
    assert work_directories(tmpdir_for_pipguard) == []
    assert lock_is_free(guarded)
    check = guarded.run("check")
    assert check.returncode == 0, combined(check)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_outside_a_child_unwinds_releases_the_lock_and_removes_the_work_directory(
    guarded: Pipguard, tmp_path: Path, tmpdir_for_pipguard: Path, signum: int
) -> None:
    marker = tmp_path / "paused"
    started = start_pipguard(
        guarded.venv, ["install", *guarded.index_args(), "other"], tmp_path / "run",
        env={"PIPGUARD_TEST_PAUSE_AT": "pending", "PIPGUARD_TEST_PAUSE_MARKER": str(marker),
             "TMPDIR": str(tmpdir_for_pipguard)},
    )
    wait_for(marker.exists, "pipguard to stop at its pending step", watch=started.proc)
    assert work_directories(tmpdir_for_pipguard)
    assert not lock_is_free(guarded)
    os.kill(started.proc.pid, signum)
    assert started.finish() == 128 + signum
    assert started.err().splitlines()[-1] == f"pipguard: interrupted by {signal.Signals(signum).name}."
    assert "Traceback" not in started.err()
    assert work_directories(tmpdir_for_pipguard) == []
    assert lock_is_free(guarded)
    # The pending record it left is closed by the next run, as after Ctrl-C.
    assert statuses(guarded.venv.transactions())[-1][1] == "pending"
    result = guarded.install("other")
    assert result.returncode == 0, combined(result)
    assert "interrupted" in [status for _, status in statuses(guarded.venv.transactions())]


def test_a_work_directory_left_by_a_sigkill_is_removed_by_the_next_run(
    guarded: Pipguard, tmp_path: Path, tmpdir_for_pipguard: Path
) -> None:
    marker = tmp_path / "paused"
    started = start_pipguard(
        guarded.venv, ["install", *guarded.index_args(), "other"], tmp_path / "run",
        env={"PIPGUARD_TEST_PAUSE_AT": "pending", "PIPGUARD_TEST_PAUSE_MARKER": str(marker),
             "TMPDIR": str(tmpdir_for_pipguard)},
    )
    wait_for(marker.exists, "pipguard to stop at its pending step", watch=started.proc)
    kill9(started.proc.pid)
    started.finish()
    left = work_directories(tmpdir_for_pipguard)
    assert left == [name for name in left if name.startswith(f"pipguard-{started.proc.pid}-")] and left
    # A live run's directory (this test process's pid, held open) is not touched.
    live = tmpdir_for_pipguard / f"pipguard-{os.getpid()}-live"
    live.mkdir()
    result = guarded.install("other", env={"TMPDIR": str(tmpdir_for_pipguard)})
    assert result.returncode == 0, combined(result)
    assert work_directories(tmpdir_for_pipguard) == [live.name]


# -- Ctrl-C while pipguard starts ---------------------------------------------------------

_SLOW_PACKAGING = '''
import os, time
with open(os.environ["STARTUP_MARKER"], "w") as handle:
    handle.write(str(os.getpid()))
time.sleep(120)
'''


def _entry_points() -> dict[str, list[str]]:
    script = Path(sys.executable).parent / "pipguard"
    shim_like = "import sys\nfrom pipguard.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    points = {
        "python -m pipguard": [sys.executable, "-m", "pipguard"],
        "a shim's import": [sys.executable, "-c", shim_like],
    }
    if script.exists():
        points["console script"] = [str(script)]
    return points


def _sigint_as_a_terminal_gives_it() -> None:
    """In the child, before exec: SIGINT handled by default and not blocked, as a terminal's
    Ctrl-C finds it. A process inherits an ignored or blocked SIGINT from whatever started it (a
    shell's background job), and Python then never turns it into KeyboardInterrupt. Without
    this, the whole suite from a fresh clone hung here (all three entry points, 60 s each),
    though each run alone passed; the failure message shows the child's masks."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _signal_state(pid: int) -> str:
    """The process's ignored and blocked signal masks, as Linux shows them."""
    return " ".join(line.strip() for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith(("SigIgn", "SigBlk")))


@pytest.mark.parametrize("entry", sorted(_entry_points()))
def test_ctrl_c_while_pipguard_starts_is_one_line_and_exit_130(entry: str, tmp_path: Path) -> None:
    """A module pipguard imports at start-up (packaging) stops half-way; then SIGINT."""
    slow = tmp_path / "slow-imports" / "packaging"
    slow.mkdir(parents=True)
    (slow / "__init__.py").write_text(_SLOW_PACKAGING)
    marker = tmp_path / "importing"
    env = scrubbed_env({"PYTHONPATH": f"{slow.parent}{os.pathsep}{REPO}", "STARTUP_MARKER": str(marker)})
    proc = subprocess.Popen([*_entry_points()[entry], "check"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
                            preexec_fn=_sigint_as_a_terminal_gives_it)
    try:
        wait_for(marker.exists, "pipguard to be importing its modules", watch=proc)
        state = _signal_state(proc.pid)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, f"{err} (signal state before the SIGINT: {state})"
    assert err == "pipguard: interrupted.\n"
    assert out == ""

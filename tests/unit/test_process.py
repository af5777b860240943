"""pipguard.system.process, the one subprocess seam: real processes, no mocks.

Signals are sent to a small driver process that runs a child through the
seam (never to the test process itself), so that what is tested is what a
user's ``kill`` does to pipguard.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipguard.errors import EnvironmentUnusable, UsageError
from pipguard.system.interpreter import DEFAULT_PROBE_TIMEOUT, probe_timeout
from pipguard.system.process import (
    Interrupted,
    RunningProcess,
    remove_stale_work_directories,
    run_process,
    work_directory,
)
from tests.conftest import REPO, scrubbed_env
from tests.reliability_support import pid_alive, wait_for

# -- running --------------------------------------------------------------------------


def test_a_failing_command_returns_its_code_and_never_raises() -> None:
    result = run_process([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"], capture=True)
    assert (result.returncode, result.stdout, result.signal, result.timed_out) == (3, "out\n", None, False)


def test_arguments_are_never_read_by_a_shell(tmp_path: Path) -> None:
    hostile = f"$(touch {tmp_path}/x); touch {tmp_path}/y"
    result = run_process([sys.executable, "-c", "import sys; print(sys.argv[1])", hostile], capture=True)
    assert result.stdout == hostile + "\n"
    assert list(tmp_path.iterdir()) == []


def test_input_is_fed_without_blocking_on_a_child_that_does_not_read_it() -> None:
    big = "x" * (1 << 20)  # more than a pipe holds
    result = run_process([sys.executable, "-c", "pass"], capture=True, stdin_text=big)
    assert result.returncode == 0


def test_a_missing_program_is_an_environment_error() -> None:
    with pytest.raises(EnvironmentUnusable, match="cannot run /nonexistent/python"):
        run_process(["/nonexistent/python"], capture=True)


def test_debug_logs_the_command_line_with_credentials_redacted(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPGUARD_DEBUG", "1")
    run_process([sys.executable, "-c", "pass", "https://u:hunter2@example.org/simple"], capture=True)
    err = capsys.readouterr().err
    assert "pipguard: running" in err and "****@example.org" in err and "hunter2" not in err


def test_a_background_process_is_collected_by_finish() -> None:
    running = RunningProcess([sys.executable, "-c", "print('hello')"])
    result = running.finish()
    assert (result.returncode, result.stdout) == (0, "hello\n")
    assert RunningProcess(["/nonexistent/program"]).finish().returncode == 127


# -- timeouts ---------------------------------------------------------------------------


def test_a_timeout_stops_the_process_and_everything_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleeper"
    script = f"sleep 1000 & echo $! > {pid_file}; wait"
    result = run_process(["/bin/sh", "-c", script], capture=True, timeout=0.5)
    assert result.timed_out
    assert result.returncode != 0
    sleeper = int(pid_file.read_text())
    wait_for(lambda: not pid_alive(sleeper), "the grandchild to be stopped", timeout=10)


def test_a_process_within_its_timeout_is_untouched() -> None:
    result = run_process([sys.executable, "-c", "print(1)"], capture=True, timeout=60)
    assert (result.returncode, result.stdout, result.timed_out) == (0, "1\n", False)


def test_the_probe_timeout_defaults_to_tens_of_seconds_and_can_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPGUARD_PROBE_TIMEOUT", raising=False)
    assert probe_timeout() == DEFAULT_PROBE_TIMEOUT and 10 <= DEFAULT_PROBE_TIMEOUT <= 120
    monkeypatch.setenv("PIPGUARD_PROBE_TIMEOUT", "2.5")
    assert probe_timeout() == 2.5
    for bad in ("nan", "-inf", "0", "x"):
        monkeypatch.setenv("PIPGUARD_PROBE_TIMEOUT", bad)
        with pytest.raises(UsageError):
            probe_timeout()


# -- signals ----------------------------------------------------------------------------

_DRIVER = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from pipguard.system.process import Interrupted, RunningProcess, run_process, terminate_as_interrupt

    mode, marker, report = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    child = (
        "import os, signal, sys, time\\n"
        "got = []\\n"
        "signal.signal(signal.SIGTERM, lambda n, f: got.append(n))\\n"
        "signal.signal(signal.SIGINT, lambda n, f: got.append(n))\\n"
        "open(sys.argv[1], 'w').write(str(os.getpid()))\\n"
        "while not got: time.sleep(0.01)\\n"
        "sys.exit(40 + got[0])\\n"
    )
    outcome = {}
    try:
        with terminate_as_interrupt():
            if mode == "returned":
                result = run_process([sys.executable, "-c", child, str(marker)], return_on_signal=True)
                outcome = {"returncode": result.returncode, "signal": result.signal}
            elif mode == "raised":
                run_process([sys.executable, "-c", child, str(marker)], capture=True)
                outcome = {"raised": None}
            elif mode == "background":
                running = RunningProcess([sys.executable, "-c", child, str(marker)])
                while not marker.exists():
                    pass
                import time
                while True:  # busy elsewhere: the signal stops pipguard itself
                    time.sleep(0.01)
            elif mode == "no child":
                marker.write_text(str(os.getpid()))
                import time
                try:
                    while True:
                        time.sleep(0.01)
                finally:
                    outcome["finally ran"] = True
    except Interrupted as exc:
        outcome.update({"raised": exc.signum})
    report.write_text(json.dumps(outcome))
    """
)


def drive(tmp_path: Path, mode: str, signum: int) -> tuple[dict[str, object], int]:
    marker, report = tmp_path / "child-started", tmp_path / "report.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, mode, str(marker), str(report)],
        env=scrubbed_env({"PYTHONPATH": str(REPO)}), stdin=subprocess.DEVNULL,
        start_new_session=True,  # no terminal: a SIGINT from kill is never taken for a Ctrl-C
    )
    try:
        wait_for(marker.exists, "the child to start", watch=proc)
        wait_for(lambda: marker.read_text() != "", "the child to write its pid", watch=proc)
        child = int(marker.read_text())
        os.kill(proc.pid, signum)  # the driver alone, as `kill PID` does
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    return json.loads(report.read_text()), child


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_is_passed_on_to_the_child_and_returned_once_it_has_ended(tmp_path: Path, signum: int) -> None:
    outcome, child = drive(tmp_path, "returned", signum)
    assert outcome == {"returncode": 40 + signum, "signal": signum}
    assert not pid_alive(child)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_by_default_the_signal_is_raised_after_the_child_has_ended(tmp_path: Path, signum: int) -> None:
    outcome, child = drive(tmp_path, "raised", signum)
    assert outcome == {"raised": signum}
    assert not pid_alive(child)


def test_a_signal_while_only_a_background_child_runs_stops_pipguard_and_reaches_the_child(tmp_path: Path) -> None:
    outcome, child = drive(tmp_path, "background", signal.SIGTERM)
    assert outcome["raised"] == signal.SIGTERM
    wait_for(lambda: not pid_alive(child), "the background child to end on the passed-on signal", timeout=30)


def test_sigterm_outside_a_child_unwinds_like_ctrl_c(tmp_path: Path) -> None:
    outcome, _ = drive(tmp_path, "no child", signal.SIGTERM)
    assert outcome == {"finally ran": True, "raised": signal.SIGTERM}


def test_interrupted_is_a_keyboard_interrupt_with_a_shell_exit_status() -> None:
    exc = Interrupted(signal.SIGTERM)
    assert isinstance(exc, KeyboardInterrupt)
    assert exc.exit_status == 143 and str(exc) == "interrupted by SIGTERM"


# -- work directories -------------------------------------------------------------------


def test_a_work_directory_is_private_and_removed_even_when_the_block_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    with pytest.raises(RuntimeError), work_directory() as path:
        assert path.parent == tmp_path and path.name.startswith(f"pipguard-{os.getpid()}-")
        assert (path.stat().st_mode & 0o777) == 0o700
        (path / "report.json").write_text("{}")
        raise RuntimeError
    assert not path.exists()
    with pytest.raises(KeyboardInterrupt), work_directory() as path:
        raise Interrupted(signal.SIGTERM)
    assert not path.exists()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_work_directories_of_gone_runs_are_removed_and_others_kept(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale = tmp_path / f"pipguard-{dead}-abc123"
    (stale / "inner").mkdir(parents=True)
    live = tmp_path / f"pipguard-{os.getpid()}-live"
    live.mkdir()
    unrelated = tmp_path / "pipguard-user-x1"  # another tool's directory with a similar name
    unrelated.mkdir()
    target = tmp_path / "not-ours"
    target.mkdir()
    link = tmp_path / f"pipguard-{dead}-link"
    link.symlink_to(target)
    removed = remove_stale_work_directories(str(tmp_path))
    assert removed == [str(stale)]
    assert not stale.exists()
    assert live.exists() and unrelated.exists() and link.is_symlink() and target.exists()


_HOLDER = textwrap.dedent(
    """
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("locked", flush=True)
    time.sleep(120)
    """
)


def test_a_work_directory_still_locked_by_its_run_is_kept_even_if_its_pid_looks_gone(tmp_path: Path) -> None:
    """Another pid namespace sharing /tmp: the pid means nothing here, the lock does."""
    held = tmp_path / f"pipguard-{_dead_pid()}-held"
    held.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(held)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        assert remove_stale_work_directories(str(tmp_path)) == []
        assert held.exists()
    finally:
        holder.kill()
        holder.wait()
    assert remove_stale_work_directories(str(tmp_path)) == [str(held)]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")
def test_stale_work_directories_of_other_users_are_left_alone(tmp_path: Path) -> None:
    theirs = tmp_path / f"pipguard-{_dead_pid()}-theirs"
    theirs.mkdir()
    os.chown(theirs, 12345, 12345)
    assert remove_stale_work_directories(str(tmp_path)) == []
    assert theirs.exists()


_TERMINAL_CHECK = textwrap.dedent(
    """
    import os, signal, sys
    if sys.argv[1] == "terminal":
        os.close(os.open(os.ttyname(0), os.O_RDWR))  # a session leader opening a tty: its controlling terminal
    from pipguard.system.process import _terminal_sent_it, _Watch
    print(_terminal_sent_it(signal.SIGINT, _Watch()), _terminal_sent_it(signal.SIGTERM, _Watch()),
          _terminal_sent_it(signal.SIGINT, _Watch(own_group=True)))
    """
)


@pytest.mark.parametrize(("where", "expected"), [("terminal", "True False False"), ("none", "False False False")])
def test_a_sigint_is_taken_for_a_ctrl_c_only_in_the_terminals_foreground_group(where: str, expected: str) -> None:
    """A Ctrl-C already reached the child (same foreground group): passing it on would be a second one."""
    master, slave = os.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-c", _TERMINAL_CHECK, where], stdin=slave, capture_output=True, text=True,
            env=scrubbed_env({"PYTHONPATH": str(REPO)}), start_new_session=True, timeout=60, check=False,
        )
    finally:
        os.close(master)
        os.close(slave)
    assert done.stdout.strip() == expected, done.stderr

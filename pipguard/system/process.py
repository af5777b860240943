"""The one seam through which pipguard runs other programs (an I/O edge).

Every subprocess (pip, the probe, interpreter queries) goes through
``run_process`` or ``RunningProcess``:

* an argument list, never a shell;
* one place that logs command lines (``PIPGUARD_DEBUG=1``, credentials
  redacted);
* ``check=False`` semantics: the exit code is returned, the caller reads it;
* an optional timeout: the process runs in a session of its own and the
  whole tree is stopped when the time is up (``ProcessResult.timed_out``);
* signals: while a child runs, SIGINT, SIGTERM and SIGHUP sent to pipguard are passed
  on to the child (a Ctrl-C at the terminal already reached it, so that one
  is not sent twice) and pipguard waits for the child to end. Then, by
  default, ``Interrupted`` is raised, so that nothing unwinds (lock, work
  directory) while the child still runs; a caller that must record what the
  child changed asks for the signal in the result instead
  (``return_on_signal=True``) and raises ``Interrupted`` itself afterwards.

Outside a child, ``terminate_as_interrupt`` makes SIGTERM and SIGHUP unwind like Ctrl-C.
``work_directory`` makes pipguard's temporary directories, removed on every
exit path and, after a SIGKILL, by a later run.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from pipguard.core.redaction import redact, redact_all
from pipguard.core.run_end import RunEnd as RunEnd
from pipguard.core.run_end import exit_status
from pipguard.core.run_end import signal_name as signal_name
from pipguard.errors import EnvironmentUnusable

if TYPE_CHECKING:
    import subprocess

_POSIX = os.name == "posix"
# How long a timed-out process tree gets between SIGTERM and SIGKILL.
_GRACE = 1.0
# How long to wait for output after a process ended: a grandchild it left
# running may hold its pipes open for ever.
_DRAIN = 10.0


class ProcessResult(NamedTuple):
    returncode: int
    stdout: str = ""
    stderr: str = ""
    # A signal pipguard received (and passed on) while the process ran.
    signal: int | None = None
    # The timeout ran out and the process was stopped.
    timed_out: bool = False

    @property
    def interrupted(self) -> bool:
        return self.signal is not None


class Interrupted(KeyboardInterrupt):
    """pipguard was told to stop (SIGINT, SIGTERM, SIGHUP): unwind, then exit 128 + N.

    A ``KeyboardInterrupt``, so that everything that already unwinds cleanly
    on Ctrl-C (finally blocks, the lock, work directories) does so on SIGTERM.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return exit_status(0, self.signum)

    def __str__(self) -> str:
        return f"interrupted by {signal_name(self.signum)}"


# -- signals ----------------------------------------------------------------------


class _Watch:
    """One child being run: the signals pipguard received meanwhile."""

    __slots__ = ("own_group", "popen", "signals")

    def __init__(self, own_group: bool = False) -> None:
        self.own_group = own_group
        self.popen: subprocess.Popen[Any] | None = None
        self.signals: list[int] = []


# SIGHUP (a closed terminal or ssh session) is treated as SIGTERM: passed on, waited for, recorded.
_HANGUP: tuple[signal.Signals, ...] = (signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()
_FORWARDED = (signal.SIGINT, signal.SIGTERM, *_HANGUP)
_UNWINDING = (signal.SIGTERM, *_HANGUP)  # outside a child: unwind like Ctrl-C
_watches: list[_Watch] = []
_saved_handlers: dict[int, Any] = {}
_waiting = 0  # how many children the main thread is waiting for right now


def _terminal_sent_it(signum: int, watch: _Watch) -> bool:
    """Did this SIGINT come from the terminal, which sent it to the child too?

    A Ctrl-C goes to the terminal's whole foreground process group: when
    pipguard (and so its child, in the same group) is that group, the child
    has it already, and a second one could break its clean-up. A SIGINT sent
    with ``kill`` to pipguard alone reaches nobody else and is passed on.
    """
    if signum != signal.SIGINT or watch.own_group or not _POSIX:
        return False
    try:
        tty = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False  # no controlling terminal: nobody pressed Ctrl-C
    try:
        return os.tcgetpgrp(tty) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(tty)


def _send(watch: _Watch, signum: int) -> None:
    popen = watch.popen
    if popen is None or popen.returncode is not None:
        return
    with contextlib.suppress(OSError):
        if watch.own_group:
            os.killpg(popen.pid, signum)
        else:
            os.kill(popen.pid, signum)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    for watch in list(_watches):
        watch.signals.append(signum)
        if not _terminal_sent_it(signum, watch):
            _send(watch, signum)
    if not _waiting:
        # pipguard is busy elsewhere (a background child runs): it got the
        # signal too; pipguard itself stops as it would without children.
        raise Interrupted(signum)


def _start_watch(watch: _Watch) -> None:
    if not _saved_handlers and threading.current_thread() is threading.main_thread():
        for signum in _FORWARDED:
            _saved_handlers[signum] = signal.signal(signum, _on_signal)
    _watches.append(watch)


def _end_watch(watch: _Watch) -> None:
    with contextlib.suppress(ValueError):
        _watches.remove(watch)
    if not _watches and _saved_handlers and threading.current_thread() is threading.main_thread():
        for signum, handler in _saved_handlers.items():
            signal.signal(signum, handler)
        _saved_handlers.clear()


@contextlib.contextmanager
def _waiting_for_child() -> Iterator[None]:
    global _waiting
    _waiting += 1
    try:
        yield
    finally:
        _waiting -= 1


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Inside: SIGTERM and SIGHUP unwind like Ctrl-C (``Interrupted``), finally blocks and all."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise_interrupted) for signum in _UNWINDING}
    try:
        yield
    finally:
        # Children abandoned by an exception: nothing waits for them any more.
        while _watches:
            _end_watch(_watches[-1])
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# -- running ----------------------------------------------------------------------


def _debug(cmd: list[str]) -> None:
    if os.environ.get("PIPGUARD_DEBUG"):
        print("pipguard: running " + " ".join(redact_all(cmd)), file=sys.stderr)


def _pump(source: IO[str], sink: IO[str] | None, store: list[str]) -> None:
    for line in iter(source.readline, ""):
        store.append(line)
        if sink is not None:
            sink.write(redact(line))
            sink.flush()
    source.close()


def _feed(sink: IO[str], text: str) -> None:
    with contextlib.suppress(OSError):  # BrokenPipeError: the child did not want it
        sink.write(text)
        sink.close()


def _cannot_run(cmd: list[str], exc: OSError) -> EnvironmentUnusable:
    return EnvironmentUnusable(
        f"cannot run {cmd[0]}: {exc.strerror or exc}. Check the path given with --python."
    )


def _stop_tree(popen: subprocess.Popen[Any], own_group: bool, ended: threading.Event,
               expired: threading.Event) -> None:
    """SIGTERM, a moment's grace, then SIGKILL, to the process and (in its own session) its children.

    Runs in a timer thread while the main thread waits for the process;
    *ended* is set when that wait is over.
    """
    expired.set()

    def kill(signum: int) -> None:
        if ended.is_set() and not own_group:
            return  # reaped: its pid may be someone else's now
        with contextlib.suppress(OSError):
            if own_group:
                os.killpg(popen.pid, signum)
            else:
                os.kill(popen.pid, signum)

    kill(signal.SIGTERM)
    ended.wait(_GRACE)
    # Even when the leader went, what it started may linger in its group.
    kill(signal.SIGKILL if _POSIX else signal.SIGTERM)


class _Child:
    """A started process, its output collected by threads."""

    def __init__(self, cmd: list[str], *, capture: bool, tee: bool, stdin_text: str | None,
                 env: Mapping[str, str] | None, own_group: bool, pass_fds: Sequence[int] = (),
                 shown: list[str] | None = None) -> None:
        _debug(shown or cmd)
        self.watch = _Watch(own_group=own_group)
        self.out: list[str] = []
        self.err: list[str] = []
        self.threads: list[threading.Thread] = []
        # Watch before starting: a signal arriving in between is not lost.
        _start_watch(self.watch)
        try:
            self.popen = self._start(cmd, capture, stdin_text, env, own_group, pass_fds)
        except BaseException:
            _end_watch(self.watch)
            raise
        self.watch.popen = self.popen
        for signum in self.watch.signals:  # received while it was starting
            _send(self.watch, signum)
        if capture:
            assert self.popen.stdout is not None and self.popen.stderr is not None
            self.threads += [
                threading.Thread(target=_pump, args=(self.popen.stdout, sys.stdout if tee else None, self.out),
                                 daemon=True),
                threading.Thread(target=_pump, args=(self.popen.stderr, sys.stderr if tee else None, self.err),
                                 daemon=True),
            ]
        if stdin_text is not None and self.popen.stdin is not None:
            self.threads.append(threading.Thread(target=_feed, args=(self.popen.stdin, stdin_text), daemon=True))
        for thread in self.threads:
            thread.start()

    @staticmethod
    def _start(cmd: list[str], capture: bool, stdin_text: str | None, env: Mapping[str, str] | None,
               own_group: bool, pass_fds: Sequence[int] = ()) -> subprocess.Popen[str]:
        import subprocess  # here, not at the top: a command answered from the caches starts no process

        piped = subprocess.PIPE if capture else None
        if stdin_text is not None:
            stdin: int | None = subprocess.PIPE
        else:
            stdin = subprocess.DEVNULL if capture else None
        return subprocess.Popen(
            cmd, stdin=stdin, stdout=piped, stderr=piped, text=True, errors="replace", env=env,
            start_new_session=own_group, pass_fds=tuple(pass_fds),
        )

    def wait(self, timeout: float | None) -> tuple[int, bool]:
        # A timer stops the process when the time is up, while this thread
        # waits blocked (Popen.wait(timeout) would poll, up to 50 ms late).
        ended, expired = threading.Event(), threading.Event()
        timer: threading.Timer | None = None
        if timeout is not None:
            timer = threading.Timer(timeout, _stop_tree, (self.popen, self.watch.own_group, ended, expired))
            timer.daemon = True
        with _waiting_for_child():
            if timer is not None:
                timer.start()
            try:
                returncode = self.popen.wait()
            finally:
                ended.set()
                if timer is not None:
                    timer.cancel()
            if timer is not None and expired.is_set():
                timer.join()  # the group's SIGKILL, sent once the leader has gone
            for thread in self.threads:
                thread.join(_DRAIN)
        return returncode, expired.is_set()

    def result(self, returncode: int, timed_out: bool, return_on_signal: bool) -> ProcessResult:
        _end_watch(self.watch)
        received = self.watch.signals[0] if self.watch.signals else None
        if received is not None and not return_on_signal:
            raise Interrupted(received)
        return ProcessResult(returncode, "".join(self.out), "".join(self.err), received, timed_out)

    def abandon(self) -> None:
        _end_watch(self.watch)


def run_process(
    cmd: list[str],
    *,
    capture: bool = False,
    tee: bool = False,
    stdin_text: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    return_on_signal: bool = False,
) -> ProcessResult:
    """Run *cmd* to its end and return its exit code (never raises for a non-zero one).

    With *capture* its output is kept (and with *tee* also shown live,
    credentials redacted); without, it shares pipguard's terminal. With
    *timeout* (seconds) it runs in a session of its own and is stopped, with
    everything it started, when the time is up. A SIGINT, SIGTERM or SIGHUP pipguard
    receives meanwhile is passed on; once the process has ended,
    ``Interrupted`` is raised, or with *return_on_signal* the signal is in
    the result for the caller to record first.
    """
    own_group = timeout is not None and _POSIX
    # Waiting from the start: a signal that comes while the child starts is
    # passed on to it, not raised half-way through starting it.
    with _waiting_for_child():
        try:
            child = _Child(cmd, capture=capture, tee=tee, stdin_text=stdin_text, env=env, own_group=own_group)
        except OSError as exc:  # missing, not executable, not a program
            raise _cannot_run(cmd, exc) from None
        try:
            returncode, timed_out = child.wait(timeout)
        except BaseException:
            child.abandon()
            raise
    return child.result(returncode, timed_out, return_on_signal)


def replace_process(cmd: list[str]) -> int:
    """Become *cmd* (``exec``): pip's commands that pipguard only passes through need nothing of
    pipguard's once they start, so pip's exit status and signals are the caller's directly, and
    no pipguard process waits beside it. Where ``exec`` does not replace the process (Windows),
    *cmd* is run to its end and its exit code returned."""
    if not _POSIX:
        return run_process(cmd).returncode
    _debug(cmd)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    try:
        os.execv(cmd[0], cmd)
    except OSError as exc:  # missing, not executable, not a program
        raise _cannot_run(cmd, exc) from None
    raise AssertionError("unreachable")  # execv returns only by raising


class RunningProcess:
    """A process started in the background, its output collected (without *capture*: on
    pipguard's terminal, stdin too); ``finish`` waits for it. *pass_fds* are inherited by it (a
    gate's pipes); *shown*: what PIPGUARD_DEBUG prints for it (a command run through -c: its gist).

    Until ``finish``, a signal pipguard receives goes to it and unwinds pipguard too (pipguard is
    busy with its own work); while ``finish`` waits, it is passed on and waited for.
    """

    def __init__(self, cmd: list[str], env: Mapping[str, str] | None = None, *,
                 return_on_signal: bool = False, capture: bool = True, pass_fds: Sequence[int] = (),
                 shown: list[str] | None = None) -> None:
        self._return_on_signal = return_on_signal
        try:
            self._child: _Child | None = _Child(
                cmd, capture=capture, tee=False, stdin_text=None, env=env, own_group=False,
                pass_fds=pass_fds, shown=shown,
            )
        except OSError:
            self._child = None

    @property
    def started(self) -> bool:
        return self._child is not None

    @contextlib.contextmanager
    def waited_for(self) -> Iterator[None]:
        """Inside, pipguard waits for this process (at its gate, then to its end): a signal
        pipguard receives is passed on to it and kept for the result, never raised."""
        with _waiting_for_child():
            yield

    def stop(self, grace: float, signum: int = signal.SIGINT) -> None:
        """End it unheard (it has changed nothing), as Ctrl-C would (or with *signum*): killed
        after *grace* seconds."""
        child, self._child = self._child, None
        if child is None:
            return
        try:
            _interrupt(child.popen, grace, signum)
            for thread in child.threads:
                thread.join(_DRAIN)
        finally:
            child.abandon()

    def finish(self) -> ProcessResult:
        if self._child is None:
            return ProcessResult(127)
        try:
            returncode, timed_out = self._child.wait(None)
        except BaseException:
            self._child.abandon()
            raise
        return self._child.result(returncode, timed_out, self._return_on_signal)


def _interrupt(popen: subprocess.Popen[Any], grace: float, signum: int = signal.SIGINT) -> None:
    """SIGINT (or *signum*), then SIGKILL if *popen* has not ended within *grace* seconds; waited for."""
    import subprocess

    with contextlib.suppress(OSError):
        os.kill(popen.pid, signum)
    try:
        popen.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.kill(popen.pid, signal.SIGKILL)
        popen.wait()


class WatchedProcess:
    """A process whose output lines go to a callback as they come, and that can be
    stopped: the pip engine's install, judged half-way (at its gate).

    Use it as a context manager: inside, pipguard counts as waiting for the
    child, so a SIGINT, SIGTERM or SIGHUP it receives is passed on to the child
    instead of unwinding pipguard while the child runs; ``wait`` returns the
    signal in the result. *pass_fds* are inherited by the child (the gate's
    pipes).
    *on_line(stream, line)* is called from reader threads, for every line of
    ``"stdout"`` and ``"stderr"``.
    """

    def __init__(self, cmd: list[str], on_line: Callable[[str, str], None], *, pass_fds: Sequence[int] = (),
                 shown: list[str] | None = None, background: bool = False) -> None:
        self._cmd = cmd
        # started ahead (pipguard works meanwhile): a signal unwinds pipguard too, until ``foreground``
        self._background = background
        self._pass_fds = tuple(pass_fds)
        self._shown = shown or cmd  # what PIPGUARD_DEBUG prints (a command run through -c: its gist)
        self._on_line = on_line
        self._out: list[str] = []
        self._err: list[str] = []
        self._threads: list[threading.Thread] = []
        self._watch = _Watch()
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> WatchedProcess:
        _debug(self._shown)
        if not self._background:
            self._stack.enter_context(_waiting_for_child())
        _start_watch(self._watch)
        import subprocess

        try:
            self._popen = subprocess.Popen(
                self._cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, errors="replace", pass_fds=self._pass_fds,
            )
        except OSError as exc:
            self._close()
            raise _cannot_run(self._cmd, exc) from None
        self._watch.popen = self._popen
        assert self._popen.stdout is not None and self._popen.stderr is not None
        self._threads = [
            threading.Thread(target=_read_lines, args=(self._popen.stdout, "stdout", self._on_line, self._out),
                             daemon=True),
            threading.Thread(target=_read_lines, args=(self._popen.stderr, "stderr", self._on_line, self._err),
                             daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._popen.poll() is None:  # left by an exception: do not leave it running
            self.stop()
            self._popen.wait()
        self._close()

    def _close(self) -> None:
        _end_watch(self._watch)
        self._stack.close()

    def foreground(self) -> None:
        """pipguard now waits for this child (it was started ahead): a signal is passed on to it, and
        pipguard waits for it to end instead of unwinding."""
        if self._background:
            self._background = False
            self._stack.enter_context(_waiting_for_child())

    def interrupt(self, grace: float) -> None:
        """End a child pipguard no longer needs (it has changed nothing) as Ctrl-C would, so that it
        cleans up after itself; killed if it has not ended within *grace* seconds."""
        _interrupt(self._popen, grace)

    @property
    def signalled(self) -> bool:
        """pipguard received SIGINT, SIGTERM or SIGHUP while the child ran."""
        return bool(self._watch.signals)

    def stdout_so_far(self) -> str:
        return "".join(list(self._out))

    def stop(self) -> None:
        """End it (it waits at the pip engine's gate, or still resolves: it has changed nothing)."""
        with contextlib.suppress(OSError):
            os.kill(self._popen.pid, signal.SIGTERM)

    def wait(self) -> ProcessResult:
        returncode = self._popen.wait()
        for thread in self._threads:
            thread.join(_DRAIN)
        received = self._watch.signals[0] if self._watch.signals else None
        return ProcessResult(returncode, "".join(self._out), "".join(self._err), received)


def _read_lines(source: IO[str], stream: str, on_line: Callable[[str, str], None], store: list[str]) -> None:
    for line in iter(source.readline, ""):
        store.append(line)
        on_line(stream, line)
    source.close()


# -- work directories -------------------------------------------------------------

WORK_PREFIX = "pipguard-"
# pipguard-<pid>-<mkdtemp's random part>
_WORK_NAME = re.compile(r"^pipguard-(\d+)-[a-z0-9_]+$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive
    return True


def _lock_directory(path: str, *, wait: bool) -> int | None:
    """An exclusive flock on the directory itself: held for a work directory's life.

    Returns the descriptor holding it; None when another process holds it
    (or locks are not available here).
    """
    if not _POSIX:
        return None
    import fcntl
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        os.close(fd)
        return None
    return fd


def _is_stale(path: str, pid: int) -> bool:
    """Left by a run that is gone: its pid is not running and nobody holds its lock.

    The lock covers what the pid cannot tell: a pid from another pid
    namespace sharing this temporary directory.
    """
    if pid == os.getpid() or _pid_alive(pid):
        return False
    if not _POSIX:
        return True  # no flock here: the pid is all there is
    fd = _lock_directory(path, wait=False)
    if fd is None:
        return False
    os.close(fd)
    return True


def remove_stale_work_directories(parent: str | None = None) -> list[str]:
    """Remove work directories that a killed run (SIGKILL, power loss) left behind.

    Only directories named as pipguard names them, owned by this user, whose
    run is gone. Returns the paths removed.
    """
    import shutil
    import tempfile

    base = parent or tempfile.gettempdir()
    removed: list[str] = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return removed
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    for entry in entries:
        match = _WORK_NAME.match(entry.name)
        if match is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or (uid is not None and info.st_uid != uid):
            continue
        if _is_stale(entry.path, int(match.group(1))):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed


@contextlib.contextmanager
def work_directory() -> Iterator[Path]:
    """A private temporary directory for one run, removed on every way out.

    Named ``pipguard-<pid>-…`` and locked (flock) while in use, so that a
    later run can tell, and remove, one that a SIGKILL left behind.
    """
    import shutil
    import tempfile  # work directories are an install's: read-only commands never load these

    remove_stale_work_directories()
    path = tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-")
    held = _lock_directory(path, wait=True)
    try:
        yield Path(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)
        if held is not None:
            os.close(held)

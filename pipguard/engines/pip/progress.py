"""What pip is trying while it backtracks: a line at least every few seconds.

pip's resolver can look at hundreds of releases of one project before it
finds a plan that fits (aiobotocore pinning botocore, then ``install
boto3``: 344 boto3 releases, minutes). pipguard holds pip's "looking at
multiple versions" lines (they are about pipguard's constraints), so without
this the user sees nothing for minutes. While pip backtracks, a line says,
at least every ``PIPGUARD_PROGRESS_INTERVAL`` seconds (default 10), which
project and version pip is looking at and how many versions of it it has
tried; the first such line also says, once, that uv (when it is found)
resolves such cases faster.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType

from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

from pipguard.core.printable import safe_line

PROGRESS_INTERVAL_ENV = "PIPGUARD_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 10.0

# pip has its plan once it says what it installs (or, in a dry run, would install)
_RESOLVED = ("Installing collected packages:", "Would install", "Successfully installed")
_LOOKING = re.compile(r"^INFO: pip is (?:still )?looking at multiple versions of (\S+)")
_FILE = re.compile(r"(?:^|[\s/])([A-Za-z0-9][\w.+!-]*?\.(?:whl|tar\.gz|zip))(?:\.metadata)?(?:[\s#)]|$)")


def interval_from_environment() -> float:
    """Seconds between progress lines; a bad value falls back to the default (it is only a display)."""
    raw = os.environ.get(PROGRESS_INTERVAL_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_INTERVAL
    except ValueError:
        return DEFAULT_INTERVAL
    return value if value >= 0 and value == value and value != float("inf") else DEFAULT_INTERVAL


def file_version(filename: str) -> tuple[str, str] | None:
    """(name, version) of a distribution file's name, or None."""
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        return None
    return str(name), str(version)


class Progress:
    """Reads pip's lines; while pip backtracks, says what it tries (thread-safe)."""

    def __init__(self, interval: float, write: Callable[[str], None], uv_found: Callable[[], bool],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._write = write
        self._uv_found = uv_found
        self._clock = clock
        self._started = clock()
        self._last_said = self._started
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.backtracking: str | None = None  # the project pip said it looks at several versions of
        self.current: tuple[str, str] | None = None
        self.tried: dict[str, set[str]] = {}
        self.lines_said = 0
        self._hinted = False
        self._resolved = False

    def resolved(self) -> None:
        """pip has its plan (it installs, or waits at the gate): nothing more to say about resolving."""
        with self._lock:
            self._resolved = True

    def line(self, text: str) -> None:
        """One line pip printed."""
        with self._lock:
            if text.startswith(_RESOLVED):
                self._resolved = True
            looking = _LOOKING.match(text)
            if looking:
                self.backtracking = looking.group(1)
            for filename in _FILE.findall(text):
                found = file_version(filename)
                if found:
                    self.current = found
                    self.tried.setdefault(found[0], set()).add(found[1])
            self._maybe_say()

    def tick(self) -> None:
        """Time passes (the timer thread): say where pip is, if it is due."""
        with self._lock:
            self._maybe_say()

    def _maybe_say(self) -> None:
        if self._resolved or self.backtracking is None or self._clock() - self._last_said < self.interval:
            return
        self._last_said = self._clock()
        self.lines_said += 1
        self._write(self.message())

    def message(self) -> str:
        elapsed = int(self._clock() - self._started)
        text = f"pipguard: pip is still resolving ({elapsed} s), looking at several versions of {self.backtracking}"
        if self.current is not None:
            name, version = self.current
            text += f"; now {name} {version} ({len(self.tried.get(name, ()))} versions of {name} tried so far)"
        text += "."
        if not self._hinted:
            self._hinted = True
            if self._uv_found():
                text += (" uv resolves cases like this much faster: run with --engine auto (or remember it with "
                         "'pipguard engine auto').")
        return safe_line(text) + "\n"

    def __enter__(self) -> Progress:
        if self.interval > 0:
            self._thread = threading.Thread(target=self._run, name="pipguard-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)

    def _run(self) -> None:
        while not self._stop.wait(min(self.interval, 1.0)):
            self.tick()


def to_stderr(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except OSError:  # a terminal that has gone: the install goes on
        pass


def uv_is_found() -> bool:
    from pipguard.engines import find_uv

    return find_uv() is not None


def pip_progress() -> Progress:
    return Progress(interval_from_environment(), to_stderr, uv_is_found)

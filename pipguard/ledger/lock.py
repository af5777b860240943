"""The environment's lock: exclusive for runs that write, shared for runs that read.

Writers hold ``filelock``'s lock on ``<ledger>.lock``. Readers take a
*shared* ``flock`` on the same file: it excludes filelock's exclusive
holders (filelock itself uses ``flock``) and admits other readers, so a
read never sees another run's transaction half-way and many reads run at
once. (filelock has no shared mode that works with its exclusive lock in
every version pipguard supports; on a system without ``fcntl`` readers
take the exclusive lock.)

A reader that cannot use the lock, because the location is read-only or
is another user's and the lock file is not there yet, reads without it and
says so in one line. A lock file that is a symbolic link or belongs to
another user is refused, saying who owns it (``safety.lock_refusal``).
Both wait with one line on stderr and give up after the timeout (exit 11).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pipguard.errors import LedgerError
from pipguard.ledger.paths import LedgerFiles
from pipguard.ledger.safety import lock_refusal
from pipguard.system.files import NotRegularFile, open_regular

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: readers take the exclusive lock
    fcntl = None  # type: ignore[assignment]

_GRACE = 0.05  # wait this long before saying that we wait


def _say(message: str) -> None:
    print(message, file=sys.stderr)


class LedgerLock:
    """The lock of the ledger *path* (as the user named it), at ``files.lock``."""

    def __init__(self, path: Path, files: LedgerFiles, timeout: float) -> None:
        self.path = path
        self.files = files
        self.timeout = timeout

    def _waiting_message(self) -> str:
        return (f"pipguard: waiting for another pipguard run on this environment "
                f"(lock {self.files.lock}, timeout {self.timeout:g} s)...")

    def _timeout_error(self) -> LedgerError:
        return LedgerError(
            f"timed out after {self.timeout:g} s waiting for the lock "
            f"{self.files.lock}: another pipguard run holds it. Nothing was changed. "
            "Wait for it to finish, or raise the limit with --lock-timeout SECONDS."
        )

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """filelock's lock (the ledger's directory must exist)."""
        import filelock  # only writers need it: reads start faster without it

        files = self.files
        planted = lock_refusal(self.path, files.lock)
        if planted is not None:
            raise planted
        lock = filelock.FileLock(str(files.lock))
        try:
            try:
                lock.acquire(timeout=_GRACE)
            except filelock.Timeout:
                _say(self._waiting_message())
                try:
                    lock.acquire(timeout=self.timeout)
                except filelock.Timeout:
                    raise self._timeout_error() from None
        except OSError as exc:
            raise lock_refusal(self.path, files.lock, exc) or LedgerError(
                f"cannot take the lock {files.lock}: {exc.strerror or exc}. pipguard needs "
                f"to create files in {files.directory} to guard this environment. Nothing was "
                "changed. Fix the permissions, run as the environment's owner, or choose another "
                "place with --ledger PATH."
            ) from None
        try:
            yield
        finally:
            lock.release()

    @contextlib.contextmanager
    def shared(self, wait: bool = True) -> Iterator[str]:
        """A shared lock; yields ``"shared"``, or ``"none"`` when reading without one
        (no ledger directory yet, or a location this user cannot lock). With *wait* False,
        ``"busy"`` where a writer holds it now: nothing waited for, nothing said."""
        if fcntl is None:  # pragma: no cover - Windows
            with self.exclusive():
                yield "shared"
            return
        fd = self._open_to_read() if self.files.directory.is_dir() else None
        if fd is None:
            yield "none"
            return
        try:
            if not self._flock_shared(fd, wait):
                yield "busy"
                return
            try:
                yield "shared"
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _open_to_read(self) -> int | None:
        lock = self.files.lock
        for flags in (os.O_RDONLY, os.O_RDONLY | os.O_CREAT):
            if flags & os.O_CREAT and not self._owns_directory():
                # Not ours to create: in a directory others share, a lock file this
                # reader made would look planted to the ledger's owner.
                _say(f"pipguard: note: there is no lock {lock} and its directory is not yours: reading the "
                     "ledger without it, so a run changing it at this moment may be missed.")
                return None
            try:
                return open_regular(lock, flags, 0o644)
            except FileNotFoundError:
                continue
            except NotRegularFile as exc:
                raise lock_refusal(self.path, lock, exc) or LedgerError(
                    f"refusing the lock {lock}: {exc.strerror}. Nothing was changed.") from None
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise lock_refusal(self.path, lock, exc) or LedgerError(
                        f"refusing the lock {lock}: {exc.strerror}.") from None
                if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                    _say(f"pipguard: note: cannot use the lock {lock} ({exc.strerror}; a read-only "
                         "location?): reading the ledger without it, so a run changing it at this "
                         "moment may be missed.")
                    return None
                raise LedgerError(f"cannot take the lock {lock}: {exc.strerror or exc}. Nothing was "
                                  "changed.") from None
        return None

    def _owns_directory(self) -> bool:
        try:
            return not hasattr(os, "geteuid") or self.files.directory.stat().st_uid == os.geteuid()
        except OSError:
            return False

    def _flock_shared(self, fd: int, wait: bool = True) -> bool:
        """Take the shared lock, waiting for a writer (up to the timeout) or, without *wait*,
        not: False where a writer holds it."""
        assert fcntl is not None
        start = time.monotonic()
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return True
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise LedgerError(f"cannot take the lock {self.files.lock}: {exc.strerror or exc}. "
                                      "Nothing was changed.") from None
            if not wait:
                return False
            waited = time.monotonic() - start
            if not told and waited >= _GRACE:
                _say(self._waiting_message())
                told = True
            if waited >= _GRACE + self.timeout:
                raise self._timeout_error()
            time.sleep(0.02)

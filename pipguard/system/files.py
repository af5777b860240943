"""Files pipguard reads and writes: opened safely, replaced atomically (an I/O edge).

    fd = open_regular(path, os.O_RDONLY)            # refuses a FIFO, a device, a link
    write_atomically(path, data, mode=0o644)        # temp file, fsync, replace, fsync dir
    staged = stage(path, chunks)                    # the same in two steps: written aside...
    staged.commit()                                 # ...then put in place (or staged.discard())

Every file pipguard opens could have been replaced by something else in a
shared directory: a FIFO blocks ``open`` and ``read`` forever, a device
reads without end, a symbolic link points anywhere. ``open_regular`` opens
with ``O_NOFOLLOW | O_NONBLOCK`` (a FIFO then opens at once instead of
waiting for a writer), checks with ``fstat`` that what it opened is a
regular file, and only then hands back the descriptor (non-blocking mode
cleared); otherwise it raises ``NotRegularFile``, an ``OSError`` naming the
path and what it is.

The atomic write is the one place a file is replaced: the data goes to a
new file in the same directory (``O_CREAT | O_EXCL | O_NOFOLLOW``, a random
name, opened relative to the directory's descriptor, so the directory
cannot be switched underneath), is fsynced, given its mode, renamed over
the target, and the directory is fsynced. A reader sees the old file or the
new one, never half of either; a failure leaves the old one and no
temporary file behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
TEMP_SUFFIX = ".tmp"

_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link"))


def kind_of(mode: int) -> str:
    """What a file of *mode* is, in words (for messages)."""
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


class NotRegularFile(OSError):
    """Something that is not a regular file stands where pipguard expects one."""

    def __init__(self, path: Path | str, kind: str) -> None:
        super().__init__(f"{path} is {kind}, not a regular file")
        self.path = str(path)
        self.kind = kind
        self.filename = str(path)
        self.strerror = f"it is {kind}, not a regular file"


def open_regular(path: Path | str, flags: int = os.O_RDONLY, mode: int = 0o644, *,
                 follow_symlinks: bool = False) -> int:
    """Open *path* only if it is a regular file (never blocking on a FIFO; a symbolic
    link refused unless *follow_symlinks*); raises ``NotRegularFile`` or the ``OSError``
    of open."""
    nofollow = 0 if follow_symlinks else _NOFOLLOW
    try:
        fd = os.open(path, flags | nofollow | _NONBLOCK | _CLOEXEC, mode)
    except OSError as exc:
        if nofollow and (exc.errno == errno.ELOOP or os.path.islink(path)):
            raise NotRegularFile(path, "a symbolic link") from None
        kind = is_regular_or_absent(path) if exc.errno == errno.ENXIO else None
        if kind is not None:  # a FIFO opened for writing with no reader, a socket
            raise NotRegularFile(path, kind) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(path, kind_of(info.st_mode))
        if _NONBLOCK:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def is_regular_or_absent(path: Path | str) -> str | None:
    """None when *path* is missing or a regular file; otherwise what it is (not followed)."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return None if stat.S_ISREG(info.st_mode) else kind_of(info.st_mode)


def same_file(a: str, b: str) -> bool:
    """Do *a* and *b* name the same existing file (through symbolic links, by any spelling)?
    False where either cannot be looked at (missing, unreadable, not a path)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # ValueError: a NUL in the path
        return False


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_directory(directory: Path | str) -> None:
    """Make a rename or a new file in *directory* durable (best effort: not every
    file system can fsync a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY | _CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Staged:
    """A file written aside, fsynced, waiting to be renamed over its target."""

    def __init__(self, path: Path, dir_fd: int, name: str) -> None:
        self.path = path
        self.name = name  # the temporary file's name in the target's directory
        self._dir_fd: int | None = dir_fd

    @property
    def temporary(self) -> Path:
        return self.path.with_name(self.name)

    def touch(self) -> None:
        """Set its modification time to now (the data was written earlier)."""
        if self._dir_fd is None:
            raise ValueError(f"the staged file for {self.path} was already committed or discarded")
        os.utime(self.name, dir_fd=self._dir_fd)

    def commit(self) -> None:
        """Rename it over the target and fsync the directory (a failure discards it)."""
        dir_fd = self._take()
        try:
            os.replace(self.name, self.path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(self.name, dir_fd=dir_fd)
            os.close(dir_fd)
            raise
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)

    def discard(self) -> None:
        """Remove the temporary file (the target is left as it was)."""
        if self._dir_fd is None:
            return
        dir_fd = self._take()
        try:
            with contextlib.suppress(OSError):
                os.unlink(self.name, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)

    def _take(self) -> int:
        if self._dir_fd is None:
            raise ValueError(f"the staged file for {self.path} was already committed or discarded")
        dir_fd, self._dir_fd = self._dir_fd, None
        return dir_fd


def stage(path: Path, chunks: bytes | Iterable[bytes], mode: int = 0o644, *, prefix: str | None = None,
          suffix: str = TEMP_SUFFIX, sync: bool = True,
          directory_check: Callable[[os.stat_result], bool] | None = None) -> Staged:
    """Write *chunks* to a new temporary file beside *path* (each chunk written
    through before the next is asked for), fsync it (unless not *sync*: a cache)
    and give it *mode*; ``commit()`` puts it in place. *directory_check* is asked
    about the directory as opened (False: refused). Raises ``OSError`` (nothing
    left behind)."""
    dir_fd = os.open(path.parent, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    name = ""
    try:
        if directory_check is not None and not directory_check(os.fstat(dir_fd)):
            raise PermissionError(f"refusing to write in {path.parent}: others may replace files there")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
        for _attempt in range(100):
            name = f"{prefix if prefix is not None else '.' + path.name + '.'}{os.urandom(6).hex()}{suffix}"
            try:
                fd = os.open(name, flags, 0o600, dir_fd=dir_fd)
                break
            except FileExistsError:
                name = ""
        else:  # pragma: no cover - 100 collisions of 48 random bits
            raise FileExistsError(f"cannot create a temporary file beside {path}")
        try:
            for chunk in [chunks] if isinstance(chunks, bytes) else chunks:
                write_all(fd, chunk)
            if sync:
                os.fsync(fd)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
    except BaseException:
        if name:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=dir_fd)
        os.close(dir_fd)
        raise
    return Staged(path, dir_fd, name)


def write_atomically(path: Path, data: bytes | Iterable[bytes], mode: int = 0o644, *,
                     prefix: str | None = None, suffix: str = TEMP_SUFFIX, sync: bool = True,
                     directory_check: Callable[[os.stat_result], bool] | None = None) -> None:
    """Replace *path* by *data* atomically (see the module docstring and ``stage``)."""
    stage(path, data, mode, prefix=prefix, suffix=suffix, sync=sync, directory_check=directory_check).commit()

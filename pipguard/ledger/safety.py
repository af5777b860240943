"""Who may have written the ledger: ownership and permission checks (an I/O edge).

Re-plans may build recorded paths and the shim record names programs to
run, so a ledger someone else could have written is a way in. Checked at
the ledger's *real* path (a symlinked ledger is followed, and a link that
points nowhere is refused: an unmounted share must never silently become
a fresh ledger), for the state file, the journal, and every directory
from theirs up to the first one owned by root:

* writable by the group or by others: refused (a sticky directory such as
  /tmp excepted: others may add files there, not replace ours);
* owned by another user (not root, not the user running pipguard):
  refused for every command that writes. Commands that only read accept
  it, so that a CI job or another user can check an environment it may
  read but not write.

Every refusal is exit 11 with the path and the command that fixes it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from pipguard.errors import LedgerError
from pipguard.system.files import kind_of


def effective_uid() -> int | None:
    return os.geteuid() if hasattr(os, "geteuid") else None


def real_location(path: Path) -> Path:
    """The ledger's real path; refuses a symbolic link (at the ledger or above it)
    that points nowhere."""
    for candidate in (path, *path.parents):
        if os.path.islink(candidate) and not os.path.exists(candidate):
            try:
                target = os.readlink(candidate)
            except OSError:
                target = "?"
            raise LedgerError(
                f"refusing the ledger {path}: {candidate} is a symbolic link to {target}, which does not "
                "exist (an unmounted share?). pipguard never starts a new ledger where a link points "
                "nowhere. Nothing was changed. Mount it or fix the link, or choose another place with "
                "--ledger PATH."
            )
    return Path(os.path.realpath(path))


def _inspect(path: Path, target: Path) -> os.stat_result | None:
    try:
        return target.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LedgerError(
            f"cannot inspect the ledger {path}: {exc.strerror or exc} ({target}). "
            "Fix the permissions, or choose another place with --ledger PATH."
        ) from None


def _check_one(path: Path, target: Path, what: str, info: os.stat_result, writing: bool) -> None:
    is_dir = stat.S_ISDIR(info.st_mode)
    writable_by_others = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if writable_by_others and not (is_dir and info.st_mode & stat.S_ISVTX):
        raise LedgerError(
            f"refusing the ledger {path}: its {what} {target} is writable by "
            f"{'others' if info.st_mode & stat.S_IWOTH else 'its group'} "
            f"(mode {stat.filemode(info.st_mode)}), so anyone could change what "
            f"pipguard installs. Nothing was changed. Check it, then fix it with: chmod go-w {target}"
        )
    me = effective_uid()
    if not writing or me is None or info.st_uid in (me, 0):
        return
    if me == 0:
        raise LedgerError(
            f"refusing the ledger {path}: running as root, but its {what} {target} is "
            f"owned by user id {info.st_uid}, who could change what pipguard installs. "
            f"Nothing was changed. Check it, then fix it with: chown root {target}, or "
            "run pipguard as that user."
        )
    raise LedgerError(
        f"refusing the ledger {path}: its {what} {target} is owned by user id {info.st_uid}, not by "
        f"you (user id {me}), and that user could change what pipguard installs. Nothing was "
        f"changed. Check it, then fix it with (as root): chown {me} {target}, or run pipguard as "
        "that user."
    )


def check_safe(path: Path, real: Path, others: Iterable[Path] = (), *, writing: bool = True) -> None:
    """Refuse a ledger that someone else could have written (see the module docstring).

    *path* is the ledger as the user named it (for messages), *real* its
    real path, *others* the other files of the ledger (the journal).
    """
    for target, what in ((real, "file"), *((other, "journal") for other in others)):
        info = _inspect(path, target)
        if info is not None:
            if stat.S_ISLNK(info.st_mode):
                raise LedgerError(
                    f"refusing the ledger {path}: its {what} {target} is a symbolic link; pipguard "
                    "follows only a link to the ledger itself. Nothing was changed. Replace it by the "
                    "file it points to."
                )
            if not stat.S_ISREG(info.st_mode):
                raise LedgerError(
                    f"refusing the ledger {path}: its {what} {target} is {kind_of(info.st_mode)}, not a "
                    "regular file (planted there?); reading it could block forever. Nothing was changed. "
                    "Check it and remove it, or choose another place with --ledger PATH."
                )
            _check_one(path, target, what, info, writing)
    directory = real.parent
    while True:
        info = _inspect(path, directory)
        if info is not None:
            _check_one(path, directory, "directory", info, writing)
            if info.st_uid == 0:
                return  # root's directories are as trusted as root
        if directory.parent == directory:
            return
        directory = directory.parent


def lock_refusal(path: Path, lock: Path, exc: OSError | None = None) -> LedgerError | None:
    """A clear message when the lock file is not ours to use (a symbolic link or a
    file someone else planted in a shared directory), or None.

    Without *exc* (before the lock is taken) only a symbolic link or something
    that is not a regular file (a FIFO blocks whoever opens it) is refused:
    whatever filelock's version, a link must never be followed (opening it
    truncates its target). With *exc* (taking the lock failed), a file of
    another user is named as the cause too.
    """
    try:
        info = lock.lstat()
    except OSError:
        return None
    me = effective_uid()
    planted = not stat.S_ISREG(info.st_mode) or (
        exc is not None and me is not None and info.st_uid not in (me, 0))
    if not planted:
        return None
    what = "a file" if stat.S_ISREG(info.st_mode) else kind_of(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        try:
            what += f" to {os.readlink(lock)}"
        except OSError:
            pass
    directory = lock.parent
    try:
        mode = directory.stat().st_mode
        shared = bool(mode & stat.S_IWOTH)
        where = f"its directory {directory} (mode {stat.filemode(mode)})"
    except OSError:
        shared, where = False, f"its directory {directory}"
    advice = (
        f"{where} is writable by others, a poor place for a ledger: anyone can plant files there. "
        if shared else ""
    )
    cause = "" if exc is None else f" ({exc.strerror or exc})"
    return LedgerError(
        f"refusing the lock {lock} of the ledger {path}: it is {what}, owned by user id {info.st_uid}"
        f"{'' if me is None else f' (you are user id {me})'}, not a lock pipguard made for you"
        f"{cause}. {advice}Nothing was changed. Keep the ledger in a directory only you "
        "can write (--ledger PATH), or remove the planted file if you trust its owner."
    )

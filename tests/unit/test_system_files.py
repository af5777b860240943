"""system/files.py: the one atomic write, and opening only regular files (issue 20.4, 19.2)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipguard.system.files import NotRegularFile, open_regular, stage, write_atomically


def test_atomic_write_replaces_the_file_with_its_mode_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("old")
    write_atomically(target, [b"ne", b"w"], 0o640)
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("old")

    def failing() -> Iterator[bytes]:
        yield b"half"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_atomically(target, failing())
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_a_staged_file_is_not_in_place_until_committed_and_discard_removes_it(tmp_path: Path) -> None:
    target = tmp_path / "f"
    staged = stage(target, b"data")
    assert not target.exists() and staged.temporary.exists()
    staged.discard()
    assert list(tmp_path.iterdir()) == []
    stage(target, b"data").commit()
    assert target.read_bytes() == b"data"


def test_a_directory_refused_by_its_check_gets_no_file(tmp_path: Path) -> None:
    with pytest.raises(PermissionError):
        write_atomically(tmp_path / "f", b"x", directory_check=lambda info: False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flags", [os.O_RDONLY, os.O_WRONLY | os.O_APPEND])
def test_a_fifo_is_refused_at_once_for_reading_and_writing(tmp_path: Path, flags: int) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile, match="FIFO"):
        open_regular(fifo, flags)


def test_a_symbolic_link_is_refused_unless_followed(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.write_text("x")
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(NotRegularFile, match="symbolic link"):
        open_regular(link)
    os.close(open_regular(link, follow_symlinks=True))

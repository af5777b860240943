"""Requirements and constraints files are read with a bound; special files are refused (issue 19.12)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipguard.errors import UsageError
from pipguard.pip import request
from pipguard.pip.request import MAX_FILE_BYTES, read_constraints_file, read_requirements_file


@pytest.mark.parametrize("constraint", [False, True])
def test_a_device_that_never_ends_is_refused(constraint: bool) -> None:
    with pytest.raises(UsageError, match="/dev/zero: it is not a regular file"):
        read_requirements_file("/dev/zero", constraint=constraint)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="it is not a regular file"):
        read_requirements_file(str(fifo))


def test_the_null_device_is_an_empty_file() -> None:
    assert read_constraints_file(os.devnull) == []
    assert read_requirements_file(os.devnull).requested == ()


def test_a_file_larger_than_the_bound_is_refused_and_one_at_the_bound_is_read(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_FILE_BYTES == 16 * 1024 * 1024  # documented in docs/reliability.md
    big = tmp_path / "big.txt"
    with big.open("wb") as handle:  # sparse: no 16 MiB written
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(UsageError, match="larger than 16 MiB"):
        read_requirements_file(str(big), constraint=True)
    monkeypatch.setattr(request, "MAX_FILE_BYTES", 10)
    exact = tmp_path / "exact.txt"
    exact.write_text("B==1.0  #\n")  # 10 bytes
    assert [line.requirement.name for line in read_constraints_file(str(exact))] == ["B"]
    exact.write_text("B==1.0  # \n")
    with pytest.raises(UsageError, match="larger than"):
        read_constraints_file(str(exact))

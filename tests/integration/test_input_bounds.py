"""``install -r /dev/zero`` and friends end at once with exit 2, nothing recorded (issue 19.12)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import Pipguard, combined


def test_requirement_and_constraint_files_that_never_end_are_refused(guard: Pipguard, tmp_path: Path) -> None:
    assert guard.install("A").returncode == 0
    recorded = guard.venv.transactions()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for args in (["-r", "/dev/zero"], ["-c", "/dev/zero", "G"], ["-r", str(fifo)]):
        result = guard.install(*args)
        assert result.returncode == 2, (args, combined(result))
        assert "it is not a regular file" in result.stderr and "Traceback" not in combined(result)
    assert guard.venv.transactions() == recorded
    assert guard.install("-c", os.devnull, "G").returncode == 0  # the null device is an empty file

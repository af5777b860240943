"""scripts/devstack-replay: devstack's pip calls through the shim, on synthetic projects."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, scrubbed_env


def test_devstack_replay_keeps_every_service_working_rejects_the_conflict_and_reruns_as_a_no_op(
        tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "devstack-replay"), "--workdir", str(tmp_path / "replay")],
        capture_output=True, text=True, env=scrubbed_env(), check=False, timeout=1200,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for line in ("stack: every service imports", "stack: pipguard check", "stack: conflicting call rejected",
                 "re-stack is a no-op", "shim remove restores pip byte for byte"):
        assert any(row.strip().startswith(line) and " OK " in row for row in out.splitlines()), line
    assert "devstack-replay: OK" in out
    assert re.search(r"ds-cinder 1.0 \(root, transaction \d+\) needs ds-legacy<2.0",
                     (tmp_path / "replay" / "replay.log").read_text())

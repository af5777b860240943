"""The README's main job: the demo must run and pass as a new user runs it."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO, scrubbed_env


def test_demo_shows_plain_pip_breaking_and_pipguard_replanning_and_rejecting() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo")],
        capture_output=True, text=True, env=scrubbed_env(), cwd=REPO, timeout=600, check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "a 1.0 has requirement B<2.0,>1.0, but you have b 2.0" in out  # the control broke
    assert "installed C 1.0 instead of 1.1" in out
    assert "--allow-older-major" in out
    assert "not installing E: it would break earlier projects" in out
    assert "pipguard check: OK" in out
    assert "Plain pip broke A; pipguard kept A working" in out

"""trials/devstack-replay: the real-index replay is opt-in; here only what it would run (no network)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO, scrubbed_env


def test_devstack_replay_makes_devstacks_calls_and_the_breaking_ones_last() -> None:
    result = subprocess.run([sys.executable, str(REPO / "trials" / "devstack-replay"), "--dry-run"],
                            capture_output=True, text=True, env=scrubbed_env(), check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    calls = result.stdout.splitlines()
    for shape in ("pip_install_gr ", "setup_develop $DEST/", "setup_dev_lib ", "pip_uninstall ",
                  "pip list --format=columns", "python$PYTHON3_VERSION -m pip freeze"):
        assert any(shape in call for call in calls), shape
    breaking = [i for i, call in enumerate(calls) if "breaks with plain pip" in call]
    assert breaking and breaking == list(range(len(calls) - len(breaking), len(calls)))
    assert any("$DEVSTACK_VENV/bin/pip install" in calls[i] and "exit 10" in calls[i] for i in breaking)
    assert any("-m pip uninstall" in calls[i] and "exit 10" in calls[i] for i in breaking)

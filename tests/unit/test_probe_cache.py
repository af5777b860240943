"""The probe's cache stands in for the installed state only when it is safe to."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from pipguard.environment import probe_environment


def test_a_cache_others_could_write_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "probe-cache"
    real = probe_environment(sys.executable, cache)
    assert cache.exists()
    forged = json.loads(cache.read_text())
    forged["distributions"] = [{"name": "forged", "version": "1", "requires": []}]
    cache.write_text(json.dumps(forged))
    os.chmod(cache, 0o600)
    assert "forged" in probe_environment(sys.executable, cache).distributions  # trusted: used
    cache.write_text(json.dumps(forged))
    os.chmod(cache, 0o666)
    state = probe_environment(sys.executable, cache)
    assert "forged" not in state.distributions
    assert set(state.distributions) == set(real.distributions)


def test_a_cache_from_another_marker_environment_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "probe-cache"
    probe_environment(sys.executable, cache)
    stale = json.loads(cache.read_text())
    stale["markers"]["platform_release"] = "0.0-another-kernel"
    stale["distributions"] = []
    cache.write_text(json.dumps(stale))
    os.chmod(cache, 0o644)
    state = probe_environment(sys.executable, cache)
    assert state.markers["platform_release"] != "0.0-another-kernel"
    assert state.distributions  # read again from the interpreter


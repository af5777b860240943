"""The probe's cache stands in for the installed state only when it is safe to."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from pipguard.environment import probe_environment, read_cache, write_cache


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



# -- 14.2: the cache is written and read without following what others planted --------


def _trusted_cache(tmp_path: Path) -> tuple[Path, dict[str, object]]:
    cache = tmp_path / "ledger.json.probe-cache"
    probe_environment(sys.executable, cache)
    return cache, json.loads(cache.read_text())


def test_a_symlinked_cache_is_not_followed_when_read(tmp_path: Path) -> None:
    cache, data = _trusted_cache(tmp_path)
    data["distributions"] = [{"name": "forged", "version": "1", "requires": []}]
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps(data))
    os.chmod(elsewhere, 0o600)  # owned by us, private: only the link makes it suspect
    cache.unlink()
    cache.symlink_to(elsewhere)
    assert read_cache(cache) is None
    assert "forged" not in probe_environment(sys.executable, cache).distributions


def test_a_fifo_planted_as_the_cache_does_not_block_the_probe(tmp_path: Path) -> None:
    cache = tmp_path / "ledger.json.probe-cache"
    os.mkfifo(cache, 0o600)
    assert read_cache(cache) is None  # O_NONBLOCK: a FIFO nobody writes would wait for ever
    assert probe_environment(sys.executable, cache).distributions


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")
def test_a_cache_owned_by_another_user_is_ignored(tmp_path: Path) -> None:
    cache, data = _trusted_cache(tmp_path)
    data["distributions"] = [{"name": "forged", "version": "1", "requires": []}]
    cache.write_text(json.dumps(data))
    os.chmod(cache, 0o644)
    assert read_cache(cache) is not None
    os.chown(cache, 12345, 12345)
    assert read_cache(cache) is None
    assert "forged" not in probe_environment(sys.executable, cache).distributions


def test_writing_the_cache_replaces_a_planted_symlink_and_never_writes_through_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    cache = tmp_path / "ledger.json.probe-cache"
    cache.symlink_to(victim)
    assert write_cache(cache, '{"signature": "x"}')
    assert victim.read_text() == "precious\n"
    assert not cache.is_symlink() and json.loads(cache.read_text()) == {"signature": "x"}
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600


def _last_pid() -> int:
    try:
        return int(Path("/proc/sys/kernel/ns_last_pid").read_text())
    except (OSError, ValueError):
        return os.getpid()


def test_writing_the_cache_leaves_no_temporary_file_and_uses_no_predictable_name(tmp_path: Path) -> None:
    cache = tmp_path / "ledger.json.probe-cache"
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    # The name the old probe used, <cache>.tmp<pid of the probe>, for the next pids to come.
    for pid in range(_last_pid() + 1, _last_pid() + 2000):
        (tmp_path / f"{cache.name}.tmp{pid}").symlink_to(victim)
    probe_environment(sys.executable, cache)
    assert victim.read_text() == "precious\n"
    assert json.loads(cache.read_text())["signature"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp") and not p.is_symlink()]


def test_the_cache_is_not_written_into_a_directory_others_can_replace_it_in(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # world-writable, not sticky
    assert not write_cache(shared / "ledger.json.probe-cache", "{}")
    assert list(shared.iterdir()) == []
    os.chmod(shared, 0o1777)  # sticky: others may add, not replace
    assert write_cache(shared / "ledger.json.probe-cache", "{}")

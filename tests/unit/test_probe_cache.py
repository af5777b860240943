"""The probe's cache stands in for the installed state only when it is safe to."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from pipguard.system.environment import probe_environment, read_cache, write_cache


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


# -- the cache checked from pipguard's side, without starting the interpreter --------


class _Probes:
    """Counts the times the target interpreter is really started."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import pipguard.system.environment as environment

        self.count = 0
        real = environment._run_probe

        def counting(python: str, signature: str) -> dict[str, object]:
            self.count += 1
            return real(python, signature)

        monkeypatch.setattr(environment, "_run_probe", counting)


def _site_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setenv("PYTHONPATH", str(site))
    return site


def _install(site: Path, name: str, version: str) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n")


def test_an_unchanged_environment_is_answered_without_starting_the_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _site_on_path(tmp_path, monkeypatch)
    _install(site, "a", "1.0")
    probes = _Probes(monkeypatch)
    cache = tmp_path / "ledger.json.probe-cache"
    first = probe_environment(sys.executable, cache)
    assert probes.count == 1 and json.loads(cache.read_text())["inputs"]
    again = probe_environment(sys.executable, cache)
    assert probes.count == 1  # answered from the cache, checked here
    assert again.versions == first.versions and again.versions["a"] == "1.0"


def test_an_upgrade_with_the_directory_mtime_put_back_starts_the_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14.11: pip install B==2.0, then tar/rsync -a/cp -a put site-packages' mtime back."""
    site = _site_on_path(tmp_path, monkeypatch)
    _install(site, "b", "1.5")
    cache = tmp_path / "ledger.json.probe-cache"
    probe_environment(sys.executable, cache)
    times = os.stat(site)
    old = site / "b-1.5.dist-info"
    (old / "METADATA").unlink()
    old.rmdir()
    _install(site, "b", "2.0")
    os.utime(site, ns=(times.st_atime_ns, times.st_mtime_ns))
    probes = _Probes(monkeypatch)
    state = probe_environment(sys.executable, cache)
    assert probes.count == 1
    assert state.versions["b"] == "2.0"


def test_metadata_rewritten_in_place_starts_the_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = _site_on_path(tmp_path, monkeypatch)
    _install(site, "a", "1.0")
    cache = tmp_path / "ledger.json.probe-cache"
    probe_environment(sys.executable, cache)
    metadata = site / "a-1.0.dist-info" / "METADATA"
    times = os.stat(metadata)
    metadata.write_text("Metadata-Version: 2.1\nName: a\nVersion: 1.0\nRequires-Dist: b<2\n\n")
    os.utime(metadata, ns=(times.st_atime_ns, times.st_mtime_ns))
    probes = _Probes(monkeypatch)
    state = probe_environment(sys.executable, cache)
    assert probes.count == 1
    assert state.distributions["a"].requires == ("b<2",)


def test_a_pth_file_edited_in_place_changes_the_signature_pipguard_checks(tmp_path: Path) -> None:
    """A .pth line adds a directory to sys.path; editing it in place changes no directory's
    stat, so the signature (the probe's, and pipguard's own check of it) covers .pth files."""
    from pipguard.system import probe as _probe

    site = tmp_path / "site-packages"
    site.mkdir()
    pth = site / "extra.pth"
    pth.write_text("")
    header = {"path": [str(site)], "markers": {}}
    before = _probe.signature_of(header)
    assert _probe.signature_of(header) == before
    times = os.stat(pth)
    site_times = os.stat(site)
    pth.write_text(str(tmp_path / "elsewhere") + "\n")
    os.utime(pth, ns=(times.st_atime_ns, times.st_mtime_ns))
    os.utime(site, ns=(site_times.st_atime_ns, site_times.st_mtime_ns))
    assert _probe.signature_of(header) != before


def test_a_changed_python_variable_starts_the_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = _site_on_path(tmp_path, monkeypatch)
    other = tmp_path / "other"
    other.mkdir()
    _install(other, "c", "3.0")
    cache = tmp_path / "ledger.json.probe-cache"
    probe_environment(sys.executable, cache)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), str(other)]))
    probes = _Probes(monkeypatch)
    state = probe_environment(sys.executable, cache)
    assert probes.count >= 1
    assert state.versions["c"] == "3.0"


def test_an_interpreter_with_start_up_code_of_its_own_is_always_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sitecustomize (or a finder of distributions) may compute sys.path from anything."""
    site = _site_on_path(tmp_path, monkeypatch)
    (site / "sitecustomize.py").write_text("")
    cache = tmp_path / "ledger.json.probe-cache"
    probe_environment(sys.executable, cache)
    data = json.loads(cache.read_text())
    assert data["customized"] is True and data.get("inputs") is None
    probes = _Probes(monkeypatch)
    probe_environment(sys.executable, cache)
    assert probes.count == 1


def test_a_cache_without_recorded_inputs_is_checked_by_the_probe_then_completed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache written before pipguard checked it itself: the probe says 'unchanged' once."""
    _site_on_path(tmp_path, monkeypatch)
    cache = tmp_path / "ledger.json.probe-cache"
    probe_environment(sys.executable, cache)
    data = json.loads(cache.read_text())
    del data["inputs"]
    write_cache(cache, json.dumps(data))
    probes = _Probes(monkeypatch)
    probe_environment(sys.executable, cache)
    assert probes.count == 1 and json.loads(cache.read_text())["inputs"]
    probe_environment(sys.executable, cache)
    assert probes.count == 1


def test_a_cache_of_another_path_to_the_same_interpreter_is_not_taken_without_the_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every venv's bin/python leads to the same binary: a venv copied or moved elsewhere
    (its ledger and cache with it) must be read again, never answered with the old one's state."""
    _site_on_path(tmp_path, monkeypatch)
    cache = tmp_path / "ledger.json.probe-cache"
    probe_environment(sys.executable, cache)
    other = tmp_path / "elsewhere" / "python"
    other.parent.mkdir()
    other.symlink_to(os.path.realpath(sys.executable))
    probes = _Probes(monkeypatch)
    state = probe_environment(str(other), cache)
    assert probes.count >= 1
    assert state.executable == str(other)

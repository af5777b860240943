"""The probe cache in a shared sticky directory: what another user plants is never followed.

Issue 14.2: with a ledger in a sticky world-writable directory, another user
planted ``LEDGER.probe-cache.tmp<PID>`` symlinks to a root-owned file, and
root's install overwrote that file with probe JSON. Here a real second
user (made with ``useradd``, removed afterwards) plants symlinks at the
cache's name and at every name the old probe could have used, and root
runs pipguard.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Pipguard, combined

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                       reason="planting files as another user needs root to make that user"),
]


@pytest.fixture
def other_user() -> Iterator[pwd.struct_passwd]:
    if not (shutil.which("useradd") and shutil.which("userdel") and shutil.which("setpriv")):
        pytest.skip("needs useradd, userdel and setpriv")
    name = f"pgcache{os.getpid()}"
    made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                          capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot make a second user: {made.stderr.strip()}")
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """/tmp/…/shared, mode 1777 (as /tmp is), reachable by everyone; removed afterwards."""
    top = Path(tempfile.mkdtemp(prefix="pipguard-shared-test-"))
    try:
        top.chmod(0o755)
        shared = top / "shared"
        shared.mkdir()
        shared.chmod(0o1777)
        yield shared
    finally:
        shutil.rmtree(top, ignore_errors=True)


def as_user(user: pwd.struct_passwd, script: str) -> None:
    done = subprocess.run(
        ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "/bin/sh", "-c", script],
        capture_output=True, text=True, check=False, cwd="/",
    )
    assert done.returncode == 0, done.stderr


def last_pid() -> int:
    return int(Path("/proc/sys/kernel/ns_last_pid").read_text())


def test_symlinks_another_user_plants_for_the_probe_cache_are_never_followed(
    guard: Pipguard, other_user: pwd.struct_passwd, shared_dir: Path
) -> None:
    victim = shared_dir.parent / "root-owned"
    victim.write_text("root's precious file\n")
    victim.chmod(0o644)
    ledger = shared_dir / "ledger.json"
    cache = f"{ledger}.probe-cache"
    first = last_pid() + 1
    as_user(other_user, f'ln -s {victim} {cache}; for i in $(seq {first} {first + 3000}); '
                        f'do ln -s {victim} {cache}.tmp$i; done')
    assert os.lstat(cache).st_uid == other_user.pw_uid

    result = guard.install("A", env={"PIPGUARD_LEDGER": str(ledger)})
    assert result.returncode == 0, combined(result)
    assert victim.read_text() == "root's precious file\n"
    # The cache is root's own file now, a regular one: the planted link was replaced, not followed.
    info = os.lstat(cache)
    assert not os.path.islink(cache) and info.st_uid == 0 and info.st_mode & 0o077 == 0
    check = guard.run("check", env={"PIPGUARD_LEDGER": str(ledger)})
    assert check.returncode == 0, combined(check)
    assert victim.read_text() == "root's precious file\n"


def test_a_cache_another_user_planted_is_not_believed(
    guard: Pipguard, other_user: pwd.struct_passwd, shared_dir: Path
) -> None:
    """A forged cache (a regular file, or a link to one) owned by someone else: the probe reads afresh."""
    ledger = shared_dir / "ledger.json"
    assert guard.install("A", env={"PIPGUARD_LEDGER": str(ledger)}).returncode == 0
    cache = Path(f"{ledger}.probe-cache")
    forged = cache.read_text().replace('"name": "A"', '"name": "Forged"')
    cache.unlink()  # root's own; the sticky bit lets the other user add, not replace
    planted = shared_dir / "planted.json"
    planted.write_text(forged)
    os.chown(planted, other_user.pw_uid, other_user.pw_gid)
    as_user(other_user, f"ln -s {planted} {cache}")
    shown = guard.run("ledger", "--json", env={"PIPGUARD_LEDGER": str(ledger)})
    assert shown.returncode == 0, combined(shown)
    roots = {root["name"]: root for root in json.loads(shown.stdout)["roots"]}
    assert roots["a"]["installed"] == "1.0" and roots["a"]["satisfied"]  # read from the environment itself

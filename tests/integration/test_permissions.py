"""A ledger others could have written is refused, as root and as a plain user,
checked at its real path and up to the first directory root owns; a ledger
the user can read but not write is read (check, ledger, history, export, why)
and not written; a ledger directory the user cannot write is a clear error
for a command that writes, not a traceback.

CI runs as root: the plain-user tests make a system user (``useradd``), one
per test process, run pipguard as it with ``setpriv``, and remove it
afterwards (``userdel``). Everything that user touches lives in a
world-readable directory of its own (pytest's tmp directories are private),
with pipguard and its two dependencies copied there, and an interpreter the
user may run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipguard.cli.main import EXIT_LEDGER
from tests.conftest import REPO, Pipguard, Venv, combined, prepared_copy, scrubbed_env

pytestmark = pytest.mark.integration

USER = "pipguard-test"


# -- as root ------------------------------------------------------------------------

requires_root = pytest.mark.skipif(os.geteuid() != 0, reason="these cases are about running as root")


@pytest.fixture
def recorded(guard: Pipguard) -> Pipguard:
    result = guard.install("A")
    assert result.returncode == 0, combined(result)
    return guard


def refused(guard: Pipguard, *phrases: str, reading_too: bool = True) -> None:
    ledger = guard.venv.ledger_path
    before = ledger.read_bytes()
    for args in (["install", *guard.index_args(), "G"], ["check"]):
        result = guard.run(*args)
        if args == ["check"] and not reading_too:
            assert result.returncode == 0, combined(result)  # reading it is safe
            continue
        assert result.returncode == EXIT_LEDGER, combined(result)
        assert f"refusing the ledger {ledger}" in result.stderr
        for phrase in phrases:
            assert phrase in result.stderr, (phrase, result.stderr)
        assert "Nothing was changed" in result.stderr and "Traceback" not in result.stderr
    assert ledger.read_bytes() == before
    assert "g" not in guard.venv.versions()


@pytest.mark.parametrize(
    ("which", "mode", "phrases"),
    [
        ("file", 0o664, ["its file", "is writable by its group (mode -rw-rw-r--)", "chmod go-w"]),
        ("file", 0o646, ["is writable by others (mode -rw-r--rw-)"]),
        ("directory", 0o775, ["its directory", "is writable by its group (mode drwxrwxr-x)"]),
        ("directory", 0o757, ["is writable by others (mode drwxr-xrwx)"]),
    ],
)
def test_a_ledger_others_can_write_is_refused(
    recorded: Pipguard, which: str, mode: int, phrases: list[str]
) -> None:
    ledger = recorded.venv.ledger_path
    (ledger if which == "file" else ledger.parent).chmod(mode)
    refused(recorded, *phrases, f"chmod go-w {ledger if which == 'file' else ledger.parent}")
    (ledger if which == "file" else ledger.parent).chmod(0o644 if which == "file" else 0o755)
    assert recorded.install("G").returncode == 0, "fixed permissions: accepted again"


def test_a_ledger_in_a_sticky_shared_directory_is_accepted(guard: Pipguard, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: others may add files, not replace ours
    result = guard.run("--ledger", str(shared / "ledger.json"), "install", *guard.index_args(), "A")
    assert result.returncode == 0, combined(result)


@requires_root
@pytest.mark.parametrize("which", ["file", "directory"])
def test_as_root_a_ledger_owned_by_another_user_is_refused(
    recorded: Pipguard, unprivileged_user: pwd.struct_passwd, which: str
) -> None:
    ledger = recorded.venv.ledger_path
    target = ledger if which == "file" else ledger.parent
    os.chown(target, unprivileged_user.pw_uid, unprivileged_user.pw_gid)
    refused(
        recorded,
        f"running as root, but its {which} {target} is owned by user id {unprivileged_user.pw_uid}",
        f"chown root {target}",
        reading_too=False,
    )
    os.chown(target, 0, 0)
    assert recorded.install("G").returncode == 0


# -- as a plain user ----------------------------------------------------------------


@pytest.fixture(scope="session")
def unprivileged_user() -> Iterator[pwd.struct_passwd]:
    """A system user of this test process's own (removed at the end of the session)."""
    if os.geteuid() != 0:
        yield pwd.getpwuid(os.geteuid())  # already unprivileged: be ourselves
        return
    if not shutil.which("useradd") or not shutil.which("userdel"):
        pytest.skip("no useradd/userdel to make an unprivileged user")
    name = f"{USER}-{os.getpid()}"
    error = ""
    for _attempt in range(10):  # useradd locks /etc/passwd: other test processes may hold it
        made = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            capture_output=True,
            text=True,
            check=False,
        )
        error = made.stderr.strip()
        with contextlib.suppress(KeyError):
            user = pwd.getpwnam(name)
            break
        time.sleep(0.2)
    else:
        pytest.skip(f"cannot make an unprivileged user: {error}")
    try:
        yield user
    finally:
        for _attempt in range(10):
            if subprocess.run(["userdel", name], capture_output=True, check=False).returncode in (0, 6):
                break  # 6: no such user
            time.sleep(0.2)


@dataclass
class AsUser:
    """Runs pipguard (and anything else) as the unprivileged user."""

    user: pwd.struct_passwd
    home: Path
    python: str
    wheels: Path

    def prefix(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        return ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups"]

    def run(self, *cmd: str) -> subprocess.CompletedProcess[str]:
        env = scrubbed_env({"HOME": str(self.home), "PYTHONPATH": str(self.home / "lib")})
        return subprocess.run(
            [*self.prefix(), *cmd],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.home,
            check=False,
            timeout=300,
        )

    def pipguard(self, venv: Venv, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(self.python, "-m", "pipguard", "--python", venv.python, *args)

    def install(self, venv: Venv, *args: str) -> subprocess.CompletedProcess[str]:
        return self.pipguard(venv, "install", "--no-index", "-f", str(self.wheels), *args)

    def make_venv(self, name: str) -> Venv:
        """A venv of the user's own: a copy (no hard links: it changes owner) of one prepared per session."""
        from virtualenv import cli_run

        def make(where: Path) -> Venv:
            cli_run([str(where), "-p", self.python, "--no-setuptools", "--no-wheel", "--no-periodic-update", "-q"])
            return Venv(where)

        kind = "as-user-" + hashlib.sha256(self.python.encode()).hexdigest()[:8]
        venv = prepared_copy(kind, make, self.home / name, link=False)
        _chown_tree(venv.path, self.user)
        return venv


def _chown_tree(path: Path, user: pwd.struct_passwd) -> None:
    if os.geteuid() != 0:
        return
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(root, name), user.pw_uid, user.pw_gid)
    os.lchown(path, user.pw_uid, user.pw_gid)


def _world_reachable(path: str) -> bool:
    """Can anyone traverse to *path* and run it (judged from the modes alone)?"""
    real = Path(os.path.realpath(path))
    for directory in real.parents:
        if not os.stat(directory).st_mode & 0o001:
            return False
    return bool(os.stat(real).st_mode & 0o001)


def _usable_python(prefix: list[str]) -> str | None:
    """An interpreter the user may run (ours lives under /root when CI is root)."""
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        if not os.path.exists(candidate) or (prefix and not _world_reachable(candidate)):
            continue
        probe = subprocess.run(
            [*prefix, candidate, "-c", "import sys; assert sys.version_info >= (3, 9)"],
            capture_output=True,
            check=False,
            cwd="/",
        )
        if probe.returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="module")
def as_user(unprivileged_user: pwd.struct_passwd, wheelhouse: Path) -> Iterator[AsUser]:
    import filelock
    import packaging

    home = Path(tempfile.mkdtemp(prefix="pipguard-user-"))
    home.chmod(0o755)
    lib = home / "lib"
    for package in (REPO / "pipguard", Path(packaging.__file__).parent, Path(filelock.__file__).parent):
        shutil.copytree(package, lib / package.name, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = home / "wheels"
    shutil.copytree(wheelhouse, wheels)
    os.chmod(home / "lib", 0o755)
    helper = AsUser(unprivileged_user, home, "", wheels)
    python = _usable_python(helper.prefix())
    if python is None:
        shutil.rmtree(home)
        pytest.skip(f"no Python interpreter that user {unprivileged_user.pw_name} may run")
    helper.python = python
    _chown_tree(home, unprivileged_user)
    try:
        yield helper
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_a_plain_user_can_guard_an_environment_it_owns(as_user: AsUser) -> None:
    venv = as_user.make_venv("ok")
    result = as_user.install(venv, "A")
    assert result.returncode == 0, combined(result)
    assert os.stat(venv.ledger_path).st_uid == as_user.user.pw_uid
    check = as_user.pipguard(venv, "check")
    assert check.returncode == 0, combined(check)


@pytest.mark.parametrize(
    ("which", "mode", "phrase"),
    [
        ("file", 0o664, "is writable by its group"),
        ("directory", 0o777, "is writable by others"),
    ],
)
def test_a_plain_user_is_refused_a_ledger_others_can_write(
    as_user: AsUser, which: str, mode: int, phrase: str
) -> None:
    venv = as_user.make_venv(f"open-{which}")
    assert as_user.install(venv, "A").returncode == 0
    ledger = venv.ledger_path
    (ledger if which == "file" else ledger.parent).chmod(mode)
    before = ledger.read_bytes()
    result = as_user.install(venv, "G")
    assert result.returncode == EXIT_LEDGER, combined(result)
    assert f"refusing the ledger {ledger}" in result.stderr and phrase in result.stderr
    assert ledger.read_bytes() == before
    assert "g" not in venv.versions()


@pytest.mark.parametrize("lock_exists", [True, False], ids=["lock file there", "no lock file"])
def test_a_read_only_ledger_directory_is_a_clear_error_and_changes_nothing(
    as_user: AsUser, lock_exists: bool
) -> None:
    venv = as_user.make_venv(f"readonly-{lock_exists}")
    assert as_user.install(venv, "A").returncode == 0
    directory = venv.ledger_path.parent
    lock = Path(str(venv.ledger_path) + ".lock")
    if not lock_exists and lock.exists():
        lock.unlink()
    if lock_exists and not lock.exists():
        lock.touch()
        _chown_tree(lock, as_user.user)
    directory.chmod(0o555)
    try:
        before = venv.ledger_path.read_bytes()
        result = as_user.install(venv, "G")
        assert result.returncode == EXIT_LEDGER, combined(result)
        assert "Traceback" not in combined(result)
        if lock_exists:
            assert f"cannot write the ledger {venv.ledger_path}: Permission denied" in result.stderr
            assert "The previous ledger was left as it was" in result.stderr
        else:
            assert f"cannot take the lock {lock}: Permission denied" in result.stderr
            assert f"needs to create files in {directory}" in result.stderr
        assert venv.ledger_path.read_bytes() == before
        assert "g" not in venv.versions(), "pip must not run when the ledger cannot record it"
    finally:
        directory.chmod(0o755)


READS = (["check"], ["ledger"], ["history"], ["history", "--last", "1"], ["export"], ["why", "b"])


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.mark.parametrize("lock_exists", [True, False], ids=["lock file there", "no lock file"])
def test_a_read_only_ledger_directory_can_still_be_checked_and_inspected(
    as_user: AsUser, lock_exists: bool
) -> None:
    venv = as_user.make_venv(f"read-{lock_exists}")
    assert as_user.install(venv, "A").returncode == 0
    directory = venv.ledger_path.parent
    lock = Path(str(venv.ledger_path) + ".lock")
    if not lock_exists:
        lock.unlink()
    directory.chmod(0o555)
    try:
        before = _files(directory)
        for args in READS:
            result = as_user.pipguard(venv, *args)
            assert result.returncode == 0, (args, combined(result))
            assert "Traceback" not in combined(result)
            if not lock_exists:
                assert "reading the ledger without it" in result.stderr, args
        assert _files(directory) == before
    finally:
        directory.chmod(0o755)


@pytest.fixture
def roots_environment(as_user: AsUser, wheelhouse: Path) -> Iterator[Pipguard]:
    """An environment root guards, in a directory everyone may read (root's own)."""
    from virtualenv import cli_run

    place = Path(tempfile.mkdtemp(prefix="pipguard-roots-"))
    place.chmod(0o755)
    try:
        cli_run([str(place / "venv"), "-p", as_user.python, "--no-setuptools", "--no-wheel",
                 "--no-periodic-update", "-q"])
        guard = Pipguard(Venv(place / "venv"), [wheelhouse])
        assert guard.install("A").returncode == 0
        yield guard
    finally:
        shutil.rmtree(place, ignore_errors=True)


@requires_root
def test_another_user_may_read_a_ledger_it_cannot_write(as_user: AsUser, roots_environment: Pipguard) -> None:
    venv = roots_environment.venv
    before = _files(venv.ledger_path.parent)
    for args in READS:
        result = as_user.pipguard(venv, *args)
        assert result.returncode == 0, (args, combined(result))
    install = as_user.install(venv, "G")
    assert install.returncode == EXIT_LEDGER and "Traceback" not in combined(install), combined(install)
    assert _files(venv.ledger_path.parent) == before
    assert "g" not in venv.versions()
    # an install already satisfied with nothing to record reads as a reader does: pip's answer
    satisfied = as_user.install(venv, "A")
    assert satisfied.returncode == 0, combined(satisfied)
    assert "Requirement already satisfied: A (1.0)" in satisfied.stdout
    # one that would make B a root must write: refused, as any writer here
    root = as_user.install(venv, "B")
    assert root.returncode == EXIT_LEDGER and "Traceback" not in combined(root), combined(root)
    assert _files(venv.ledger_path.parent) == before


@requires_root
def test_a_symlinked_ledger_is_checked_at_its_real_path(guard: Pipguard, tmp_path: Path) -> None:
    assert guard.install("A").returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real = elsewhere / "ledger.json"
    for name in ("ledger.json", "ledger.journal.jsonl"):
        shutil.move(str(guard.venv.ledger_path.parent / name), str(elsewhere / name))
    guard.venv.ledger_path.symlink_to(real)
    elsewhere.chmod(0o777)  # anyone could replace the real file
    refused(guard, f"its directory {elsewhere} is writable by others", f"chmod go-w {elsewhere}")
    elsewhere.chmod(0o755)
    os.chown(real, 65534, 65534)  # the real file belongs to someone else (nobody)
    refused(guard, f"its file {real} is owned by user id 65534", reading_too=False)
    os.chown(real, 0, 0)
    result = guard.install("G")
    assert result.returncode == 0, combined(result)
    assert guard.venv.ledger_path.is_symlink(), "written through the link, never replacing it"
    assert json.loads(real.read_text())["roots"]["g"]["display_name"] == "G"


@requires_root
def test_a_lock_planted_in_a_world_writable_directory_is_refused_saying_whose_it_is(
    as_user: AsUser, guard: Pipguard
) -> None:
    shared = Path(tempfile.mkdtemp(prefix="pipguard-shared-"))
    try:
        shared.chmod(0o1777)  # like /tmp
        victim = shared / "victim"
        victim.write_text("root's file\n")
        planted = as_user.run("ln", "-s", str(victim), str(shared / "ledger.json.lock"))
        assert planted.returncode == 0, combined(planted)
        result = guard.run("--ledger", str(shared / "ledger.json"), "install", *guard.index_args(), "A")
        assert result.returncode == EXIT_LEDGER, combined(result)
        assert "Traceback" not in combined(result)
        assert f"refusing the lock {shared / 'ledger.json.lock'}" in result.stderr
        assert f"a symbolic link to {victim}, owned by user id {as_user.user.pw_uid}" in result.stderr
        assert "writable by others, a poor place for a ledger" in result.stderr
        assert victim.read_text() == "root's file\n" and "a" not in guard.venv.versions()
    finally:
        shutil.rmtree(shared, ignore_errors=True)

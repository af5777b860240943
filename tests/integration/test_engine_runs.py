"""Plain first (issue 18), counted on the real engines; and nothing begun before the engine is usable.

pip's starts are counted by a ``.pth`` hook in the target environment that
logs every pip run pipguard makes (each carries ``--report``); uv's by a
``uv`` wrapper on PATH that logs its arguments and runs the real uv.
"""

from __future__ import annotations

import importlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, Pipguard, Venv, combined, scrubbed_env

pytestmark = pytest.mark.integration

_COUNTER = '''\
import json, os, sys
_log = os.environ.get("PIPGUARD_TEST_PIP_RUNS")
_argv = list(getattr(sys, "orig_argv", sys.argv))
if _log and "--report" in _argv:
    with open(_log, "a") as _handle:
        _handle.write(json.dumps([w for w in _argv[1:] if "\\n" not in w]) + "\\n")
'''


def count_pip_runs(venv: Venv, log: Path) -> None:
    """Every pip run of pipguard's in *venv* (gated or not) appends its arguments to *log*."""
    purelib = subprocess.run([venv.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "_pipguard_test_runs.py").write_text(_COUNTER)
    (Path(purelib) / "_pipguard_test_runs.pth").write_text("import _pipguard_test_runs\n")


def constraint_files(argv: list[str]) -> list[str]:
    """pipguard's constraints files on a pip command line (-c, --build-constraint)."""
    return [word for word in argv if "constraints-" in Path(word).name]


def runs(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_pip_runs_once_when_nothing_breaks_twice_for_a_replan_and_never_when_satisfied(
        guard: Pipguard, tmp_path: Path) -> None:
    log = tmp_path / "pip-runs.jsonl"
    count_pip_runs(guard.venv, log)
    env = {"PIPGUARD_TEST_PIP_RUNS": str(log)}

    first = guard.install("A", env=env)  # A needs B>1.0,<2.0: nothing to break
    assert first.returncode == 0, combined(first)
    assert len(runs(log)) == 1
    assert constraint_files(runs(log)[0]) == []  # no constraints file
    assert "Successfully installed" in first.stdout  # plain pip's own output

    log.unlink()
    again = guard.install("A", env=env)  # satisfied: proved without pip
    assert again.returncode == 0, combined(again)
    assert runs(log) == []

    replanned = guard.install("C", env=env)  # plain pip takes C 1.1 (B>=2.0): stopped; C 1.0 inside
    assert replanned.returncode == 0, combined(replanned)
    assert guard.venv.versions()["c"] == "1.0"
    plain, protected = runs(log)
    assert constraint_files(plain) == [] and constraint_files(protected) != []
    assert "installed C 1.0 instead of 1.1" in replanned.stderr

    log.unlink()
    rejected = guard.install("E", env=env)  # nothing fits beside A
    assert rejected.returncode == 10, combined(rejected)
    assert len(runs(log)) == 2
    assert "Looking in links" not in rejected.stdout and "Collecting" not in rejected.stdout  # the verdict alone
    assert rejected.stderr.startswith("pipguard: not installing E: it would break earlier projects.")


def test_a_plain_install_shows_exactly_plain_pips_output(guard: Pipguard, tmp_path: Path) -> None:
    from tests.conftest import make_venv

    result = guard.install("A")
    assert result.returncode == 0, combined(result)
    control = Pipguard(make_venv(tmp_path / "control"), guard.find_links).pip_install("A")
    assert control.returncode == 0, combined(control)
    assert _lines(result.stdout) == _lines(control.stdout)


def _lines(text: str) -> list[str]:
    """pip's lines, without the paths that differ between two environments."""
    return [line.split(" in ")[0] for line in text.splitlines() if line.strip()]


# -- uv ------------------------------------------------------------------------------------------


def _pipguard_without_uv_package(tmp_path: Path) -> tuple[list[str], str]:
    """pipguard's interpreter without its own uv package (-S), so that uv is looked for on PATH."""
    lib = tmp_path / "lib"
    lib.mkdir(exist_ok=True)
    for module in ("packaging", "filelock"):
        link = lib / module
        if not link.exists():
            link.symlink_to(Path(importlib.import_module(module).__file__ or "").parent)
    return [sys.executable, "-S", "-m", "pipguard"], os.pathsep.join([str(lib), str(REPO)])


def _script(directory: Path, text: str) -> Path:
    directory.mkdir(exist_ok=True)
    script = directory / "uv"
    script.write_text(text)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def run_with_uv(guard: Pipguard, tmp_path: Path, uv_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command, pythonpath = _pipguard_without_uv_package(tmp_path)
    cmd = [*command, "--python", guard.venv.python, "--engine", "uv", *args]
    env = scrubbed_env({"PATH": f"{uv_dir}{os.pathsep}/usr/bin:/bin", "PYTHONPATH": pythonpath})
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, cwd=REPO, timeout=300)


def logging_uv(tmp_path: Path) -> tuple[Path, Path]:
    """A ``uv`` (directory, log) that logs its arguments and runs the real uv."""
    log = tmp_path / "uv-runs.log"
    uv_dir = tmp_path / "uv-bin"
    _script(uv_dir, f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{sys.executable}" -m uv "$@"\n')
    return uv_dir, log


def uv_runs(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith("pip install")] \
        if log.exists() else []


def test_uv_runs_a_dry_run_and_the_install_and_no_metadata_run_when_nothing_breaks(
        guard: Pipguard, tmp_path: Path, uv_ready: str) -> None:
    from tests.integration.test_uv_engine import simple_index

    index = simple_index(tmp_path / "simple", guard.find_links[0])  # an index: no local wheel to read
    uv_dir, log = logging_uv(tmp_path)

    first = run_with_uv(guard, tmp_path, uv_dir, "install", "--index-url", index, "A")
    assert first.returncode == 0, combined(first)
    done = uv_runs(log)
    assert len(done) == 2 and "--dry-run" in done[0] and "--dry-run" not in done[1], done
    assert not any("--target" in line for line in done)  # no metadata run
    assert "constraints-" not in done[0]  # plain first: the dry run carries no constraints file
    assert "--no-deps -r" in done[1] and "plan-" in done[1]  # the install: exactly the approved plan, pinned
    assert guard.venv.versions()["a"] == "1.0"

    log.unlink()
    again = run_with_uv(guard, tmp_path, uv_dir, "install", "--index-url", index, "A")
    assert again.returncode == 0 and not log.exists(), combined(again)  # satisfied: uv never runs

    rejected = run_with_uv(guard, tmp_path, uv_dir, "install", "--index-url", index, "E")
    assert rejected.returncode == 10, combined(rejected)
    assert "E 1.0 needs B>=2.0" in rejected.stderr  # the refused plan's requirements, read for its explanation
    assert "e" not in guard.venv.versions()


def test_uv_describes_a_refused_plan_again_only_where_its_explanation_reads_it(
        guard: Pipguard, tmp_path: Path, uv_ready: str) -> None:
    """M 2.0 (plain uv's choice) breaks A; M 1.0 keeps it but is a major version back: refused.

    Plain uv's plan is read in full (its requirements name why it breaks A); the plan found inside
    the protections is refused in words already written, so uv is not asked for its requirements."""
    from tests.integration.test_uv_engine import simple_index

    index = simple_index(tmp_path / "simple", guard.find_links[0])  # an index: no local wheel to read
    uv_dir, log = logging_uv(tmp_path)
    assert run_with_uv(guard, tmp_path, uv_dir, "install", "--index-url", index, "A").returncode == 0
    log.unlink()

    refused = run_with_uv(guard, tmp_path, uv_dir, "install", "--index-url", index, "M")
    assert refused.returncode == 10, combined(refused)
    assert "older major version" in refused.stderr and "--allow-older-major" in refused.stderr
    assert "M 2.0 needs B>=2.0" in refused.stderr  # plain uv's plan, read in full
    done = uv_runs(log)
    dry_runs = [line for line in done if "--dry-run" in line]
    metadata = [line for line in done if "--target" in line]
    assert len(dry_runs) == 2 and "constraints-" in dry_runs[1], done  # plain, then inside the protections
    assert len(metadata) == 1 and len(done) == 3, done  # plain uv's plan only: nothing asked twice
    assert "m" not in guard.venv.versions()


# -- nothing begun before the engine is usable (issue 19 item 4) ---------------------------------------


@pytest.mark.parametrize("uv", [
    "#!/bin/sh\necho 'not uv at all'\n",  # garbage --version
    "#!/bin/sh\necho 'uv 0.1.0 (x86_64-unknown-linux-gnu)'\n",  # too old
])
def test_an_unusable_uv_begins_nothing(guard: Pipguard, tmp_path: Path, uv: str) -> None:
    uv_dir = tmp_path / "bad-uv"
    _script(uv_dir, uv)
    result = run_with_uv(guard, tmp_path, uv_dir, "install", *guard.index_args(), "A")
    assert result.returncode == 12, combined(result)
    assert "Traceback" not in combined(result) and "a" not in guard.venv.versions()
    assert [t for t in guard.venv.transactions() if t.get("argv", [])[-1:] == ["A"]] == []  # nothing begun
    check = guard.run("check")
    assert check.returncode == 0, combined(check)


def test_an_unreadable_uv_plan_is_recorded_as_failed_never_left_pending(guard: Pipguard, tmp_path: Path) -> None:
    uv_dir = tmp_path / "odd-uv"
    _script(uv_dir, '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "uv 0.13.9"; exit 0; fi\n'
                    'echo "this is no JSON plan"\n')
    result = run_with_uv(guard, tmp_path, uv_dir, "install", *guard.index_args(), "A")
    assert result.returncode != 0, combined(result)
    assert "cannot read the plan of uv 0.13.9" in result.stderr and "Traceback" not in combined(result)
    txn = guard.venv.transactions()[-1]
    assert txn["status"] == "failed" and txn["argv"][-1] == "A"
    assert guard.venv.ledger().get("pending") is None
    check = guard.run("check")
    assert check.returncode == 0, combined(check)


def test_an_install_reads_the_ledger_once_under_the_lock(  # type: ignore[no-untyped-def]
        guard: Pipguard, in_process, monkeypatch: pytest.MonkeyPatch) -> None:
    """The state and journal are read once per install: the shims are then checked against what
    the install itself wrote (read again, it cost ~5-10 ms at the end of every install)."""
    from pipguard.ledger.store import LedgerStore

    assert guard.install("G").returncode == 0
    loads: list[Path] = []
    real = LedgerStore.load

    def counted(self: LedgerStore):  # type: ignore[no-untyped-def]
        loads.append(self.path)
        return real(self)

    monkeypatch.setattr(LedgerStore, "load", counted)
    again = in_process("--python", guard.venv.python, "install", *guard.index_args(), "G")  # satisfied
    assert again.returncode == 0 and "Requirement already satisfied: G" in again.stdout, combined(again)
    assert len(loads) == 1
    newer = in_process("--python", guard.venv.python, "install", *guard.index_args(), "A")  # pip runs
    assert newer.returncode == 0 and guard.venv.versions()["a"] == "1.0", combined(newer)
    assert len(loads) == 2

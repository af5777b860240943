"""``pipguard shim``: the environment's own pip scripts run through pipguard, and back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import filelock
import packaging
import pytest

from tests.conftest import REPO, Pipguard, Venv, combined, make_venv
from tests.integration.shimkit import (
    HOOK,
    is_shim,
    pip_scripts,
    run_python,
    run_script,
    same_output,
    show,
    site_packages_of,
    tree,
    without_pythonpath,
)


def embedded_pip_wheel(directory: Path) -> Path:
    import virtualenv.seed.wheels.embed as embed

    wheels = sorted(Path(embed.__file__).parent.glob("pip-*.whl"))
    directory.mkdir(exist_ok=True)
    return Path(shutil.copy(wheels[-1], directory))


def test_shim_replaces_every_pip_script_and_remove_restores_them_byte_for_byte(guard: Pipguard) -> None:
    bin_dir = guard.venv.path / "bin"
    before = pip_scripts(bin_dir)
    site_before = tree(site_packages_of(guard.venv))
    assert {"pip", "pip3"} <= set(before)

    result = guard.run("shim", "install")
    assert result.returncode == 0, combined(result)
    assert "'python -m pip' with" in result.stderr and "now runs through pipguard too" in result.stderr
    for name in before:
        assert is_shim(bin_dir / name), name
    assert (site_packages_of(guard.venv) / HOOK).is_file()
    kept = guard.venv.path / ".pipguard" / "shim-originals"
    assert pip_scripts(kept) == before
    assert sorted(guard.venv.ledger()["shim"]["scripts"]) == sorted(before)
    assert guard.venv.ledger()["shim"]["pip_hook"] == str(site_packages_of(guard.venv) / HOOK)

    result = guard.run("shim", "remove")
    assert result.returncode == 0, combined(result)
    assert "is plain pip again" in result.stderr
    assert pip_scripts(bin_dir) == before  # same bytes, same mode
    assert tree(site_packages_of(guard.venv)) == site_before  # the hook gone, nothing else touched
    assert not kept.exists()
    assert guard.venv.ledger()["shim"] == {}


def test_installing_the_shim_again_changes_nothing_and_keeps_pips_script(guard: Pipguard) -> None:
    bin_dir = guard.venv.path / "bin"
    before = pip_scripts(bin_dir)
    assert guard.run("shim", "install").returncode == 0
    shimmed = pip_scripts(bin_dir)
    again = guard.run("shim", "install")
    assert again.returncode == 0, combined(again)
    assert "already installed; nothing changed" in again.stderr
    assert pip_scripts(bin_dir) == shimmed
    assert pip_scripts(guard.venv.path / ".pipguard" / "shim-originals") == before  # not a shim
    assert guard.run("shim", "remove").returncode == 0
    assert pip_scripts(bin_dir) == before
    again = guard.run("shim", "remove")
    assert again.returncode == 0 and "nothing changed" in again.stderr


def test_pip_called_by_absolute_path_is_guarded(guard: Pipguard) -> None:
    assert guard.run("shim", "install").returncode == 0
    pip = guard.venv.path / "bin" / "pip"
    links = guard.index_args()

    ok = run_script(pip, "install", *links, "A")
    assert ok.returncode == 0, show(ok)
    assert "a" in guard.venv.ledger()["roots"]

    rejected = run_script(pip, "install", *links, "E")
    assert rejected.returncode == 10, show(rejected)
    assert b"not installing E" in rejected.stderr
    assert "e" not in guard.venv.versions()

    refused = run_script(guard.venv.path / "bin" / "pip3", "-q", "uninstall", "-y", "B")
    assert refused.returncode == 10, show(refused)
    assert guard.venv.versions()["b"] == "1.8"


def test_pip_reinstalling_itself_gets_the_shim_put_back_and_the_hook_survives(
        guard: Pipguard, tmp_path: Path) -> None:
    wheel_dir = tmp_path / "pip-wheel"
    embedded_pip_wheel(wheel_dir)
    assert guard.run("shim", "install").returncode == 0
    pip = guard.venv.path / "bin" / "pip"
    hook = site_packages_of(guard.venv) / HOOK
    hook_bytes = hook.read_bytes()

    result = run_script(pip, "install", "--no-index", "-f", str(wheel_dir), "--force-reinstall", "pip")
    assert result.returncode == 0, show(result)
    assert b"put pipguard's shim back" in result.stderr
    assert is_shim(pip) and is_shim(guard.venv.path / "bin" / "pip3")

    unguarded = run_python(guard.venv.python, "-m", "pip", "install", "--no-guard", "--no-index", "-f",
                           str(wheel_dir), "--force-reinstall", "pip")  # pip install -U pip, devstack's way
    assert unguarded.returncode == 0, show(unguarded)
    assert b"put pipguard's shim back" in unguarded.stderr
    assert is_shim(pip) and hook.read_bytes() == hook_bytes
    still = run_python(guard.venv.python, "-m", "pip", "uninstall", "-y", "no-such-project",
                       env={"PIPGUARD_DEBUG": "1"})
    assert still.returncode == 0 and b"pipguard: running" in still.stderr, show(still)  # still hooked

    assert guard.run("shim", "remove").returncode == 0
    assert not is_shim(pip) and not hook.exists()  # pip's own script (as the new pip wrote it) is back
    version = run_script(pip, "--version")
    assert version.returncode == 0 and version.stdout.startswith(b"pip ")


def test_shim_imports_pipguard_in_the_target_and_survives_pipguards_upgrade(tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    site = next((venv.path / "lib").glob("python3*/site-packages"))

    def install_pipguard(where: Path) -> None:
        shutil.copytree(REPO / "pipguard", where / "pipguard")
        deps = {str(Path(packaging.__file__).parent.parent), str(Path(filelock.__file__).parent.parent)}
        (site / "pipguard-test.pth").write_text("\n".join([str(where), *sorted(deps)]) + "\n")

    install_pipguard(tmp_path / "pipguard-1")
    env = without_pythonpath()
    result = subprocess.run([venv.python, "-m", "pipguard", "shim", "install"], capture_output=True,
                            text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    shim = (venv.path / "bin" / "pip").read_text()
    assert shim.startswith(f"#!{venv.python}\n") and "from pipguard.cli.main import main" in shim
    assert "pipguard-1" not in shim

    shutil.rmtree(tmp_path / "pipguard-1")  # "upgrade": the old files are gone, new ones elsewhere
    install_pipguard(tmp_path / "pipguard-2")
    wheelhouse_b = tmp_path / "wh"
    from tests.support.wheelkit import build_wheel

    build_wheel(wheelhouse_b, "B", "1.5")
    installed = subprocess.run(
        [str(venv.path / "bin" / "pip"), "install", "--no-index", "-f", str(wheelhouse_b), "B"],
        capture_output=True, text=True, env=env, check=False)
    assert installed.returncode == 0, installed.stderr
    assert "b" in venv.ledger()["roots"]


def test_system_interpreter_has_the_pip_scripts_next_to_it_shimmed(tmp_path: Path) -> None:
    """A non-venv interpreter: its scripts directory, a ledger from --ledger, nothing system-wide touched."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    has_pip = base.exists() and subprocess.run([str(base), "-m", "pip", "--version"], capture_output=True,
                                               check=False).returncode == 0
    if not has_pip:
        pytest.skip("no base interpreter with pip")
    system_bin = tmp_path / "system" / "bin"
    system_bin.mkdir(parents=True)
    python = system_bin / "python"
    python.symlink_to(base)
    pip3 = system_bin / "pip3"
    pip3.write_text(f"#!{python}\nimport sys\nfrom pip._internal.cli.main import main\nsys.exit(main())\n")
    pip3.chmod(0o755)
    original = pip3.read_bytes()
    ledger = tmp_path / "state" / "ledger.json"
    guard = Pipguard(Venv(tmp_path / "system"))
    before = run_script(pip3, "--version")

    result = guard.run("--ledger", str(ledger), "shim", "install")
    assert result.returncode == 0, combined(result)
    assert is_shim(pip3)
    assert (ledger.parent / "shim-originals" / "pip3").read_bytes() == original
    status = guard.run("--ledger", str(ledger), "shim", "status", "--json")
    assert '"state": "shim"' in status.stdout and str(ledger) in status.stdout
    through = run_script(pip3, "--version")
    assert same_output(before, through), show(through)

    assert guard.run("--ledger", str(ledger), "shim", "remove").returncode == 0
    assert pip3.read_bytes() == original


def test_shim_without_pip_scripts_is_refused(tmp_path: Path, guard: Pipguard) -> None:
    for path in (guard.venv.path / "bin").glob("pip*"):
        path.unlink()
    result = guard.run("shim", "install")
    assert result.returncode == 12
    assert "nothing to shim" in result.stderr



def test_symlinked_pip_script_is_shimmed_and_restored_as_the_same_symlink(guard: Pipguard) -> None:
    pip = guard.venv.path / "bin" / "pip"
    pip.unlink()
    pip.symlink_to("pip3")
    assert guard.run("shim", "install").returncode == 0
    assert not pip.is_symlink() and is_shim(pip)
    version = run_script(pip, "--version")
    assert version.returncode == 0 and version.stdout.startswith(b"pip ")
    assert guard.run("shim", "remove").returncode == 0
    assert pip.is_symlink() and str(pip.readlink()) == "pip3"
    assert not is_shim(guard.venv.path / "bin" / "pip3")


def test_pips_own_python_option_makes_the_other_environment_the_guarded_one(
        guard: Pipguard, tmp_path: Path) -> None:
    other = make_venv(tmp_path / "other")
    assert guard.run("shim", "install").returncode == 0
    result = run_script(guard.venv.path / "bin" / "pip", "--python", other.python, "install",
                        *guard.index_args(), "G==1.0")
    assert result.returncode == 0, show(result)
    assert other.versions()["g"] == "1.0" and "g" not in guard.venv.versions()
    assert "g" in other.ledger()["roots"]


# -- python -m pip (issue 9.2) ----------------------------------------------------------------


def python_names(venv: Venv) -> list[Path]:
    """The venv's interpreters as devstack names them: python, python3, python3.X."""
    bin_dir = venv.path / "bin"
    names = ["python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"]
    return [bin_dir / name for name in names if (bin_dir / name).exists()]


def test_python_m_pip_is_guarded_like_bin_pip_with_the_same_exit_codes(guard: Pipguard) -> None:
    assert guard.run("shim", "install").returncode == 0
    links = guard.index_args()
    python, python3, python3x = python_names(guard.venv)

    ok = run_python(python3x, "-m", "pip", "install", *links, "A")
    assert ok.returncode == 0, show(ok)
    assert "a" in guard.venv.ledger()["roots"]  # went through pipguard: recorded as a root

    rejected = run_python(python, "-Im", "pip", "install", *links, "E")
    assert rejected.returncode == 10, show(rejected)
    assert b"not installing E" in rejected.stderr
    assert "e" not in guard.venv.versions()

    refused = run_python(python3, "-mpip", "uninstall", "-y", "B")  # devstack's pip_uninstall
    assert refused.returncode == 10, show(refused)
    assert guard.venv.versions()["b"] == "1.8"

    missing = run_python(python3x, "-m", "pip", "install", "--no-guard", *links, "no-such-project")
    assert missing.returncode == 1, show(missing)  # pip's own failure, pip's own code
    assert guard.venv.transactions()[-1]["status"] == "failed"


def test_python_m_pip_pass_through_prints_exactly_what_plain_python_m_pip_prints(guard: Pipguard) -> None:
    assert guard.install("A").returncode == 0
    python3x = python_names(guard.venv)[-1]
    commands = [["list", "--format=columns"], ["freeze"], ["list", "--bogus"]]  # pip's own, untouched
    plain = [run_python(python3x, "-m", "pip", *command) for command in commands]
    assert guard.run("shim", "install").returncode == 0
    for command, before in zip(commands, plain):
        through = run_python(python3x, "-m", "pip", *command)
        assert same_output(before, through), f"{command}: {show(through)}"


def test_import_pip_and_other_programs_are_untouched_by_the_hook(guard: Pipguard, tmp_path: Path) -> None:
    assert guard.run("shim", "install").returncode == 0
    transactions = len(guard.venv.transactions())
    code = "import pip, sys; print(pip.__version__, sys.argv[1:])"
    result = run_python(guard.venv.python, "-c", code, "-m", "pip", "install", "E")
    assert result.returncode == 0, show(result)
    assert result.stdout.decode().split()[1:] == ["['-m',", "'pip',", "'install',", "'E']"]
    script = tmp_path / "pip_tool.py"  # a script whose arguments mention pip
    script.write_text("import sys; print('script', sys.argv[1:])\n")
    result = run_python(guard.venv.python, str(script), "-m", "pip")
    assert result.stdout == b"script ['-m', 'pip']\n", show(result)
    runpy = run_python(guard.venv.python, "-m", "pip.__main__", "--version")  # not `-m pip`: pip itself
    assert runpy.returncode == 0 and runpy.stdout.startswith(b"pip "), show(runpy)
    assert len(guard.venv.transactions()) == transactions


def test_pipguards_own_python_m_pip_runs_pass_straight_through(guard: Pipguard) -> None:
    """pipguard runs TARGET -m pip for its work: no loop back into pipguard, no second guard.

    (pip's own subprocesses, which build editables, are shown by the devstack suite's
    setup_develop through python -m pip.)
    """
    assert guard.run("shim", "install").returncode == 0
    listed = guard.run("list", env={"PIPGUARD_DEBUG": "1"}, timeout=60)
    assert listed.returncode == 0, combined(listed)
    assert listed.stderr.count("pipguard: running") == 1, listed.stderr  # pip once, not pipguard again
    transactions = len(guard.venv.transactions())
    installed = run_python(guard.venv.python, "-m", "pip", "install", *guard.index_args(), "A")
    assert installed.returncode == 0, show(installed)  # a nested pipguard would wait for the lock
    assert len(guard.venv.transactions()) == transactions + 1  # one guarded install, not nested


def test_shim_status_shows_whether_python_m_pip_is_guarded(guard: Pipguard) -> None:
    hook = site_packages_of(guard.venv) / HOOK
    before = guard.run("shim", "status")
    assert before.returncode == 0
    assert f"{hook}" in before.stdout and "python -m pip: not guarded" in before.stdout
    assert guard.run("shim", "install").returncode == 0
    text = guard.run("shim", "status").stdout
    assert "python -m pip: guarded (runs through pipguard)" in text, text
    assert f"runs: {sys.executable} -I -m pipguard" in text
    data = json.loads(guard.run("shim", "status", "--json").stdout)
    assert data["python_m_pip"] == {"path": str(hook), "state": "guarded"}
    assert data["runner"] == [sys.executable, "-I", "-m", "pipguard"] and data["record_problems"] == []
    assert {info["state"] for info in data["scripts"].values()} == {"shim"}
    hook.write_bytes(hook.read_bytes().replace(b"'pip' in", b"'pop' in"))
    changed = json.loads(guard.run("shim", "status", "--json").stdout)
    assert changed["python_m_pip"]["state"] == "changed"
    assert guard.run("shim", "remove").returncode == 0
    data = json.loads(guard.run("shim", "status", "--json").stdout)
    assert data["python_m_pip"]["state"] == "absent"
    assert {info["state"] for info in data["scripts"].values()} == {"pip"}


# -- the shim record is data (issue 14.3) ----------------------------------------------------


def tamper_shim_record(venv: Venv, change: dict[str, Any]) -> None:
    """Rewrite the ledger's shim record as another user who could write the ledger would."""
    data = venv.ledger()
    data["shim"] = {**data["shim"], **change}
    venv.ledger_path.write_text(json.dumps(data))


def test_tampered_runner_is_never_run_or_written_when_pip_rewrites_its_scripts(
        guard: Pipguard, tmp_path: Path) -> None:
    wheel_dir = tmp_path / "pip-wheel"
    embedded_pip_wheel(wheel_dir)
    evidence = tmp_path / "ran"
    assert guard.run("shim", "install").returncode == 0
    tamper_shim_record(guard.venv, {"runner": ["/bin/sh", "-c", f"id > {evidence}"]})
    status = guard.run("shim", "status")
    assert "warning: shim record: runner ['/bin/sh', '-c'," in status.stdout, status.stdout

    result = run_script(guard.venv.path / "bin" / "pip", "install", "--no-index", "-f", str(wheel_dir),
                        "--force-reinstall", "pip")
    assert result.returncode == 0, show(result)  # the install itself is not failed
    assert b"not one pipguard wrote" in result.stderr and b"Nothing was run or written" in result.stderr
    pip = guard.venv.path / "bin" / "pip"
    assert not is_shim(pip) and b"/bin/sh" not in pip.read_bytes()  # pip's own, as pip wrote it
    for run in (run_script(pip, "--version"), run_python(guard.venv.python, "-m", "pip", "--version")):
        assert run.returncode == 0, show(run)
    assert not evidence.exists()


def test_shim_record_of_the_wrong_shape_is_refused_with_a_warning_never_a_crash(guard: Pipguard) -> None:
    """Every kind of bad record (the table is in tests/unit/test_shim_record.py); here, end to end."""
    assert guard.install("A").returncode == 0
    assert guard.run("shim", "install").returncode == 0
    good = guard.venv.ledger()["shim"]
    pip = guard.venv.path / "bin" / "pip"
    kept = guard.venv.path / ".pipguard" / "shim-originals" / "pip"
    cases = [
        ({"scripts": ["pip"]}, "scripts is not a table"),  # once a crash after a committed install
        ({"originals": "/tmp"}, "originals /tmp is not"),
        ({"runner": [str(guard.venv.path / "python"), "-I", "-m", "pipguard"]}, "cannot be found"),
    ]
    for change, problem in cases:
        tamper_shim_record(guard.venv, {**good, **change})
        shutil.copy(kept, pip)  # as if pip had rewritten its script
        result = run_python(guard.venv.python, "-m", "pip", "install", *guard.index_args(), "A")
        assert result.returncode == 0, show(result)  # the install itself is not failed
        assert problem in result.stderr.decode(), f"{change}: {show(result)}"
        assert b"Traceback" not in result.stderr
        assert not is_shim(pip)  # nothing written from that record
    removed = guard.run("shim", "remove")  # remove ignores the record's paths and still cleans up
    assert removed.returncode == 0, combined(removed)
    assert not (site_packages_of(guard.venv) / HOOK).exists()


def python39() -> str | None:
    """A Python 3.9 interpreter on this machine (no sys.orig_argv there: the hook reads /proc)."""
    home = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for candidate in [shutil.which("python3.9"), *sorted(map(str, home.glob("versions/3.9*/bin/python3.9")))]:
        if candidate and subprocess.run([candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 9)"],
                                        capture_output=True, check=False).returncode == 0:
            return candidate
    return None


@pytest.mark.skipif(python39() is None or not Path("/proc/self/cmdline").exists(),
                    reason="needs Python 3.9 and /proc")
def test_python_m_pip_is_guarded_on_python_3_9_which_has_no_orig_argv(
        tmp_path: Path, wheelhouse: Path) -> None:
    from virtualenv import cli_run

    cli_run([str(tmp_path / "venv39"), "-p", str(python39()), "--no-setuptools", "--no-wheel",
             "--no-periodic-update", "-q"])
    guard = Pipguard(Venv(tmp_path / "venv39"), [wheelhouse])
    assert guard.run("shim", "install").returncode == 0
    ok = run_python(guard.venv.python, "-m", "pip", "install", *guard.index_args(), "A")
    assert ok.returncode == 0, show(ok)
    rejected = run_python(guard.venv.python, "-Im", "pip", "install", *guard.index_args(), "E")
    assert rejected.returncode == 10, show(rejected)
    assert run_python(guard.venv.python, "-c", "pass").returncode == 0

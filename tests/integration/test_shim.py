"""``pipguard shim``: the environment's own pip scripts run through pipguard, and back."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import filelock
import packaging
import pytest

from tests.conftest import REPO, Pipguard, Venv, combined, make_venv
from tests.integration.shimkit import is_shim, pip_scripts, run_script, same_output, show, without_pythonpath


def embedded_pip_wheel(directory: Path) -> Path:
    import virtualenv.seed.wheels.embed as embed

    wheels = sorted(Path(embed.__file__).parent.glob("pip-*.whl"))
    directory.mkdir(exist_ok=True)
    return Path(shutil.copy(wheels[-1], directory))


def test_shim_replaces_every_pip_script_and_remove_restores_them_byte_for_byte(guard: Pipguard) -> None:
    bin_dir = guard.venv.path / "bin"
    before = pip_scripts(bin_dir)
    assert {"pip", "pip3"} <= set(before)

    result = guard.run("shim", "install")
    assert result.returncode == 0, combined(result)
    assert "'python -m pip' is not guarded" in result.stderr
    for name in before:
        assert is_shim(bin_dir / name), name
    kept = guard.venv.path / ".pipguard" / "shim-originals"
    assert pip_scripts(kept) == before
    assert sorted(guard.venv.ledger()["shim"]["scripts"]) == sorted(before)

    result = guard.run("shim", "remove")
    assert result.returncode == 0, combined(result)
    assert pip_scripts(bin_dir) == before  # same bytes, same mode
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


def test_pip_called_by_absolute_path_is_guarded_and_python_m_pip_is_not(guard: Pipguard) -> None:
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

    plain = guard.venv.pip("install", *links, "E")  # python -m pip: documented as unguarded
    assert plain.returncode == 0
    assert guard.venv.versions()["b"] == "2.5"


def test_pip_reinstalling_itself_gets_the_shim_put_back(guard: Pipguard, tmp_path: Path) -> None:
    wheel_dir = tmp_path / "pip-wheel"
    embedded_pip_wheel(wheel_dir)
    assert guard.run("shim", "install").returncode == 0
    pip = guard.venv.path / "bin" / "pip"

    result = run_script(pip, "install", "--no-index", "-f", str(wheel_dir), "--force-reinstall", "pip")
    assert result.returncode == 0, show(result)
    assert b"put pipguard's shim back" in result.stderr
    assert is_shim(pip) and is_shim(guard.venv.path / "bin" / "pip3")

    unguarded = run_script(pip, "install", "--no-guard", "--no-index", "-f", str(wheel_dir),
                           "--force-reinstall", "pip")
    assert unguarded.returncode == 0, show(unguarded)
    assert is_shim(pip)

    assert guard.run("shim", "remove").returncode == 0
    assert not is_shim(pip)  # pip's own script (as the new pip wrote it) is back, and works
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
    assert shim.startswith(f"#!{venv.python}\n") and "from pipguard.cli import main" in shim
    assert "pipguard-1" not in shim

    shutil.rmtree(tmp_path / "pipguard-1")  # "upgrade": the old files are gone, new ones elsewhere
    install_pipguard(tmp_path / "pipguard-2")
    wheelhouse_b = tmp_path / "wh"
    from wheelkit import build_wheel

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

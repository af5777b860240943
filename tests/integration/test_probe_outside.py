"""The probe on real environments: own distributions and those seen from outside.

devstack's venv is made with ``python -m venv --system-site-packages``: the
base interpreter's distributions are visible in it, but are not its own.
The base here is a copy of the running Python with its own site-packages
(``base_python`` in tests/conftest.py, holding B 2.5 and C 2.0). The user
site and PYTHONPATH are outside too; a .pth file in the venv's own
site-packages adds directories that are the venv's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipguard.system.environment import probe_environment
from tests.conftest import BasePython, Pipguard, Venv, combined

# base_python and its prepared venv are made once, on one worker
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("base-python")]


def target_paths(python: str) -> dict[str, str]:
    code = "import site, sys; print(sys.prefix); print(site.getusersitepackages())"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    return {"prefix": out[0], "user_site": out[1]}


def install_to(directory: Path, wheels: Path, *requirements: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(wheels), "--no-deps",
         "--target", str(directory), *requirements],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_system_site_venv_tells_its_own_distributions_from_the_base_interpreters(
    system_site_venv: Venv, base_python: BasePython
) -> None:
    state = probe_environment(system_site_venv.python)
    assert {name: d.version for name, d in state.outside.items()} == {"b": "2.5", "c": "1.1"}
    assert "pip" in state.own and not state.own["pip"].outside
    assert set(state.own).isdisjoint(state.outside)
    assert state.locations["c"] == str(base_python.site_packages)
    assert all(Path(p).resolve().is_relative_to(system_site_venv.path.resolve()) for p in state.own_paths)
    assert state.shadowed == {}
    assert state.visible["c"].requires == ("B>=2.0",)  # still read in full: imports see it


def test_an_own_distribution_that_shadows_a_base_one_records_the_hidden_version(
    system_site_venv: Venv, wheelhouse: Path
) -> None:
    result = system_site_venv.pip("install", "--no-index", "--find-links", str(wheelhouse), "B==1.5")
    assert result.returncode == 0, result.stdout + result.stderr
    state = probe_environment(system_site_venv.python)
    assert state.visible["b"].version == "1.5" and not state.visible["b"].outside
    assert state.shadowed == {"b": "2.5"}
    assert set(state.outside) == {"c"}
    assert state.own_versions["b"] == "1.5"


def test_user_site_and_pythonpath_distributions_are_outside(
    system_site_venv: Venv, wheelhouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("PYTHONNOUSERSITE", raising=False)
    user_site = Path(target_paths(system_site_venv.python)["user_site"])
    assert user_site.is_relative_to(home)
    install_to(user_site, wheelhouse, "G==1.1")
    extra = tmp_path / "pythonpath"
    install_to(extra, wheelhouse, "H==1.0", "B==1.8")
    monkeypatch.setenv("PYTHONPATH", str(extra))
    state = probe_environment(system_site_venv.python)
    assert {name: (d.version, d.outside) for name, d in state.visible.items() if name in "bcgh"} == {
        "b": ("1.8", True),  # PYTHONPATH comes before the base's site-packages
        "c": ("1.1", True),
        "g": ("1.1", True),
        "h": ("1.0", True),
    }
    assert state.locations["g"] == str(user_site)
    assert state.locations["h"] == str(extra)


def test_pythonpath_before_the_venv_hides_an_own_distribution_that_is_still_installed(
    venv: Venv, wheelhouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert venv.pip("install", "--no-index", "--find-links", str(wheelhouse), "B==1.5").returncode == 0
    extra = tmp_path / "pythonpath"
    install_to(extra, wheelhouse, "B==2.0")
    monkeypatch.setenv("PYTHONPATH", str(extra))
    state = probe_environment(venv.python)
    assert (state.visible["b"].version, state.visible["b"].outside) == ("2.0", True)
    assert state.own["b"].version == "1.5" and not state.own["b"].outside
    assert {name: d.version for name, d in state.hidden.items()} == {"b": "1.5"}


def test_a_directory_a_pth_file_in_the_venv_adds_is_the_venvs_own(
    venv: Venv, tmp_path: Path
) -> None:
    """A legacy editable (setup.py develop): its egg-info in the source tree, on sys.path by a .pth."""
    source = tmp_path / "src" / "legacy"
    (source / "legacy.egg-info").mkdir(parents=True)
    (source / "legacy.egg-info" / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy\nVersion: 0.1\n")
    site = Path(venv.pip("--version").stdout.split(" from ")[1].split()[0]).parent
    (site / "easy-install.pth").write_text(f"{source}\n")
    state = probe_environment(venv.python)
    assert state.visible["legacy"].version == "0.1"
    assert not state.visible["legacy"].outside


def test_the_current_directory_is_not_part_of_the_environment(
    venv: Venv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -`` puts the current directory on sys.path; the probe leaves it out."""
    here = tmp_path / "checkout"
    (here / "stray.egg-info").mkdir(parents=True)
    (here / "stray.egg-info" / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: stray\nVersion: 9\n")
    (here / "json.py").write_text("raise SystemExit('the probe imported json.py from the current directory')\n")
    monkeypatch.chdir(here)
    state = probe_environment(venv.python)
    assert "stray" not in state.visible and "stray" not in state.own


def test_a_plain_venv_has_nothing_outside(venv: Venv) -> None:
    state = probe_environment(venv.python)
    assert state.outside == {} and state.shadowed == {} and state.hidden == {}
    assert state.own == state.visible


# -- 14.11: the cache follows the set of installed distributions, not mtimes --------------


def test_check_sees_an_upgrade_even_when_site_packages_mtime_was_restored(guard: Pipguard) -> None:
    """pip install B==2.0, then site-packages' mtime put back (tar, rsync -a, cp -a)."""
    assert guard.install("A").returncode == 0  # A needs B>1.0,<2.0: B 1.5
    check = guard.run("check")
    assert check.returncode == 0, combined(check)
    site = Path(guard.venv.pip("--version").stdout.split(" from ")[1].split()[0]).parent
    times = os.stat(site)
    upgraded = guard.pip_install("B==2.0")
    assert upgraded.returncode == 0, combined(upgraded)
    os.utime(site, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert os.stat(site).st_mtime_ns == times.st_mtime_ns
    check = guard.run("check")
    assert check.returncode == 1, combined(check)
    assert "b" in check.stdout.lower() and "2.0" in check.stdout

"""pip's options, read by pipguard with optparse as pip reads them: the same command line, the same answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Pipguard, combined
from tests.integration.shimkit import run_python, run_script, show


def test_bundled_abbreviated_and_attached_options_are_read_as_pip_reads_them(
        guard: Pipguard, wheelhouse: Path) -> None:
    # --no-ind is --no-index, -f<dir> has its value attached, -qU is -q -U: pip takes them all.
    result = guard.run("install", "--no-ind", f"-f{wheelhouse}", "-qU", "A")
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["a"] == "1.0"
    last = guard.venv.transactions()[-1]
    assert (last["status"], list(last["argv"])) == ("committed", ["install", "--no-ind", f"-f{wheelhouse}", "-qU", "A"])


@pytest.mark.parametrize(
    ("args", "pips_words", "ours"),
    [
        (["--upg", "A"], "ambiguous option: --upg (--upgrade, --upgrade-strategy?)", "ambiguous option --upg"),
        (["--upgrade=yes", "A"], "--upgrade option does not take a value", "option --upgrade takes no value"),
        (["A", "-r"], "-r option requires 1 argument", "option -r needs a value"),
    ],
    ids=["ambiguous", "flag-with-value", "missing-value"],
)
def test_what_pip_refuses_pipguard_refuses_before_running_it(
        pip_guard: Pipguard, args: list[str], pips_words: str, ours: str) -> None:
    plain = pip_guard.pip_install(*args)
    assert plain.returncode == 2 and pips_words in plain.stderr, combined(plain)
    result = pip_guard.install(*args)
    assert result.returncode == 2, combined(result)
    assert ours in result.stderr and "Traceback" not in combined(result)
    assert not pip_guard.venv.ledger_path.exists()


@pytest.mark.parametrize("before", [["--time", "60"], ["--"]], ids=["abbreviated-timeout", "double-dash"])
def test_the_shim_finds_install_past_general_options_as_pip_does(guard: Pipguard, before: list[str]) -> None:
    # pip reads "--time 60" as --timeout 60 and "--" as the end of its general options, then installs:
    # so does the shim, and the install is guarded (before, "60" or nothing was taken for the command).
    assert guard.run("shim", "install").returncode == 0
    pip = guard.venv.path / "bin" / "pip"
    # the index from the environment: after "--" every argument is a requirement, for pip too
    index = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": " ".join(str(link) for link in guard.find_links)}
    assert run_script(pip, "install", "A", env=index).returncode == 0
    rejected = run_script(pip, *before, "install", "E", env=index)
    assert rejected.returncode == 10, show(rejected)
    assert b"not installing E" in rejected.stderr
    hooked = run_python(guard.venv.python, "-m", "pip", *before, "install", "E", env=index)  # the .pth hook
    assert hooked.returncode == 10, show(hooked)
    assert "e" not in guard.venv.versions()

"""Issue 19, items 1, 2, 5, 6, 7, 16, 17 and 26: the ledger's files and the shim, hardened."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import filelock
import packaging
import pytest

from tests.conftest import REPO, Pipguard, Venv, combined, make_venv
from tests.integration.shimkit import is_shim, pip_scripts, run_python, run_script, show, without_pythonpath

OTHER_UID = 4242


def originals(venv: Venv) -> Path:
    return venv.path / ".pipguard" / "shim-originals"


# -- item 1: shim remove checks what it restores -------------------------------------------------


def test_shim_remove_refuses_a_kept_original_whose_hash_differs(guard: Pipguard, tmp_path: Path) -> None:
    assert guard.run("shim", "install").returncode == 0
    bin_dir = guard.venv.path / "bin"
    shimmed = pip_scripts(bin_dir)
    evidence = tmp_path / "PWN"
    (originals(guard.venv) / "pip").write_text(f"#!/bin/sh\ntouch {evidence}\n")
    result = guard.run("shim", "remove")
    assert result.returncode == 11, combined(result)
    assert str(originals(guard.venv) / "pip") in result.stderr and "sha256" in result.stderr
    assert pip_scripts(bin_dir) == shimmed  # nothing in bin/ changed
    run_script(bin_dir / "pip", "--version")
    assert not evidence.exists()


def test_shim_remove_refuses_an_originals_directory_others_may_write(guard: Pipguard, tmp_path: Path) -> None:
    assert guard.run("shim", "install").returncode == 0
    bin_dir = guard.venv.path / "bin"
    shimmed = pip_scripts(bin_dir)
    originals(guard.venv).chmod(0o777)
    result = guard.run("shim", "remove")
    assert result.returncode == 11, combined(result)
    assert str(originals(guard.venv)) in result.stderr and "writable by others" in result.stderr
    assert pip_scripts(bin_dir) == shimmed


# -- item 7: shim remove after pip was removed -------------------------------------------------------


def test_shim_remove_after_pip_was_uninstalled_restores_no_pip_script(guard: Pipguard) -> None:
    assert guard.run("shim", "install").returncode == 0
    bin_dir = guard.venv.path / "bin"
    names = sorted(pip_scripts(bin_dir))
    gone = run_python(guard.venv.python, "-m", "pip", "uninstall", "-y", "pip",
                      env={"PIPGUARD_INNER_PIP": "1"})  # plain pip, behind pipguard's back
    assert gone.returncode == 0, show(gone)
    result = guard.run("shim", "remove")
    assert result.returncode == 0, combined(result)
    for name in names:
        assert not (bin_dir / name).exists(), name  # neither pip's old script nor the shim
        assert name in result.stderr
    assert "pip is no longer installed" in result.stderr
    assert not originals(guard.venv).exists()


# -- item 16: the /bin/sh shim when pipguard's own venv is gone ---------------------------------------


def install_pipguard_into(venv: Venv, where: Path) -> None:
    site = next((venv.path / "lib").glob("python3*/site-packages"))
    shutil.copytree(REPO / "pipguard", where / "pipguard")
    deps = {str(Path(packaging.__file__).parent.parent), str(Path(filelock.__file__).parent.parent)}
    (site / "pipguard-test.pth").write_text("\n".join([str(where), *sorted(deps)]) + "\n")


def test_shim_whose_pipguard_venv_is_gone_says_what_to_do_and_exits_12(guard: Pipguard, tmp_path: Path) -> None:
    own = make_venv(tmp_path / "pipguard-venv")
    install_pipguard_into(own, tmp_path / "pipguard-src")
    result = subprocess.run([own.python, "-m", "pipguard", "--python", guard.venv.python, "shim", "install"],
                            capture_output=True, text=True, env=without_pythonpath(), check=False)
    assert result.returncode == 0, result.stderr
    assert str(own.python) in (guard.venv.path / "bin" / "pip").read_text()
    shutil.rmtree(own.path)
    ran = run_script(guard.venv.path / "bin" / "pip", "install", "G", env=without_pythonpath())
    assert ran.returncode == 12, show(ran)
    message = ran.stderr.decode()
    assert "not found" not in message and "shim remove" in message and str(own.python) in message


# -- item 17: a venv whose path holds quotes ---------------------------------------------------------


def test_shim_install_on_a_venv_whose_path_holds_quotes(tmp_path: Path, wheelhouse: Path) -> None:
    venv = make_venv(tmp_path / "ve\"n'v")
    guard = Pipguard(venv, [wheelhouse])
    result = guard.run("shim", "install")
    assert result.returncode == 0, combined(result)
    assert is_shim(venv.path / "bin" / "pip")
    assert guard.run("shim", "remove").returncode == 0
    assert not is_shim(venv.path / "bin" / "pip")


# -- item 5: uninstalling the pipguard the shims run -------------------------------------------------


def test_uninstalling_pipguard_where_it_lives_and_is_shimmed_is_refused(tmp_path: Path, wheelhouse: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    from tests.support.wheelkit import build_wheel

    wheels = tmp_path / "wh"
    build_wheel(wheels, "pipguard", "0.0.1")  # stands for pipguard's own distribution in the environment
    assert venv.pip("install", "--no-index", "-f", str(wheels), "pipguard").returncode == 0
    install_pipguard_into(venv, tmp_path / "pipguard-src")
    env = without_pythonpath()
    shim = subprocess.run([venv.python, "-m", "pipguard", "shim", "install"], capture_output=True, text=True,
                          env=env, check=False)
    assert shim.returncode == 0, shim.stderr
    result = run_python(venv.python, "-m", "pip", "uninstall", "-y", "pipguard", env=env)
    assert result.returncode == 10, show(result)
    assert b"shim remove" in result.stderr
    assert "pipguard" in venv.versions()


def test_python_m_pip_hook_whose_pipguard_is_gone_says_what_to_do_and_exits_12(
        tmp_path: Path, wheelhouse: Path) -> None:
    venv = make_venv(tmp_path / "venv")
    install_pipguard_into(venv, tmp_path / "pipguard-src")
    env = without_pythonpath()
    shim = subprocess.run([venv.python, "-m", "pipguard", "shim", "install"], capture_output=True, text=True,
                          env=env, check=False)
    assert shim.returncode == 0, shim.stderr
    shutil.rmtree(tmp_path / "pipguard-src")  # pipguard uninstalled behind the hook's back
    result = run_python(venv.python, "-m", "pip", "install", "--no-index", "-f", str(wheelhouse), "G", env=env)
    assert result.returncode == 12, show(result)
    assert b"No module named" not in result.stderr and b"shim remove" in result.stderr


# -- item 26: refusing another environment's ledger writes nothing beside it --------------------------


def ledger_files(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(directory.iterdir()) if p.is_file()}


def test_refusing_another_environments_ledger_writes_nothing_beside_it(guard: Pipguard, tmp_path: Path,
                                                                       wheelhouse: Path) -> None:
    assert guard.install("G").returncode == 0
    directory = guard.venv.path / ".pipguard"
    assert (directory / "ledger.json.probe-cache").exists()
    # A state without the journal's integrity mark (an earlier pipguard wrote it): reading it
    # means reading the journal, and that must not write the mark into the refused ledger.
    state = json.loads((directory / "ledger.json").read_text())
    del state["journal"]
    (directory / "ledger.json").write_text(json.dumps(state))
    before = ledger_files(directory)
    other = Pipguard(make_venv(tmp_path / "env2"), [wheelhouse])
    result = other.run("--ledger", str(directory / "ledger.json"), "install", *other.index_args(), "M")
    assert result.returncode == 11, combined(result)
    assert ledger_files(directory) == before


# -- item 2: a FIFO where a ledger file should be -------------------------------------------------------


@pytest.mark.parametrize("planted", ["ledger.json.lock", "ledger.journal.jsonl", "ledger.json"])
@pytest.mark.parametrize("command", [("check",), ("history",)])
def test_fifo_planted_as_a_ledger_file_is_refused_never_a_hang(guard: Pipguard, tmp_path: Path, planted: str,
                                                             command: tuple[str, ...]) -> None:
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    ledger = sticky / "ledger.json"
    assert guard.run("--ledger", str(ledger), "install", *guard.index_args(), "G").returncode == 0
    fifo = sticky / planted
    fifo.unlink()
    os.mkfifo(fifo)
    os.chown(fifo, OTHER_UID, OTHER_UID)
    result = guard.run("--ledger", str(ledger), *command, timeout=60)
    assert result.returncode == 11, combined(result)
    assert str(fifo) in result.stderr and "FIFO" in result.stderr


# -- item 6: a corrupt line in the middle of the journal -------------------------------------------------


def test_corrupt_line_in_the_middle_of_the_journal_fails_check_and_compaction_repairs_it(guard: Pipguard) -> None:
    for name in ("G", "M==1.0", "A"):
        assert guard.install(name).returncode == 0
    journal = guard.venv.journal_path
    lines = journal.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 6
    lines[2] = b'{"v":1,"kind":"transaction","id":2,"garbage\n'
    journal.write_bytes(b"".join(lines))
    result = guard.run("check")
    assert result.returncode == 1, combined(result)
    text = combined(result)
    assert f"{journal}" in text and "line 3" in text and "history --compact" in text
    data = guard.run("check", "--json")
    assert data.returncode == 1 and "ledger-damaged" in data.stdout
    installed = guard.install("B==1.5")
    assert installed.returncode == 0, combined(installed)
    assert "line 3" in installed.stderr  # said, not hidden, while it goes on
    compact = text.split("history --compact ")[1].split()[0].rstrip(".,:;)'")
    fixed = guard.run("history", "--compact", compact)
    assert fixed.returncode == 0, combined(fixed)
    after = guard.run("check")
    assert after.returncode == 0, combined(after)
    assert guard.run("history").returncode == 0

"""Every pip command but install/uninstall behaves exactly as pip: same stdout, stderr, exit code.

Compared byte for byte: the environment's own ``bin/pip`` before and after
``pipguard shim install``, and ``pipguard <cmd>`` against ``python -m pip <cmd>``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Venv, make_venv, scrubbed_env
from tests.integration.shimkit import is_shim, run_script, same_output, show
from tests.support.wheelkit import write_source_project

# the module's box (18 baseline pip runs) is made once, on one worker
pytestmark = pytest.mark.xdist_group("passthrough")

LINKS = ["--no-index", "-f", "{wheelhouse}"]

# (id, pip arguments); "{wheelhouse}" is filled in.
COMMANDS: list[tuple[str, list[str]]] = [
    ("list", ["list"]),
    ("list-columns", ["list", "--format=columns"]),  # devstack's editable detection
    ("freeze", ["freeze"]),
    ("show", ["show", "A"]),
    ("show-missing", ["show", "nothing-such"]),
    ("check", ["check"]),
    ("config-list", ["config", "list"]),
    ("download", ["download", *LINKS, "-d", "dl", "B==1.5"]),
    ("wheel", ["wheel", *LINKS, "-w", "out", "--no-deps", "C==1.0"]),
    ("help", ["help"]),
    ("version", ["--version"]),
    ("version-short", ["-V"]),
    ("bare", []),
    ("unknown-command", ["frobnicate"]),
    ("install-help", ["install", "--help"]),
    ("install-nothing", ["install"]),
    ("global-option-first", ["-q", "list"]),
    ("bad-option", ["list", "--bogus"]),
]
# 'pipguard check' is pipguard's own command ('pipguard pip check' is pip's).
THROUGH_PIPGUARD = {"list", "freeze", "show-missing", "config-list", "download", "wheel", "help"}


@dataclass
class Box:
    venv: Venv
    wheelhouse: Path
    workdir: Path
    env: dict[str, str]
    baseline: dict[str, subprocess.CompletedProcess[bytes]]

    def argv(self, args: list[str]) -> list[str]:
        return [a.replace("{wheelhouse}", str(self.wheelhouse)) for a in args]

    def cwd(self, label: str) -> Path:
        """A fresh directory per run, so download/wheel write the same relative paths."""
        path = self.workdir / label
        path.mkdir(parents=True)
        return path


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Iterator[Box]:
    root = tmp_path_factory.mktemp("passthrough")
    venv = make_venv(root / "venv")
    conf = root / "pip.conf"
    conf.write_text("[global]\ntimeout = 60\n")
    env = {"PIP_CONFIG_FILE": str(conf)}
    project = write_source_project(root / "src-proj", "proj", "1.0", ["B>=1.0"])
    done = venv.pip("install", "--no-index", "-f", str(wheelhouse), "A", "-e", str(project), env=env)
    assert done.returncode == 0, done.stderr
    result = Box(venv, wheelhouse, root / "runs", env, {})
    for label, args in COMMANDS:
        result.baseline[label] = run_script(venv.path / "bin" / "pip", *result.argv(args),
                                            cwd=result.cwd(f"plain-{label}"), env=env)
    shim = subprocess.run([sys.executable, "-m", "pipguard", "--python", venv.python, "shim", "install"],
                          capture_output=True, text=True, env=scrubbed_env(env), check=False)
    assert shim.returncode == 0, shim.stderr
    assert is_shim(venv.path / "bin" / "pip")
    yield result


@pytest.mark.parametrize(("label", "args"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_shimmed_pip_prints_exactly_what_pip_printed(box: Box, label: str, args: list[str]) -> None:
    shimmed = run_script(box.venv.path / "bin" / "pip", *box.argv(args), cwd=box.cwd(f"shim-{label}"),
                         env=box.env)
    plain = box.baseline[label]
    assert same_output(plain, shimmed), f"pip:\n{show(plain)}\nshim:\n{show(shimmed)}"


@pytest.mark.parametrize(("label", "args"), [c for c in COMMANDS if c[0] in THROUGH_PIPGUARD],
                         ids=[c[0] for c in COMMANDS if c[0] in THROUGH_PIPGUARD])
def test_pipguard_command_prints_exactly_what_python_m_pip_prints(
        box: Box, label: str, args: list[str]) -> None:
    argv = box.argv(args)
    env = scrubbed_env(box.env)
    plain = subprocess.run([box.venv.python, "-m", "pip", *argv], capture_output=True, cwd=box.cwd(f"m-pip-{label}"),
                           env={**env, "PIPGUARD_INNER_PIP": "1"}, check=False)  # plain, past the shim's hook
    through = subprocess.run([sys.executable, "-m", "pipguard", "--python", box.venv.python, *argv],
                             capture_output=True, env=env, cwd=box.cwd(f"pipguard-{label}"), check=False)
    assert same_output(plain, through), f"pip:\n{show(plain)}\npipguard:\n{show(through)}"


def test_pipguard_version_is_pipguards_and_pip_version_through_pipguard_is_pips(box: Box) -> None:
    env = scrubbed_env(box.env)
    own = subprocess.run([sys.executable, "-m", "pipguard", "--version"], capture_output=True, text=True,
                         env=env, check=False)
    assert own.stdout.startswith("pipguard ")
    via = subprocess.run([sys.executable, "-m", "pipguard", "--python", box.venv.python, "pip", "--version"],
                         capture_output=True, text=True, env=env, check=False)
    plain = box.venv.pip("--version", env=box.env)
    assert via.stdout == plain.stdout and via.stdout.startswith("pip ")


def test_pip_check_through_pipguard_pip_is_pips_own(box: Box) -> None:
    env = scrubbed_env(box.env)
    via = subprocess.run([sys.executable, "-m", "pipguard", "--python", box.venv.python, "pip", "check"],
                         capture_output=True, env=env, check=False)
    plain = subprocess.run([box.venv.python, "-m", "pip", "check"], capture_output=True, env=env, check=False)
    assert same_output(plain, via), show(via)


def test_passthrough_records_nothing_in_the_ledger(box: Box) -> None:
    assert b"src-proj" in box.baseline["list-columns"].stdout  # the editable's location column
    for args in (["list"], ["freeze"], ["show", "A"]):
        assert run_script(box.venv.path / "bin" / "pip", *args, env=box.env).returncode == 0
    assert [t["command"] for t in box.venv.transactions()] == ["baseline"]


_PID_LOGGER = '''\
import os, sys
_log = os.environ.get("PIPGUARD_TEST_PIP_PIDS")
if _log and "pip" in " ".join(getattr(sys, "orig_argv", sys.argv)):
    with open(_log, "a") as _handle:
        _handle.write(str(os.getpid()) + "\\n")
'''


@pytest.mark.parametrize("through", ["pipguard", "shim"])
def test_a_passed_through_pip_takes_pipguards_place(box: Box, tmp_path: Path, through: str) -> None:
    """pip's commands that pipguard does not guard need nothing of it once started: pip replaces
    the pipguard process (exec), its exit status and signals the caller's, with no pipguard
    waiting beside it."""
    site = Path(subprocess.run([box.venv.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    log = tmp_path / "pids"
    (site / "_pipguard_test_pids.py").write_text(_PID_LOGGER)
    (site / "_pipguard_test_pids.pth").write_text("import _pipguard_test_pids\n")
    try:
        cmd = ([sys.executable, "-m", "pipguard", "--python", box.venv.python, "list"] if through == "pipguard"
               else [str(box.venv.path / "bin" / "pip"), "list"])
        started = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=scrubbed_env({**box.env, "PIPGUARD_TEST_PIP_PIDS": str(log)}))
        out, err = started.communicate(timeout=120)
        assert started.returncode == 0, err
        assert log.read_text().split() == [str(started.pid)]  # one pip, in the process that was started
        assert b"proj" in out
    finally:
        (site / "_pipguard_test_pids.pth").unlink()
        (site / "_pipguard_test_pids.py").unlink()

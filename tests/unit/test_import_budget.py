"""What each everyday command imports (issue 18: pipguard's own cost).

Each command runs in a fresh interpreter, twice, on a small real ledger (a
virtualenv adopted by pipguard); the second run, answered from the probe's
cache and the needs kept beside it, is the one measured: the modules loaded
by then (``sys.modules`` written at exit by a tiny launcher) must stay
within the command's budget. In-process would not do: the test's own
imports would hide the command's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Run the command, then write sys.modules before importing anything else. The checkout is put
# on sys.path here, not through PYTHONPATH: the target interpreter would inherit it, and the
# probe's signature covers its sys.path, so a file another test writes in the checkout would
# make the measured run ask the interpreter again (a process: subprocess loaded, a false alarm).
_LAUNCHER = """
import sys
sys.path.insert(0, sys.argv.pop(1))
from pipguard.cli.main import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write("\\n".join(sorted(sys.modules)))
raise SystemExit(code)
"""

# Never needed by a command that only reads the ledger or checks what is installed.
ALWAYS_FORBIDDEN = (
    "pipguard.engines.pip.engine", "pipguard.engines.pip.gate", "pipguard.engines.uv", "pipguard.engines.index",
    "pipguard.maintenance", "pipguard.shim.scripts", "pipguard.shim.hook",
    "concurrent", "urllib.request", "http", "socket", "ssl", "email", "tempfile",
)
# The ledger's readers, answered from the state file and the caches: no engine, no pip
# command line, no requirement parsing (packaging.markers loads packaging.utils and with it
# packaging.tags, logging, platform, subprocess, sysconfig), no process.
READER_FORBIDDEN = (
    *ALWAYS_FORBIDDEN, "pipguard.engines", "pipguard.pip", "packaging.tags", "packaging.utils",
    "packaging.markers", "packaging.requirements", "subprocess", "logging", "platform", "sysconfig",
    # argparse's formatter asks shutil for the terminal's width (cli.options asks os itself);
    # datetime is for recording a transaction; filelock for writing
    "shutil", "bz2", "lzma", "datetime", "filelock",
    # the records are NamedTuples: a frozen dataclass costs ~1 ms to define, dataclasses (and the
    # inspect, ast and dis it loads) ~11 ms to import
    "dataclasses", "inspect",
)

COMMANDS = {
    "ledger": (["ledger"], "ledger", READER_FORBIDDEN),
    "why": (["why", "pip"], "why", READER_FORBIDDEN),
    "history": (["history", "--last", "20"], "history", READER_FORBIDDEN),
    # export writes each pin's markers, read from the Requires-Dist lines: it parses requirements
    "export": (["export"], "export", (*ALWAYS_FORBIDDEN, "pipguard.engines", "pipguard.pip", "shutil",
                                      "datetime", "filelock")),
    # check names an old pip's missing --build-constraint (engines.pip.runner's note): that module
    # and its packages, no engine, no port, no requirement parsing (no standing constraints here);
    # the engines package looks for uv with shutil only when asked to
    "check": (["check"], "check", (*(name for name in READER_FORBIDDEN if name != "pipguard.engines"),
                                   "pipguard.engines.base")),
}


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with a ledger: pipguard adopt, then pip made a root (a satisfied install)."""
    return _adopted_venv(tmp_path_factory)


def _adopted_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # tox -e oldest has no virtualenv (it needs a newer filelock than the lowest pipguard declares)
    pytest.importorskip("virtualenv", reason="the budget is measured in a virtualenv (tox -e py)")
    venv = tmp_path_factory.mktemp("budget") / "venv"
    subprocess.run([sys.executable, "-m", "virtualenv", "-q", "--no-setuptools", "--no-wheel", str(venv)],
                   check=True, capture_output=True)
    python = venv / "bin" / "python"
    for args in (["adopt"], ["install", "pip"]):
        subprocess.run([sys.executable, "-m", "pipguard", "--python", str(python), *args], check=True,
                       capture_output=True, cwd=REPO, env=_env())
    return python


@pytest.fixture(scope="module")
def standing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An adopted virtualenv with a standing constraints file (as devstack's upper-constraints)."""
    adopted = _adopted_venv(tmp_path_factory)
    pins = tmp_path_factory.mktemp("budget-standing") / "upper-constraints.txt"
    pins.write_text("pip>=1\nsetuptools===80.9.0\nsix===1.17.0\n")
    subprocess.run([sys.executable, "-m", "pipguard", "--python", str(adopted), "constraints", "add", str(pins)],
                   check=True, capture_output=True, cwd=REPO, env=_env())
    return adopted


# With a standing file, an unchanged one is read from beside the probe's cache: still no pip
# command line, no requirement parser (its lines' needs are kept with it), no process.
STANDING_COMMANDS = {
    "ledger": (["ledger"], "ledger", READER_FORBIDDEN),
    "why": (["why", "pip"], "why", READER_FORBIDDEN),
    "check": COMMANDS["check"],
}


@pytest.mark.parametrize("command", sorted(STANDING_COMMANDS))
def test_command_with_a_standing_file_imports_only_what_it_uses(command: str, standing: Path,
                                                                tmp_path: Path) -> None:
    args, own, forbidden = STANDING_COMMANDS[command]
    loaded = modules_loaded(standing, args, tmp_path)
    assert f"pipguard.commands.{own}" in loaded and "pipguard.ledger.standing" in loaded
    assert over_budget(loaded, forbidden, own) == []


def _env() -> dict[str, str]:
    # no PYTHONPATH (see _LAUNCHER): "python -m pipguard" with cwd=REPO finds the checkout
    return {"PATH": "/usr/bin:/bin", "PIP_CONFIG_FILE": "/dev/null",
            "PYTHONDONTWRITEBYTECODE": "1"}


def modules_loaded(python: Path, args: list[str], tmp_path: Path) -> set[str]:
    """The modules loaded by ``pipguard --python PYTHON ARGS`` run twice; those of the second run."""
    dump = tmp_path / "modules"
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", _LAUNCHER, str(REPO), str(dump), "--python", str(python),
                                 *args],
                                capture_output=True, text=True, cwd=tmp_path, env=_env(), check=False)
        assert result.returncode == 0, result.stderr
    return set(dump.read_text().split())


def over_budget(loaded: set[str], forbidden: tuple[str, ...], own: str) -> list[str]:
    others = tuple(f"pipguard.commands.{name}" for name in _command_modules() if name not in (own, "support"))
    return sorted(name for name in loaded if _within(name, forbidden) or _within(name, others))


def _command_modules() -> list[str]:
    return [path.stem for path in (REPO / "pipguard" / "commands").glob("*.py") if path.stem != "__init__"]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_imports_only_what_it_uses(command: str, adopted: Path, tmp_path: Path) -> None:
    args, own, forbidden = COMMANDS[command]
    loaded = modules_loaded(adopted, args, tmp_path)
    assert f"pipguard.commands.{own}" in loaded  # the launcher ran the command itself
    assert over_budget(loaded, forbidden, own) == []


def test_satisfied_install_loads_no_engine_process_machinery(adopted: Path, tmp_path: Path) -> None:
    loaded = modules_loaded(adopted, ["install", "pip"], tmp_path)
    assert "pipguard.commands.install" in loaded
    assert over_budget(loaded, ("pipguard.engines.uv", "pipguard.engines.index", "pipguard.maintenance",
                                "pipguard.shim.scripts", "concurrent", "urllib.request", "http", "socket",
                                "email"), "install") == []


# Each ``import`` of dataclasses or inspect noted, with the module that makes it ("dataclasses<-IMPORTER"),
# then, as _LAUNCHER, the command run (or the modules after --import imported) and sys.modules written,
# with those notes. sys.modules alone cannot tell: packaging's requirement parser (its tokenizer's Token
# is a dataclass since packaging 22) loads dataclasses, and with it inspect, wherever a requirement is
# parsed, as every install and uninstall does; pipguard's own modules must not.
_IMPORTERS_LAUNCHER = """
import builtins, sys
sys.path.insert(0, sys.argv.pop(1))
noted = set()
real_import = builtins.__import__
def noting(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and name in ("dataclasses", "inspect"):
        noted.add(name + "<-" + str((globals or {}).get("__name__")))
    return real_import(name, globals, locals, fromlist, level)
builtins.__import__ = noting
if sys.argv[2] == "--import":
    for module in sys.argv[3:]:
        __import__(module)
    code = 0
else:
    from pipguard.cli.main import main
    code = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write("\\n".join(sorted({*sys.modules, *noted})))
raise SystemExit(code)
"""
# packaging's tokenizer's import, and the inspect dataclasses imports itself: none of pipguard's (its
# records are NamedTuples and plain classes; a frozen dataclass costs ~0.6 ms to define, dataclasses
# and the inspect, ast and dis it loads 5-8 ms to import, on a command whose whole budget is ~100 ms)
NOT_PIPGUARDS = {"dataclasses<-packaging._tokenizer", "inspect<-dataclasses"}


def launched_noting_importers(args: list[str], tmp_path: Path, runs: int = 1) -> set[str]:
    """What _IMPORTERS_LAUNCHER wrote for *args* (run *runs* times: the last run's)."""
    dump = tmp_path / "modules-and-importers"
    for _ in range(runs):
        result = subprocess.run([sys.executable, "-c", _IMPORTERS_LAUNCHER, str(REPO), str(dump), *args],
                                capture_output=True, text=True, cwd=tmp_path, env=_env(), check=False)
        assert result.returncode == 0, result.stderr
    return set(dump.read_text().split())


def importers(loaded: set[str]) -> set[str]:
    return {entry for entry in loaded if "<-" in entry}


def test_satisfied_install_imports_no_dataclasses_of_its_own(adopted: Path, tmp_path: Path) -> None:
    """Neither dataclasses nor inspect is imported by pipguard (packaging's parser imports them)."""
    loaded = launched_noting_importers(["--python", str(adopted), "install", "pip"], tmp_path, runs=2)
    assert "pipguard.commands.install" in loaded
    assert importers(loaded) <= NOT_PIPGUARDS


# What an install that runs pip (or an uninstall) loads besides, the modules that read pip's conflict
# (core.conflicts, for the verdict) included.
PIP_RUN_MODULES = ("pipguard.commands.install", "pipguard.commands.uninstall", "pipguard.engines.pip.engine",
                   "pipguard.core.conflicts")


def test_an_install_that_runs_pip_imports_no_dataclasses_of_its_own(tmp_path: Path) -> None:
    loaded = launched_noting_importers(["--import", *PIP_RUN_MODULES], tmp_path)
    assert set(PIP_RUN_MODULES) <= loaded
    assert importers(loaded) <= NOT_PIPGUARDS


def test_the_importers_of_dataclasses_are_noted(tmp_path: Path) -> None:
    """A module of pipguard's that imported dataclasses would fail the two tests above."""
    (tmp_path / "with_a_dataclass.py").write_text("from dataclasses import dataclass\n")
    loaded = launched_noting_importers(["--import", "with_a_dataclass"], tmp_path)
    assert "dataclasses<-with_a_dataclass" in importers(loaded)
    assert not importers(loaded) <= NOT_PIPGUARDS


def test_satisfied_install_loads_no_engine(adopted: Path, tmp_path: Path) -> None:
    loaded = modules_loaded(adopted, ["install", "pip"], tmp_path)
    assert over_budget(loaded, ("pipguard.engines.pip.engine", "pipguard.engines.pip.gate"), "install") == []


def test_satisfied_install_with_nothing_to_record_reads_as_a_reader(adopted: Path, tmp_path: Path) -> None:
    """Answered under the shared lock (``_satisfied_reading``): filelock is for writers."""
    loaded = modules_loaded(adopted, ["install", "pip"], tmp_path)
    assert "pipguard.commands.install" in loaded
    assert over_budget(loaded, ("filelock",), "install") == []


def test_the_budget_catches_a_forbidden_import() -> None:
    """A reader that loaded an engine, a process or another command would fail."""
    loaded = {"pipguard.commands.ledger", "pipguard.commands.support", "pipguard.core.views"}
    assert over_budget(loaded, READER_FORBIDDEN, "ledger") == []
    for extra in ("pipguard.engines.pip.engine", "subprocess", "packaging.tags", "pipguard.commands.check",
                  "shutil", "datetime", "filelock", "pipguard.pip.request", "packaging.requirements"):
        assert over_budget({*loaded, extra}, READER_FORBIDDEN, "ledger") == [extra]


# pip's own commands through pipguard (``pipguard pip list``, the shim's ``pip list``) end in
# ``exec``: the launcher writes sys.modules there instead of running pip.
_EXEC_LAUNCHER = """
import os, sys
sys.path.insert(0, sys.argv.pop(1))
dump = sys.argv[1]
def instead_of_exec(path, args):
    with open(dump, "w") as out:
        out.write("\\n".join(sorted(sys.modules)))
    os._exit(0)
os.execv = instead_of_exec
from pipguard.cli.main import main
raise SystemExit(main(sys.argv[2:]))
"""
# Telling a pass-through command from install/uninstall: no requirement parser, no ledger's
# journal or lock, no shim writer (hashlib, shutil), no engine, no process. Finding pip's kept
# script asks where the ledger is (ledger.paths), not for its store (cli.context, ledger.store),
# the probe (system.environment) or the requirement algebra (core.constraints and its
# packaging.specifiers); nor for the shim's records (shim.record) and the dataclasses they are.
PASS_THROUGH_FORBIDDEN = (
    *ALWAYS_FORBIDDEN, "pipguard.pip.request", "pipguard.core.decide", "packaging.requirements",
    "packaging.markers", "packaging.tags", "subprocess", "hashlib", "shutil", "filelock",
    "pipguard.cli.context", "pipguard.ledger.store", "pipguard.system.environment", "pipguard.core.constraints",
    "packaging.specifiers", "pipguard.shim.record", "dataclasses", "inspect",
)


@pytest.mark.parametrize("args", [["pip", "list"], ["pip", "--invoked-as", "pip", "show", "pip"], ["list"]],
                         ids=["pip-list", "shim-show", "list"])
def test_a_pass_through_command_imports_only_what_it_uses(args: list[str], adopted: Path, tmp_path: Path) -> None:
    dump = tmp_path / "modules"
    result = subprocess.run([sys.executable, "-c", _EXEC_LAUNCHER, str(REPO), str(dump), "--python", str(adopted),
                             *args], capture_output=True, text=True, cwd=tmp_path, env=_env(), check=False)
    assert result.returncode == 0, result.stderr
    loaded = set(dump.read_text().split())
    assert over_budget(loaded, PASS_THROUGH_FORBIDDEN, "pip" if args[0] == "pip" else "passthrough") == []


_SHIM_MODULES = """
import sys
sys.path.insert(0, sys.argv[1])
from pipguard.commands.support import load_shim_modules
from pipguard.core.model import LedgerState
ledger = LedgerState()
load_shim_modules(ledger._replace(shim={"format": 1}) if sys.argv[2] == "shimmed" else ledger)
print("pipguard.shim.scripts" in sys.modules, "pipguard.shim.runner" in sys.modules)
"""


@pytest.mark.parametrize(("ledger", "loaded"), [("shimmed", "True True"), ("plain", "False False")])
def test_the_shim_modules_load_before_pip_is_waited_for_only_where_there_are_shims(ledger: str,
                                                                                    loaded: str) -> None:
    """An install loads what ``keep_shims`` needs after pip while pip resolves (not on its way out)."""
    result = subprocess.run([sys.executable, "-c", _SHIM_MODULES, str(REPO), ledger], capture_output=True,
                            text=True, env=_env(), check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == loaded.split()

"""The package's layers, kept by tests (docs/development.md, "Layers").

* every module imports alone in a fresh interpreter: no cycle, and no
  import-time side effect (no process started, no socket, no file written);
* the pure core and the maintenance plans import nothing that starts a
  process, opens a socket or reads the ledger;
* the ledger and the engines never import a command or the CLI;
* commands never import each other: what they share is in commands/support.

The import graph is read statically with ``ast``, every ``import`` in a
module (at its top, in functions, under ``TYPE_CHECKING``).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pipguard"

# Imports a pure module may not make: they start processes, open sockets, or are the edges.
PURE_FORBIDDEN = (
    "subprocess", "socket", "ssl", "http", "urllib.request", "urllib.error", "multiprocessing",
    "concurrent", "asyncio", "pipguard.system", "pipguard.ledger", "pipguard.engines",
    "pipguard.cli", "pipguard.commands", "pipguard.shim",
)
PURE_ALLOWED = ("pipguard.engines.base",)  # the engine port: types and protocols only
# Known exceptions, each a debt named here (not a rule): maintenance.diff renders with cli.render's table.
PURE_EXCEPTIONS: set[tuple[str, str]] = set()
EDGE_FORBIDDEN = ("pipguard.commands", "pipguard.cli")
# A command's own parts (not commands of their own): check --plan is the check command's.
COMMAND_PARTS = {("pipguard.commands.check", "pipguard.commands.check_plan")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = sorted(module_name(path) for path in PACKAGE.rglob("*.py"))


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


@cache
def imports_of(module: str) -> frozenset[str]:
    path = PACKAGE.parent / Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    return read_imports(path.read_text(encoding="utf-8"), module, is_package=path.name == "__init__.py")


def read_imports(source: str, module: str, *, is_package: bool) -> frozenset[str]:
    """Every module *source* imports anywhere in its text (relative imports resolved;
    ``from package import name`` counts ``package.name`` when that is a module)."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES)
    return frozenset(found)


def forbidden_imports(module: str, found: frozenset[str] | None = None) -> list[str]:
    """What *module* imports (*found*, else read from its file) against the layer rules."""
    found = imports_of(module) if found is None else found
    bad: list[str] = []
    if _within(module, ("pipguard.core", "pipguard.maintenance")):
        bad += [name for name in found if _within(name, PURE_FORBIDDEN) and not _within(name, PURE_ALLOWED)
                and (module, name) not in PURE_EXCEPTIONS]
    if _within(module, ("pipguard.ledger", "pipguard.engines")):
        bad += [name for name in found if _within(name, EDGE_FORBIDDEN)]
    if _within(module, ("pipguard.commands",)):
        bad += [name for name in found
                if _within(name, ("pipguard.commands",)) and name not in ("pipguard.commands", module,
                                                                           "pipguard.commands.support")
                and (module, name) not in COMMAND_PARTS]
    return sorted(set(bad))


def test_the_graph_is_read() -> None:
    """The reader sees function-level, relative and from-imports (else every rule passes vacuously)."""
    assert "pipguard.commands.passthrough" in imports_of("pipguard.cli.main")  # inside a function
    assert "pipguard.core.model" in imports_of("pipguard.core.constraints")
    assert "pipguard.system.probe" in imports_of("pipguard.system.environment")  # from package import module
    assert len(MODULES) > 60


@pytest.mark.parametrize("module", MODULES)
def test_module_keeps_its_layer(module: str) -> None:
    assert forbidden_imports(module) == []


@pytest.mark.parametrize(("module", "source"), [
    ("pipguard.core.decide", "def later():\n    import subprocess\n"),
    ("pipguard.maintenance.rollback", "from pipguard.ledger.store import LedgerStore\n"),
    ("pipguard.core.views", "from ..system import environment\n"),
    ("pipguard.ledger.store", "from pipguard.commands.install import run_install\n"),
    ("pipguard.engines.pip.engine", "import pipguard.cli.main\n"),
    ("pipguard.commands.upgrade", "def f():\n    from pipguard.commands.install import InstallEffects\n"),
])
def test_a_forbidden_import_is_caught(module: str, source: str) -> None:
    """The rules catch what they forbid, at a module's top or inside a function."""
    assert forbidden_imports(module, read_imports(source, module, is_package=False)) != []


# Run in a fresh interpreter for each module: an audit hook records any process
# started, socket opened or file opened for writing while the module imports.
_LAUNCHER = r"""
import json, sys
events = []
WATCHED = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.fork", "socket.connect",
           "socket.bind", "os.remove", "os.rename", "os.mkdir"}
def hook(event, args):
    if event in WATCHED:
        events.append(event)
    elif event == "open" and len(args) > 1 and isinstance(args[1], str) and any(c in args[1] for c in "wax+"):
        events.append(f"open {args[0]!r} {args[1]}")
    elif event == "open" and len(args) > 2 and isinstance(args[2], int) and args[2] & 0o3:
        events.append(f"open {args[0]!r} for writing")
sys.addaudithook(hook)
import importlib
importlib.import_module(sys.argv[1])
sys.stdout.write(json.dumps(events))
"""


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(module: str, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", _LAUNCHER, module], cwd=tmp_path, capture_output=True,
                            text=True, env={"PYTHONPATH": str(PACKAGE.parent), "PATH": "/usr/bin:/bin",
                                 "PYTHONDONTWRITEBYTECODE": "1"},
                            check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout) == [], f"{module} does this while it imports"
    assert list(tmp_path.iterdir()) == []

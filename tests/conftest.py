"""Shared fixtures: one wheelhouse per session, a fresh real venv per test.

Tests run the real thing: wheels built here (no network), real virtual
environments, real pip, and pipguard as a real subprocess. The machine's
pip configuration is scrubbed from every subprocess unless a test is about
configuration and puts its own back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from wheelkit import build_wheel, write_source_project  # noqa: E402

# The seed story and a few more shapes, as (name, version, requires, extras).
STORY_WHEELS: list[tuple[str, str, list[str], dict[str, list[str]]]] = [
    ("A", "1.0", ["B>1.0,<2.0"], {}),
    ("B", "1.0", [], {}),
    ("B", "1.5", [], {}),
    ("B", "1.8", [], {}),
    ("B", "2.0", [], {}),
    ("B", "2.5", [], {}),
    ("C", "1.0", ["B>=1.0"], {}),
    ("C", "2.0", ["B>=2.0"], {}),
    ("E", "1.0", ["B>=2.0"], {}),  # no version of E fits beside A
    ("D", "1.0", [], {"x": ["B<1.8"]}),  # an extra that narrows B
    ("F", "1.0", ["B<2.0; python_version < '3'"], {}),  # marker that never applies
    ("G", "1.0", ["B>=1.0"], {}),
    ("G", "1.1", ["B>=1.0"], {}),
    ("G", "1.2", ["B>=1.0"], {}),
    ("H", "1.0", ["B>=2.5"], {}),
]


def scrubbed_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ without the machine's pip and pipguard settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "PIPGUARD_", "VIRTUAL_ENV"))
    }
    # pip in a fresh venv compiles itself on every run when bytecode may not be
    # written (this machine sets that): let it write, and every later run is faster.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env.update(extra or {})
    return env


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All story wheels, plus setuptools for offline builds of source projects."""
    directory = tmp_path_factory.mktemp("wheelhouse")
    for name, version, requires, extras in STORY_WHEELS:
        build_wheel(directory, name, version, requires, extras)
    import virtualenv.seed.wheels.embed as embed  # the wheels virtualenv ships

    embedded = Path(embed.__file__).parent
    for wheel in embedded.glob("setuptools-*.whl"):
        shutil.copy(wheel, directory)
    return directory


@dataclass
class Venv:
    path: Path

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    @property
    def ledger_path(self) -> Path:
        return self.path / ".pipguard" / "ledger.json"

    def ledger(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.ledger_path.read_text())
        return data

    def pip(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Plain pip, even in a shimmed venv (its python -m pip hook lets pipguard's own runs through)."""
        return subprocess.run(
            [self.python, "-m", "pip", *args], capture_output=True, text=True,
            env=scrubbed_env({"PIPGUARD_INNER_PIP": "1", **(env or {})}), check=False,
        )

    def versions(self) -> dict[str, str]:
        """name -> version of everything installed, read by the venv's own Python."""
        code = (
            "import json, importlib.metadata as m;"
            "print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions()}))"
        )
        out = subprocess.run([self.python, "-I", "-c", code], capture_output=True, text=True, check=True)
        result: dict[str, str] = json.loads(out.stdout)
        return result

    def pip_check(self) -> subprocess.CompletedProcess[str]:
        return self.pip("check")


def make_venv(path: Path) -> Venv:
    from virtualenv import cli_run

    cli_run([str(path), "--no-setuptools", "--no-wheel", "--no-periodic-update", "-q"])
    return Venv(path)


@pytest.fixture
def venv(tmp_path: Path) -> Venv:
    """A fresh virtual environment with pip (virtualenv's bundled, recent pip)."""
    return make_venv(tmp_path / "venv")


@dataclass
class Pipguard:
    """Runs ``python -m pipguard --python VENV`` as a real subprocess."""

    venv: Venv
    find_links: list[Path] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 300,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "pipguard", "--python", self.venv.python, *args]
        # cwd=REPO: "python -m pipguard" finds this checkout even outside tox,
        # without a PYTHONPATH that would leak into the target's pip.
        return subprocess.run(
            cmd, capture_output=True, text=True, env=scrubbed_env({**self.env, **(env or {})}),
            check=False, timeout=timeout, input=input, cwd=REPO,
        )

    def index_args(self) -> list[str]:
        args = ["--no-index"]
        for link in self.find_links:
            args += ["--find-links", str(link)]
        return args

    def install(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("install", *self.index_args(), *args, env=env)

    def pip_install(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Plain pip, the control: same wheelhouse, no pipguard."""
        return self.venv.pip("install", *self.index_args(), *args)


@pytest.fixture
def extra_wheels(tmp_path: Path) -> Path:
    directory = tmp_path / "extra-wheels"
    directory.mkdir()
    return directory


@pytest.fixture
def make_wheel(extra_wheels: Path):  # type: ignore[no-untyped-def]
    """Build another wheel into this test's own find-links directory."""

    def make(name: str, version: str, requires: Iterable[str] = (),
             extras: Mapping[str, Iterable[str]] | None = None) -> Path:
        return build_wheel(extra_wheels, name, version, requires, extras)

    return make


@pytest.fixture
def make_project(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a source project (for -e and path installs) under the test's tmp dir."""

    def make(name: str, version: str, requires: Iterable[str] = (),
             extras: Mapping[str, Iterable[str]] | None = None, directory: str | None = None) -> Path:
        return write_source_project(tmp_path / (directory or f"src-{name}"), name, version, requires, extras)

    return make


@pytest.fixture
def guard(venv: Venv, wheelhouse: Path, extra_wheels: Path) -> Pipguard:
    return Pipguard(venv, [wheelhouse, extra_wheels])


def combined(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr

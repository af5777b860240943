"""Fixtures that more than one integration module shares.

``run``: pipguard in this process against the test's venv (test_argument_edges,
test_hostile_metadata: bad input that never reaches pip).

devstack's (tests/integration/test_devstack*.py): one world (wheels, checkouts,
requirements), one base interpreter, one pipguard installed outside, and one
prepared ``--system-site-packages`` venv over that base, copied for each box.
The modules that use them are one xdist group ("devstack"), so that one
worker makes them once.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Venv, prepared_copy
from tests.integration.devstack_world import BASE_DISTRIBUTIONS, World, build_world
from tests.support.devstack_kit import clean_env, copy_interpreter, make_venv, pipguard_home


@pytest.fixture(scope="session")
def devstack_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("devstack-world"))


@pytest.fixture(scope="session")
def devstack_base_python(tmp_path_factory: pytest.TempPathFactory, devstack_world: World) -> Path:
    """The distro's Python: a base interpreter the suite controls (the running Python's prefix,
    hard-linked) whose own site-packages holds ``BASE_DISTRIBUTIONS`` (ds-crypto 2.0, where
    upper-constraints pins 1.0, and a tool needing it)."""
    python = copy_interpreter(tmp_path_factory.mktemp("base-python") / "prefix")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-index",
         "--root-user-action=ignore", "-f", str(devstack_world.wheelhouse), *BASE_DISTRIBUTIONS],
        capture_output=True, text=True, env=clean_env(), check=False)
    assert result.returncode == 0, result.stderr
    return python


@pytest.fixture(scope="session")
def outside_pipguard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pipguard in a venv of its own, installed from a wheel of this checkout: bin/pipguard."""
    root = tmp_path_factory.mktemp("pipguard-home")
    return pipguard_home(root / "venv", root / "wheels")


def devstack_venv(path: Path, base: Path) -> Path:
    """devstack's venv: ``--system-site-packages`` over *base* (a copy of one prepared per
    session); returns its bin/python."""

    def make(where: Path) -> Venv:
        return Venv(make_venv(where, base, system_site_packages=True).parent.parent)

    kind = "devstack-" + hashlib.sha256(str(base).encode()).hexdigest()[:8]  # one prepared venv per base
    return Path(prepared_copy(kind, make, path).python)


@pytest.fixture
def run(venv: Venv, in_process):  # type: ignore[no-untyped-def]
    """``pipguard --python VENV ARGS`` in this process (conftest's ``in_process``): (exit code, stdout, stderr)."""

    def call(*args: str) -> tuple[int, str, str]:
        result = in_process("--python", venv.python, *args)
        return result.returncode, result.stdout, result.stderr

    return call

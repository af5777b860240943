"""The shim's text: how it finds pipguard and what it never names (pure parts)."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipguard
from pipguard.shim.scripts import SHIM_MARKER, ShimSpec, render_shim, shebang_interpreter


@pytest.mark.parametrize(
    ("head", "interpreter"),
    [
        (b"#!/venv/bin/python\n# -*- coding: utf-8 -*-\n", "/venv/bin/python"),
        (b"#!/usr/bin/python3 -I\nimport sys\n", "/usr/bin/python3"),
        (b"#!/bin/sh\n'''exec' \"/a dir/bin/python\" \"$0\" \"$@\"\n' '''\n", "/a dir/bin/python"),
        (b"#!/bin/sh\n'''exec' /long/bin/python \"$0\" \"$@\"\n", "/long/bin/python"),
        (b"import sys\n", None),
        (b"", None),
    ],
)
def test_shebang_interpreter_reads_pips_script_headers(head: bytes, interpreter: str | None) -> None:
    assert shebang_interpreter(head) == interpreter


def spec(python: str = "/venv/bin/python", runner: tuple[str, ...] = (),
         ledger: str | None = None) -> ShimSpec:
    return ShimSpec(python, runner, ledger, "/venv/.pipguard/shim-originals")


def test_shim_importing_pipguard_names_no_pipguard_file() -> None:
    text = render_shim(spec()).decode()
    assert text.startswith("#!/venv/bin/python\n")
    assert SHIM_MARKER.decode() in text
    assert "from pipguard.cli.main import main" in text
    assert str(Path(pipguard.__file__).parent) not in text
    compile(text, "shim", "exec")  # valid Python


def test_shim_running_pipguards_interpreter_names_only_interpreters() -> None:
    runner = ("/opt/pg/bin/python", "-I", "-m", "pipguard")
    text = render_shim(spec(runner=runner, ledger="/l/ledger.json")).decode()
    assert text.startswith("#!/bin/sh\n")
    assert ("exec /opt/pg/bin/python -I -m pipguard --python /venv/bin/python --ledger /l/ledger.json "
            'pip --invoked-as "$0" "$@"') in text
    assert str(Path(pipguard.__file__).parent) not in text


def test_shim_for_a_long_interpreter_path_goes_through_sh() -> None:
    python = "/very" + "/long" * 40 + "/bin/python"
    text = render_shim(spec(python=python)).decode()
    assert text.startswith("#!/bin/sh\n'''exec' ")
    assert shebang_interpreter(text.encode()) == python
    compile(text, "shim", "exec")

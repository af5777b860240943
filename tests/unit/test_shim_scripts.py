"""Issue 19.17 and 19.16 (pure parts): a script's #! line read as the kernel reads it; the
/bin/sh shim says what to do when pipguard's own interpreter is gone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipguard.shim.scripts import ShimSpec, kernel_shebang, render_shim, shebang_interpreter


@pytest.mark.parametrize(
    ("line", "split"),
    [
        (b'#!/tmp/ve"n\'v/bin/python', ('/tmp/ve"n\'v/bin/python', "")),
        (b"#! /usr/bin/python3 -I -E", ("/usr/bin/python3", "-I -E")),
        (b"#!/usr/bin/env python3\r", ("/usr/bin/env", "python3")),
        (b"#!", None),
        (b"import sys", None),
    ],
)
def test_shebang_lines_are_split_as_the_kernel_splits_them(line: bytes, split: tuple[str, str] | None) -> None:
    assert kernel_shebang(line) == split


@pytest.mark.parametrize(
    ("head", "interpreter"),
    [
        (b'#!/tmp/ve"n\'v/bin/python\nimport sys\n', '/tmp/ve"n\'v/bin/python'),
        (b"#!/bin/sh\n'''exec' '/tmp/ve\"n'\"'\"'v/bin/python' \"$0\" \"$@\"\n' '''\n", '/tmp/ve"n\'v/bin/python'),
        (b"#!/bin/sh\n'''exec' \"/a dir/bin/python\" \"$0\" \"$@\"\n", "/a dir/bin/python"),
    ],
)
def test_pip_scripts_of_a_venv_whose_path_holds_quotes_are_found(head: bytes, interpreter: str) -> None:
    assert shebang_interpreter(head) == interpreter


def test_sh_shim_whose_runner_is_gone_says_what_to_do_and_exits_12(tmp_path: Path) -> None:
    gone = tmp_path / "pipguard-venv" / "bin" / "python"
    spec = ShimSpec(str(tmp_path / "venv" / "bin" / "python"), (str(gone), "-I", "-m", "pipguard"), None,
                    str(tmp_path / "venv" / ".pipguard" / "shim-originals"))
    script = tmp_path / "pip"
    script.write_bytes(render_shim(spec))
    script.chmod(0o755)
    result = subprocess.run([str(script), "install", "x"], capture_output=True, text=True, check=False)
    assert result.returncode == 12, result.stderr
    assert str(gone) in result.stderr and "shim remove" in result.stderr and "not found" not in result.stderr

"""The ``python -m pip`` hook: which command lines it takes, and the ``.pth`` it is written as."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipguard.commands.pip import split_pip_command_line
from pipguard.pip.options import GENERAL
from pipguard.shim.hook import HOOK_MARKER, HookConfig, hook_state, remove_hook, render_hook, write_hook
from pipguard.shim.hook_runtime import GLOBAL_VALUED, module_run, pip_command_word, pipguard_command

PY = "/venv/bin/python3.11"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([PY, "-m", "pip", "install", "x"], ("pip", ["install", "x"])),
        ([PY, "-mpip", "uninstall", "-y", "x"], ("pip", ["uninstall", "-y", "x"])),
        ([PY, "-Im", "pip", "list"], ("pip", ["list"])),
        ([PY, "-I", "-u", "-m", "pip"], ("pip", [])),
        ([PY, "-W", "ignore", "-X", "dev", "-m", "pip", "freeze"], ("pip", ["freeze"])),
        ([PY, "-Wignore", "-m", "pip"], ("pip", [])),
        ([PY, "--check-hash-based-pycs", "never", "-m", "pip"], ("pip", [])),
        ([PY, "-m", "pip.__main__"], ("pip.__main__", [])),
        ([PY, "-m", "pipguard", "pip"], ("pipguard", ["pip"])),
        ([PY, "-c", "import pip", "-m", "pip"], None),
        ([PY, "-Ic", "pass", "-m", "pip"], None),
        ([PY, "script.py", "-m", "pip"], None),
        ([PY, "-", "-m", "pip"], None),
        ([PY, "--", "-m", "pip"], None),
        ([PY, "-W", "-m", "pip"], None),  # "-m" is -W's value; "pip" is then a script
        ([PY, "-m"], None),
        ([PY], None),
    ],
)
def test_module_run_reads_the_interpreters_command_line_as_python_does(
        argv: list[str], expected: tuple[str, list[str]] | None) -> None:
    assert module_run(argv) == expected


@pytest.mark.parametrize(
    "args",
    [["install", "x"], ["-q", "install", "x"], ["--python", "/other/python", "install"], ["--log=x", "uninstall"],
     ["--cache-dir", "install", "list"], ["list", "--format=columns"], ["freeze"], ["--version"], [],
     ["--", "install"], ["-", "install"], ["--timeout", "5", "--isolated", "show", "x"],
     ["--time", "5", "install"], ["--default-timeout", "5", "install"], ["--", "-q", "install"], ["--"]],
)
def test_the_hook_finds_pips_command_as_pipguard_pip_does(args: list[str]) -> None:
    """Only install and uninstall go to pipguard; the hook and `pipguard pip` must agree on which that is."""
    assert pip_command_word(args) == split_pip_command_line(args).command
    assert {name for spec in GENERAL if spec.takes_value for name in spec.names} == GLOBAL_VALUED


def config(**changes: object) -> HookConfig:
    values: dict[str, object] = {
        "prefix": "/venv", "python": "/venv/bin/python",
        "runner": ("/opt/pipguard/bin/python", "-I", "-m", "pipguard"),
        "ledger_args": (), "pth": "/venv/lib/python3.11/site-packages/pipguard-pip-hook.pth",
    }
    values.update(changes)
    return HookConfig(**values)  # type: ignore[arg-type]


def test_the_hook_runs_the_recorded_pipguard_for_the_interpreter_that_was_started() -> None:
    command = pipguard_command(config(ledger_args=("--ledger", "/l.json")).as_dict(), PY, ["install", "x"])
    assert command == ["/opt/pipguard/bin/python", "-I", "-m", "pipguard", "--python", PY,
                       "--ledger", "/l.json", "pip", "install", "x"]


def test_hook_file_is_ascii_with_one_line_that_site_runs() -> None:
    data = render_hook(config(prefix="/vénv", python="/vénv/bin/python"))
    text = data.decode("ascii")  # site.py reads .pth files in the locale's encoding
    assert text.startswith(HOOK_MARKER)
    run_lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert len(run_lines) == 1 and run_lines[0].startswith("import sys; ")  # the rest are comments to site
    compile(run_lines[0], "pth", "exec")
    assert len(run_lines[0]) < 1000  # compiled at every start: kept short
    from pipguard.shim import hook_runtime as _pip_hook

    assert Path(_pip_hook.__file__).read_text().isascii()  # its code is carried as is


def started_with(tmp_path: Path, hook: HookConfig, argv: list[str] | None, *args: str,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the hook's line as site.py would, in an interpreter started as *argv* pretends."""
    pth = Path(hook.pth)
    pth.write_bytes(render_hook(hook))
    line = next(line for line in pth.read_text().splitlines() if line.startswith("import"))
    pretend = f"import sys; sys.orig_argv = {argv!r}\n" if argv else ""
    script = tmp_path / "start.py"
    script.write_text(f"{pretend}{line}\nprint('went on')\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PIPGUARD_")}
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          env={**clean, **(env or {})}, check=False)


def test_the_hook_line_lets_every_other_start_go_on(tmp_path: Path) -> None:
    hook = config(prefix=os.path.realpath(sys.prefix), pth=str(tmp_path / "hook.pth"))
    result = started_with(tmp_path, hook, None, "pip", "install")  # "pip" in the arguments of a script
    assert (result.returncode, result.stdout, result.stderr) == (0, "went on\n", "")
    other = config(prefix=str(tmp_path), pth=str(tmp_path / "hook.pth"))  # another environment's hook
    result = started_with(tmp_path, other, [sys.executable, "-m", "pip", "list"])
    assert (result.returncode, result.stdout, result.stderr) == (0, "went on\n", "")


def test_the_hook_says_what_to_do_when_the_recorded_pipguard_is_gone(tmp_path: Path) -> None:
    """The hook refuses to run pip unguarded: exit 12 and the way out, as the bin/pip shim does."""
    gone = config(prefix=os.path.realpath(sys.prefix), pth=str(tmp_path / "hook.pth"),
                  runner=(str(tmp_path / "gone" / "python"), "-I", "-m", "pipguard"))
    as_pip = [sys.executable, "-m", "pip", "install", "x"]
    result = started_with(tmp_path, gone, as_pip)
    assert result.returncode == 12, result.stderr
    assert "cannot be started" in result.stderr and "shim remove" in result.stderr
    passed = started_with(tmp_path, gone, as_pip, env={"PIPGUARD_INNER_PIP": "1"})
    assert passed.stdout == "went on\n"  # pipguard's own run of pip goes straight through


def test_hook_state_tells_pipguards_hook_from_other_files(tmp_path: Path) -> None:
    path = tmp_path / "pipguard-pip-hook.pth"
    data = render_hook(config())
    assert hook_state(path) == "absent"
    assert write_hook(path, data) is True
    assert write_hook(path, data) is False  # already exactly that
    assert hook_state(path, data) == "guarded"
    assert hook_state(path, render_hook(config(prefix="/other"))) == "changed"
    assert remove_hook(path) is True and not path.exists()
    path.write_text("import something_else\n")
    assert hook_state(path) == "foreign"
    assert remove_hook(path) is False and path.exists()  # not pipguard's to remove

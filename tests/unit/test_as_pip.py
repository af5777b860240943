"""Reading a whole pip command line the way pip does (what the shim hands pipguard)."""

from __future__ import annotations

import pytest

from pipguard.commands.pip import split_pip_command_line


@pytest.mark.parametrize(
    ("argv", "globals_", "command", "rest"),
    [
        ([], (), None, ()),
        (["--version"], ("--version",), None, ()),
        (["-V"], ("-V",), None, ()),
        (["help"], (), "help", ()),
        (["help", "install"], (), "help", ("install",)),
        (["install", "-q", "A"], (), "install", ("-q", "A")),
        (["-q", "install", "A"], ("-q",), "install", ("A",)),
        (["--timeout", "5", "list"], ("--timeout", "5"), "list", ()),
        (["--timeout=5", "list"], ("--timeout=5",), "list", ()),
        (["--python", "/x/py", "uninstall", "-y", "B"], ("--python", "/x/py"), "uninstall", ("-y", "B")),
        (["--isolated", "-v", "freeze", "--all"], ("--isolated", "-v"), "freeze", ("--all",)),
    ],
)
def test_command_word_is_found_past_global_options(
    argv: list[str], globals_: tuple[str, ...], command: str | None, rest: tuple[str, ...]
) -> None:
    line = split_pip_command_line(argv)
    assert (line.global_options, line.command, line.args) == (globals_, command, rest)


@pytest.mark.parametrize(
    ("argv", "answered_by_pip"),
    [
        (["install", "A"], False),
        (["-V", "install", "A"], True),
        (["--help", "install"], True),
        (["install", "--help"], True),
        (["uninstall", "-h"], True),
        (["-q", "uninstall", "-y", "B"], False),
    ],
)
def test_help_and_version_are_left_to_pip(argv: list[str], answered_by_pip: bool) -> None:
    assert split_pip_command_line(argv).asks_pip_itself is answered_by_pip


def test_pips_own_python_option_before_the_command_is_the_target() -> None:
    line = split_pip_command_line(["--python", "/envs/x/bin/python", "-q", "install", "A"])
    assert line.pip_python() == "/envs/x/bin/python"
    assert line.global_options_without_python() == ["-q"]
    assert split_pip_command_line(["--python=/p", "install", "A"]).pip_python() == "/p"
    assert split_pip_command_line(["install", "A"]).pip_python() is None

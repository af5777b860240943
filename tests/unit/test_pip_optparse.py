"""pip's option rules, read through stdlib optparse as pip reads them (pipguard/pip/options.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipguard.cli import main as cli
from pipguard.commands.pip import split_pip_command_line
from pipguard.errors import UsageError
from pipguard.pip.options import INSTALL_TABLE, REQUIREMENTS_FILE_TABLE, UNINSTALL_TABLE
from pipguard.pip.request import read_install

NO_CONFIG = {"PIP_CONFIG_FILE": "/dev/null"}


def parsed(*args: str) -> list[tuple[str, tuple[str, ...], str | None, int, bool]]:
    options, _ = INSTALL_TABLE.parse(args, "command line")
    return [(o.key, o.written, o.value, o.position, o.bundled) for o in options]


def positional(*args: str) -> list[str]:
    return INSTALL_TABLE.parse(args, "command line")[1]


# -- short options: bundles and attached values ---------------------------------------------


def test_short_flags_bundle_and_repeat() -> None:
    assert parsed("-qqU", "A") == [
        ("quiet", ("-qqU",), None, 0, True), ("quiet", ("-qqU",), None, 0, True),
        ("upgrade", ("-qqU",), None, 0, True),
    ]
    request = read_install(["-qqU", "-q", "A"], "/nonexistent", NO_CONFIG)
    assert request.quiet == 3 and request.upgrade


@pytest.mark.parametrize(
    ("args", "written", "value"),
    [
        (["-rreq.txt"], ("-rreq.txt",), "req.txt"),
        (["-r", "req.txt"], ("-r", "req.txt"), "req.txt"),
        (["-r", "-q"], ("-r", "-q"), "-q"),  # a value may look like an option, as in pip
        (["-r", "--"], ("-r", "--"), "--"),
    ],
)
def test_a_short_option_takes_its_value_attached_or_next(args: list[str], written: tuple[str, ...],
                                                          value: str) -> None:
    assert parsed(*args) == [("requirement", written, value, 0, False)]


def test_the_last_option_of_a_bundle_takes_the_rest_or_the_next_argument() -> None:
    assert parsed("-Urreq.txt") == [
        ("upgrade", ("-Urreq.txt",), None, 0, True), ("requirement", ("-Urreq.txt",), "req.txt", 0, True)]
    assert parsed("-qr", "req.txt", "A") == [
        ("quiet", ("-qr", "req.txt"), None, 0, True), ("requirement", ("-qr", "req.txt"), "req.txt", 0, True)]
    assert positional("-qr", "req.txt", "A") == ["A"]


def test_an_option_taken_out_of_a_bundle_leaves_the_rest_as_written() -> None:
    request = read_install(["-qUf", "/wheels", "A"], "/nonexistent", NO_CONFIG)
    assert request.values("find-links") == ("/wheels",)
    assert request.pip_args(drop={"upgrade"}) == ["-q", "-f", "/wheels", "A"]
    assert request.pip_args(drop={"find-links"}) == ["-q", "-U", "A"]


# -- long options: abbreviations and attached values ------------------------------------------


@pytest.mark.parametrize(
    ("args", "key", "value"),
    [
        (["--force"], "force-reinstall", None),
        (["--requirement=req.txt"], "requirement", "req.txt"),
        (["--constr=c.txt"], "constraint", "c.txt"),
        (["--constr", "c.txt"], "constraint", "c.txt"),
        (["--upgrade-s", "eager"], "upgrade-strategy", "eager"),
        (["--index-url=https://h/simple?a=b"], "index-url", "https://h/simple?a=b"),  # split at the first =
        (["--no-deps"], "no-deps", None),
        (["--no-dependencies"], "no-deps", None),  # another spelling of the same option
    ],
)
def test_long_options_abbreviated_or_with_a_value_attached(args: list[str], key: str, value: str | None) -> None:
    [(found, written, got, _, _)] = parsed(*args)
    assert (found, written, got) == (key, tuple(args), value)


@pytest.mark.parametrize(
    ("given", "candidates"),
    [
        ("--upg", "--upgrade, --upgrade-strategy"),  # --upgrade is a prefix of another spelling: never abbreviated
        ("--req", "--require-hashes, --require-venv, --require-virtualenv, --requirement, --requirements-from-script"),
    ],
)
def test_an_ambiguous_abbreviation_is_refused_as_pip_refuses_it(given: str, candidates: str) -> None:
    with pytest.raises(UsageError, match=rf"ambiguous option {given} \(command line\).*could be {candidates}\."):
        parsed(given, "A")


def test_an_ambiguous_abbreviation_exits_2_through_the_cli(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["--python", sys.executable, "--ledger", str(tmp_path / "ledger.json"), "install", "--upgr", "A"])
    assert code == 2
    assert "ambiguous option --upgr" in capsys.readouterr().err
    assert not (tmp_path / "ledger.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["A", "-r"], r"option -r needs a value \(command line\)"),
        (["-qr"], r"option -r needs a value"),
        (["--requirement"], r"option --requirement needs a value"),
        (["--constr"], r"option --constr needs a value"),
        (["--upgrade=yes", "A"], r"option --upgrade takes no value \(command line\): pip refuses '--upgrade=yes'"),
    ],
)
def test_a_missing_or_unwanted_value_is_a_usage_error(args: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parsed(*args)


def test_an_unwanted_value_is_shown_redacted() -> None:
    with pytest.raises(UsageError) as raised:
        parsed("--no-index=https://user:SEKRIT@host/simple")
    assert "SEKRIT" not in str(raised.value)


# -- positional arguments, "--" and options among them ----------------------------------------


def test_options_may_come_after_requirements_and_double_dash_ends_them() -> None:
    assert positional("A", "-U", "B", "--", "-C", "--upgrade") == ["A", "B", "-C", "--upgrade"]
    assert [key for key, *_ in parsed("A", "-U", "B", "--", "-C")] == ["upgrade"]
    assert positional("-", "A") == ["-", "A"]  # a lone dash is an argument


def test_repeated_options_all_count_in_order() -> None:
    request = read_install(["-f", "/a", "--find-links=/b", "-f/c", "-i", "https://x", "-i", "https://y", "A"],
                           "/nonexistent", NO_CONFIG)
    assert request.values("find-links") == ("/a", "/b", "/c")
    assert request.value("index-url") == "https://y"  # a value option: the last one wins


# -- options pip does not have: kept for pip to refuse -----------------------------------------


def test_unknown_options_are_kept_and_reading_goes_on() -> None:
    assert parsed("--frob", "-U", "A") == [
        ("--frob", ("--frob",), None, 0, False), ("upgrade", ("-U",), None, 1, False)]
    assert positional("--frob=3", "A") == ["A"]  # its "=3" is not taken for an argument
    assert positional("--frob", "A") == ["A"]  # pip cannot know it takes a value: neither does pipguard


def test_an_unknown_short_option_inside_a_bundle_leaves_the_rest_read() -> None:
    assert [(key, value, bundled) for key, _, value, _, bundled in parsed("-qXrreq.txt")] == [
        ("quiet", None, True), ("-qXrreq.txt", None, True), ("requirement", "req.txt", True)]
    request = read_install(["-qXU", "A"], "/nonexistent", NO_CONFIG)
    assert request.unknown_options == ("-qXU",) and request.upgrade and request.quiet == 1
    assert request.pip_args() == ["-qXU", "A"]  # pip gets it as written, and refuses it


def test_each_command_reads_only_its_own_options() -> None:
    options, _ = UNINSTALL_TABLE.parse(["-y", "--upgrade"], "command line")
    assert [o.key for o in options] == ["yes", "--upgrade"]
    options, _ = REQUIREMENTS_FILE_TABLE.parse(["--hash=sha256:abc", "-U"], "r.txt, line 1")
    assert [o.key for o in options] == ["hash", "-U"]


def test_an_ambiguous_abbreviation_in_a_requirements_file_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("A\n--no-\n")  # --no-index, --no-binary, --no-require-hashes
    with pytest.raises(UsageError, match=r"ambiguous option --no- \(.*r\.txt, line 2\)"):
        read_install(["-r", str(tmp_path / "r.txt")], "/nonexistent", NO_CONFIG)


# -- pip's main parser: the command word, past the general options ---------------------------


@pytest.mark.parametrize(
    ("argv", "globals_", "command", "rest"),
    [
        (["--time", "5", "install", "X"], ("--time", "5"), "install", ("X",)),  # --timeout, abbreviated
        (["--log-f", "l", "install", "X"], ("--log-f", "l"), "install", ("X",)),
        (["-qv", "install", "X"], ("-qv",), "install", ("X",)),
        (["--", "install", "X"], ("--",), "install", ("X",)),  # pip installs X: so is it guarded
        (["--frob", "install", "X"], ("--frob",), "install", ("X",)),  # pip's to refuse
        (["--log"], ("--log",), None, ()),  # written as pip refuses it: pip answers
        (["--no-c", "list"], ("--no-c", "list"), None, ()),  # ambiguous: --no-cache-dir, --no-color
    ],
)
def test_the_command_word_is_found_as_pips_main_parser_finds_it(
        argv: list[str], globals_: tuple[str, ...], command: str | None, rest: tuple[str, ...]) -> None:
    line = split_pip_command_line(argv)
    assert (line.global_options, line.command, line.args) == (globals_, command, rest)


def test_pips_python_and_version_are_read_abbreviated_or_bundled() -> None:
    line = split_pip_command_line(["-q", "--pyth", "/envs/x/bin/python", "install", "A"])
    assert line.pip_python() == "/envs/x/bin/python"
    assert line.global_options_without_python() == ["-q"]
    assert split_pip_command_line(["-qV", "install", "A"]).asks_pip_itself
    assert split_pip_command_line(["--vers", "install", "A"]).asks_pip_itself


def test_pipguards_own_options_go_before_a_double_dash() -> None:
    request = read_install(["-q", "--", "A", "B"], "/nonexistent", NO_CONFIG)
    assert request.pip_args(add=["-c", "x"]) == ["-q", "-c", "x", "--", "A", "B"]  # after "--" pip reads requirements

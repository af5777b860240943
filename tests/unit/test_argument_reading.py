"""Arguments as written (issue 19 items 18, 19): the "--" after a command, ASCII transaction numbers."""

from __future__ import annotations

import pytest

from pipguard.cli import main as cli
from pipguard.core.transactions import is_number
from pipguard.errors import UsageError
from pipguard.ledger.points import parse_number


@pytest.mark.parametrize(("args", "rest"), [
    (["install", "--", "--no-guard"], ["--", "--no-guard"]),
    (["--python", "/py", "install", "--", "x"], ["--", "x"]),
    (["install", "--"], ["--"]),
    (["install", "E", "--", "--no-guard"], ["E", "--", "--no-guard"]),
    (["install", "--", "--", "x"], ["--", "--", "x"]),
    (["--", "install", "x"], ["x"]),
    (["install", "x"], ["x"]),
])
def test_the_command_gets_its_arguments_as_written(args: list[str], rest: list[str]) -> None:
    ns = cli.build_parser().parse_args(args)
    assert cli.command_arguments(args, ns.command, list(ns.args)) == rest


@pytest.mark.parametrize("text", ["\u0663", "\uff11", " 1", "1 ", "+1", "1_0", "-1", "", "1.0", "\u00b2"])
def test_only_ascii_digits_are_a_transaction_number(text: str) -> None:
    assert not is_number(text)
    with pytest.raises(UsageError, match="needs a transaction number"):
        parse_number(text, "rollback")


def test_an_ascii_number_is_one() -> None:
    assert is_number("12") and parse_number("12", "diff") == 12
    with pytest.raises(UsageError, match="1 or more"):
        parse_number("0", "diff")

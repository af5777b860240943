"""Argument parsing shared by pipguard's own commands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Collection, Sequence
from typing import Any

from pipguard.errors import UsageError


class CommandParser(argparse.ArgumentParser):
    """argparse, with errors raised as ``UsageError`` (exit 2, one paragraph, no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}. See '{self.prog} --help'.")


def split_options(
    args: Sequence[str], flags: Collection[str], valued: Collection[str]
) -> tuple[list[str], list[str]]:
    """pipguard's own options (*flags*, and *valued* ones with their value), and the rest.

    For command lines that mix pipguard's options with pip's, which are
    passed on untouched.
    """
    own: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])  # after "--" everything is pip's (a requirement), never pipguard's
            break
        opt = arg.split("=", 1)[0]
        if opt in flags:
            own.append(arg)
        elif opt in valued:
            own.append(arg)
            if "=" not in arg:
                if i + 1 >= len(args):
                    raise UsageError(f"pipguard: option {opt} needs a value. See 'pipguard --help'.")
                own.append(args[i + 1])
                i += 1
        else:
            rest.append(arg)
        i += 1
    return own, rest


def command_parser(name: str, description: str) -> CommandParser:
    return CommandParser(prog=f"pipguard {name}", description=description)


def print_json(document: Any) -> None:
    """Data goes to stdout."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=False) + "\n")


def say(message: str) -> None:
    """Messages for the user go to stderr."""
    print(message, file=sys.stderr)

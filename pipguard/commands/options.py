"""Argument parsing shared by pipguard's own commands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pipguard.errors import UsageError


class CommandParser(argparse.ArgumentParser):
    """argparse, with errors raised as ``UsageError`` (exit 2, one paragraph, no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}. See '{self.prog} --help'.")


def command_parser(name: str, description: str) -> CommandParser:
    return CommandParser(prog=f"pipguard {name}", description=description)


def print_json(document: Any) -> None:
    """Data goes to stdout."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=False) + "\n")


def say(message: str) -> None:
    """Messages for the user go to stderr."""
    print(message, file=sys.stderr)

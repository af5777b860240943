"""Argument parsing shared by pipguard's own commands, and pipguard's global options."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

from pipguard.core.model import ENGINES, POLICIES
from pipguard.core.printable import safe_text
from pipguard.errors import UsageError


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, without importing ``shutil`` (and with it bz2, lzma, fnmatch) on
    every ``add_argument`` only to know the terminal's width: asked when help is printed."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         width if width is not None else _columns() - 2)


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` finds it: $COLUMNS, else stdout's
    terminal, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class CommandParser(argparse.ArgumentParser):
    """argparse, with errors raised as ``UsageError`` (exit 2, one paragraph, no usage dump)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

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
    """Messages for the user go to stderr (made printable). A terminal that has gone (a closed
    ssh session: SIGHUP) must not stop pipguard before it records what happened."""
    try:
        print(safe_text(message), file=sys.stderr)
    except OSError:
        pass


# -- pipguard's global options ------------------------------------------------------

# Options pipguard takes for itself inside an install/uninstall command line
# (pip has none of these names).
_OWN_FLAGS = {"--no-guard", "--allow-older-major"}
_OWN_VALUED = {"--policy", "--engine", "--ledger", "--lock-timeout"}


def add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--python", metavar="PATH", help="guard this interpreter's environment")
    parser.add_argument("--ledger", metavar="PATH", help="use this ledger file (or PIPGUARD_LEDGER)")
    parser.add_argument("--lock-timeout", type=float, metavar="SECONDS", default=None,
                        help="how long to wait for another run's lock (default 600)")
    parser.add_argument("--policy", choices=POLICIES, help="strict, compatible (default) or replan")
    parser.add_argument("--engine", choices=ENGINES,
                        help="who resolves and installs: pip (default), uv, or auto (uv where found)")
    parser.add_argument("--no-guard", action="store_true", help="run plain pip; record it as unguarded")
    parser.add_argument("--allow-older-major", action="store_true",
                        help="let a re-plan take an older major version of what you asked for than plain pip "
                             "would install (refused by default)")


def split_own_options(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """Separate pipguard's options from pip's in an install command line."""
    return split_options(args, _OWN_FLAGS, _OWN_VALUED)


def lock_timeout(given: float | None, environ: Mapping[str, str]) -> float:
    """--lock-timeout, else PIPGUARD_LOCK_TIMEOUT, else 600: a finite number of seconds, 0 or more
    (nan, inf and negative numbers are usage errors: a wait must end)."""
    source, timeout = "--lock-timeout", given
    if timeout is None:
        env = environ.get("PIPGUARD_LOCK_TIMEOUT")
        source = "PIPGUARD_LOCK_TIMEOUT"
        try:
            timeout = float(env) if env else 600.0
        except ValueError:
            raise UsageError(f"PIPGUARD_LOCK_TIMEOUT must be a number of seconds, not {env!r}.") from None
    if not math.isfinite(timeout) or timeout < 0:
        raise UsageError(f"{source} must be zero or more seconds, a finite number (not {timeout!r}).")
    return timeout


class Options(NamedTuple):
    """pipguard's own global options."""

    python: str | None = None
    ledger: str | None = None
    lock_timeout: float = 600.0
    policy: str | None = None
    engine: str | None = None  # pip, uv or auto; None: the ledger's choice
    guard: bool = True
    allow_older_major: bool = False


def make_options(ns: argparse.Namespace) -> Options:
    timeout = lock_timeout(ns.lock_timeout, os.environ)
    return Options(
        python=ns.python,
        ledger=ns.ledger,
        lock_timeout=timeout,
        policy=ns.policy,
        engine=ns.engine,
        guard=not ns.no_guard and os.environ.get("PIPGUARD_DISABLE") != "1",
        allow_older_major=ns.allow_older_major,
    )

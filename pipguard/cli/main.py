"""Command line: argument parsing, dispatch, and exit codes (in one place)."""

from __future__ import annotations

import sys

# A Ctrl-C while pipguard's modules load (every entry point imports this
# module first: the console script, python -m pipguard, the shims) is one
# line and exit 130, never a traceback.
try:
    import argparse
    import os
    from collections.abc import Callable, Mapping, Sequence

    from pipguard import __version__
    from pipguard.cli.options import CommandParser, Options, add_global_options, make_options, split_own_options
    from pipguard.core.printable import safe_text
    from pipguard.core.redaction import redact
    from pipguard.core.run_end import exit_status as run_exit_status
    from pipguard.errors import (
        EnvironmentUnusable,
        LedgerError,
        PipFailed,
        PipguardError,
        PipTooOld,
        Rejected,
        UsageError,
    )
    from pipguard.shim.hook_runtime import INNER_VARIABLE
except KeyboardInterrupt:
    sys.stderr.write("pipguard: interrupted.\n")
    raise SystemExit(130) from None

EXIT_USAGE = 2  # bad input: malformed requirement, unknown option, missing file
EXIT_REJECTED = 10  # the install would break an earlier project; nothing changed
EXIT_LEDGER = 11  # ledger unusable: corrupt, unsafe, unwritable, lock timeout
EXIT_ENVIRONMENT = 12  # the target interpreter or its pip is missing or too old

EXIT_CODES: dict[type[PipguardError], int] = {
    Rejected: EXIT_REJECTED,
    LedgerError: EXIT_LEDGER,
    UsageError: EXIT_USAGE,
    EnvironmentUnusable: EXIT_ENVIRONMENT,
    PipTooOld: EXIT_ENVIRONMENT,
}

def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="pipguard",
        description="A thin wrapper around pip that keeps earlier installs working.",
        epilog="Commands: install, uninstall, check, ledger, why, history, export, adopt, "
        "rollback, policy, engine, outside, constraints, shim, pip (a whole pip command line, as the shim runs it); "
        "upgrade, autoremove, diff (docs/maintenance.md); ci-guard (the CI job, docs/ci.md); "
        "any other pip command passes straight through to pip.",
    )
    parser.add_argument("--version", action="version", version=f"pipguard {__version__}")
    add_global_options(parser)
    parser.add_argument("command", nargs="?", help="a pipguard or pip command")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the command's arguments")
    return parser


def _commands() -> Mapping[str, Callable[[Options, list[str]], int]]:
    from pipguard.cli.registry import COMMANDS

    return COMMANDS


def exit_code(exc: PipguardError) -> int:
    """*exc*'s exit code: that of the nearest class in ``EXIT_CODES`` (a subclass, such as uv's
    unreadable plan, an ``EnvironmentUnusable``, exits as its base), else usage (2)."""
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return EXIT_USAGE


def exit_status(returncode: int) -> int:
    """A process's exit status: a child killed by signal N gives 128 + N, as in a shell."""
    return run_exit_status(returncode)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # The target's `python -m pip` that pipguard runs is its own: a shim's hook lets it through.
    os.environ[INNER_VARIABLE] = "1"
    try:
        from pipguard.system.process import terminate_as_interrupt

        # SIGTERM and SIGHUP unwind like Ctrl-C: the lock is released, work directories go.
        with terminate_as_interrupt():
            return exit_status(dispatch(args))
    except PipFailed as exc:
        if exc.message:
            print(safe_text(redact(f"pipguard: {exc.message}")), file=sys.stderr)
        return exit_status(exc.returncode)
    except PipguardError as exc:
        message = safe_text(redact(str(exc)))
        print(message if message.startswith("pipguard") else f"pipguard: {message}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt as exc:
        return interrupted(exc)


def interrupted(exc: KeyboardInterrupt) -> int:
    """Exit status 128 + N for signal N (130 for Ctrl-C), as a shell reports it."""
    import signal

    signum = getattr(exc, "signum", signal.SIGINT)
    name = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
    try:
        print(f"pipguard: interrupted{name}.", file=sys.stderr)
    except OSError:  # after SIGHUP the terminal may be gone: the exit status still says it
        pass
    return 128 + int(signum)


def command_arguments(args: Sequence[str], command: str, remainder: list[str]) -> list[str]:
    """The command's own arguments as given. argparse drops a "--" that comes right after the
    command (``install -- --no-guard`` would reach the command as ``--no-guard``, pipguard's own
    option): put it back, so that after "--" everything stays pip's, as pip reads it."""
    at = len(args) - len(remainder)
    if at >= 2 and args[at - 1] == "--" and args[at - 2] == command:
        return ["--", *remainder]
    return remainder


def dispatch(args: list[str]) -> int:
    parser = build_parser()
    ns = parser.parse_args(args)
    if ns.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    rest = command_arguments(args, ns.command, list(ns.args))
    commands = _commands()
    if ns.command in ("install", "uninstall"):
        own, rest = split_own_options(rest)
        if own:
            ns = parser.parse_args([*own, ns.command], namespace=ns)
    options = make_options(ns)
    handler = commands.get(ns.command)
    if handler is None:
        from pipguard.commands.passthrough import run_passthrough

        return run_passthrough(options, [ns.command, *rest])
    return handler(options, rest)

"""Command line: argument parsing, dispatch, and exit codes (in one place)."""

from __future__ import annotations

import sys

# A Ctrl-C while pipguard's modules load (every entry point imports this
# module first: the console script, python -m pipguard, the shims) is one
# line and exit 130, never a traceback.
try:
    import argparse
    import math
    import os
    from collections.abc import Callable, Mapping, Sequence
    from typing import TYPE_CHECKING

    from pipguard import __version__
    from pipguard._pip_hook import INNER_VARIABLE
    from pipguard.commands.options import split_options
    from pipguard.errors import (
        CheckFailed,
        EnvironmentError_,
        LedgerError,
        PipFailed,
        PipguardError,
        PipTooOld,
        Rejected,
        UsageError,
    )
    from pipguard.model import ENGINES, POLICIES
    from pipguard.redaction import redact
except KeyboardInterrupt:
    sys.stderr.write("pipguard: interrupted.\n")
    raise SystemExit(130) from None

if TYPE_CHECKING:
    from pipguard.context import Options

EXIT_OK = 0
EXIT_PROBLEMS = 1  # pipguard check found problems
EXIT_USAGE = 2  # bad input: malformed requirement, unknown option, missing file
EXIT_REJECTED = 10  # the install would break an earlier project; nothing changed
EXIT_LEDGER = 11  # ledger unusable: corrupt, unsafe, unwritable, lock timeout
EXIT_ENVIRONMENT = 12  # the target interpreter or its pip is missing or too old

EXIT_CODES: dict[type[PipguardError], int] = {
    Rejected: EXIT_REJECTED,
    LedgerError: EXIT_LEDGER,
    UsageError: EXIT_USAGE,
    EnvironmentError_: EXIT_ENVIRONMENT,
    PipTooOld: EXIT_ENVIRONMENT,
    CheckFailed: EXIT_PROBLEMS,
}

# Options pipguard takes for itself inside an install/uninstall command line
# (pip has none of these names).
_OWN_FLAGS = {"--no-guard", "--allow-older-major"}
_OWN_VALUED = {"--policy", "--engine", "--ledger", "--lock-timeout"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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


def make_options(ns: argparse.Namespace) -> Options:
    from pipguard.context import Options

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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}. See '{self.prog} --help'.")


def _commands() -> Mapping[str, Callable[[Options, list[str]], int]]:
    from pipguard.commands.registry import COMMANDS

    return COMMANDS


def exit_status(returncode: int) -> int:
    """A process's exit status: a child killed by signal N gives 128 + N, as in a shell."""
    return 128 - returncode if returncode < 0 else returncode


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # The target's `python -m pip` that pipguard runs is its own: a shim's hook lets it through.
    os.environ[INNER_VARIABLE] = "1"
    try:
        from pipguard.process import terminate_as_interrupt

        # SIGTERM unwinds like Ctrl-C: the lock is released, work directories go.
        with terminate_as_interrupt():
            return exit_status(dispatch(args))
    except PipFailed as exc:
        if exc.message:
            print(redact(f"pipguard: {exc.message}"), file=sys.stderr)
        return exit_status(exc.returncode)
    except PipguardError as exc:
        message = redact(str(exc))
        print(message if message.startswith("pipguard") else f"pipguard: {message}", file=sys.stderr)
        return EXIT_CODES.get(type(exc), EXIT_USAGE)
    except KeyboardInterrupt as exc:
        return interrupted(exc)


def interrupted(exc: KeyboardInterrupt) -> int:
    """Exit status 128 + N for signal N (130 for Ctrl-C), as a shell reports it."""
    import signal

    signum = getattr(exc, "signum", signal.SIGINT)
    name = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
    print(f"pipguard: interrupted{name}.", file=sys.stderr)
    return 128 + int(signum)


def dispatch(args: list[str]) -> int:
    parser = build_parser()
    parser.__class__ = _Parser
    ns = parser.parse_args(args)
    if ns.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    rest = list(ns.args)
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

"""``pipguard pip ARGS``: a whole pip command line, read the way pip reads it.

This is what the shim runs. pip's global options may come before the
command (``pip -q install X``, ``pip --isolated list``); ``install`` and
``uninstall`` go to pipguard's guarded commands (global options moved after
the command, where pip accepts them too), everything else, including
``pip --version``, ``pip -V``, ``pip help`` and a bare ``pip``, goes to pip
unchanged. Through the shim, pass-through runs pip's own kept script, so
pip's output, down to the program name in its usage lines, is byte for byte
what the unshimmed ``pip`` prints.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NamedTuple

from pipguard.cli.options import Options, add_global_options, make_options, split_own_options
from pipguard.core.model import COMMAND_LINE
from pipguard.engines.pip.runner import pip_command
from pipguard.errors import UsageError
from pipguard.pip.options import MAIN_TABLE, ParsedOption
from pipguard.system.interpreter import prefixes, resolve_python
from pipguard.system.process import replace_process

GUARDED = ("install", "uninstall")


class PipCommandLine(NamedTuple):
    """A pip command line split at its command word (a NamedTuple: ``dataclasses`` would cost
    every pass-through command ~6 ms to import)."""

    global_options: tuple[str, ...]
    command: str | None
    args: tuple[str, ...]
    options: tuple[ParsedOption, ...] = ()  # the global options, read

    @property
    def asks_pip_itself(self) -> bool:
        """``pip -V install``, ``pip install --help``: pip answers, nothing is installed."""
        return any(o.key in ("help", "version") for o in self.options) or any(
            arg in ("-h", "--help") for arg in self.args
        )

    def pip_python(self) -> str | None:
        """pip's own ``--python`` before the command (pip re-runs itself in that interpreter)."""
        given = [o.value for o in self.options if o.key == "python"]
        return given[-1] if given else None

    def global_options_without_python(self) -> list[str]:
        dropped = {i for o in self.options if o.key == "python" for i in range(o.position, o.position + len(o.written))}
        return [arg for i, arg in enumerate(self.global_options) if i not in dropped]


def split_pip_command_line(args: Sequence[str]) -> PipCommandLine:
    """Find the command word as pip's main parser does: the first argument that is not an option or its value."""
    try:
        options, rest = MAIN_TABLE.parse(args, COMMAND_LINE)
    except UsageError:
        return PipCommandLine(tuple(args), None, ())  # written as pip refuses it: pip says so itself
    if not rest:
        return PipCommandLine(tuple(args), None, ())
    at = len(args) - len(rest)
    return PipCommandLine(tuple(args[:at]), rest[0], tuple(rest[1:]), tuple(options))


def with_own_options(options: Options, own: Sequence[str], python: str | None) -> Options:
    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            raise UsageError(f"pip: {message}.")

    parser = Parser(prog="pip", add_help=False)
    add_global_options(parser)
    ns = parser.parse_args(list(own))
    parsed = make_options(ns)
    return options._replace(
        python=python or options.python,
        ledger=ns.ledger or options.ledger,
        lock_timeout=parsed.lock_timeout if ns.lock_timeout is not None else options.lock_timeout,
        policy=ns.policy or options.policy,
        engine=ns.engine or options.engine,
        guard=options.guard and parsed.guard,
        allow_older_major=options.allow_older_major or parsed.allow_older_major,
    )


def run_pip(options: Options, args: list[str]) -> int:
    invoked_as = None
    if args[:1] == ["--invoked-as"] and len(args) >= 2:
        invoked_as, args = args[1], args[2:]
    line = split_pip_command_line(args)
    if line.command in GUARDED and not line.asks_pip_itself:
        from pipguard.cli.registry import COMMANDS

        own, rest = split_own_options([*line.global_options_without_python(), *line.args])
        if asks_for_something(line.command, rest):
            options = with_own_options(options, own, line.pip_python())
            return COMMANDS[line.command](options, rest)
    return run_as_pip(options, args, invoked_as)


def asks_for_something(command: str, args: list[str]) -> bool:
    """Does this install/uninstall name anything? (If not, pip gives its own usage error.)"""
    # pip.request loads packaging's requirement parser: only for the two guarded commands
    from pipguard.pip.request import read_install, read_uninstall

    try:
        if command == "install":
            # read without pip's configuration: only the command line says whether it asks for anything
            return read_install(args, "", {"PIP_CONFIG_FILE": "/dev/null"}, read_files=False).has_requests
        found = read_uninstall(args, "", {"PIP_CONFIG_FILE": "/dev/null"})
        return bool(found.names or found.requirement_files)
    except UsageError:
        return True  # the guarded command explains what is wrong


def run_as_pip(options: Options, args: Sequence[str], invoked_as: str | None) -> int:
    """pip itself: the kept original script when run through a shim, else ``python -m pip``."""
    python = resolve_python(options.python)
    if invoked_as:
        # where the ledger is (not its store: cli.context), pip's kept scripts beside it: through a shim only
        from pipguard.ledger.paths import ledger_path
        from pipguard.shim.paths import original_script

        prefix, base = prefixes(python)
        script = original_script(ledger_path(options.ledger, prefix, base), invoked_as)
        if script is not None:
            return replace_process([python, str(script), *args])
    return replace_process(pip_command(python, *args))

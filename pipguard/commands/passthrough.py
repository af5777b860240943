"""Every pip command pipguard does not guard goes straight to pip."""

from __future__ import annotations

from pipguard.cli.options import Options
from pipguard.engines.pip.runner import pip_command
from pipguard.system.interpreter import resolve_python
from pipguard.system.process import replace_process


def run_passthrough(options: Options, args: list[str]) -> int:
    """pip itself, in pipguard's place: the same output, exit status and signals."""
    python = resolve_python(options.python)
    return replace_process(pip_command(python, *args))

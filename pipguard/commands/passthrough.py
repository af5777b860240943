"""Every pip command pipguard does not guard goes straight to pip."""

from __future__ import annotations

from pipguard.cli.context import Options
from pipguard.engines.pip.runner import pip_command, run_process
from pipguard.system.environment import resolve_python


def run_passthrough(options: Options, args: list[str]) -> int:
    """Same stdout, stderr and exit code as pip: its streams are inherited."""
    python = resolve_python(options.python)
    return run_process(pip_command(python, *args)).returncode

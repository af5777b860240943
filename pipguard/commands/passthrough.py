"""Every pip command pipguard does not guard goes straight to pip."""

from __future__ import annotations

from pipguard.context import Options
from pipguard.environment import resolve_python
from pipguard.pip_runner import pip_command, run_process


def run_passthrough(options: Options, args: list[str]) -> int:
    """Same stdout, stderr and exit code as pip: its streams are inherited."""
    python = resolve_python(options.python)
    return run_process(pip_command(python, *args)).returncode

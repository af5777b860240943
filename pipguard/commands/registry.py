"""The table of pipguard's own commands (anything else goes to pip)."""

from __future__ import annotations

from collections.abc import Callable

from pipguard.commands import as_pip, check, install, shim, standing, uninstall
from pipguard.context import Options

Handler = Callable[[Options, list[str]], int]

COMMANDS: dict[str, Handler] = {
    "install": install.run_install,
    "check": check.run_check,
    "uninstall": uninstall.run_uninstall,
    "constraints": standing.run_constraints,
    "shim": shim.run_shim,
    "pip": as_pip.run_pip,
}

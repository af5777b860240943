"""The table of pipguard's own commands (anything else goes to pip)."""

from __future__ import annotations

from collections.abc import Callable

from pipguard.commands import (
    adopt,
    as_pip,
    check,
    inspect,
    install,
    policy,
    rollback,
    shim,
    standing,
    uninstall,
)
from pipguard.context import Options

Handler = Callable[[Options, list[str]], int]

COMMANDS: dict[str, Handler] = {
    "install": install.run_install,
    "check": check.run_check,
    "adopt": adopt.run_adopt,
    "rollback": rollback.run_rollback,
    "policy": policy.run_policy,
    "ledger": inspect.run_ledger,
    "why": inspect.run_why,
    "history": inspect.run_history,
    "export": inspect.run_export,
    "uninstall": uninstall.run_uninstall,
    "constraints": standing.run_constraints,
    "shim": shim.run_shim,
    "pip": as_pip.run_pip,
}

"""The table of pipguard's own commands (anything else goes to pip).

A command's module is imported only when that command runs: every pip call
on a guarded machine starts pipguard, and most need one command of many.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping

from pipguard.cli.options import Options

Handler = Callable[[Options, list[str]], int]

# command -> (module in pipguard.commands, function)
_TABLE: dict[str, tuple[str, str]] = {
    "install": ("install", "run_install"),
    "uninstall": ("uninstall", "run_uninstall"),
    "check": ("check", "run_check"),
    "adopt": ("adopt", "run_adopt"),
    "rollback": ("rollback", "run_rollback"),
    "upgrade": ("upgrade", "run_upgrade"),
    "autoremove": ("autoremove", "run_autoremove"),
    "diff": ("diff", "run_diff"),
    "policy": ("settings", "run_policy"),
    "engine": ("settings", "run_engine"),
    "outside": ("settings", "run_outside"),
    "ledger": ("ledger", "run_ledger"),
    "why": ("why", "run_why"),
    "history": ("history", "run_history"),
    "export": ("export", "run_export"),
    "constraints": ("constraints", "run_constraints"),
    "shim": ("shim", "run_shim"),
    "ci-guard": ("ci_guard", "run_ci_guard"),
    "pip": ("pip", "run_pip"),
}


class _Commands(Mapping[str, Handler]):
    def __getitem__(self, name: str) -> Handler:
        module, function = _TABLE[name]
        handler: Handler = getattr(importlib.import_module(f"pipguard.commands.{module}"), function)
        return handler

    def __iter__(self) -> Iterator[str]:
        return iter(_TABLE)

    def __len__(self) -> int:
        return len(_TABLE)


COMMANDS: Mapping[str, Handler] = _Commands()

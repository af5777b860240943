"""``pipguard policy|engine|outside [VALUE]``: show or remember one of the ledger's settings.

Each is a default for every later install into the environment (a per-call
option overrides it): the policy (what may move), the engine (who resolves
and installs), and what is done with distributions seen only from outside
the environment (a ``--system-site-packages`` venv's base interpreter, the
user site, ``PYTHONPATH``): ignored (reported, never blocking) or protected.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipguard.cli.context import locate, open_session
from pipguard.cli.options import Options
from pipguard.core.model import ENGINES, OUTSIDE_POLICIES, POLICIES
from pipguard.errors import UsageError


@dataclass(frozen=True)
class Setting:
    field: str  # the LedgerState field
    choices: tuple[str, ...]
    what: Mapping[str, str]  # how each choice reads in "installs into X now ..."
    per_call: str  # the option that overrides it for one call ("" if none)
    after: Callable[[str], None] | None = None  # a note to add once it is set


def _uv_note(value: str) -> None:
    from pipguard.engines import find_uv

    if value == "uv" and find_uv() is None:
        print("pipguard: note: no uv is found yet (neither the uv package for this pipguard nor uv on PATH): "
              "installs will fail until it is (pip install 'pipguard[uv]').", file=sys.stderr)


SETTINGS: Mapping[str, Setting] = {
    "policy": Setting("policy", POLICIES, {p: f"use the {p} policy" for p in POLICIES}, "--policy"),
    "engine": Setting("engine", ENGINES, {
        "pip": "use pip",
        "uv": "use uv's pip interface",
        "auto": "use uv where it is found, pip otherwise",
    }, "--engine", _uv_note),
    "outside": Setting("outside", OUTSIDE_POLICIES, {
        "ignore": "leave distributions seen from outside the environment unprotected (they are reported)",
        "protect": "protect the requirements of distributions seen from outside the environment too",
    }, ""),
}


def run_setting(name: str, options: Options, args: list[str]) -> int:
    setting = SETTINGS[name]
    if len(args) > 1 or (args and args[0] not in setting.choices):
        raise UsageError(f"usage: pipguard {name} [{'|'.join(setting.choices)}] (got {' '.join(args)!r}).")
    target = locate(options)
    if not args:
        with target.store.locked(shared=True):
            session = open_session(target, reconcile_drift=False)
        print(getattr(session.ledger, setting.field))
        return 0
    with target.store.locked():
        session = open_session(target, reconcile_drift=False)
        changes: dict[str, Any] = {setting.field: args[0]}  # one of setting.choices, checked above
        target.store.save(session.ledger._replace(**changes))
    override = f" (override per call with {setting.per_call})" if setting.per_call else ""
    print(f"pipguard: installs into {session.state.prefix} now {setting.what[args[0]]}{override}.", file=sys.stderr)
    if setting.after is not None:
        setting.after(args[0])
    return 0


def run_policy(options: Options, args: list[str]) -> int:
    return run_setting("policy", options, args)


def run_engine(options: Options, args: list[str]) -> int:
    return run_setting("engine", options, args)


def run_outside(options: Options, args: list[str]) -> int:
    return run_setting("outside", options, args)

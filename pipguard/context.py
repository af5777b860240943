"""Which environment a command acts on, and its ledger store (an I/O edge)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from pipguard.environment import EnvironmentState, probe_environment, resolve_python, run_in_target
from pipguard.errors import EnvironmentError_
from pipguard.ledger import Ledger, LedgerStore, default_ledger_path
from pipguard.transactions import baseline_ledger, reconcile


@dataclass(frozen=True)
class Options:
    """pipguard's own global options."""

    python: str | None = None
    ledger: str | None = None
    lock_timeout: float = 600.0
    policy: str | None = None
    engine: str | None = None  # pip, uv or auto; None: the ledger's choice
    guard: bool = True
    allow_older_major: bool = False


@dataclass(frozen=True)
class Target:
    python: str
    prefix: str
    is_virtualenv: bool
    store: LedgerStore


def _prefixes(python: str) -> tuple[str, str]:
    if python == sys.executable:
        return sys.prefix, sys.base_prefix
    venv = Path(os.path.abspath(python)).parent.parent
    if (venv / "pyvenv.cfg").is_file():
        return str(venv), ""
    result = run_in_target([python, "-I", "-c", "import sys; print(sys.prefix); print(sys.base_prefix)"])
    lines = result.stdout.splitlines()
    if result.returncode != 0 or len(lines) < 2:
        raise EnvironmentError_(
            f"cannot run the interpreter {python}. Check the path given with --python."
        )
    return lines[0], lines[1]


def locate(options: Options) -> Target:
    python = resolve_python(options.python)
    prefix, base = _prefixes(python)
    is_venv = os.path.realpath(prefix) != os.path.realpath(base) if base else True
    override = options.ledger or os.environ.get("PIPGUARD_LEDGER")
    path = Path(override) if override else default_ledger_path(prefix, is_venv)
    return Target(python, prefix, is_venv, LedgerStore(path.absolute(), options.lock_timeout))


@dataclass(frozen=True)
class Session:
    state: EnvironmentState
    ledger: Ledger
    created: bool  # the ledger was made now, from what is installed
    notes: tuple[str, ...] = ()


def environment_record(state: EnvironmentState) -> dict[str, str]:
    return {"prefix": state.prefix, "python": state.executable, "python_version": state.python_version}


def open_session(target: Target, *, reconcile_drift: bool = True, policy: str = "compatible") -> Session:
    """Probe the target and read (or start) its ledger. Call with the lock held."""
    ledger = target.store.load()
    cache = target.store.probe_cache if target.store.path.parent.is_dir() else None
    state = probe_environment(target.python, cache)
    if ledger is None:
        ledger = baseline_ledger(environment_record(state), state.own, state.markers, policy)
        return Session(state, ledger, created=True)
    if not reconcile_drift:
        return Session(state, ledger, created=False)
    ledger, notes = reconcile(ledger, state.own_versions)
    return Session(state, ledger, created=False, notes=tuple(notes))

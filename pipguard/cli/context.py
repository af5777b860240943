"""Which environment a command acts on, and its ledger store (an I/O edge)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from pipguard.cli.options import Options
from pipguard.core.constraints import all_needs, unreadable_requirements
from pipguard.core.model import LedgerState, StandingConstraint
from pipguard.core.transactions import apply, baseline, reconcile
from pipguard.errors import LedgerError
from pipguard.ledger import now
from pipguard.ledger.paths import ledger_path
from pipguard.ledger.store import LedgerStore
from pipguard.system.environment import (
    EnvironmentState,
    derived_more,
    needs_cache_path,
    probe_environment,
    read_needs_cache,
    write_needs_cache,
)
from pipguard.system.interpreter import prefixes, resolve_python


class Target(NamedTuple):
    python: str
    prefix: str
    store: LedgerStore


def locate(options: Options) -> Target:
    python = resolve_python(options.python)
    prefix, base = prefixes(python)
    return Target(python, prefix, LedgerStore(ledger_path(options.ledger, prefix, base), options.lock_timeout))


class Session:
    """The probed environment and its ledger's state, read under the lock."""

    __slots__ = ("_standing", "caches", "created", "ledger", "moved_from", "notes", "state")

    def __init__(self, state: EnvironmentState, ledger: LedgerState, created: bool, notes: tuple[str, ...] = (),
                 moved_from: str | None = None, caches: Path | None = None) -> None:
        self.state = state
        self.ledger = ledger
        self.created = created  # there was no ledger: this one starts from what is installed
        self.notes = notes
        self.moved_from = moved_from  # with moved=True: the prefix the ledger was recorded for
        self.caches = caches  # the probe's cache beside the ledger (None: nothing is kept)
        self._standing: tuple[StandingConstraint, ...] | None = None

    @property
    def standing(self) -> tuple[StandingConstraint, ...]:
        """Every standing constraint in force: the command line's, and the lines of
        each standing file read now, or kept beside the probe's cache from a run that read
        the very same file (a vanished or unreadable file: exit 2). Read once."""
        if self._standing is None:
            from pipguard.ledger.standing import standing_cache_path, standing_in_force

            self._standing = standing_in_force(self.ledger, standing_cache_path(self.caches) if self.caches else None)
        return self._standing


def environment_record(state: EnvironmentState) -> dict[str, str]:
    return {"prefix": state.prefix, "python": state.executable, "python_version": state.python_version}


def _same_place(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def check_environment(ledger: LedgerState, state: EnvironmentState, target: Target) -> None:
    """Refuse a ledger recorded for another environment (a shared --ledger, a copied venv)."""
    recorded = ledger.environment.get("prefix")
    if not recorded or _same_place(recorded, state.prefix):
        return
    raise LedgerError(
        f"the ledger {target.store.path} belongs to the environment {recorded}, not to {state.prefix} "
        "(the one being guarded here), so it would record the wrong environment's changes. Nothing "
        "was changed. Use this environment's own ledger (leave out --ledger and PIPGUARD_LEDGER), or, "
        f"if the environment was moved from {recorded} to {state.prefix}, say so with: "
        f"pipguard --python {target.python} adopt --moved"
    )


def _probe_cache(store: LedgerStore) -> Path | None:
    directory = store.files.directory
    return store.probe_cache if directory.is_dir() and os.access(directory, os.W_OK) else None


def needs_at_hand(store: LedgerStore, state: EnvironmentState, ledger: LedgerState) -> None:
    """What the environment's distributions need, derived once per state of the environment:
    read from beside the probe's cache when it is there for this state, else derived now (what
    every command that judges or checks does first) and kept there for the next run."""
    cache = _probe_cache(store)
    if cache is None:
        return
    path = needs_cache_path(cache)
    if not read_needs_cache(path, state):
        # every distribution's needs, outside ones too ('why' and 'outside protect' read them)
        all_needs(state.distributions, ledger.roots, (), state.markers, "protect")
        # and which of them have every requirement readable ('check'): parsed just now, so cheap
        unreadable_requirements(state.distributions, state.markers)
        write_needs_cache(path, state)


def keep_derived(session: Session) -> None:
    """After a command derived more of the environment than its needs (``export``'s markers):
    keep it beside the probe's cache with them, for the next run (only when there is more)."""
    if session.caches is None or session.created:
        return
    path = needs_cache_path(session.caches)
    if derived_more(path, session.state):
        write_needs_cache(path, session.state)


def _elsewhere(target: Target, ledger: LedgerState | None, moved: bool) -> bool:
    recorded = ledger.environment.get("prefix") if ledger is not None else None
    return bool(recorded) and not moved and not _same_place(recorded or "", target.prefix)


def caches_beside(target: Target, ledger: LedgerState | None, moved: bool = False) -> Path | None:
    """Where the probe's caches are kept beside *ledger*: None where nothing may be kept (a
    directory pipguard cannot write), or not yet (a ledger recorded for another environment:
    nothing is written beside it before it is known to be this one's, issue 19.26)."""
    return None if _elsewhere(target, ledger, moved) else _probe_cache(target.store)


def probe(target: Target) -> EnvironmentState:
    """Read the environment again (after pip ran)."""
    return probe_environment(target.python, _probe_cache(target.store))


class Loaded(NamedTuple):
    """The ledger as a command already read it under the lock held now (None: there is none)."""

    state: LedgerState | None


def load_ledger(target: Target) -> Loaded:
    """Read the ledger (call with the store's lock held); ``open_session`` takes it as it is."""
    return Loaded(target.store.load())


def open_session(target: Target, *, reconcile_drift: bool = True, policy: str = "compatible",
                 moved: bool = False, require_pip: bool = False, needs: bool = True,
                 loaded: Loaded | None = None) -> Session:
    """Probe the target and read (or start) its ledger. Call with the store's lock held.

    Holding the exclusive lock (``store.locked()``) records what must be: a
    new ledger's baseline, and (with *reconcile_drift*) an interrupted run
    and changes made behind pipguard's back. Holding the shared lock
    (``store.locked(shared=True)``) only reads. *moved*: the ledger's
    environment was moved here (``adopt --moved``): its recorded prefix is
    not checked. *require_pip*: refuse (exit 12) an environment whose pip is missing
    or too old before anything is recorded. *needs*: have the needs of the environment's
    distributions at hand (read from beside the probe's cache, or derived and kept there);
    a command that never judges or checks them (``ledger``, ``history``) leaves them out.
    *loaded*: the ledger as the command read it already under this lock (``load_ledger``): not
    read twice (a journal that must be read to be vouched for is read once).
    """
    store = target.store
    ledger = loaded.state if loaded is not None else store.load()
    # Nothing is written beside a ledger before it is known to be this environment's (issue 19.26).
    elsewhere = _elsewhere(target, ledger, moved)
    caches = None if elsewhere else _probe_cache(store)
    state = probe_environment(target.python, caches)
    if ledger is not None and not elsewhere and needs:
        needs_at_hand(store, state, ledger)
    if require_pip:
        from pipguard.engines.pip.runner import check_pip_version  # the engines load only where pip runs

        check_pip_version(state.pip_version, target.python)
    if ledger is None:
        empty, txn = baseline(environment_record(state), state.own, state.markers, now,
                              policy)  # type: ignore[arg-type]  # checked by the command line
        ledger = store.finish(empty, txn) if store.writing else apply(empty, txn)
        return Session(state, ledger, created=True, caches=caches)
    recorded = ledger.environment.get("prefix")
    moved_from = recorded if moved and recorded and not _same_place(recorded, state.prefix) else None
    if not moved:
        check_environment(ledger, state, target)
    store.vouch(ledger)  # a journal read in full (a copied ledger): not read again next time
    if store.writing and dict(ledger.environment) != environment_record(state):
        ledger = ledger._replace(environment=environment_record(state))
        store.save(ledger)
    if not reconcile_drift or not store.writing:
        return Session(state, ledger, created=False, moved_from=moved_from, caches=caches)
    found = reconcile(ledger, state.own_versions, now)
    for txn in found.records:
        ledger = store.finish(ledger, txn)
    return Session(state, ledger, created=False, notes=found.notes, moved_from=moved_from, caches=caches)


# -- reading without changing: ledger, why, history, export, diff ---------------------------


@contextlib.contextmanager
def reading(options: Options, *, needs: bool = True) -> Iterator[tuple[Target, Session]]:
    """The target and its session, the lock held *shared* while the caller reads (so it never
    reads a ledger half-way through another run's transaction, while other readers may read at
    once; on a read-only location, none, said in one line). Drift is shown, not recorded."""
    target = locate(options)
    with target.store.locked(shared=True):
        yield target, open_session(target, reconcile_drift=False, needs=needs)


def read_state(options: Options, *, needs: bool = True) -> tuple[Target, Session]:
    """Probe the target and read its ledger's state under the lock; write nothing."""
    with reading(options, needs=needs) as (target, session):
        return target, session


def no_ledger_note(target: Target) -> str:
    return (
        f"pipguard: no ledger yet at {target.store.path}: nothing has been installed through "
        "pipguard in this environment ('pipguard install' starts the ledger)."
    )

"""Where an environment's ledger lives, and the names of the files beside it.

    <dir>/ledger.json                 the current state (schema 2)
    <dir>/ledger.journal.jsonl        the journal, one JSON line per record
    <dir>/ledger.journal.jsonl.torn   torn last lines set aside (crashes mid-append)
    <dir>/ledger.json.lock            the lock (filelock)
    <dir>/ledger.json.schema1.bak     a schema-1 ledger, kept when it was migrated
    <dir>/.ledger.json.*.tmp          temporary files of a write in progress

With ``--ledger PATH`` the names follow PATH's (``x.json`` -> ``x.journal.jsonl``).
A symlinked ledger is followed: the files are found beside its real path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

LEDGER_DIRNAME = ".pipguard"
SYSTEM_LEDGER_ROOT = Path("/var/lib/pipguard")
TEMP_SUFFIX = ".tmp"


def _slug(prefix: str) -> str:
    return prefix.strip("/").replace("/", "_") or "root"


def default_ledger_path(prefix: str, is_virtualenv: bool) -> Path:
    """Where an environment's ledger lives when no override is given.

    A virtual environment keeps it inside its prefix. A system interpreter's
    goes to /var/lib/pipguard/<prefix>/ for root, or to the user's state
    directory ($XDG_STATE_HOME, ~/.local/state) otherwise.
    """
    if is_virtualenv:
        return Path(prefix) / LEDGER_DIRNAME / "ledger.json"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return SYSTEM_LEDGER_ROOT / _slug(prefix) / "ledger.json"
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "pipguard" / _slug(prefix) / "ledger.json"


def ledger_path(given: str | None, prefix: str, base_prefix: str) -> Path:
    """The ledger of the environment at *prefix*, as an absolute path: *given* (--ledger), else
    PIPGUARD_LEDGER, else its default place. *base_prefix*: the interpreter's ``sys.base_prefix``,
    "" for a virtual environment known by its pyvenv.cfg; the environment is a virtual one unless
    *base_prefix* is the same place as *prefix*."""
    is_virtualenv = os.path.realpath(prefix) != os.path.realpath(base_prefix) if base_prefix else True
    override = given or os.environ.get("PIPGUARD_LEDGER")
    path = Path(override) if override else default_ledger_path(prefix, is_virtualenv)
    return path.absolute()


class LedgerFiles(NamedTuple):
    """The files of one ledger, beside its state document's real path."""

    state: Path

    @property
    def directory(self) -> Path:
        return self.state.parent

    @property
    def journal(self) -> Path:
        name = self.state.name
        stem = name[: -len(".json")] if name.endswith(".json") and len(name) > len(".json") else name
        return self.state.with_name(stem + ".journal.jsonl")

    @property
    def torn(self) -> Path:
        return self.journal.with_name(self.journal.name + ".torn")

    @property
    def lock(self) -> Path:
        return self.state.with_name(self.state.name + ".lock")

    @property
    def backup(self) -> Path:
        return self.state.with_name(self.state.name + ".schema1.bak")

    @property
    def probe_cache(self) -> Path:
        return self.state.with_name(self.state.name + ".probe-cache")

    def temp_prefix(self, target: Path) -> str:
        """Per file, so that two ledgers sharing a directory never touch each other's."""
        return f".{target.name}."

"""The ledger: model (frozen dataclasses), JSON storage, lock, transactions.

One JSON document per environment, with a schema version, written
atomically (temporary file, fsync, rename) while the lock is held.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import filelock
from packaging.utils import NormalizedName, canonicalize_name

from pipguard.errors import LedgerError
from pipguard.model import Change as Change
from pipguard.model import Root as Root
from pipguard.model import StandingConstraint as StandingConstraint
from pipguard.redaction import redact_json
from pipguard.testhook import pause_at

SCHEMA_VERSION = 1
POLICIES = ("strict", "compatible", "replan")
ENGINES = ("pip", "uv", "auto")
STATUSES = ("pending", "committed", "failed", "rejected", "unguarded", "interrupted", "drift")


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Transaction:
    id: int
    command: str
    argv: tuple[str, ...] = ()
    status: str = "pending"
    started: str = ""
    finished: str | None = None
    pip_version: str | None = None
    policy: str = "compatible"
    changes: tuple[Change, ...] = ()
    constraints: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Ledger:
    environment: Mapping[str, str] = field(default_factory=dict)
    policy: str = "compatible"
    engine: str = "pip"
    roots: Mapping[NormalizedName, Root] = field(default_factory=dict)
    standing: tuple[StandingConstraint, ...] = ()
    distributions: Mapping[NormalizedName, str] = field(default_factory=dict)
    transactions: tuple[Transaction, ...] = ()
    shim: Mapping[str, Any] = field(default_factory=dict)

    @property
    def next_id(self) -> int:
        return self.transactions[-1].id + 1 if self.transactions else 1

    def transaction(self, txn_id: int) -> Transaction | None:
        for txn in self.transactions:
            if txn.id == txn_id:
                return txn
        return None

    def with_transaction(self, txn: Transaction) -> Ledger:
        """Add *txn*, or replace the transaction with its id."""
        kept = tuple(t for t in self.transactions if t.id != txn.id)
        return replace(self, transactions=tuple(sorted((*kept, txn), key=lambda t: t.id)))

    def pending(self) -> list[Transaction]:
        return [t for t in self.transactions if t.status == "pending"]


# -- serialisation -------------------------------------------------------


def ledger_to_dict(ledger: Ledger) -> dict[str, Any]:
    """The document as plain data (not yet redacted: ``ledger_to_json`` is what is written)."""
    document: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "environment": dict(ledger.environment),
        "policy": ledger.policy,
        "roots": {name: _record(root) for name, root in sorted(ledger.roots.items())},
        "standing": [_record(s) for s in ledger.standing],
        "distributions": dict(sorted(ledger.distributions.items())),
        "transactions": [_transaction_record(t) for t in ledger.transactions],
        "shim": dict(ledger.shim),
    }
    if ledger.engine != "pip":  # written when chosen (pipguard engine), like any other choice
        document["engine"] = ledger.engine
    return document


_COMPACT = json.JSONEncoder(separators=(",", ":"))


def ledger_to_json(ledger: Ledger) -> str:
    """The JSON text written to disk; credentials in URLs never reach it, whatever
    field holds them. Compact, one transaction per line: a ledger of 10,000
    transactions is written in tens of milliseconds, and still reads with less."""
    document = ledger_to_dict(ledger)
    transactions = document.pop("transactions")
    head = _COMPACT.encode(document)[:-1]
    body = ",\n".join(map(_COMPACT.encode, transactions))
    return redact_json(f'{head},"transactions":[\n{body}\n]}}\n')


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _record(obj: Any) -> dict[str, Any]:
    """``dataclasses.asdict`` for the ledger's flat records (str, int, None and
    tuples of str), without its recursive deep copy: the same dict, ~10x faster,
    which matters for a ledger of thousands of transactions saved twice per install."""
    cls = type(obj)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(obj))
    return {name: getattr(obj, name) for name in names}


def _transaction_record(txn: Transaction) -> dict[str, Any]:
    record = _record(txn)
    record["changes"] = tuple(_record(change) for change in txn.changes)
    return record


def _expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
        raise ValueError(f"{where} has the wrong type ({type(value).__name__})")
    return value


def _str_tuple(value: Any, where: str) -> tuple[str, ...]:
    items = _expect(value, list, where)
    return tuple(_expect(item, str, where) for item in items)


def _root_from(data: Any, where: str) -> Root:
    _expect(data, dict, where)
    return Root(
        name=canonicalize_name(_expect(data["name"], str, where + ".name")),
        display_name=_expect(data["display_name"], str, where),
        specifier=_expect(data.get("specifier", ""), str, where),
        extras=_str_tuple(data.get("extras", []), where + ".extras"),
        editable=_expect(data.get("editable"), (str, type(None)), where),
        url=_expect(data.get("url"), (str, type(None)), where),
        added_by=_expect(data.get("added_by", 0), int, where),
        added_at=_expect(data.get("added_at", ""), str, where),
        kind=_expect(data.get("kind", "requested"), str, where),
    )


def _optional_str(value: Any) -> bool:
    return value is None or type(value) is str


def _str_list(value: Any) -> bool:
    return type(value) is list and all(type(item) is str for item in value)


def _transaction_fast(data: Any) -> Transaction | None:
    """The common case, a well-formed record, checked without building messages.

    None when anything is off: ``_transaction_checked`` then says what.
    A ledger holds thousands of these, read on every run.
    """
    if type(data) is not dict:
        return None
    get = data.get
    changes, argv, constraints = get("changes", []), get("argv", []), get("constraints", [])
    txn_id, command, status = get("id"), get("command"), get("status")
    started, finished, pip_version = get("started", ""), get("finished"), get("pip_version")
    policy, reason = get("policy", "compatible"), get("reason", "")
    if not (type(txn_id) is int and type(command) is str and status in STATUSES and type(started) is str
            and type(policy) is str and type(reason) is str and _optional_str(finished)
            and _optional_str(pip_version) and _str_list(argv) and _str_list(constraints)
            and type(changes) is list):
        return None
    records = []
    for change in changes:
        if type(change) is not dict:
            return None
        name, before, after = change.get("name"), change.get("before"), change.get("after")
        if type(name) is not str or not _optional_str(before) or not _optional_str(after):
            return None
        records.append(Change(canonicalize_name(name), before, after))
    return Transaction(txn_id, command, tuple(argv), status, started, finished, pip_version, policy,
                       tuple(records), tuple(constraints), reason)


def _transaction_checked(data: Any, where: str) -> Transaction:
    _expect(data, dict, where)
    changes = tuple(
        Change(
            canonicalize_name(_expect(c["name"], str, where)),
            _expect(c.get("before"), (str, type(None)), where),
            _expect(c.get("after"), (str, type(None)), where),
        )
        for c in _expect(data.get("changes", []), list, where + ".changes")
    )
    status = _expect(data["status"], str, where + ".status")
    if status not in STATUSES:
        raise ValueError(f"{where}.status is unknown ({status!r})")
    return Transaction(
        id=_expect(data["id"], int, where + ".id"),
        command=_expect(data["command"], str, where),
        argv=_str_tuple(data.get("argv", []), where + ".argv"),
        status=status,
        started=_expect(data.get("started", ""), str, where),
        finished=_expect(data.get("finished"), (str, type(None)), where),
        pip_version=_expect(data.get("pip_version"), (str, type(None)), where),
        policy=_expect(data.get("policy", "compatible"), str, where),
        changes=changes,
        constraints=_str_tuple(data.get("constraints", []), where + ".constraints"),
        reason=_expect(data.get("reason", ""), str, where),
    )


def ledger_from_dict(data: Any) -> Ledger:
    """Validate and load; raises ``ValueError`` naming what is wrong."""
    _expect(data, dict, "the document")
    schema = data.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise ValueError("it has no schema version")
    if schema > SCHEMA_VERSION:
        raise ValueError(
            f"it has schema version {schema}, newer than this pipguard understands "
            f"({SCHEMA_VERSION}); upgrade pipguard"
        )
    if schema < 1:
        raise ValueError(f"schema version {schema} is not valid")
    roots = {
        canonicalize_name(name): _root_from(root, f"roots.{name}")
        for name, root in _expect(data.get("roots", {}), dict, "roots").items()
    }
    standing = tuple(
        StandingConstraint(
            _expect(s["requirement"], str, "standing"),
            _expect(s["source"], str, "standing"),
            _expect(s.get("added_by", 0), int, "standing"),
        )
        for s in _expect(data.get("standing", []), list, "standing")
    )
    dists = {
        canonicalize_name(name): _expect(version, str, f"distributions.{name}")
        for name, version in _expect(data.get("distributions", {}), dict, "distributions").items()
    }
    transactions = tuple(
        _transaction_fast(t) or _transaction_checked(t, f"transactions[{i}]")
        for i, t in enumerate(_expect(data.get("transactions", []), list, "transactions"))
    )
    policy = _expect(data.get("policy", "compatible"), str, "policy")
    if policy not in POLICIES:
        raise ValueError(f"policy {policy!r} is unknown")
    engine = _expect(data.get("engine", "pip"), str, "engine")
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r} is unknown")
    return Ledger(
        environment={k: str(v) for k, v in _expect(data.get("environment", {}), dict, "environment").items()},
        policy=policy,
        engine=engine,
        roots=roots,
        standing=standing,
        distributions=dists,
        transactions=transactions,
        shim=_expect(data.get("shim", {}), dict, "shim"),
    )


# -- storage ---------------------------------------------------------------


def check_safe(path: Path) -> None:
    """Refuse a ledger that someone else could have written.

    Re-plans may build recorded paths, so a ledger others can write is a way
    in: a group- or world-writable ledger file or directory (a sticky
    directory such as /tmp excepted) is refused, and so, when running as
    root, is a ledger file or directory owned by another user (its owner
    could replace the file).
    """
    running_as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    for target in (path, path.parent):
        try:
            info = target.stat()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise LedgerError(
                f"cannot inspect the ledger {path}: {exc.strerror or exc} ({target}). "
                "Fix the permissions, or choose another place with --ledger PATH."
            ) from None
        is_dir = stat.S_ISDIR(info.st_mode)
        what = "directory" if is_dir else "file"
        writable_by_others = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if writable_by_others and not (is_dir and info.st_mode & stat.S_ISVTX):
            raise LedgerError(
                f"refusing the ledger {path}: its {what} {target} is writable by "
                f"{'others' if info.st_mode & stat.S_IWOTH else 'its group'} "
                f"(mode {stat.filemode(info.st_mode)}), so anyone could change what "
                f"pipguard installs. Nothing was changed. Check it, then fix it with: chmod go-w {target}"
            )
        if running_as_root and info.st_uid != 0:
            raise LedgerError(
                f"refusing the ledger {path}: running as root, but its {what} {target} is "
                f"owned by user id {info.st_uid}, who could change what pipguard installs. "
                f"Nothing was changed. Check it, then fix it with: chown root {target}, or "
                "run pipguard as that user."
            )


_TEMP_SUFFIX = ".tmp"


class LedgerStore:
    """Reads and writes one ledger file, under its lock."""

    def __init__(self, path: Path, lock_timeout: float = 600.0) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self.lock_timeout = lock_timeout
        self._lock: filelock.BaseFileLock | None = None

    @property
    def probe_cache(self) -> Path:
        return self.path.with_name(self.path.name + ".probe-cache")

    @property
    def _temp_prefix(self) -> str:
        # Per ledger file, so that two ledgers sharing a directory never
        # touch each other's temporary files.
        return f".{self.path.name}."

    def exists(self) -> bool:
        return self.path.exists()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the environment's lock; say so when waiting for another run."""
        self._ensure_directory()
        lock = filelock.FileLock(str(self.lock_path))
        try:
            try:
                lock.acquire(timeout=0.05)
            except filelock.Timeout:
                print(
                    f"pipguard: waiting for another pipguard run on this environment "
                    f"(lock {self.lock_path}, timeout {self.lock_timeout:g} s)...",
                    file=sys.stderr,
                )
                try:
                    lock.acquire(timeout=self.lock_timeout)
                except filelock.Timeout:
                    raise LedgerError(
                        f"timed out after {self.lock_timeout:g} s waiting for the lock "
                        f"{self.lock_path}: another pipguard run holds it. Nothing was changed. "
                        "Wait for it to finish, or raise the limit with --lock-timeout SECONDS."
                    ) from None
        except OSError as exc:
            raise LedgerError(
                f"cannot take the lock {self.lock_path}: {exc.strerror or exc}. pipguard needs "
                f"to create files in {self.path.parent} to guard this environment. Nothing was "
                "changed. Fix the permissions, run as the environment's owner, or choose another "
                "place with --ledger PATH."
            ) from None
        try:
            self._remove_stale_temporaries()
            yield
        finally:
            lock.release()

    def _remove_stale_temporaries(self) -> None:
        """Temporary files of a save that was killed (only a lock holder writes)."""
        try:
            leftovers = [
                entry for entry in self.path.parent.iterdir()
                if entry.name.startswith(self._temp_prefix) and entry.name.endswith(_TEMP_SUFFIX)
            ]
        except OSError:
            return
        for entry in leftovers:
            with contextlib.suppress(OSError):
                entry.unlink()

    def _ensure_directory(self) -> None:
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o755)
        except OSError as exc:
            raise LedgerError(
                f"cannot create the ledger directory {directory}: {exc.strerror}. "
                "Choose another place with --ledger PATH."
            ) from None

    def load(self) -> Ledger | None:
        """The stored ledger, or None when there is none yet."""
        check_safe(self.path)
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise LedgerError(
                f"cannot read the ledger {self.path}: {exc}. It was left as it is. Fix the "
                "permissions, or choose another ledger with --ledger PATH."
            ) from None
        try:
            # Thousands of small records, none of them cyclic: the collector
            # would only walk them again and again while they are built.
            collecting = gc.isenabled()
            gc.disable()
            try:
                return ledger_from_dict(json.loads(text))
            finally:
                if collecting:
                    gc.enable()
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            if isinstance(exc, json.JSONDecodeError):
                detail = f"it is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
                if not text.strip():
                    detail = "it is empty"
                elif exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
                    detail = f"it is not valid JSON: it ends too early (truncated?) at line {exc.lineno}"
            elif isinstance(exc, KeyError):
                detail = f"a required key is missing ({exc})"
            elif isinstance(exc, RecursionError):
                detail = "it is nested too deeply to be a pipguard ledger"
            else:
                detail = str(exc) or type(exc).__name__
            raise LedgerError(
                f"the ledger {self.path} is unusable: {detail}. It was left as it is. "
                f"Restore it from a backup, or move it aside and run 'pipguard adopt' "
                "to start a new ledger from what is installed."
            ) from None

    def save(self, ledger: Ledger) -> None:
        """Write atomically: a reader sees the old or the new document, never half.

        The text goes to a temporary file in the same directory, is flushed
        and fsynced, and then renamed over the ledger; the directory is
        fsynced too. A writer killed at any point leaves the old ledger (and
        at most a temporary file, removed by the next run that takes the lock).
        """
        self._ensure_directory()
        text = ledger_to_json(ledger)
        directory = self.path.parent
        fd, tmp = -1, ""
        try:
            fd, tmp = tempfile.mkstemp(prefix=self._temp_prefix, suffix=_TEMP_SUFFIX, dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                fd = -1
                half = len(text) // 2
                handle.write(text[:half])
                handle.flush()
                pause_at("ledger-write")
                handle.write(text[half:])
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path)
            tmp = ""
            _fsync_directory(directory)
        except OSError as exc:
            raise LedgerError(
                f"cannot write the ledger {self.path}: {exc.strerror or exc}. The previous "
                "ledger was left as it was; free space or fix permissions and run again."
            ) from None
        finally:
            if fd >= 0:
                os.close(fd)
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- locating ----------------------------------------------------------------

LEDGER_DIRNAME = ".pipguard"
SYSTEM_LEDGER_ROOT = Path("/var/lib/pipguard")


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

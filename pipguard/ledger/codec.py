"""The ledger's records as JSON: encoding, decoding and strict validation (pure).

One place turns the frozen values of ``pipguard.core.model`` (roots, changes,
root changes, standing constraints and files, transactions) into plain
JSON data and back. Both files of the ledger, the state document and the
journal, are made of these records.

* Writing: every string is made printable and redacted *before* the data
  becomes JSON (``redaction.clean``), and ``NaN``/``Infinity`` are refused
  (they are not JSON).
* Reading: ``NaN``/``Infinity`` are refused, every field is type-checked,
  statuses and kinds must be known, and the texts pipguard parses later
  (a root's specifier, a standing constraint) must parse now: a ledger
  that would crash a command later is a corrupt ledger now (exit 11).

Decoders raise ``ValueError`` (or ``KeyError`` for a missing key) naming
the field; the store turns that into a ``LedgerError`` naming the file.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from pipguard.core.model import (
    ROOT_KINDS,
    STATUSES,
    Change,
    Root,
    RootChange,
    StandingConstraint,
    StandingFile,
    Transaction,
)
from pipguard.core.names import canonicalize_name
from pipguard.core.redaction import clean, printable

# -- JSON text -----------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"it holds {name}, which is not JSON")


def loads(text: str | bytes) -> Any:
    """Strict JSON: ``NaN``, ``Infinity`` and ``-Infinity`` are refused."""
    return json.loads(text, parse_constant=_refuse_constant)


def dumps(data: Any, *, indent: int | None = None) -> str:
    """JSON text of *data* with every string printable and redacted first.

    Raises ``ValueError`` for NaN or Infinity anywhere (never written).
    """
    separators = (",", ": ") if indent is not None else (",", ":")
    return json.dumps(clean(data), ensure_ascii=False, allow_nan=False, indent=indent, separators=separators)


# -- checking values ---------------------------------------------------------------


def expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
        raise ValueError(f"{where} has the wrong type ({type(value).__name__})")
    return value


def text(value: Any, where: str) -> str:
    """A string, made printable (an older ledger may hold lone surrogates)."""
    return printable(expect(value, str, where))


def optional_text(value: Any, where: str) -> str | None:
    return None if value is None else text(value, where)


def text_tuple(value: Any, where: str) -> tuple[str, ...]:
    return tuple(text(item, where) for item in expect(value, list, where))


def positive_id(value: Any, where: str) -> int:
    number: int = expect(value, int, where)
    if number < 1:
        raise ValueError(f"{where} is {number}: transaction ids are positive")
    return number


def specifier(value: Any, where: str) -> str:
    spec = text(value, where)
    try:
        SpecifierSet(spec)
    except InvalidSpecifier:
        raise ValueError(f"{where} is not a valid version specifier ({spec!r})") from None
    return spec


def requirement(value: Any, where: str) -> str:
    line = text(value, where)
    # imported here: only standing constraints are requirements, and packaging.requirements
    # loads packaging.tags (through markers and utils), which reading a ledger needs not
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(line)
    except InvalidRequirement:
        raise ValueError(f"{where} is not a valid requirement ({line!r})") from None
    return line


# -- records -> data ---------------------------------------------------------------

def record(obj: NamedTuple) -> dict[str, Any]:
    """A flat record's fields by name (the nested ones are the caller's to turn into data)."""
    return obj._asdict()


def root_to_data(root: Root) -> dict[str, Any]:
    data = record(root)
    data["extras"] = list(root.extras)
    return data


def root_change_to_data(change: RootChange) -> dict[str, Any]:
    return {
        "name": change.name,
        "before": root_to_data(change.before) if change.before else None,
        "after": root_to_data(change.after) if change.after else None,
    }


def standing_to_data(items: tuple[StandingConstraint, ...]) -> list[dict[str, Any]]:
    return [record(item) for item in items]


def standing_files_to_data(items: tuple[StandingFile, ...]) -> list[dict[str, Any]]:
    return [record(item) for item in items]


def transaction_to_data(txn: Transaction) -> dict[str, Any]:
    """A transaction as JSON data (the journal's lines and the state's ``pending``)."""
    return {
        "id": txn.id,
        "status": txn.status,
        "command": txn.command,
        "argv": list(txn.argv),
        "started": txn.started,
        "finished": txn.finished,
        "pip_version": txn.pip_version,
        "policy": txn.policy,
        "engine": txn.engine,
        "changes": [record(change) for change in txn.changes],
        "constraints": list(txn.constraints),
        "reason": txn.reason,
        "roots": [root_change_to_data(change) for change in txn.roots],
        "standing": None if txn.standing is None else standing_to_data(txn.standing),
        "standing_files": None if txn.standing_files is None else standing_files_to_data(txn.standing_files),
    }


def transaction_public_data(txn: Transaction) -> dict[str, Any]:
    """A transaction as ``--json`` shows it: the journal's own record (this encoder),
    every string printable and redacted, and each root also with its requirement."""
    data = transaction_to_data(txn)
    for change, item in zip(txn.roots, data["roots"]):
        for side in ("before", "after"):
            root = getattr(change, side)
            if root is not None:
                item[side]["requirement"] = root.requirement
    cleaned: dict[str, Any] = clean(data)
    return cleaned


# -- data -> records ------------------------------------------------------------------


def root_from(data: Any, where: str) -> Root:
    expect(data, dict, where)
    kind = expect(data.get("kind", "requested"), str, where + ".kind")
    if kind not in ROOT_KINDS:
        raise ValueError(f"{where}.kind is unknown ({kind!r})")
    return Root(
        name=canonicalize_name(text(data["name"], where + ".name")),
        display_name=text(data["display_name"], where + ".display_name"),
        specifier=specifier(data.get("specifier", ""), where + ".specifier"),
        extras=text_tuple(data.get("extras", []), where + ".extras"),
        editable=optional_text(data.get("editable"), where + ".editable"),
        url=optional_text(data.get("url"), where + ".url"),
        added_by=expect(data.get("added_by", 0), int, where + ".added_by"),
        added_at=text(data.get("added_at", ""), where + ".added_at"),
        kind=kind,
    )


def roots_from(data: Any, where: str) -> dict[Any, Root]:
    return {
        canonicalize_name(expect(name, str, where)): root_from(root, f"{where}.{name}")
        for name, root in expect(data, dict, where).items()
    }


def change_from(data: Any, where: str) -> Change:
    expect(data, dict, where)
    return Change(
        canonicalize_name(text(data["name"], where + ".name")),
        optional_text(data.get("before"), where + ".before"),
        optional_text(data.get("after"), where + ".after"),
    )


def root_change_from(data: Any, where: str) -> RootChange:
    expect(data, dict, where)
    before, after = data.get("before"), data.get("after")
    return RootChange(
        canonicalize_name(text(data["name"], where + ".name")),
        None if before is None else root_from(before, where + ".before"),
        None if after is None else root_from(after, where + ".after"),
    )


def standing_from(data: Any, where: str) -> tuple[StandingConstraint, ...]:
    return tuple(
        StandingConstraint(
            requirement(expect(item, dict, f"{where}[{i}]")["requirement"], f"{where}[{i}].requirement"),
            text(item["source"], f"{where}[{i}].source"),
            expect(item.get("added_by", 0), int, f"{where}[{i}].added_by"),
        )
        for i, item in enumerate(expect(data, list, where))
    )


def standing_files_from(data: Any, where: str) -> tuple[StandingFile, ...]:
    return tuple(
        StandingFile(
            text(expect(item, dict, f"{where}[{i}]")["path"], f"{where}[{i}].path"),
            expect(item.get("added_by", 0), int, f"{where}[{i}].added_by"),
        )
        for i, item in enumerate(expect(data, list, where))
    )


def _optional_str(value: Any) -> bool:
    return value is None or type(value) is str


def _str_list(value: Any) -> bool:
    return type(value) is list and all(type(item) is str for item in value)


def _transaction_fast(data: Any) -> Transaction | None:
    """The common case, a well-formed record without roots or standing, checked
    without building messages; None when anything is off or unusual
    (``_transaction_checked`` then says what, or builds the rest)."""
    if type(data) is not dict:
        return None
    get = data.get
    changes, argv, constraints = get("changes", []), get("argv", []), get("constraints", [])
    txn_id, command, status = get("id"), get("command"), get("status")
    started, finished, pip_version = get("started", ""), get("finished"), get("pip_version")
    policy, reason, engine = get("policy", "compatible"), get("reason", ""), get("engine", "pip")
    if get("roots") or get("standing") is not None or get("standing_files") is not None:
        return None
    if not (type(txn_id) is int and txn_id > 0 and type(command) is str and status in STATUSES
            and type(started) is str and type(policy) is str and type(reason) is str and type(engine) is str
            and _optional_str(finished) and _optional_str(pip_version) and _str_list(argv)
            and _str_list(constraints) and type(changes) is list):
        return None
    records = []
    texts = [command, started, policy, reason, engine, finished or "", pip_version or "", *argv, *constraints]
    for change in changes:
        if type(change) is not dict:
            return None
        name, before, after = change.get("name"), change.get("before"), change.get("after")
        if type(name) is not str or not _optional_str(before) or not _optional_str(after):
            return None
        texts += (name, before or "", after or "")
        records.append(Change(canonicalize_name(name), before, after))
    try:
        # An older ledger may hold lone surrogates (a non-UTF-8 byte in an
        # argument): the checked path makes them printable.
        "".join(texts).encode("utf-8")
    except UnicodeEncodeError:
        return None
    return Transaction(txn_id, command, tuple(argv), status, started, finished, pip_version, policy,
                      tuple(records), tuple(constraints), reason, engine)


def _transaction_checked(data: Any, where: str) -> Transaction:
    expect(data, dict, where)
    status = expect(data["status"], str, where + ".status")
    if status not in STATUSES:
        raise ValueError(f"{where}.status is unknown ({status!r})")
    standing, standing_files = data.get("standing"), data.get("standing_files")
    return Transaction(
        id=positive_id(data["id"], where + ".id"),
        command=text(data["command"], where + ".command"),
        argv=text_tuple(data.get("argv", []), where + ".argv"),
        status=status,
        started=text(data.get("started", ""), where + ".started"),
        finished=optional_text(data.get("finished"), where + ".finished"),
        pip_version=optional_text(data.get("pip_version"), where + ".pip_version"),
        policy=text(data.get("policy", "compatible"), where + ".policy"),
        changes=tuple(
            change_from(c, f"{where}.changes[{i}]")
            for i, c in enumerate(expect(data.get("changes", []), list, where + ".changes"))
        ),
        constraints=text_tuple(data.get("constraints", []), where + ".constraints"),
        reason=text(data.get("reason", ""), where + ".reason"),
        engine=text(data.get("engine", "pip"), where + ".engine"),
        roots=tuple(
            root_change_from(c, f"{where}.roots[{i}]")
            for i, c in enumerate(expect(data.get("roots", []), list, where + ".roots"))
        ),
        standing=None if standing is None else standing_from(standing, where + ".standing"),
        standing_files=None if standing_files is None else standing_files_from(
            standing_files, where + ".standing_files"),
    )


def transaction_from(data: Any, where: str) -> Transaction:
    """Validate and load one transaction record; raises ``ValueError``/``KeyError``."""
    return _transaction_fast(data) or _transaction_checked(data, where)


def versions_from(data: Any, where: str) -> dict[Any, str]:
    return {
        canonicalize_name(expect(name, str, where)): text(version, f"{where}.{name}")
        for name, version in expect(data, dict, where).items()
    }


def string_map(data: Any, where: str) -> dict[str, str]:
    return {
        text(key, where): text(value, f"{where}.{key}")
        for key, value in expect(data, dict, where).items()
    }

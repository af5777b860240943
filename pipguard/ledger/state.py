"""The state document (schema 2): ``LedgerState`` <-> JSON, strictly validated (pure).

The current state of an environment's ledger: its environment (prefix,
interpreter), policy, engine, how outside distributions are treated, the
roots, the standing constraints (command-line lines and followed files),
the distributions as last recorded, the shim record, the newest
transaction id in the journal and the pending transaction, if any. Its
size depends on the environment, never on the number of transactions.

    {"schema": 2, "environment": {"prefix": ..., "python": ..., "python_version": ...},
     "policy": "compatible", "engine": "pip", "outside": "ignore",
     "last_id": 42, "pending": null,
     "roots": {"name": {root}}, "standing": [...], "standing_files": [...],
     "distributions": {"name": "version"}, "shim": {...}, "said": [...],
     "journal": {"size": 18230, "damaged": []}}

``last_id`` and ``pending`` say which journal entry the state reflects:
the final record of ``last_id`` when ``pending`` is null, else the pending
record of ``last_id``. ``journal`` is the store's integrity mark
(``pipguard.ledger.recovery``): the journal's length when this state was
written, and the lines already found unreadable; it lets a run trust the
journal without reading it, as long as nothing changed it since.
A schema-1 document (every transaction in one file)
is recognised here and migrated by the store; a newer schema is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipguard.core.model import EMPTY, ENGINES, OUTSIDE_POLICIES, POLICIES, LedgerState
from pipguard.ledger import codec

STATE_SCHEMA = 2
LEGACY_SCHEMA = 1


class LegacyDocument(Exception):
    """The document is a schema-1 ledger (state and history in one file): migrate it."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__("schema 1")
        self.data = data


def state_to_data(state: LedgerState) -> dict[str, Any]:
    """The document as plain data (not yet cleaned: ``encode_state`` is what is written)."""
    return {
        "schema": STATE_SCHEMA,
        "environment": dict(state.environment),
        "policy": state.policy,
        "engine": state.engine,
        "outside": state.outside,
        "last_id": state.last_id,
        "pending": codec.transaction_to_data(state.pending) if state.pending else None,
        "roots": {name: codec.root_to_data(root) for name, root in sorted(state.roots.items())},
        "standing": codec.standing_to_data(state.standing),
        "standing_files": codec.standing_files_to_data(state.standing_files),
        "distributions": dict(sorted(state.distributions.items())),
        "shim": dict(state.shim),
        "said": list(state.said),
    }


def encode_state(state: LedgerState, journal: Mapping[str, Any] | None = None) -> str:
    """The text written to disk: redacted, strict JSON, one key per line (readable with less);
    with *journal*, the store's integrity mark of the journal."""
    data = state_to_data(state)
    if journal is not None:
        data["journal"] = dict(journal)
    return codec.dumps(data, indent=1) + "\n"


def check_schema(data: Any) -> int:
    """The document's schema version; raises ``ValueError`` for a missing or newer one."""
    codec.expect(data, dict, "the document")
    schema = data.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise ValueError("it has no schema version")
    if schema > STATE_SCHEMA:
        raise ValueError(
            f"it has schema version {schema}, newer than this pipguard understands "
            f"({STATE_SCHEMA}); upgrade pipguard"
        )
    if schema < LEGACY_SCHEMA:
        raise ValueError(f"schema version {schema} is not valid")
    return schema


def choice(value: Any, choices: tuple[str, ...], where: str) -> Any:
    codec.expect(value, str, where)
    if value not in choices:
        raise ValueError(f"{where} {value!r} is unknown")
    return value


def shim_from(data: Any, where: str = "shim") -> dict[str, Any]:
    """The shim record, kept as the data it is: a JSON object, nothing more.

    Its fields name programs pipguard writes and runs, so they are checked
    where they are used (``pipguard.shim.record``): a record of the wrong
    shape is then refused with a warning, and the rest of the ledger stays
    usable (an install is not stopped by it).
    """
    return dict(codec.expect(data, dict, where))


def state_from_data(data: Any, *, roots: bool = True) -> LedgerState:
    """Validate and load a document; raises ``ValueError``/``KeyError`` naming what is
    wrong, or ``LegacyDocument`` for a schema-1 ledger. Without *roots*, they are left out
    (not read, not checked: a guess that never judges, ``LedgerStore.peek``)."""
    if check_schema(data) == LEGACY_SCHEMA:
        raise LegacyDocument(data)
    last_id = codec.expect(data.get("last_id", 0), int, "last_id")
    if last_id < 0:
        raise ValueError(f"last_id is {last_id}: transaction ids are positive")
    pending_data = data.get("pending")
    pending = None
    if pending_data is not None:
        pending = codec.transaction_from(pending_data, "pending")
        if pending.status != "pending" or pending.id != last_id:
            raise ValueError(
                f"pending is transaction {pending.id} ({pending.status}), but the state's last "
                f"transaction is {last_id}"
            )
    return LedgerState(
        environment=codec.string_map(data.get("environment", {}), "environment"),
        policy=choice(data.get("policy", "compatible"), POLICIES, "policy"),
        engine=choice(data.get("engine", "pip"), ENGINES, "engine"),
        outside=choice(data.get("outside", "ignore"), OUTSIDE_POLICIES, "outside"),
        roots=codec.roots_from(data.get("roots", {}), "roots") if roots else EMPTY,
        standing=codec.standing_from(data.get("standing", []), "standing"),
        standing_files=codec.standing_files_from(data.get("standing_files", []), "standing_files"),
        distributions=codec.versions_from(data.get("distributions", {}), "distributions"),
        shim=shim_from(data.get("shim", {})),
        last_id=last_id,
        pending=pending,
        said=codec.text_tuple(data.get("said", []), "said"),
    )


def decode_state(text: str) -> LedgerState:
    """Parse and validate the document's text (see ``state_from_data``)."""
    return state_from_data(codec.loads(text))


def decode_state_and_mark(text: str, *, roots: bool = True) -> tuple[LedgerState, Any]:
    """The state, and its ``journal`` mark as plain data (None when it has none;
    checked by ``pipguard.ledger.recovery``)."""
    data = codec.loads(text)
    state = state_from_data(data, roots=roots)
    return state, data.get("journal")

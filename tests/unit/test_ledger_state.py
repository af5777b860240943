"""ledger/state.py and ledger/codec.py: the state document (schema 2) and its records:
round trip, redaction before encoding, strict JSON, every validation error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from pipguard.core.model import (
    ENGINES,
    OUTSIDE_POLICIES,
    POLICIES,
    STATUSES,
    Change,
    LedgerState,
    Root,
    RootChange,
    StandingConstraint,
    StandingFile,
    Transaction,
)
from pipguard.ledger import codec
from pipguard.ledger.state import (
    STATE_SCHEMA,
    LegacyDocument,
    decode_state,
    encode_state,
    state_from_data,
)

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
plain = text.filter(lambda s: "://" not in s)  # URL credentials are redacted on the way out
names = st.from_regex(r"[a-z][a-z0-9]{0,4}(-[a-z0-9]{1,3})?", fullmatch=True).map(canonicalize_name)
maybe = st.one_of(st.none(), plain)
specifiers = st.sampled_from(["", ">=1", "<2,>1.0", "==1.4.*", "~=2.1"])
requirements = st.sampled_from(["b<2", "zope.interface===5.0", 'c>=1; python_version < "3.10"'])

roots = st.builds(
    Root,
    name=names,
    display_name=plain,
    specifier=specifiers,
    extras=st.tuples(plain),
    editable=maybe,
    url=maybe,
    added_by=st.integers(0, 99),
    added_at=plain,
    kind=st.sampled_from(["requested", "baseline"]),
)
changes = st.builds(Change, name=names, before=maybe, after=maybe)
standing = st.builds(StandingConstraint, requirements, plain, st.integers(0, 9))


@st.composite
def transactions(draw: st.DrawFn, status: Any = None) -> Transaction:
    return Transaction(
        id=draw(st.integers(1, 10**6)),
        command=draw(plain),
        argv=tuple(draw(st.lists(plain, max_size=3))),
        status=draw(st.sampled_from(STATUSES)) if status is None else status,
        started=draw(plain),
        finished=draw(maybe),
        pip_version=draw(maybe),
        policy=draw(plain),
        changes=tuple(draw(st.lists(changes, max_size=2))),
        constraints=tuple(draw(st.lists(plain, max_size=2))),
        reason=draw(plain),
        engine=draw(plain),
        roots=tuple(draw(st.lists(st.builds(RootChange, names, st.none() | roots, st.none() | roots),
                                  max_size=2))),
        standing=draw(st.none() | st.tuples(standing)),
        standing_files=draw(st.none() | st.tuples(st.builds(StandingFile, plain, st.integers(0, 9)))),
    )


@st.composite
def states(draw: st.DrawFn) -> LedgerState:
    root_list = draw(st.lists(roots, max_size=3, unique_by=lambda r: r.name))
    pending = draw(st.none() | transactions(status="pending"))
    return LedgerState(
        environment=draw(st.dictionaries(plain, plain, max_size=2)),
        policy=draw(st.sampled_from(POLICIES)),
        engine=draw(st.sampled_from(ENGINES)),
        outside=draw(st.sampled_from(OUTSIDE_POLICIES)),
        roots={r.name: r for r in root_list},
        standing=tuple(draw(st.lists(standing, max_size=2))),
        standing_files=tuple(draw(st.lists(st.builds(StandingFile, plain, st.integers(0, 9)), max_size=2))),
        distributions=draw(st.dictionaries(names, plain, max_size=3)),
        shim=draw(st.dictionaries(plain.filter(lambda k: k not in ("scripts", "format", "runner")),
                                  st.one_of(plain, st.booleans(), st.integers()), max_size=2)),
        last_id=pending.id if pending else draw(st.integers(0, 10**6)),
        pending=pending,
        said=tuple(draw(st.lists(plain, max_size=2))),
    )


@given(states())
def test_a_state_survives_its_document_and_back_unchanged(state: LedgerState) -> None:
    assert decode_state(encode_state(state)) == state
    assert json.loads(encode_state(state))["schema"] == STATE_SCHEMA


@given(transactions())
def test_a_transaction_survives_its_record_and_back_unchanged(txn: Transaction) -> None:
    assert codec.transaction_from(codec.loads(codec.dumps(codec.transaction_to_data(txn))), "t") == txn


PASSWORDS = ["hunter2", "S\u00c9KRIT30", 'SEK"RIT', "SEK\\RIT", "p%40ss", "p@SEKRIT08"]


@pytest.mark.parametrize("password", PASSWORDS)
def test_credentials_never_reach_the_document_whatever_field_and_characters(password: str) -> None:
    secret = f"https://user:{password}@example.invalid/simple"
    pending = Transaction(1, "install", argv=("-i", secret), reason=f"failed at {secret}", constraints=(secret,))
    state = LedgerState(
        environment={"index": secret},
        roots={canonicalize_name("g"): Root(canonicalize_name("g"), "g", url=secret, editable=secret)},
        standing=(StandingConstraint(f"g @ {secret}", secret),),
        standing_files=(StandingFile(secret),),
        shim={"nested": [secret, {"k": secret}], secret: 1},
        last_id=1,
        pending=pending,
    )
    written = encode_state(state)
    for form in (password, json.dumps(password)[1:-1], json.dumps(password, ensure_ascii=True)[1:-1]):
        assert form not in written
    assert written.count("https://****@example.invalid/simple") == 12
    assert decode_state(written).roots[canonicalize_name("g")].url == "https://****@example.invalid/simple"


def test_nan_and_infinity_are_never_written_and_never_read() -> None:
    with pytest.raises(ValueError, match=r"NaN|not JSON|Out of range"):
        encode_state(LedgerState(shim={"x": float("nan")}))
    for constant in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(ValueError, match="not JSON"):
            decode_state(f'{{"schema": 2, "shim": {{"format": 1, "x": {constant}}}}}')


def test_lone_surrogates_of_an_older_ledger_are_read_as_printable_text() -> None:
    data = {"schema": 2, "last_id": 3, "pending": {"id": 3, "command": "install", "status": "pending",
                                                    "argv": ["caf\udce9"]}}
    state = decode_state(json.dumps(data))
    assert state.pending is not None and state.pending.argv == ("caf\\xe9",)


def test_a_schema_1_document_is_recognised_for_migration() -> None:
    with pytest.raises(LegacyDocument):
        state_from_data({"schema": 1, "transactions": []})


def doc(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"schema": 2, "roots": {}, "distributions": {}, "last_id": 0}
    base.update(overrides)
    return base


PENDING = {"id": 1, "command": "install", "status": "pending"}


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        ([], ValueError, "the document has the wrong type (list)"),
        ({}, ValueError, "it has no schema version"),
        (doc(schema="2"), ValueError, "it has no schema version"),
        (doc(schema=False), ValueError, "it has no schema version"),
        (doc(schema=STATE_SCHEMA + 1), ValueError, "newer than this pipguard understands"),
        (doc(schema=0), ValueError, "schema version 0 is not valid"),
        (doc(roots=[]), ValueError, "roots has the wrong type (list)"),
        (doc(roots={"a": "x"}), ValueError, "roots.a has the wrong type (str)"),
        (doc(roots={"a": {"display_name": "a"}}), KeyError, "'name'"),
        (doc(roots={"a": {"name": "a", "display_name": "a", "extras": "x"}}), ValueError,
         "roots.a.extras has the wrong type (str)"),
        (doc(roots={"a": {"name": "a", "display_name": "a", "added_by": 1.5}}), ValueError, "wrong type (float)"),
        (doc(roots={"a": {"name": "a", "display_name": "a", "specifier": ">=>1"}}), ValueError,
         "roots.a.specifier is not a valid version specifier"),
        (doc(roots={"a": {"name": "a", "display_name": "a", "kind": "odd"}}), ValueError, "roots.a.kind is unknown"),
        (doc(standing={}), ValueError, "standing has the wrong type (dict)"),
        (doc(standing=[{"requirement": 1, "source": "s"}]), ValueError, "standing[0].requirement has the wrong type"),
        (doc(standing=[{"requirement": "b<<2", "source": "s"}]), ValueError,
         "standing[0].requirement is not a valid requirement"),
        (doc(standing_files=[{"path": 3}]), ValueError, "standing_files[0].path has the wrong type (int)"),
        (doc(distributions=[]), ValueError, "distributions has the wrong type (list)"),
        (doc(distributions={"a": None}), ValueError, "distributions.a has the wrong type (NoneType)"),
        (doc(last_id=-1), ValueError, "last_id is -1"),
        (doc(last_id="3"), ValueError, "last_id has the wrong type (str)"),
        (doc(last_id=2, pending=PENDING), ValueError, "pending is transaction 1 (pending), but the state's last"),
        (doc(last_id=1, pending={**PENDING, "status": "committed"}), ValueError, "pending is transaction 1"),
        (doc(last_id=1, pending={**PENDING, "id": -1}), ValueError, "pending.id is -1"),
        (doc(last_id=1, pending={**PENDING, "status": "exploded"}), ValueError, "pending.status is unknown"),
        (doc(last_id=1, pending={**PENDING, "argv": "install x"}), ValueError, "pending.argv has the wrong type"),
        (doc(policy="yolo"), ValueError, "policy 'yolo' is unknown"),
        (doc(engine="conda"), ValueError, "engine 'conda' is unknown"),
        (doc(outside="maybe"), ValueError, "outside 'maybe' is unknown"),
        (doc(environment=[]), ValueError, "environment has the wrong type (list)"),
        (doc(environment={"prefix": 1}), ValueError, "environment.prefix has the wrong type"),
        (doc(shim=[]), ValueError, "shim has the wrong type (list)"),
        (doc(said="x"), ValueError, "said has the wrong type (str)"),
    ],
)
def test_each_validation_error_names_what_is_wrong(data: Any, error: type, message: str) -> None:
    with pytest.raises(error) as raised:
        state_from_data(data)
    assert message in str(raised.value)


def test_a_complete_shim_record_with_extra_keys_is_accepted() -> None:
    shim = {"format": 1, "installed_at": "t", "scripts_dir": "/v/bin", "target_python": "/v/bin/python",
            "runner": [], "ledger": None, "originals": "/v/.pipguard/shim-originals",
            "scripts": {"pip": {"sha256": "ab", "mode": "0o755"}, "pip3": {"sha256": "cd", "symlink": "pip"}},
            "pth": {"path": "/v/lib/x.pth"}}
    assert state_from_data(doc(shim=shim)).shim == shim


def test_a_shim_record_of_the_wrong_shape_is_kept_as_data_for_the_shim_to_refuse() -> None:
    """Only ``shim`` (pipguard.shim.record) judges the record: a bad one must not make
    the whole ledger unusable, so installs go on and the shim warns (tests/integration/test_shim.py)."""
    shim = {"runner": "/bin/sh -c x", "scripts": ["pip"], "format": "1"}
    assert state_from_data(doc(shim=shim)).shim == shim


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
keys = st.sampled_from(["schema", "roots", "standing", "standing_files", "distributions", "policy",
                        "environment", "shim", "last_id", "pending", "said", "name", "id", "status"])


@given(data=st.dictionaries(keys, json_values, max_size=6) | json_values)
def test_any_json_document_loads_or_is_refused_cleanly(data: Any) -> None:
    if isinstance(data, dict) and "schema" not in data:
        data["schema"] = 2
    try:
        loaded = state_from_data(data)
    except (ValueError, KeyError):
        pass
    else:
        assert isinstance(loaded, LedgerState)

"""ledger.py: serialisation (round trip, every validation error), the store's
atomic save, stale temporaries, lock and permission refusals."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import filelock
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from pipguard.errors import LedgerError
from pipguard.ledger import (
    ENGINES,
    POLICIES,
    SCHEMA_VERSION,
    STATUSES,
    Change,
    Ledger,
    LedgerStore,
    Root,
    StandingConstraint,
    Transaction,
    check_safe,
    default_ledger_path,
    ledger_from_dict,
    ledger_to_dict,
    ledger_to_json,
)

# -- round trip -----------------------------------------------------------------------

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
plain = text.filter(lambda s: "@" not in s)  # URL credentials are redacted on the way out
names = st.from_regex(r"[a-z][a-z0-9]{0,4}(-[a-z0-9]{1,3})?", fullmatch=True).map(canonicalize_name)
maybe = st.one_of(st.none(), plain)

roots = st.builds(
    Root,
    name=names,
    display_name=plain,
    specifier=plain,
    extras=st.tuples(plain),
    editable=maybe,
    url=maybe,
    added_by=st.integers(0, 99),
    added_at=plain,
    kind=st.sampled_from(["requested", "baseline"]),
)
changes = st.builds(Change, name=names, before=maybe, after=maybe)


@st.composite
def transactions(draw: st.DrawFn) -> tuple[Transaction, ...]:
    count = draw(st.integers(0, 4))
    return tuple(
        Transaction(
            id=i + 1,
            command=draw(plain),
            argv=tuple(draw(st.lists(plain, max_size=3))),
            status=draw(st.sampled_from(STATUSES)),
            started=draw(plain),
            finished=draw(maybe),
            pip_version=draw(maybe),
            policy=draw(plain),
            changes=tuple(draw(st.lists(changes, max_size=2))),
            constraints=tuple(draw(st.lists(plain, max_size=2))),
            reason=draw(plain),
        )
        for i in range(count)
    )


@st.composite
def ledgers(draw: st.DrawFn) -> Ledger:
    root_list = draw(st.lists(roots, max_size=3, unique_by=lambda r: r.name))
    return Ledger(
        environment=draw(st.dictionaries(plain, plain, max_size=2)),
        policy=draw(st.sampled_from(POLICIES)),
        engine=draw(st.sampled_from(ENGINES)),
        roots={r.name: r for r in root_list},
        standing=tuple(
            draw(st.lists(st.builds(StandingConstraint, plain, plain, st.integers(0, 9)), max_size=2))
        ),
        distributions=draw(st.dictionaries(names, plain, max_size=3)),
        transactions=draw(transactions()),
        shim=draw(st.dictionaries(plain, st.one_of(plain, st.booleans(), st.integers()), max_size=2)),
    )


@settings(max_examples=100, deadline=None)
@given(ledgers())
def test_a_ledger_survives_json_and_back_unchanged(ledger: Ledger) -> None:
    document = json.loads(json.dumps(ledger_to_dict(ledger)))
    assert document["schema"] == SCHEMA_VERSION
    assert ledger_from_dict(document) == ledger


def test_credentials_never_reach_the_document_whatever_field_holds_them() -> None:
    secret = "https://user:hunter2@example.invalid/simple"
    ledger = Ledger(
        environment={"index": secret},
        roots={canonicalize_name("g"): Root(canonicalize_name("g"), "g", url=secret, editable=secret)},
        standing=(StandingConstraint(f"g @ {secret}", secret),),
        transactions=(Transaction(1, "install", argv=("-i", secret), reason=f"failed at {secret}"),),
        shim={"nested": [secret, {"k": secret}]},
    )
    dumped = ledger_to_json(ledger)
    assert "hunter2" not in dumped
    assert dumped.count("https://****@example.invalid/simple") == 9
    assert ledger_from_dict(json.loads(dumped)).roots[canonicalize_name("g")].url == (
        "https://****@example.invalid/simple"
    )


@settings(max_examples=100, deadline=None)
@given(ledgers())
def test_the_written_text_is_the_document(ledger: Ledger) -> None:
    assert json.loads(ledger_to_json(ledger)) == json.loads(json.dumps(ledger_to_dict(ledger)))


def test_redacting_the_text_never_joins_two_strings() -> None:
    ledger = Ledger(transactions=(Transaction(1, "install", argv=("a://", "b@c", 'x://"@', "y\\@z")),))
    assert ledger_from_dict(json.loads(ledger_to_json(ledger))) == ledger


# -- every validation error ------------------------------------------------------------


def doc(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"schema": 1, "roots": {}, "distributions": {}, "transactions": []}
    base.update(overrides)
    return base


TXN = {"id": 1, "command": "install", "status": "committed"}


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        ([], ValueError, "the document has the wrong type (list)"),
        ({}, ValueError, "it has no schema version"),
        (doc(schema="1"), ValueError, "it has no schema version"),
        (doc(schema=False), ValueError, "it has no schema version"),
        (doc(schema=SCHEMA_VERSION + 1), ValueError, "newer than this pipguard understands"),
        (doc(schema=-1), ValueError, "schema version -1 is not valid"),
        (doc(roots=[]), ValueError, "roots has the wrong type (list)"),
        (doc(roots={"a": "x"}), ValueError, "roots.a has the wrong type (str)"),
        (doc(roots={"a": {"display_name": "a"}}), KeyError, "'name'"),
        (
            doc(roots={"a": {"name": "a", "display_name": "a", "extras": "x"}}),
            ValueError,
            "roots.a.extras has the wrong type (str)",
        ),
        (
            doc(roots={"a": {"name": "a", "display_name": "a", "added_by": 1.5}}),
            ValueError,
            "wrong type (float)",
        ),
        (doc(standing={}), ValueError, "standing has the wrong type (dict)"),
        (doc(standing=[{"requirement": 1, "source": "s"}]), ValueError, "standing has the wrong type (int)"),
        (doc(distributions=[]), ValueError, "distributions has the wrong type (list)"),
        (doc(distributions={"a": None}), ValueError, "distributions.a has the wrong type (NoneType)"),
        (doc(transactions={}), ValueError, "transactions has the wrong type (dict)"),
        (doc(transactions=[1]), ValueError, "transactions[0] has the wrong type (int)"),
        (doc(transactions=[{**TXN, "id": "1"}]), ValueError, "transactions[0].id has the wrong type (str)"),
        (doc(transactions=[{**TXN, "id": True}]), ValueError, "transactions[0].id has the wrong type (bool)"),
        (doc(transactions=[{**TXN, "status": "exploded"}]), ValueError, "transactions[0].status is unknown"),
        (
            doc(transactions=[{**TXN, "argv": "install x"}]),
            ValueError,
            "transactions[0].argv has the wrong type",
        ),
        (
            doc(transactions=[{**TXN, "changes": {}}]),
            ValueError,
            "transactions[0].changes has the wrong type",
        ),
        (
            doc(transactions=[{**TXN, "changes": [{"name": "a", "before": 1}]}]),
            ValueError,
            "wrong type (int)",
        ),
        (doc(transactions=[{"id": 1, "status": "committed"}]), KeyError, "'command'"),
        (doc(policy="yolo"), ValueError, "policy 'yolo' is unknown"),
        (doc(engine="conda"), ValueError, "engine 'conda' is unknown"),
        (doc(engine=1), ValueError, "engine has the wrong type (int)"),
        (doc(environment=[]), ValueError, "environment has the wrong type (list)"),
        (doc(shim=[]), ValueError, "shim has the wrong type (list)"),
    ],
)
def test_each_validation_error_names_what_is_wrong(data: Any, error: type, message: str) -> None:
    with pytest.raises(error) as raised:
        ledger_from_dict(data)
    assert message in str(raised.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
keys = st.sampled_from(
    [
        "schema",
        "roots",
        "standing",
        "distributions",
        "transactions",
        "policy",
        "engine",
        "environment",
        "shim",
        "name",
        "display_name",
        "id",
        "status",
        "changes",
    ]
)


@settings(max_examples=150, deadline=None)
@given(data=st.dictionaries(keys, json_values, max_size=6) | json_values)
def test_any_json_document_loads_or_is_refused_cleanly(
    data: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if isinstance(data, dict) and "schema" not in data:
        data["schema"] = 1
    path = tmp_path_factory.mktemp("fuzz") / "ledger.json"
    path.write_text(json.dumps(data))
    try:
        loaded = LedgerStore(path).load()
    except LedgerError as exc:
        assert "is unusable" in str(exc) and str(path) in str(exc)
    else:
        assert isinstance(loaded, Ledger)


# -- the store ------------------------------------------------------------------------


def sample() -> Ledger:
    return Ledger(transactions=(Transaction(1, "baseline", status="committed"),))


def test_save_then_load_round_trips_with_no_temporary_left(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "deep" / "ledger.json")
    assert store.load() is None and not store.exists()
    store.save(sample())
    assert store.load() == sample()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o644
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["ledger.json"]


def test_taking_the_lock_removes_only_this_ledgers_stale_temporaries(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "ledger.json")
    store.save(sample())
    stale = tmp_path / ".ledger.json.abc123.tmp"
    stale.write_text('{"half": ')
    others = [tmp_path / ".other.json.abc123.tmp", tmp_path / ".ledger.json.keep"]
    for other in others:
        other.write_text("x")
    with store.locked():
        assert not stale.exists()
    assert all(other.exists() for other in others)


def test_a_lock_held_elsewhere_times_out_with_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = LedgerStore(tmp_path / "ledger.json", lock_timeout=0.2)
    holder = filelock.FileLock(str(store.lock_path))
    with holder, pytest.raises(LedgerError) as raised, store.locked():
        pass
    assert f"timed out after 0.2 s waiting for the lock {store.lock_path}" in str(raised.value)
    assert "--lock-timeout" in str(raised.value)
    assert "waiting for another pipguard run" in capsys.readouterr().err


def test_the_lock_is_free_again_after_an_exception(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "ledger.json", lock_timeout=0.2)
    with pytest.raises(RuntimeError), store.locked():
        raise RuntimeError("boom")
    with store.locked():
        pass


def test_an_impossible_ledger_directory_is_a_ledger_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    store = LedgerStore(tmp_path / "file" / "ledger.json")
    with pytest.raises(LedgerError, match="cannot create the ledger directory"):
        store.save(sample())
    with pytest.raises(LedgerError, match="cannot create the ledger directory"), store.locked():
        pass


@pytest.mark.parametrize(
    ("which", "mode", "refused"),
    [
        ("file", 0o644, False),
        ("file", 0o600, False),
        ("file", 0o664, True),
        ("file", 0o606, True),
        ("dir", 0o755, False),
        ("dir", 0o775, True),
        ("dir", 0o777, True),
        ("dir", 0o1777, False),  # sticky, like /tmp
    ],
)
def test_check_safe_modes(tmp_path: Path, which: str, mode: int, refused: bool) -> None:
    directory = tmp_path / "d"
    directory.mkdir(mode=0o755)
    ledger = directory / "ledger.json"
    ledger.write_text("{}")
    ledger.chmod(0o644)
    os.chmod(ledger if which == "file" else directory, mode)
    if refused:
        with pytest.raises(LedgerError, match="refusing the ledger"):
            check_safe(ledger)
    else:
        check_safe(ledger)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="ownership refusal applies to root"
)
@pytest.mark.parametrize("which", ["file", "dir"])
def test_check_safe_as_root_refuses_what_another_user_owns(tmp_path: Path, which: str) -> None:
    directory = tmp_path / "d"
    directory.mkdir(mode=0o755)
    ledger = directory / "ledger.json"
    ledger.write_text("{}")
    os.chown(ledger if which == "file" else directory, 4242, 4242)
    with pytest.raises(LedgerError, match="owned by user id 4242"):
        check_safe(ledger)


def test_default_ledger_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_ledger_path("/v", True) == Path("/v/.pipguard/ledger.json")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert default_ledger_path("/usr", False) == Path("/var/lib/pipguard/usr/ledger.json")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_STATE_HOME", "/state")
    assert default_ledger_path("/opt/py", False) == Path("/state/pipguard/opt_py/ledger.json")

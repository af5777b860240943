"""Text, JSON and JUnit rendering (pure)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from packaging.utils import NormalizedName, canonicalize_name

from pipguard.cli.render import (
    JSON_SCHEMA,
    Case,
    check_cases,
    check_json,
    history_json,
    history_json_chunks,
    history_text,
    junit_xml,
    ledger_json,
    ledger_text,
    table,
    transaction_detail,
    why_json,
    why_text,
)
from pipguard.core.health import assess
from pipguard.core.model import Change, Distribution, LedgerState, Root, Transaction
from pipguard.core.views import history_view, ledger_view, why


def n(name: str) -> NormalizedName:
    return canonicalize_name(name)


REJECTION = (
    "pipguard: not installing E: it would break earlier projects.\n"
    "  A 1.0 needs b<2.0,>1.0; this install would bring b 2.5 (E 1.0 needs B>=2.0).\n"
    "Nothing was changed."
)
LEDGER = LedgerState(
    roots={n("a"): Root(n("a"), "A", added_by=2),
           n("web"): Root(n("web"), "web", url="https://bob:hunter2@example.com/web.whl", added_by=3)},
    distributions={n("a"): "1.0", n("b"): "1.5", n("web"): "0.1"},
    last_id=4,
)
TRANSACTIONS = (
    Transaction(1, "baseline", status="committed", started="2025-01-01T00:00:00Z"),
    Transaction(2, "install", ("install", "A"), status="committed", started="2025-01-01T00:01:00Z",
                changes=(Change(n("a"), None, "1.0"), Change(n("b"), None, "1.5"))),
    Transaction(3, "install", ("install", "--index-url", "https://bob:hunter2@example.com/simple", "web"),
                status="committed", started="2025-01-01T00:02:00Z"),
    Transaction(4, "install", ("install", "E"), status="rejected", started="2025-01-01T00:03:00Z",
                reason=REJECTION),
)
STATE = {n("a"): Distribution(n("a"), "1.0", ("B>1.0,<2.0",), "A"),
         n("b"): Distribution(n("b"), "2.0", (), "B"),
         n("web"): Distribution(n("web"), "0.1", (), "web")}


def test_table_aligns_columns_and_does_not_pad_the_last() -> None:
    assert table(["N", "VERSION"], [["a", "1.0"], ["long", "2"]]) == [
        "N     VERSION", "a     1.0", "long  2"]


def test_ledger_text_is_aligned_and_redacted() -> None:
    text = ledger_text(ledger_view(LEDGER, {n("a"): "1.0", n("web"): "0.1"}, "/l", True))
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "REQUIREMENT", "INSTALLED", "ADDED", "BY", "SOURCE"]
    assert lines[1].split() == ["a", "A", "1.0", "2"]
    assert lines[0].index("INSTALLED") == lines[1].index("1.0")
    assert "hunter2" not in text and "****@example.com" in text


def test_ledger_json_has_schema_and_documented_keys() -> None:
    doc = ledger_json(ledger_view(LEDGER, {n("a"): "1.0"}, "/l", True))
    assert doc["schema"] == JSON_SCHEMA and doc["kind"] == "ledger"
    root = doc["roots"][0]
    assert set(root) >= {"name", "requirement", "specifier", "extras", "editable", "url", "installed",
                         "recorded", "satisfied", "added_by", "added_at", "kind"}
    assert "hunter2" not in json.dumps(doc)


def test_history_text_shows_changes_rejection_reason_and_redacts() -> None:
    installed = {**LEDGER.distributions, n("b"): "2.0"}
    text = history_text(history_view(TRANSACTIONS, LEDGER, installed, "/l", True, first_id=1))
    assert "hunter2" not in text and "https://****@example.com/simple" in text
    assert "      a: (none) -> 1.0" in text
    assert "rejected" in text and "not installing E: it would break earlier projects." in text
    assert "unrecorded" in text and "b: 1.5 -> 2.0" in text


def test_history_json_redacts_and_carries_the_reason() -> None:
    doc = history_json(history_view(TRANSACTIONS, LEDGER, LEDGER.distributions, "/l", True, first_id=1))
    assert doc["schema"] == JSON_SCHEMA and doc["last_id"] == 4 and doc["total"] == 4
    assert [t["status"] for t in doc["transactions"]] == ["committed", "committed", "committed", "rejected"]
    assert doc["transactions"][3]["reason"] == REJECTION
    assert "hunter2" not in json.dumps(doc)


def test_transaction_detail_lists_everything() -> None:
    text = transaction_detail(TRANSACTIONS[1])
    assert text.startswith("transaction 2\n")
    assert "command:" in text and "    b: (none) -> 1.5" in text


def test_why_text_and_json() -> None:
    result = why("b", STATE, LEDGER.roots, (), {"python_version": "3.11"})
    text = why_text(result)
    assert text.startswith("b 2.0 is installed; 1 requirement on it, merged: b<2.0,>1.0 (NOT met).")
    assert "A (root) -> A 1.0 needs b<2.0,>1.0" in text
    doc = why_json(result)
    assert doc["schema"] == JSON_SCHEMA and doc["merged_specifier"] == "<2.0,>1.0"
    assert doc["required_by"][0]["satisfied"] is False


def test_junit_xml_parses_with_counts_and_failures() -> None:
    xml = junit_xml("suite", [Case("c", "ok"), Case("c", "bad <one>", "it broke", "details\nhere\x01")])
    root = ET.fromstring(xml.split("\n", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "it broke" and failure.text == "details\nhere?"
    assert cases[1].get("name") == "bad <one>"


def test_check_cases_one_per_root_and_per_problem() -> None:
    result = assess(STATE, LEDGER, {"python_version": "3.11"}, ledger_path="/l", has_ledger=True)
    cases = check_cases(result)
    assert [(c.classname, c.failure is not None) for c in cases] == [
        ("pipguard.roots", True),  # a: its requirement on b is broken
        ("pipguard.roots", False),  # web
        ("pipguard.problems.unsatisfied-requirement", True),
        ("pipguard.problems.drift", True),
    ]
    doc = check_json(result)
    assert doc["schema"] == JSON_SCHEMA and doc["ok"] is False
    assert [p["kind"] for p in doc["problems"]] == ["unsatisfied-requirement", "drift"]


def test_check_cases_are_never_empty() -> None:
    result = assess({}, LedgerState(), {}, ledger_path="/l", has_ledger=True)
    assert [c.name for c in check_cases(result)] == ["environment consistent"]


def test_history_json_streamed_is_the_same_document() -> None:
    for shown in (TRANSACTIONS, (), TRANSACTIONS[:1]):
        view = history_view(shown, LEDGER, {**LEDGER.distributions, n("b"): "2.0"}, "/l", True, first_id=1)
        streamed = json.loads("".join(history_json_chunks(view)))
        again = history_view(shown, LEDGER, {**LEDGER.distributions, n("b"): "2.0"}, "/l", True, first_id=1)
        assert streamed == history_json(again)


def test_history_list_is_printed_in_fixed_columns_as_it_is_read() -> None:
    lines = history_text(history_view(iter(TRANSACTIONS), LEDGER, LEDGER.distributions, "/l", True)).splitlines()
    assert lines[0] == "ID  STARTED               STATUS       COMMAND"
    assert lines[1] == "1   2025-01-01T00:00:00Z  committed    baseline"


PASSWORDS = ["S\u00c9KRIT30", 'SEK"RIT', "SEK\\RIT", "p%40SEKRIT"]


def test_check_json_never_shows_a_password_whatever_its_characters() -> None:
    for password in PASSWORDS:
        reason = f"not installing E @ http://u:{password}@host/e.whl"
        failed = Transaction(5, "install", (f"E @ http://u:{password}@host/e.whl",), status="rejected",
                             reason=reason)
        result = assess({}, LedgerState(last_id=5), {}, ledger_path="/l", has_ledger=True, since=0,
                        later=[failed])
        text = json.dumps(check_json(result), ensure_ascii=False)
        assert password not in text and json.dumps(password)[1:-1] not in text
        assert "http://****@host/e.whl" in text


def test_history_of_an_argument_with_a_non_utf8_byte_prints_on_a_strict_terminal() -> None:
    odd = Transaction(1, "install", ("install", "caf\udce9"), status="committed")
    text = history_text(history_view((odd,), LedgerState(last_id=1), {}, "/l", True, first_id=1))
    text.encode("utf-8")  # raises if a lone surrogate got through
    assert "caf\\xe9" in text

"""ledger, why, history, export on an environment with real history.

The history, made once for the module with real pip: A (b 1.8), C (re-planned
to 1.0, through an index URL with credentials), D[x] (b down to 1.5), E
(rejected, exit 10), then plain pip moves b to 2.0 behind pipguard's back.
The inspection commands only read, so every test shares it.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import Pipguard, combined, make_venv

# the module's storied ledger is made once, on one worker
pytestmark = pytest.mark.xdist_group("inspection")

SECRET = "s3cr3t-token"


@pytest.fixture(scope="module")
def storied(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Pipguard:
    guard = Pipguard(make_venv(tmp_path_factory.mktemp("storied") / "venv"), [wheelhouse])
    steps = [
        ("A",),
        ("--extra-index-url", f"https://ci:{SECRET}@example.invalid/simple", "C"),
        ("D[x]",),
    ]
    for step in steps:
        result = guard.install(*step)
        assert result.returncode == 0, combined(result)
    rejected = guard.install("E")
    assert rejected.returncode == 10, combined(rejected)
    plain = guard.pip_install("b==2.0")
    assert plain.returncode == 0, plain.stderr
    return guard


def _json(result: object) -> dict:  # type: ignore[type-arg]
    assert getattr(result, "returncode", None) == 0, combined(result)  # type: ignore[arg-type]
    return json.loads(result.stdout)  # type: ignore[attr-defined,no-any-return]


# -- ledger ------------------------------------------------------------------------


def test_ledger_lists_roots_aligned_with_installed_version_and_transaction(storied: Pipguard) -> None:
    result = storied.run("ledger")
    assert result.returncode == 0, combined(result)
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "REQUIREMENT", "INSTALLED"]
    assert [line.split() for line in lines[1:]] == [["a", "A", "1.0", "2"], ["c", "C", "1.0", "3"],
                                                   ["d", "D[x]", "1.0", "4"]]
    assert lines[0].index("INSTALLED") == lines[3].index("1.0")
    assert "3 roots" in result.stderr


def test_ledger_json_has_schema_and_the_roots(storied: Pipguard) -> None:
    doc = _json(storied.run("ledger", "--json"))
    assert doc["schema"] == 1 and doc["kind"] == "ledger" and doc["has_ledger"] is True
    assert [(r["name"], r["extras"], r["installed"], r["added_by"]) for r in doc["roots"]] == [
        ("a", [], "1.0", 2), ("c", [], "1.0", 3), ("d", ["x"], "1.0", 4)]


def test_ledger_of_a_new_environment_says_there_is_none(guard: Pipguard) -> None:
    result = guard.run("ledger")
    assert result.returncode == 0 and result.stdout == ""
    assert "no ledger yet" in result.stderr
    assert not guard.venv.ledger_path.exists()  # reading did not start one


# -- why -----------------------------------------------------------------------------


def test_why_names_every_requirer_the_chains_and_the_merged_specifier(storied: Pipguard) -> None:
    result = storied.run("why", "B")
    assert result.returncode == 0, combined(result)
    out = result.stdout
    assert out.startswith(
        "b 2.0 is installed; 3 requirements on it, merged: b<1.8,<2.0,>1.0,>=1.0 (NOT met).")
    assert [line.split() for line in out.splitlines() if line.startswith(("A 1.0", "C 1.0", "D 1.0"))] == [
        ["A", "1.0", "b<2.0,>1.0", "no"], ["C", "1.0", "b>=1.0", "yes"], ["D", "1.0", "b<1.8", "no"]]
    assert "A (root) -> A 1.0 needs b<2.0,>1.0" in out
    assert "D[x] (root) -> D 1.0 needs b<1.8" in out


def test_why_json(storied: Pipguard) -> None:
    doc = _json(storied.run("why", "b", "--json"))
    assert doc["schema"] == 1 and doc["kind"] == "why"
    assert doc["installed"] == "2.0" and doc["satisfied"] is False
    assert doc["merged_specifier"] == "<1.8,<2.0,>1.0,>=1.0"
    assert [(r["by"], r["version"], r["specifier"], r["satisfied"]) for r in doc["required_by"]] == [
        ("a", "1.0", "<2.0,>1.0", False), ("c", "1.0", ">=1.0", True), ("d", "1.0", "<1.8", False)]
    assert [c["root"] for c in doc["chains"]] == ["a", "c", "d"]


def test_why_says_plainly_when_nothing_needs_it(storied: Pipguard) -> None:
    result = storied.run("why", "pip")
    assert result.returncode == 0
    assert result.stdout.startswith("Nothing needs pip: pip ")


def test_why_of_an_unknown_name_fails_with_a_hint(storied: Pipguard) -> None:
    result = storied.run("why", "bb")
    assert result.returncode == 2
    assert result.stderr.startswith("pipguard why: bb is not installed, not a root, and nothing installed "
                                    "requires it. Did you mean b?")
    assert "Traceback" not in result.stderr


def test_why_refuses_a_requirement_instead_of_a_name(storied: Pipguard) -> None:
    result = storied.run("why", "b>=1")
    assert result.returncode == 2 and "'b>=1' is not a distribution name" in result.stderr


# -- history -----------------------------------------------------------------------


def test_history_shows_changes_rejection_and_drift_with_credentials_redacted(storied: Pipguard) -> None:
    result = storied.run("history")
    assert result.returncode == 0, combined(result)
    out = result.stdout
    rows = [line.split()[:3] for line in out.splitlines() if line[:1].isdigit()]
    assert [(r[0], r[2]) for r in rows] == [("1", "committed"), ("2", "committed"), ("3", "committed"),
                                            ("4", "committed"), ("5", "rejected")]
    assert "      b: (none) -> 1.8" in out
    assert "      b: 1.8 -> 1.5" in out  # D[x] moved b down
    assert "not installing E: it would break earlier projects." in out
    assert "unrecorded" in out and "      b: 1.5 -> 2.0" in out
    assert SECRET not in out and "https://****@example.invalid/simple" in out


def test_history_json(storied: Pipguard) -> None:
    doc = _json(storied.run("history", "--json"))
    assert doc["schema"] == 1 and doc["kind"] == "history" and doc["last_id"] == 5
    statuses = [t["status"] for t in doc["transactions"]]
    assert statuses == ["committed"] * 4 + ["rejected"]
    rejected = doc["transactions"][4]
    assert rejected["changes"] == [] and "would break earlier projects" in rejected["reason"]
    assert doc["unrecorded"] == [{"name": "b", "before": "1.5", "after": "2.0"}]
    assert SECRET not in json.dumps(doc)


def test_history_n_shows_one_transaction_in_full(storied: Pipguard) -> None:
    result = storied.run("history", "5")
    assert result.returncode == 0
    assert result.stdout.startswith("transaction 5\n")
    assert "status:    rejected" in result.stdout and "Nothing was changed." in result.stdout
    doc = _json(storied.run("history", "4", "--json"))
    assert [t["id"] for t in doc["transactions"]] == [4]
    assert {"name": "d", "before": None, "after": "1.0"} in doc["transactions"][0]["changes"]


def test_history_last_k(storied: Pipguard) -> None:
    doc = _json(storied.run("history", "--last", "2", "--json"))
    assert [t["id"] for t in doc["transactions"]] == [4, 5]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["42"], "there is no transaction 42 in the ledger"),
        (["x"], "N must be a transaction number (1, 2, ...), not 'x'"),
        (["0"], "N must be a transaction number (1, 2, ...), not '0'"),
        (["--last", "two"], "--last needs a number of transactions, not 'two'"),
    ],
)
def test_history_bad_n_is_refused(storied: Pipguard, args: list[str], message: str) -> None:
    result = storied.run("history", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


# -- export ------------------------------------------------------------------------


def test_export_of_a_broken_environment_warns(storied: Pipguard) -> None:
    result = storied.run("export")
    assert result.returncode == 0
    lines = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    assert lines == ["a==1.0", "b==2.0", "c==1.0", "d==1.0"]
    assert "# WARNING: 'pipguard check' finds" in result.stdout
    assert "warning" in result.stderr


def test_export_json_carries_the_ledgers_current_state(storied: Pipguard) -> None:
    doc = _json(storied.run("export", "--json"))
    assert doc["schema"] == 1 and doc["kind"] == "export"
    assert [c["line"] for c in doc["constraints"]] == ["a==1.0", "b==2.0", "c==1.0", "d==1.0"]
    assert doc["ledger"]["schema"] == 2 and set(doc["ledger"]["roots"]) == {"a", "c", "d"}
    assert doc["ledger"]["last_id"] == 5 and "transactions" not in doc["ledger"]  # those are in the journal
    assert "drift" in [p["kind"] for p in doc["problems"]]
    assert SECRET not in json.dumps(doc)


def test_exported_constraints_make_pip_choose_known_good_versions(guard: Pipguard, tmp_path: Path) -> None:
    assert guard.install("G==1.0").returncode == 0
    result = guard.run("export")
    assert result.returncode == 0 and "warning" not in result.stderr
    known_good = tmp_path / "known-good.txt"
    known_good.write_text(result.stdout)
    report = tmp_path / "report.json"
    plain = guard.venv.pip("install", "--dry-run", "--ignore-installed", "--report", str(report), "-q",
                           *guard.index_args(), "-c", str(known_good), "G")
    assert plain.returncode == 0, plain.stderr
    chosen = {item["metadata"]["name"].lower(): item["metadata"]["version"]
              for item in json.loads(report.read_text())["install"]}
    assert chosen["g"] == "1.0"  # 1.2 is newest; the constraints file held it


# -- read only ---------------------------------------------------------------------


def test_inspection_commands_do_not_write_the_ledger(storied: Pipguard) -> None:
    path = storied.venv.ledger_path
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    for args in (["ledger"], ["why", "b"], ["history"], ["history", "2"], ["export", "--json"], ["check"]):
        storied.run(*args)
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before
    assert "drift" not in [t["status"] for t in storied.venv.transactions()]



# -- check ---------------------------------------------------------------------------


def test_check_reports_drift_by_plain_pip_and_what_it_broke(storied: Pipguard) -> None:
    result = storied.run("check")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "unsatisfied requirement: D 1.0 needs b<1.8, but b 2.0 is installed",
        "unsatisfied requirement: A 1.0 needs b<2.0,>1.0, but b 2.0 is installed",
        "changed outside pipguard: b: 1.5 -> 2.0",
    ]
    assert "pipguard check: 3 problems found." in result.stderr


def test_check_json(storied: Pipguard) -> None:
    result = storied.run("check", "--json")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert doc["schema"] == 1 and doc["kind"] == "check" and doc["ok"] is False
    assert [(r["name"], r["ok"]) for r in doc["roots"]] == [("a", False), ("c", True), ("d", False)]
    assert [(p["kind"], p["name"]) for p in doc["problems"]] == [
        ("unsatisfied-requirement", "b"), ("unsatisfied-requirement", "b"), ("drift", "b")]


def test_check_junit_has_a_case_per_root_and_per_problem(storied: Pipguard, tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    result = storied.run("check", "--junit", str(report))
    assert result.returncode == 1
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("6", "5")
    cases = [(c.get("classname"), c.get("name"), c.find("failure") is not None)
             for c in suite.iter("testcase")]
    assert cases[:3] == [("pipguard.roots", "A", True), ("pipguard.roots", "C", False),
                         ("pipguard.roots", "D[x]", True)]
    assert ("pipguard.problems.drift", "b changed outside pipguard", True) in cases
    failure = suite.find("testcase/failure")
    assert failure is not None and "b<2.0,>1.0" in (failure.get("message") or "")


def test_check_since_reports_the_rejection(storied: Pipguard) -> None:
    doc = json.loads(storied.run("check", "--since", "4", "--json").stdout)
    rejected = [p for p in doc["problems"] if p["kind"] == "rejected"]
    assert [(p["transaction"], p["subject"]) for p in rejected] == [(5, "transaction 5 rejected")]
    assert "would break earlier projects" in rejected[0]["detail"]
    later = json.loads(storied.run("check", "--since", "5", "--json").stdout)
    assert "rejected" not in [p["kind"] for p in later["problems"]]


def test_ledger_shows_an_editable_root_with_its_path(guard: Pipguard, make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project("Plug", "0.1", ["B>=1.0"])
    result = guard.install("-e", str(project))
    assert result.returncode == 0, combined(result)
    listing = guard.run("ledger")
    (row,) = [line for line in listing.stdout.splitlines() if line.startswith("plug")]
    assert row.split()[:5] == ["plug", "Plug", "0.1", "2", "editable"]
    assert row.endswith(project.as_uri())
    (root,) = [r for r in json.loads(guard.run("ledger", "--json").stdout)["roots"] if r["name"] == "plug"]
    assert root["editable"] == project.as_uri() and root["url"] is None
    chain = json.loads(guard.run("why", "b", "--json").stdout)["chains"]
    assert [c["text"] for c in chain] == ["Plug (root) -> Plug 0.1 needs b>=1.0"]

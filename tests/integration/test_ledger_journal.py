"""The ledger in two parts, end to end: migration of a schema-1 ledger, history and
rollback after compaction, a symlinked ledger (written through; dangling: refused),
a ledger used for the wrong environment, arguments that are not UTF-8."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipguard.cli.main import EXIT_LEDGER, EXIT_USAGE
from tests.conftest import REPO, Pipguard, combined, journal_transactions, make_venv, scrubbed_env

pytestmark = pytest.mark.integration


def files_of(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())
            if p.is_file() and not p.name.endswith((".lock", ".probe-cache", ".probe-cache-needs"))}


def as_schema1(guard: Pipguard) -> dict[str, Any]:
    """The environment's ledger as the single document earlier pipguard versions wrote."""
    state = guard.venv.ledger()
    transactions = []
    for txn in guard.venv.transactions():
        record = {key: value for key, value in txn.items() if key not in ("v", "kind", "roots", "engine",
                                                                       "standing", "standing_files")}
        transactions.append(record)
    return {"schema": 1, "environment": state["environment"], "policy": state["policy"],
            "roots": state["roots"], "standing": state["standing"], "distributions": state["distributions"],
            "transactions": transactions, "shim": state["shim"]}


# -- migration --------------------------------------------------------------------------


def test_a_schema_1_ledger_is_read_as_it_is_then_migrated_by_the_next_install(guard: Pipguard) -> None:
    assert guard.install("A").returncode == 0
    assert guard.install("G==1.0").returncode == 0
    old = as_schema1(guard)
    directory = guard.venv.ledger_path.parent
    guard.venv.journal_path.unlink()
    guard.venv.ledger_path.write_text(json.dumps(old))
    original = guard.venv.ledger_path.read_bytes()

    for args in (["check"], ["history"], ["ledger"]):
        result = guard.run(*args)
        assert result.returncode == 0, combined(result)
        assert "schema 1" in result.stderr and "read as it is" in result.stderr
    assert guard.run("history", "3").stdout.startswith("transaction 3\n")
    assert files_of(directory) == {"ledger.json": original}, "reading never migrates"

    result = guard.install("-U", "G")
    assert result.returncode == 0, combined(result)
    assert result.stderr.count("migrated the ledger") == 1
    assert "3 transactions moved to the journal" in result.stderr
    backup = directory / "ledger.json.schema1.bak"
    assert backup.read_bytes() == original and str(backup) in result.stderr
    state = guard.venv.ledger()
    assert state["schema"] == 2 and state["last_id"] == 4 and state["roots"]["g"]["specifier"] == ""
    assert [(t["id"], t["command"]) for t in guard.venv.transactions()] == [
        (1, "baseline"), (2, "install"), (3, "install"), (4, "install")]
    assert "migrated" not in guard.install("C").stderr  # once

    rolled = guard.run("rollback", "3", *guard.index_args())  # through migrated history
    assert rolled.returncode == 0, combined(rolled)
    assert guard.venv.versions()["g"] == "1.0" and "c" not in guard.venv.versions()
    assert "c" not in guard.venv.ledger()["roots"]
    assert guard.run("check").returncode == 0


@pytest.mark.parametrize(("ids", "message"), [([1, 3, 2], "not strictly increasing"),
                                              ([-1, -2], "transaction ids are positive")])
def test_a_schema_1_ledger_with_bad_ids_is_refused_and_left_untouched(
        guard: Pipguard, ids: list[int], message: str) -> None:
    assert guard.install("A").returncode == 0
    old = as_schema1(guard)
    old["transactions"] = [{**old["transactions"][0], "id": i} for i in ids]
    guard.venv.journal_path.unlink()
    guard.venv.ledger_path.write_text(json.dumps(old))
    before = files_of(guard.venv.ledger_path.parent)
    for args in (["install", *guard.index_args(), "G"], ["check"], ["history"]):
        result = guard.run(*args)
        assert result.returncode == EXIT_LEDGER and message in result.stderr, combined(result)
    assert files_of(guard.venv.ledger_path.parent) == before
    assert "g" not in guard.venv.versions()


# -- compaction ----------------------------------------------------------------------------


def test_history_and_rollback_after_compaction(guard: Pipguard) -> None:
    for args in (["A"], ["G==1.0"], ["-U", "G"], ["C"]):
        assert guard.install(*args).returncode == 0
    assert [t["id"] for t in guard.venv.transactions()] == [1, 2, 3, 4, 5]
    result = guard.run("history", "--compact", "4")
    assert result.returncode == 0, combined(result)
    assert "transactions 1-3 are now a summary of the state after 3" in result.stderr
    first = json.loads(guard.venv.journal_path.read_text().splitlines()[0])
    assert (first["kind"], first["id"], first["distributions"]["g"]) == ("summary", 3, "1.0")

    listed = guard.run("history")
    assert listed.returncode == 0 and "transactions 1-3 were compacted" in listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines() if line[:1].isdigit()] == ["4", "5"]
    doc = json.loads(guard.run("history", "--json").stdout)
    assert doc["compacted"]["last"] == 3 and [t["id"] for t in doc["transactions"]] == [4, 5]
    gone = guard.run("history", "2")
    assert gone.returncode == EXIT_USAGE and "transaction 2 was compacted away" in gone.stderr
    refused = guard.run("rollback", "2", *guard.index_args())
    assert refused.returncode == EXIT_USAGE and "The earliest point to roll back to is 3" in refused.stderr
    since = guard.run("check", "--since", "1")
    assert since.returncode == EXIT_USAGE and "give --since 3 or later" in since.stderr

    rolled = guard.run("rollback", "3", *guard.index_args())
    assert rolled.returncode == 0, combined(rolled)
    assert guard.venv.versions()["g"] == "1.0" and "c" not in guard.venv.versions()
    assert guard.run("check").returncode == 0
    assert guard.run("history", "--compact", "2").stderr.startswith("pipguard: nothing to compact")


# -- where the ledger is ----------------------------------------------------------------------


def test_a_symlinked_ledger_is_written_through(guard: Pipguard, tmp_path: Path) -> None:
    assert guard.install("A").returncode == 0
    real = tmp_path / "kept"
    shutil.move(str(guard.venv.ledger_path.parent), str(real))
    guard.venv.ledger_path.parent.mkdir()
    guard.venv.ledger_path.symlink_to(real / "ledger.json")
    result = guard.install("G")
    assert result.returncode == 0, combined(result)
    assert guard.venv.ledger_path.is_symlink()
    assert "g" in json.loads((real / "ledger.json").read_text())["roots"]
    assert [t["command"] for t in journal_transactions(real / "ledger.journal.jsonl")][-1] == "install"
    assert guard.run("history", "--last", "1").stdout.splitlines()[1].startswith("3 ")


def test_a_dangling_symlinked_ledger_is_refused_never_a_fresh_one(guard: Pipguard, tmp_path: Path) -> None:
    assert guard.install("A").returncode == 0
    share = tmp_path / "share"  # an unmounted share: the link points nowhere
    shutil.rmtree(guard.venv.ledger_path.parent)
    guard.venv.ledger_path.parent.symlink_to(share)
    for args in (["install", *guard.index_args(), "G"], ["check"], ["ledger"]):
        result = guard.run(*args)
        assert result.returncode == EXIT_LEDGER, combined(result)
        assert "which does not exist (an unmounted share?)" in result.stderr
    assert not share.exists() and "g" not in guard.venv.versions()


def test_a_ledger_used_for_another_environment_is_refused_unless_it_moved(
        guard: Pipguard, tmp_path: Path) -> None:
    assert guard.install("A").returncode == 0
    other = Pipguard(make_venv(tmp_path / "other"), guard.find_links)
    before = files_of(guard.venv.ledger_path.parent)
    borrowed = {"PIPGUARD_LEDGER": str(guard.venv.ledger_path)}
    for args in (["install", *other.index_args(), "G"], ["check"], ["history"]):
        result = other.run(*args, env=borrowed)
        assert result.returncode == EXIT_LEDGER, combined(result)
        assert f"belongs to the environment {guard.venv.path}, not to {other.venv.path}" in result.stderr
        assert "adopt --moved" in result.stderr
    assert files_of(guard.venv.ledger_path.parent) == before and "g" not in other.venv.versions()

    moved = tmp_path / "moved"
    shutil.copytree(guard.venv.path, moved, symlinks=True)
    copy = Pipguard(make_venv(moved), guard.find_links)  # the copy, made to work where it now is
    refused = copy.run("check")
    assert refused.returncode == EXIT_LEDGER and "adopt --moved" in refused.stderr
    adopted = copy.run("adopt", "--moved")
    assert adopted.returncode == 0, combined(adopted)
    assert f"was recorded for {guard.venv.path}; it now belongs to {moved}" in adopted.stderr
    assert copy.run("check").returncode == 0
    assert copy.install("G").returncode == 0


# -- arguments that are not text -----------------------------------------------------------------


def test_an_argument_that_is_not_utf8_is_recorded_as_text_and_history_prints(guard: Pipguard, tmp_path: Path) -> None:
    cache = os.path.join(os.fsencode(tmp_path), b"caf\xe9")  # a path pip uses without printing it
    cmd = [os.fsencode(sys.executable), b"-m", b"pipguard", b"--python", os.fsencode(guard.venv.python),
           b"install", b"--no-index", *(arg for link in guard.find_links for arg in (b"-f", os.fsencode(link))),
           b"--cache-dir", cache, b"G"]
    result = subprocess.run(cmd, capture_output=True, env=scrubbed_env(), cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert guard.venv.transactions()[-1]["argv"][-2].endswith("caf\\xe9")
    for args in (["history"], ["history", "2"], ["history", "--json"], ["check", "--since", "0", "--json"]):
        shown = guard.run(*args, env={"PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8"})
        assert shown.returncode == 0 and "Traceback" not in shown.stderr, combined(shown)
    assert "caf\\xe9" in guard.run("history", "2").stdout


def test_a_corrupt_line_in_the_middle_of_the_journal_is_named_by_what_reads_it(guard: Pipguard) -> None:
    for args in (["A"], ["G==1.0"], ["-U", "G"]):
        assert guard.install(*args).returncode == 0
    lines = guard.venv.journal_path.read_text().splitlines()
    lines[2] = lines[2][: len(lines[2]) // 2]  # a damaged line, not the last one
    guard.venv.journal_path.write_text("\n".join(lines) + "\n")
    before = guard.venv.journal_path.read_bytes()
    for args in (["history"], ["history", "--since", "1"], ["rollback", "2", *guard.index_args()]):
        result = guard.run(*args)
        assert result.returncode == EXIT_LEDGER, combined(result)
        assert f"the ledger's journal {guard.venv.journal_path} is unusable: line 3:" in result.stderr
        assert "Traceback" not in result.stderr
    assert guard.venv.journal_path.read_bytes() == before
    # What needs only the state (and the journal's last lines) still works; check reports the
    # damaged line (issue 19.6: the CI guard no longer passes while rollback is impossible).
    checked = guard.run("check")
    assert checked.returncode == 1 and "unreadable line 3" in checked.stdout, combined(checked)
    for args in (["ledger"], ["history", "--last", "2"]):
        assert guard.run(*args).returncode == 0
    assert guard.install("C").returncode == 0

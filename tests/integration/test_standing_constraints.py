"""Standing constraints: remembered, listed, applied to later installs without -c, forgotten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, Pipguard, combined


@pytest.fixture
def guard(engine_guard: Pipguard) -> Pipguard:
    """Every test here runs under both engines: the verdicts, messages and ledger are the same."""
    return engine_guard


REAL_UPPER_CONSTRAINTS = REPO.parent / "shared" / "data" / "upper-constraints.txt"


def upper_constraints(path: Path, *synthetic: str) -> Path:
    """An upper-constraints-shaped file: real OpenStack lines when available, plus synthetic pins."""
    real = []
    if REAL_UPPER_CONSTRAINTS.exists():
        real = REAL_UPPER_CONSTRAINTS.read_text().splitlines()[:60]
    else:
        real = ["voluptuous===0.16.0", "PasteDeploy===3.1.0", "oslo.limit===2.12.0",
                "foo===1.0;python_version=='3.8'"]
    path.write_text("\n".join([*real, *synthetic]) + "\n")
    return path


def test_standing_upper_constraints_apply_to_later_installs_without_c(
        guard: Pipguard, tmp_path: Path) -> None:
    uc = upper_constraints(tmp_path / "upper-constraints.txt", "B===1.5", "g===1.1")
    added = guard.run("constraints", "add", str(uc))
    assert added.returncode == 0, combined(added)
    assert "Later installs honour them even without -c" in added.stderr
    listed = json.loads(guard.run("constraints", "list", "--json").stdout)
    assert {"requirement": "B===1.5", "source": str(uc.resolve()), "added_by": 2} in listed["standing"]

    result = guard.install("B", "G")
    assert result.returncode == 0, combined(result)
    assert (guard.venv.versions()["b"], guard.venv.versions()["g"]) == ("1.5", "1.1")  # plain pip: 2.5, 1.2

    rejected = guard.install("B==2.0")
    assert rejected.returncode == 10, combined(rejected)
    assert (f"the standing constraint B===1.5 (from {uc.resolve()}, transaction 2) allows only b===1.5"
            in rejected.stderr)
    assert guard.venv.versions()["b"] == "1.5"

    again = guard.run("constraints", "add", str(uc))
    assert again.returncode == 0 and "unchanged" in again.stderr

    removed = guard.run("constraints", "remove", str(uc))
    assert removed.returncode == 0, combined(removed)
    assert json.loads(guard.run("constraints", "list", "--json").stdout)["standing"] == []
    assert guard.install("-U", "B").returncode == 0
    assert guard.venv.versions()["b"] == "2.5"


# uv: standing constraints reach uv as pipguard's -c file:
# test_standing_upper_constraints_apply_to_later_installs_without_c[uv]
@pytest.mark.engines("pip")
def test_command_line_constraint_is_listed_and_removed_by_name(guard: Pipguard) -> None:
    assert guard.run("constraints", "add", "B<2", "C<2").returncode == 0
    text = guard.run("constraints", "list")
    assert text.stdout.splitlines() == [
        "B<2  command line (transaction 2)", "C<2  command line (transaction 2)"]
    assert guard.install("C").returncode == 0
    assert guard.venv.versions()["c"] == "1.0"
    assert guard.run("constraints", "remove", "c").returncode == 0
    listed = json.loads(guard.run("constraints", "list", "--json").stdout)
    assert [s["requirement"] for s in listed["standing"]] == ["B<2"]


@pytest.mark.parametrize(("item", "why"), [("B[x]<2", "cannot have extras"), ("B", "no version specifier"),
                                           ("missing.txt", "not found")])
def test_bad_constraints_are_refused_with_exit_2(pip_guard: Pipguard, item: str, why: str) -> None:
    result = pip_guard.run("constraints", "add", item)
    assert result.returncode == 2 and why in result.stderr


# uv: a user -c file under uv: test_guarded_install.py::test_user_constraints_combine_with_the_ledger[uv]
@pytest.mark.engines("pip")
def test_each_install_records_its_own_constraints_files(guard: Pipguard, tmp_path: Path) -> None:
    uc = upper_constraints(tmp_path / "uc.txt", "B===1.5")
    assert guard.install("-c", str(uc), "A").returncode == 0
    last = guard.venv.transactions()[-1]
    assert last["constraints"] == [str(uc)]
    assert guard.venv.versions()["b"] == "1.5"


@pytest.mark.engines("pip")  # uv: test_standing_upper_constraints_apply_to_later_installs_without_c[uv]
def test_a_standing_file_is_read_again_on_every_run(guard: Pipguard, tmp_path: Path) -> None:
    """devstack's edit-constraints deletes a library's pin in place, then installs it from git."""
    uc = upper_constraints(tmp_path / "upper-constraints.txt", "B===1.5", "g===1.1")
    assert guard.run("constraints", "add", str(uc)).returncode == 0
    assert guard.install("A").returncode == 0 and guard.venv.versions()["b"] == "1.5"
    assert guard.install("B==1.8").returncode == 10  # the pin holds...
    uc.write_text(uc.read_text().replace("B===1.5\n", ""))  # ...until the file drops it
    result = guard.install("B==1.8")
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["b"] == "1.8"
    state = guard.venv.ledger()
    assert state["standing_files"] == [{"path": str(uc.resolve()), "added_by": 2}]
    assert state["standing"] == []  # the lines are not copied

    uc.unlink()
    vanished = guard.install("G")
    assert vanished.returncode == 2, combined(vanished)
    assert f"the standing constraints file {uc.resolve()} (added by transaction 2) cannot be used" in vanished.stderr
    assert f"pipguard constraints remove {uc.resolve()}" in vanished.stderr
    listed = guard.run("constraints", "list", "--json")
    assert listed.returncode == 0 and "cannot be used" in listed.stderr
    assert json.loads(listed.stdout)["files"][0]["error"]
    assert guard.run("constraints", "remove", str(uc)).returncode == 0
    assert guard.install("G").returncode == 0


@pytest.mark.engines("pip")  # uv: nothing here reaches an engine but plain installs
def test_a_url_constraint_is_accepted_from_the_command_line_and_its_password_never_shown(
        guard: Pipguard) -> None:
    secret = "SEKR\u00c9T\"15"
    added = guard.run("constraints", "add", f"B @ http://u:{secret}@127.0.0.1:9/b-1.5-py3-none-any.whl")
    assert added.returncode == 0, combined(added)
    listed = guard.run("constraints", "list")
    assert "B @ http://****@127.0.0.1:9/b-1.5-py3-none-any.whl  command line (transaction 2)" in listed.stdout
    as_json = guard.run("constraints", "list", "--json")
    shown = [added, listed, as_json, guard.run("ledger", "--json"), guard.run("history", "--json")]
    for text in [r.stdout + r.stderr for r in shown] + [guard.venv.ledger_path.read_text(),
                                                        guard.venv.journal_path.read_text()]:
        for form in (secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]):
            assert form not in text
    bare = guard.run("constraints", "add", f"http://u:{secret}@127.0.0.1:9/upper-constraints.txt")
    assert bare.returncode == 2 and "is a URL" in bare.stderr and secret not in bare.stderr

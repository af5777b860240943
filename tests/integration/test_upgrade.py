"""``pipguard upgrade``: real pip, real venvs, the local wheelhouse.

One environment's story per test (each upgrade is two pip runs): what is
held back and why, named roots only, another major version only when
asked, a standing constraint's pin, and nothing outside the environment.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Pipguard, combined, make_base_python, make_system_site_venv


def test_upgrade_moves_roots_within_what_holds_them_and_names_each_holder(guard: Pipguard, make_wheel) -> None:  # type: ignore[no-untyped-def]
    for version in ("1.0", "1.1", "2.0"):
        make_wheel("N", version)
    for version in ("1.0", "1.1"):
        make_wheel("K", version)
    for args in (["A"], ["G<1.2"], ["N==1.0"], ["N"], ["K==1.0"], ["K"], ["C"]):
        assert guard.install(*args).returncode == 0, args
    before, last = guard.venv.versions(), guard.venv.transactions()[-1]["id"]
    assert (before["g"], before["c"], before["b"]) == ("1.1", "1.0", "1.8")

    # every root, dry run: the table, and each root held back with the one requirement that decided it
    dry = guard.run("upgrade", "--dry-run", *guard.index_args())
    assert dry.returncode == 0, combined(dry)
    assert dry.stdout.splitlines() == [
        "name  from  to",
        "K     1.0   1.1",
        "N     1.0   1.1",
        "",
        "held back:",
        "  C 1.0 (newest 1.1): C 1.1 needs B>=2.0, but A 1.0 (root, transaction 2) needs b<2.0,>1.0",
        "  G 1.1 (newest 1.2): G (root, transaction 3) was asked for as G<1.2",
        "  N 1.1 (newest 2.0): N 2.0 is another major version than 1.0 (upgrade --allow-major takes it)",
    ]
    assert "would upgrade 2 distributions; nothing was changed" in dry.stderr
    assert guard.venv.versions() == before and guard.venv.transactions()[-1]["id"] == last

    # a named root only: K could move too, and stays
    named = guard.run("upgrade", "N", "--json", *guard.index_args())
    assert named.returncode == 0, combined(named)
    doc = json.loads(named.stdout)
    assert (doc["kind"], doc["status"]) == ("upgrade", "upgraded")
    assert doc["changes"] == [{"name": "n", "display_name": "N", "from": "1.0", "to": "1.1"}]
    versions = guard.venv.versions()
    assert (versions["n"], versions["k"]) == ("1.1", "1.0")
    txn = guard.venv.transactions()[-1]
    assert (txn["id"], txn["command"], txn["status"]) == (doc["transaction"], "upgrade", "committed")
    assert txn["changes"] == [{"name": "n", "before": "1.0", "after": "1.1"}]

    # another major version when asked; a standing constraint's pin does not move
    assert guard.run("constraints", "add", "K==1.0").returncode == 0
    major = guard.run("upgrade", "--allow-major", "--json", *guard.index_args())
    assert major.returncode == 0, combined(major)
    doc = json.loads(major.stdout)
    assert [(c["name"], c["to"]) for c in doc["changes"]] == [("n", "2.0")]
    held = {h["name"]: (h["held_by"], h["reason"]) for h in doc["held_back"]}
    assert held["k"] == ("standing", "the standing constraint from command line allows only k==1.0")
    assert set(held) == {"c", "g", "k"}
    versions = guard.venv.versions()
    assert (versions["n"], versions["k"], versions["a"], versions["b"]) == ("2.0", "1.0", "1.0", "1.8")
    assert guard.venv.pip_check().returncode == 0
    assert guard.run("check").returncode == 0

    nothing = guard.run("upgrade", "N", *guard.index_args())
    assert nothing.returncode == 0 and "everything is at the newest release" in nothing.stderr


def test_upgrade_refuses_what_it_cannot_upgrade(guard: Pipguard, tmp_path: Path) -> None:
    assert guard.install("G==1.0").returncode == 0
    (tmp_path / "reqs.txt").write_text("G\n")
    for args, words in ((["nosuch"], "nosuch is not installed"),
                        (["G>=1.1"], "upgrade takes project names, not 'G>=1.1'"),
                        (["--target", "/tmp/x"], "does not guard installs with --target /tmp/x"),
                        (["-r", str(tmp_path / "reqs.txt")], "not requirement files")):
        result = guard.run("upgrade", *args)
        assert result.returncode == 2, combined(result)
        assert words in result.stderr and "Traceback" not in result.stderr
    assert guard.venv.versions()["g"] == "1.0"


def test_upgrade_never_moves_what_is_outside_the_environment(tmp_path: Path, wheelhouse: Path) -> None:
    base = make_base_python(tmp_path / "base")
    base.install(wheelhouse, "B==1.5")
    venv = make_system_site_venv(base, tmp_path / "venv")
    guard = Pipguard(venv, [wheelhouse])
    for args in (["G==1.0"], ["G"]):
        assert guard.install(*args).returncode == 0

    result = guard.run("upgrade", "--json", *guard.index_args())
    assert result.returncode == 0, combined(result)
    doc = json.loads(result.stdout)
    assert [(c["name"], c["from"], c["to"]) for c in doc["changes"]] == [("g", "1.0", "1.2")]
    # eager plain pip would have installed B 2.5 inside, over the base's B 1.5
    inside = venv.pip("list", "--local", "--format", "json")
    assert "b" not in {item["name"].lower() for item in json.loads(inside.stdout)}
    assert base.versions()["b"] == "1.5" and venv.versions()["b"] == "1.5"


def test_upgrade_is_the_same_with_either_engine(engine_guard: Pipguard) -> None:
    guard = engine_guard
    for args in (["A"], ["C"], ["G==1.0"], ["G"]):
        assert guard.install(*args).returncode == 0, args
    result = guard.run("upgrade", "--json", *guard.index_args())
    assert result.returncode == 0, combined(result)
    doc = json.loads(result.stdout)
    assert [(c["name"], c["from"], c["to"]) for c in doc["changes"]] == [("g", "1.0", "1.2")]
    assert [(h["name"], h["reason"]) for h in doc["held_back"]] == [
        ("c", "C 1.1 needs B>=2.0, but A 1.0 (root, transaction 2) needs b<2.0,>1.0")]
    assert guard.venv.versions()["g"] == "1.2" and guard.venv.transactions()[-1]["engine"] == guard.engine

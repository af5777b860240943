"""``pipguard autoremove``: what no root needs goes; the rest, tooling and outside stay."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Pipguard, combined, make_base_python, make_system_site_venv
from tests.integration.test_uninstall import count_probes, probes


def test_autoremove_after_uninstalling_a_root_removes_its_private_dependencies_only(  # type: ignore[no-untyped-def]
        guard: Pipguard, make_wheel, tmp_path: Path) -> None:
    make_wheel("Q", "1.0", ["R", "B>=1.0"])
    make_wheel("R", "1.0", ["S"])
    make_wheel("S", "1.0")
    for args in (["A"], ["Q"]):
        assert guard.install(*args).returncode == 0
    assert guard.run("uninstall", "-y", "Q").returncode == 0
    before = guard.venv.versions()

    listed = guard.run("autoremove", "--dry-run")
    assert listed.returncode == 0, combined(listed)
    assert listed.stdout.splitlines() == [
        "name  version  why it is unneeded",
        "R     1.0      not a root, and nothing installed requires it",
        "S     1.0      not a root; required only by R 1.0 (unneeded too)",
    ]
    # no terminal to ask on, and no -y: nothing happens
    asked = guard.run("autoremove", input="")
    assert asked.returncode == 2 and "there is no terminal to ask on. Run it with -y" in asked.stderr
    assert guard.venv.versions() == before

    log = tmp_path / "probes.log"
    counting = count_probes(guard, log)
    assert guard.run("check", env=counting).returncode == 0  # the environment as it is now, read once
    removed = guard.run("autoremove", "-y", "--json", env=counting)
    assert removed.returncode == 0, combined(removed)
    assert probes(log) == 1  # pip's removals are known without reading the environment again
    assert guard.venv.ledger()["distributions"] == guard.venv.versions()
    doc = json.loads(removed.stdout)
    assert (doc["kind"], doc["status"]) == ("autoremove", "committed")
    assert [item["name"] for item in doc["remove"]] == ["r", "s"]
    versions = guard.venv.versions()
    assert "r" not in versions and "s" not in versions
    assert (versions["a"], versions["b"]) == ("1.0", "1.8")  # A still needs B: it stays
    txn = guard.venv.transactions()[-1]
    assert (txn["id"], txn["command"]) == (doc["transaction"], "autoremove")
    assert guard.run("check").returncode == 0

    back = guard.run("rollback", str(doc["transaction"] - 1), *guard.index_args())
    assert back.returncode == 0, combined(back)
    assert guard.venv.versions() == before


def test_autoremove_never_touches_tooling_or_what_is_outside_the_environment(  # type: ignore[no-untyped-def]
        tmp_path: Path, wheelhouse: Path, make_wheel, extra_wheels: Path) -> None:
    make_wheel("Q", "1.0", ["R", "B>=1.0"])
    make_wheel("R", "1.0")
    base = make_base_python(tmp_path / "base")
    base.install(wheelhouse, "B==1.5", "G==1.0")  # G: outside, and no root of this environment needs it
    venv = make_system_site_venv(base, tmp_path / "venv")
    guard = Pipguard(venv, [wheelhouse, extra_wheels])
    assert guard.install("Q").returncode == 0
    assert guard.run("uninstall", "-y", "Q").returncode == 0
    own_before = {item["name"].lower() for item in json.loads(venv.pip("list", "--local", "--format", "json").stdout)}
    assert {"pip", "r"} <= own_before

    result = guard.run("autoremove", "-y", "--json")
    assert result.returncode == 0, combined(result)
    assert [item["name"] for item in json.loads(result.stdout)["remove"]] == ["r"]
    own_after = {item["name"].lower() for item in json.loads(venv.pip("list", "--local", "--format", "json").stdout)}
    assert own_after == own_before - {"r"}  # pip (and setuptools where the venv has it) stay
    assert base.versions()["b"] == "1.5" and base.versions()["g"] == "1.0"

    again = guard.run("autoremove", "--dry-run")
    assert again.returncode == 0 and "nothing to remove" in again.stderr

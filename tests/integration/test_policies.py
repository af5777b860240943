from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Pipguard, combined


@pytest.fixture
def guard(engine_guard: Pipguard) -> Pipguard:
    """Every test here runs under both engines: the verdicts, messages and ledger are the same."""
    return engine_guard


def test_replan_policy_resolves_earlier_roots_jointly(guard: Pipguard, make_wheel, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_wheel("A", "2.0", ["B>=2.0"])
    pin = tmp_path / "pin.txt"
    pin.write_text("a==1.0\n")
    assert guard.install("-c", str(pin), "A").returncode == 0
    assert guard.venv.versions()["a"] == "1.0"
    result = guard.install("--policy", "replan", "C", "-U")
    assert result.returncode == 0, combined(result)
    versions = guard.venv.versions()
    assert (versions["a"], versions["c"]) == ("2.0", "1.1")
    assert "re-planned the earlier root A: 1.0 -> 2.0" in result.stderr
    assert guard.run("check").returncode == 0, versions
    assert guard.venv.pip_check().returncode == 0
    assert guard.venv.transactions()[-1]["policy"] == "replan"


# uv: test_engine_parity.py [rejection]; the replan run under uv:
# test_replan_policy_resolves_earlier_roots_jointly[uv]
@pytest.mark.engines("pip")
def test_replan_policy_still_rejects_what_breaks_a_root(guard: Pipguard) -> None:
    assert guard.install("A").returncode == 0
    result = guard.install("--policy", "replan", "E")
    assert result.returncode == 10, combined(result)
    assert "A 1.0" in result.stderr
    assert "e" not in guard.venv.versions()


# uv: the policy is the core's and the ledger's; a held-back upgrade under uv: test_engine_parity.py
@pytest.mark.engines("pip")
def test_policy_is_remembered_per_ledger(guard: Pipguard) -> None:
    assert guard.install("B==1.0").returncode == 0
    assert guard.run("policy").stdout.strip() == "compatible"
    assert guard.run("policy", "strict").returncode == 0
    assert guard.run("policy").stdout.strip() == "strict"
    assert guard.venv.ledger()["policy"] == "strict"
    result = guard.install("-U", "B")
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["b"] == "1.0"
    bad = guard.run("policy", "loose")
    assert bad.returncode == 2 and "usage: pipguard policy" in bad.stderr

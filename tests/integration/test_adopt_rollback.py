from __future__ import annotations

from tests.conftest import Pipguard, combined


def test_adopt_takes_installed_packages_as_protected_baseline(guard: Pipguard) -> None:
    assert guard.pip_install("A", "G").returncode == 0
    result = guard.run("adopt")
    assert result.returncode == 0, combined(result)
    assert "adopted" in result.stderr
    ledger = guard.venv.ledger()
    assert {"a", "g"} <= set(ledger["roots"])
    assert "b" not in ledger["roots"]  # required by A: not a root of its own
    assert ledger["distributions"]["b"] == "1.8"
    assert guard.install("E").returncode == 10


def test_adopt_records_changes_made_behind_pipguards_back(guard: Pipguard) -> None:
    guard.install("G")
    guard.pip_install("B==1.0")
    assert guard.run("check").returncode == 1
    result = guard.run("adopt")
    assert result.returncode == 0
    assert "changed outside pipguard" in result.stderr
    assert guard.venv.transactions()[-1]["status"] == "drift"
    assert guard.run("check").returncode == 0


def test_rollback_returns_to_the_state_after_a_transaction(guard: Pipguard) -> None:
    guard.install("G==1.0")
    first = guard.venv.transactions()[-1]["id"]
    guard.install("-U", "G")
    guard.install("C")
    assert guard.venv.versions()["g"] == "1.2"
    result = guard.run("rollback", str(first), *guard.index_args())
    assert result.returncode == 0, combined(result)
    versions = guard.venv.versions()
    assert versions["g"] == "1.0"
    assert "c" not in versions
    ledger = guard.venv.ledger()
    assert "c" not in ledger["roots"]
    assert guard.venv.transactions()[-1]["command"] == "rollback"
    assert guard.run("check").returncode == 0


def test_rollback_to_unknown_transaction_is_a_clear_error(guard: Pipguard) -> None:
    guard.install("G")
    result = guard.run("rollback", "99")
    assert result.returncode == 2
    assert "there is no transaction 99" in result.stderr
    bad = guard.run("rollback", "latest")
    assert bad.returncode == 2 and "needs a transaction number" in bad.stderr

"""Arguments read as written: transaction numbers in ASCII digits only (issue 19.19), and a
"--" right after the command keeps what follows pip's (issue 19.18)."""

from __future__ import annotations

from tests.conftest import Pipguard, Venv, combined

# Arabic-Indic three, fullwidth one, and what int() takes besides digits
NOT_NUMBERS = ["\u0663", "\uff11", " 1", "+1", "1_0", "1\n"]


def test_transaction_numbers_are_ascii_digits_only(venv: Venv, run) -> None:  # type: ignore[no-untyped-def]
    assert run("adopt")[0] == 0
    before = venv.journal_path.read_bytes()
    for text in NOT_NUMBERS:
        for args in (["rollback", text], ["diff", text], ["diff", "1", text], ["history", text],
                     ["check", "--since", text]):
            code, _, err = run(*args)
            assert code == 2, (args, err)
            assert repr(text) in err, (args, err)
    assert run("diff", "1")[0] == 0  # an ASCII number still works
    assert venv.journal_path.read_bytes() == before  # nothing was recorded


def test_a_double_dash_right_after_install_does_not_smuggle_in_no_guard(guard: Pipguard) -> None:
    assert guard.install("A").returncode == 0
    recorded = guard.venv.transactions()
    result = guard.run("install", "--", "--no-guard")
    assert result.returncode == 2, combined(result)
    assert "invalid requirement '--no-guard'" in result.stderr and "Traceback" not in combined(result)
    assert guard.venv.transactions() == recorded  # nothing changed, nothing recorded


def test_a_double_dash_right_after_the_command_reaches_it(venv: Venv, run) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run("install", "--", "--no-guard")
    assert code == 2 and "invalid requirement '--no-guard'" in err
    assert not venv.journal_path.exists()

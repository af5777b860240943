"""``check --plan`` takes its engine from the factory (issue 20 item 3): it works with uv too."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Pipguard, combined
from tests.integration.test_engine_runs import logging_uv, run_with_uv, uv_runs

pytestmark = pytest.mark.integration


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {}
    for name, text in {"a.txt": "A\n", "b.txt": "E\n"}.items():
        made[name] = tmp_path / name
        made[name].write_text(text)
    return made


def test_check_plan_with_the_uv_engine_names_the_clash_and_what_fits(guard: Pipguard, files: dict[str, Path],
                                                                     tmp_path: Path, uv_ready: str) -> None:
    uv_dir, log = logging_uv(tmp_path)
    a, b = str(files["a.txt"]), str(files["b.txt"])
    clash = run_with_uv(guard, tmp_path, uv_dir, "check", "--plan", "--no-ledger", *guard.index_args(),
                        "-r", a, "-r", b)
    assert clash.returncode == 1, combined(clash)
    assert clash.stdout.startswith(f"NOT OK: {a}, {b} cannot be installed together."), combined(clash)
    assert "Traceback" not in combined(clash)
    assert uv_runs(log) and all("--target" in line for line in uv_runs(log))  # uv, into an empty target

    fits = run_with_uv(guard, tmp_path, uv_dir, "check", "--plan", "--no-ledger", *guard.index_args(), "-r", a, "G")
    assert fits.returncode == 0, combined(fits)
    assert "would install: a 1.0, b 1.8, g 1.2" in fits.stdout
    assert guard.venv.versions().keys() == {"pip"}  # nothing was installed


def test_check_plan_over_the_ledger_with_the_uv_engine(guard: Pipguard, tmp_path: Path, uv_ready: str) -> None:
    assert guard.install("A").returncode == 0
    uv_dir, log = logging_uv(tmp_path)
    clash = run_with_uv(guard, tmp_path, uv_dir, "check", "--plan", *guard.index_args(), "C==1.1")
    assert clash.returncode == 1, combined(clash)
    assert "C==1.1 would break an earlier project (b): A 1.0, already installed, needs b<2.0,>1.0" in clash.stdout
    assert uv_runs(log)  # the engine asked for, not pip
    fits = run_with_uv(guard, tmp_path, uv_dir, "check", "--plan", *guard.index_args(), "C")
    assert fits.returncode == 0 and "would change c: (none) -> 1.0" in fits.stdout, combined(fits)

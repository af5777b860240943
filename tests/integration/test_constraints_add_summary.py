"""``constraints add`` names the first violations and says how many more there are (issue 19.20)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Pipguard, combined


def test_constraints_add_says_how_many_violations_it_did_not_show(guard: Pipguard, tmp_path: Path) -> None:
    installed = guard.venv.versions()["pip"]
    upper = tmp_path / "upper-constraints.txt"
    upper.write_text("".join(f"pip==1.{n}\n" for n in range(25)))  # 25 lines the installed pip violates
    result = guard.run("constraints", "add", str(upper))
    assert result.returncode == 0, combined(result)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("pipguard: warning: ")]
    assert len(warnings) == 11, result.stderr
    assert all("needs pip==1." in line and f"pip {installed} is installed" in line for line in warnings[:10])
    assert warnings[10] == "pipguard: warning: ... and 15 more ('pipguard check' lists them all)."
    checked = guard.run("check")
    assert checked.returncode == 1 and checked.stdout.count("unsatisfied constraint") == 25, combined(checked)


def test_constraints_add_with_few_violations_names_them_all(guard: Pipguard, tmp_path: Path) -> None:
    upper = tmp_path / "upper-constraints.txt"
    upper.write_text("pip==1.0\npip==1.1\n")
    result = guard.run("constraints", "add", str(upper))
    assert result.returncode == 0, combined(result)
    assert result.stderr.count("pipguard: warning: ") == 2 and "more" not in result.stderr

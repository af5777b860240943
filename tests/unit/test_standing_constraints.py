"""Standing constraints: reading, adding again, forgetting (pure parts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipguard.commands.standing import COMMAND_LINE, ConstraintLine, added, read_constraints_file, removed
from pipguard.errors import UsageError
from pipguard.ledger import StandingConstraint


def test_constraints_file_is_read_with_markers_comments_and_nested_files(tmp_path: Path) -> None:
    (tmp_path / "more.txt").write_text("zed===3.0\n")
    (tmp_path / "uc.txt").write_text(
        "# header\nvoluptuous===0.16.0\n\nfoo===1.0;python_version=='3.9'  # old\n"
        "--index-url https://example.invalid/simple\n-c more.txt\n"
    )
    assert read_constraints_file(tmp_path / "uc.txt") == [
        "voluptuous===0.16.0", 'foo===1.0; python_version == "3.9"', "zed===3.0"]


@pytest.mark.parametrize(("line", "why"), [("b[x]<2", "extras"), ("b", "no version specifier"),
                                           ("b<<2", "invalid constraint")])
def test_constraint_lines_pip_would_refuse_or_that_limit_nothing_are_refused(
        tmp_path: Path, line: str, why: str) -> None:
    (tmp_path / "c.txt").write_text(line + "\n")
    with pytest.raises(UsageError, match=why):
        read_constraints_file(tmp_path / "c.txt")


def test_adding_a_file_again_replaces_its_lines_and_keeps_unchanged_ones_as_they_were() -> None:
    first = added((), [ConstraintLine("a===1", "/uc.txt"), ConstraintLine("b===1", "/uc.txt")], 3)
    again = added(first, [ConstraintLine("a===1", "/uc.txt"), ConstraintLine("b===2", "/uc.txt")], 7)
    assert again == (StandingConstraint("a===1", "/uc.txt", 3), StandingConstraint("b===2", "/uc.txt", 7))
    assert added(first, [ConstraintLine("a===1", "/uc.txt"), ConstraintLine("b===1", "/uc.txt")], 9) == first


def test_command_line_constraint_replaces_the_earlier_one_for_that_name() -> None:
    first = added((), [ConstraintLine("b<2", COMMAND_LINE), ConstraintLine("b===1", "/uc.txt")], 2)
    second = added(first, [ConstraintLine("b<3", COMMAND_LINE)], 4)
    assert [(s.requirement, s.source) for s in second] == [("b===1", "/uc.txt"), ("b<3", COMMAND_LINE)]


def test_forgetting_by_file_or_by_name(tmp_path: Path) -> None:
    uc = str(tmp_path / "uc.txt")
    standing = (StandingConstraint("a===1", uc), StandingConstraint("b===1", uc),
                StandingConstraint("B<3", COMMAND_LINE))
    assert removed(standing, [uc]) == (StandingConstraint("B<3", COMMAND_LINE),)
    assert removed(standing, ["b"]) == (StandingConstraint("a===1", uc),)
    with pytest.raises(UsageError, match="no standing constraint"):
        removed(standing, ["zzz"])

"""Standing constraints: reading, adding again, forgetting (pure parts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipguard.commands.constraints import (
    COMMAND_LINE,
    ConstraintLine,
    added,
    added_files,
    read_constraints_file,
    read_items,
    removed,
    standing_in_force,
)
from pipguard.core.model import LedgerState, StandingConstraint, StandingFile
from pipguard.errors import UsageError


def test_constraints_file_is_read_with_markers_comments_and_nested_files(tmp_path: Path) -> None:
    (tmp_path / "more.txt").write_text("zed===3.0\n")
    (tmp_path / "uc.txt").write_text(
        "# header\nvoluptuous===0.16.0\n\nfoo===1.0;python_version=='3.9'  # old\n"
        "--index-url https://example.invalid/simple\n-c more.txt\n"
    )
    assert read_constraints_file(tmp_path / "uc.txt") == [
        "voluptuous===0.16.0", 'foo===1.0; python_version == "3.9"', "zed===3.0"]


@pytest.mark.parametrize(("line", "why"), [("b[x]<2", "constraints cannot have extras"),
                                           ("b<<2", r"invalid requirement 'b<<2' \(.*c.txt, line 1\)"),
                                           ("-e ./b", "editable requirements are not allowed")])
def test_constraint_lines_pip_would_refuse_are_refused(tmp_path: Path, line: str, why: str) -> None:
    (tmp_path / "c.txt").write_text(line + "\n")
    with pytest.raises(UsageError, match=why):
        read_constraints_file(tmp_path / "c.txt")


def test_a_bare_name_in_a_constraints_file_limits_nothing_and_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "c.txt").write_text("b\nc<2\n")
    assert read_constraints_file(tmp_path / "c.txt") == ["c<2"]


def test_adding_a_file_again_keeps_it_as_it_was() -> None:
    first = added_files((), ["/uc.txt"], 3)
    assert first == (StandingFile("/uc.txt", 3),)
    assert added_files(first, ["/uc.txt", "/more.txt"], 7) == (StandingFile("/uc.txt", 3), StandingFile("/more.txt", 7))


def test_command_line_constraint_replaces_the_earlier_one_for_that_name() -> None:
    first = added((), [ConstraintLine("b<2", COMMAND_LINE), ConstraintLine("c<1", COMMAND_LINE)], 2)
    second = added(first, [ConstraintLine("b<3", COMMAND_LINE)], 4)
    assert [(s.requirement, s.added_by) for s in second] == [("c<1", 2), ("b<3", 4)]


def test_a_standing_file_is_read_afresh_every_time(tmp_path: Path) -> None:
    uc = tmp_path / "uc.txt"
    uc.write_text("a===1\nb===1\n")
    ledger = LedgerState(standing=(StandingConstraint("c<2", COMMAND_LINE, 2),),
                         standing_files=(StandingFile(str(uc), 3),))
    assert [(s.requirement, s.source, s.added_by) for s in standing_in_force(ledger)] == [
        ("c<2", COMMAND_LINE, 2), ("a===1", str(uc), 3), ("b===1", str(uc), 3)]
    uc.write_text("b===1\n")  # as devstack's edit-constraints does, in place
    assert [s.requirement for s in standing_in_force(ledger)] == ["c<2", "b===1"]
    uc.unlink()
    with pytest.raises(UsageError, match=f"the standing constraints file {uc} .*constraints remove {uc}"):
        standing_in_force(ledger)


def test_forgetting_by_file_or_by_name(tmp_path: Path) -> None:
    uc = str(tmp_path / "uc.txt")
    (tmp_path / "uc.txt").write_text("a===1\n")
    standing = (StandingConstraint("B<3", COMMAND_LINE), StandingConstraint("c<1", COMMAND_LINE))
    files = (StandingFile(uc, 2),)
    assert removed(standing, files, [uc]) == (standing, ())
    assert removed(standing, files, ["b"]) == ((StandingConstraint("c<1", COMMAND_LINE),), files)
    with pytest.raises(UsageError, match="no standing constraint"):
        removed(standing, files, ["zzz"])
    in_force = [StandingConstraint("a===1", uc, 2)]
    with pytest.raises(UsageError, match=f"comes from the standing file {uc}"):
        removed(standing, files, ["a"], in_force)


def test_a_url_constraint_is_never_taken_for_a_file_and_its_password_never_shown() -> None:
    items = read_items(["B @ http://u:SEKRIT15@host/b.whl"])
    assert items.files == () and [line.requirement for line in items.lines] == ["B @ http://u:SEKRIT15@host/b.whl"]
    with pytest.raises(UsageError) as raised:
        read_items(["http://u:SEKRIT16@host/uc.txt"])
    assert "SEKRIT16" not in str(raised.value) and "http://****@host/uc.txt" in str(raised.value)

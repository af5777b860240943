"""The lines of a standing constraints file, kept beside the probe's cache (reader start-up).

Reading a constraints file as pip reads it costs pip's tables, the requirement parser
and a parse of every line on every command; an unchanged file is answered from what an
earlier run read, and any change to the file (or a file whose lines depend on more than
its own bytes) is read again.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipguard.core.model import LedgerState, StandingFile
from pipguard.ledger import standing
from tests.support.fakes import count_file_reads, count_requirement_parses


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files read as pip reads them (``request.read_requirements_file``), in this process."""
    return count_file_reads(monkeypatch)


def ledger_following(path: Path) -> LedgerState:
    return LedgerState(standing_files=(StandingFile(str(path), 2),))


def lines(ledger: LedgerState, cache: Path) -> list[str]:
    return [item.requirement for item in standing.standing_in_force(ledger, cache)]


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    directory = tmp_path / "ledger"
    directory.mkdir(mode=0o755)
    return directory / "ledger.json.probe-cache-standing"


def test_an_unchanged_file_is_read_once_then_answered_from_the_cache(tmp_path: Path, cache: Path,
                                                                     reads: list[str]) -> None:
    uc = tmp_path / "upper-constraints.txt"
    uc.write_text("Foo_Bar===1.0\nbaz==2.0 ; python_version >= '3'\nbare\n")
    ledger = ledger_following(uc)
    first = lines(ledger, cache)
    assert first == ["Foo_Bar===1.0", 'baz==2.0; python_version >= "3"']
    assert reads == [str(uc)] and cache.is_file()
    assert lines(ledger, cache) == first
    assert reads == [str(uc)], "the second run reads no line of the file"


def test_a_file_edited_in_place_is_read_again_even_with_its_time_and_size_put_back(
        tmp_path: Path, cache: Path, reads: list[str]) -> None:
    uc = tmp_path / "uc.txt"
    uc.write_text("a==1.0\n")
    ledger = ledger_following(uc)
    assert lines(ledger, cache) == ["a==1.0"]
    info = uc.stat()
    uc.write_text("a==2.0\n")  # devstack edits upper-constraints.txt in place
    os.utime(uc, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert uc.stat().st_size == info.st_size
    assert lines(ledger, cache) == ["a==2.0"]
    assert len(reads) == 2
    assert lines(ledger, cache) == ["a==2.0"] and len(reads) == 2


@pytest.mark.parametrize("text", ["a==${A_VERSION}\n", "-c other.txt\nb==1.0\n"])
def test_a_file_whose_lines_depend_on_more_than_its_bytes_is_read_every_time(
        tmp_path: Path, cache: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("A_VERSION", "1.0")
    (tmp_path / "other.txt").write_text("c==3.0\n")
    uc = tmp_path / "uc.txt"
    uc.write_text(text)
    ledger = ledger_following(uc)
    first = lines(ledger, cache)
    assert first
    assert lines(ledger, cache) == first
    assert len(reads) >= 2 and reads.count(str(uc)) == 2
    assert not cache.exists()
    if "${" in text:
        monkeypatch.setenv("A_VERSION", "2.0")
        assert lines(ledger, cache) == ["a==2.0"]


def test_a_cache_of_another_file_or_version_is_not_taken(tmp_path: Path, cache: Path, reads: list[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text("a==1.0\n")
    two.write_text("a==1.0\n")
    assert lines(ledger_following(one), cache) == ["a==1.0"]
    assert lines(ledger_following(two), cache) == ["a==1.0"]
    assert reads == [str(one), str(two)]
    monkeypatch.setattr("pipguard.__version__", "99.0")
    assert lines(ledger_following(two), cache) == ["a==1.0"]
    assert reads == [str(one), str(two), str(two)]


def test_a_vanished_file_is_still_an_error_after_it_was_kept(tmp_path: Path, cache: Path) -> None:
    from pipguard.errors import UsageError

    uc = tmp_path / "uc.txt"
    uc.write_text("a==1.0\n")
    ledger = ledger_following(uc)
    assert lines(ledger, cache) == ["a==1.0"]
    uc.unlink()
    with pytest.raises(UsageError, match="cannot be used"):
        lines(ledger, cache)


def test_without_a_cache_nothing_is_kept(tmp_path: Path, reads: list[str]) -> None:
    uc = tmp_path / "uc.txt"
    uc.write_text("a==1.0\n")
    ledger = ledger_following(uc)
    assert [c.requirement for c in standing.standing_in_force(ledger)] == ["a==1.0"]
    assert [c.requirement for c in standing.standing_in_force(ledger)] == ["a==1.0"]
    assert len(reads) == 2


def test_needs_from_kept_lines_are_the_needs_of_the_lines_parsed(tmp_path: Path, cache: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines taken from the cache give the very needs that parsing them gives, without parsing
    the marker-less ones again (a line with a marker is still evaluated on the target)."""
    from pipguard.core import constraints

    uc = tmp_path / "uc.txt"
    uc.write_text("Foo.Bar===1.0\nbaz>=2,<3\nqux==1.0 ; python_version < '3'\n")
    ledger = ledger_following(uc)
    markers = {"python_version": "3.11", "sys_platform": "linux"}

    def needs() -> list[constraints.Need]:
        return [need for item in standing.standing_in_force(ledger, cache)
                for need in constraints.standing_needs([item.requirement], item.source, markers)]

    parsed = needs()
    assert [(n.name, n.specifier) for n in parsed] == [("foo-bar", "===1.0"), ("baz", "<3,>=2")]
    monkeypatch.setattr(constraints, "_STANDING_PARSED", {})
    monkeypatch.setattr(constraints, "_PARSED", {})
    constraints._requirement.cache_clear()
    parsing = count_requirement_parses(monkeypatch)
    assert needs() == parsed
    assert parsing == ['qux==1.0; python_version < "3"'], "only the line with a marker is parsed again"

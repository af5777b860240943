"""A ledger restored or copied without its files' times (a backup restore, ``cp -r``,
a container layer, the benchmark's put-back) is read once, then trusted again.

The state's integrity mark vouches for the journal without reading it when the journal
is no newer than the state (``pipguard.ledger.recovery``). A copy that writes the
journal after the state breaks that order though nothing changed: the journal is then
read in full (the benchmark's install at 100k transactions spent ~2 s there, on every
run). After one such read finds the journal as the mark says, the next command must
trust it without reading it again; a journal edited later must still be read and its
damage reported.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipguard.ledger import recovery
from tests.conftest import Pipguard, combined

pytestmark = pytest.mark.integration

READERS = (["ledger"], ["history", "--last", "2"], ["why", "a"], ["export"], ["check"])


def restore_without_times(*paths: Path) -> None:
    """Write each file back in turn, as a copy that keeps no times does: the last is the newest."""
    data = [(path, path.read_bytes()) for path in paths]
    for path, content in data:
        path.write_bytes(content)
    for earlier, (path, _content) in enumerate(reversed(data)):
        mtime = path.stat().st_mtime_ns - earlier * 1_000_000_000  # each a second before the next
        os.utime(path, ns=(mtime, mtime))


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The journals read in full in this process (``recovery.scan``)."""
    found: list[Path] = []
    real = recovery.scan

    def counted(journal: recovery.Journal) -> tuple[recovery.Damage, ...]:
        found.append(journal.path)
        return real(journal)

    monkeypatch.setattr(recovery, "scan", counted)
    return found


def test_a_copied_ledger_is_read_once_then_trusted_by_every_reader(guard: Pipguard, in_process, scans) -> None:  # type: ignore[no-untyped-def]
    for args in (["A"], ["G==1.0"], ["-U", "G"]):
        assert guard.install(*args).returncode == 0
    venv = guard.venv
    restore_without_times(venv.ledger_path, venv.journal_path)
    before = (venv.ledger_path.read_bytes(), venv.journal_path.read_bytes())

    first = in_process("--python", venv.python, "ledger")
    assert first.returncode == 0, combined(first)
    assert scans == [venv.journal_path], "the journal newer than its state is read once"
    for args in READERS:
        result = in_process("--python", venv.python, *args)
        assert result.returncode == 0, combined(result)
    assert scans == [venv.journal_path], "and then trusted: no reader reads it again"
    assert (venv.ledger_path.read_bytes(), venv.journal_path.read_bytes()) == before, "readers write no record"

    # Still honest: the journal edited in place (same length) is read again and its damage reported.
    lines = venv.journal_path.read_bytes().split(b"\n")
    lines[1] = b"{" + lines[1][1:-1] + b"!"
    venv.journal_path.write_bytes(b"\n".join(lines))
    assert venv.journal_path.stat().st_size == len(before[1])
    checked = in_process("--python", venv.python, "check")
    assert checked.returncode == 1 and "unreadable line 2" in checked.stdout, combined(checked)
    assert len(scans) == 2
    again = in_process("--python", venv.python, "check")
    assert again.returncode == 1 and "unreadable line 2" in again.stdout, combined(again)


def test_a_copied_ledger_is_trusted_again_after_the_next_install(guard: Pipguard, in_process, scans) -> None:  # type: ignore[no-untyped-def]
    assert guard.install("A").returncode == 0
    venv = guard.venv
    restore_without_times(venv.ledger_path, venv.journal_path)

    installed = in_process("--python", venv.python, "install", *guard.index_args(), "G==1.0")
    assert installed.returncode == 0, combined(installed)
    assert scans == [venv.journal_path]
    for args in READERS:
        result = in_process("--python", venv.python, *args)
        assert result.returncode == 0, combined(result)
    assert scans == [venv.journal_path]
    assert [t["id"] for t in venv.transactions()] == [1, 2, 3]


def test_a_truncated_journal_is_still_refused_after_the_copy_was_trusted(guard: Pipguard, in_process, scans) -> None:  # type: ignore[no-untyped-def]
    for args in (["A"], ["G==1.0"]):
        assert guard.install(*args).returncode == 0
    venv = guard.venv
    restore_without_times(venv.ledger_path, venv.journal_path)
    assert in_process("--python", venv.python, "ledger").returncode == 0
    lines = venv.journal_path.read_bytes().splitlines(keepends=True)
    venv.journal_path.write_bytes(b"".join(lines[:-1]))  # the newest record cut off
    result = in_process("--python", venv.python, "ledger")
    assert result.returncode == 11, combined(result)
    assert "disagree" in result.stderr, combined(result)

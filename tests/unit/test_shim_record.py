"""The ledger's shim record is data: every shape ``shim install`` does not write is refused."""

from __future__ import annotations

from typing import Any

import pytest

from pipguard.shim.record import ShimRecordInvalid, parse_shim_record, runner_problem

GOOD: dict[str, Any] = {
    "format": 1,
    "installed_at": "2026-01-01T00:00:00Z",
    "scripts_dir": "/venv/bin",
    "target_python": "/venv/bin/python",
    "runner": ["/opt/pipguard/bin/python", "-I", "-m", "pipguard"],
    "ledger": None,
    "originals": "/venv/.pipguard/shim-originals",
    "scripts": {"pip": {"sha256": "a" * 64, "mode": "0o755"}, "pip3": {"sha256": "symlink:pip",
                                                                        "symlink": "pip"}},
    "pip_hook": "/venv/lib/python3.11/site-packages/pipguard-pip-hook.pth",
}


def test_a_record_shim_install_wrote_reads_back_unchanged() -> None:
    record = parse_shim_record(GOOD)
    assert record is not None
    assert record.to_dict() == GOOD
    assert parse_shim_record({}) is None  # no shims


def test_a_record_written_before_the_hook_existed_is_still_read() -> None:
    old = {k: v for k, v in GOOD.items() if k != "pip_hook"}
    record = parse_shim_record(old)
    assert record is not None and record.pip_hook is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"runner": ["/bin/sh", "-c", "id > /tmp/x"]}, "is not a Python interpreter followed by"),
        ({"runner": ["/bin/sh", "-I", "-m", "pipguard"]}, "is not an absolute path to a Python interpreter"),
        ({"runner": ["python3", "-I", "-m", "pipguard"]}, "is not an absolute path to a Python interpreter"),
        ({"runner": ["/opt/../tmp/python", "-I", "-m", "pipguard"]}, "not an absolute path"),
        ({"runner": ["/opt/python", "-I", "-m", "pipguard", "--python", "/x"]}, "followed by"),
        ({"runner": ["/opt/python", "-m", "evil"]}, "followed by"),
        ({"runner": "/opt/python -I -m pipguard"}, "runner is not a list of words"),
        ({"runner": [1, 2]}, "runner is not a list of words"),
        ({"scripts": {"../../bin/sh": {"sha256": "a" * 64, "mode": "0o755"}}}, "not the name of a pip script"),
        ({"scripts": {"pip": {"sha256": "a" * 64}}}, "neither a mode nor a symlink"),
        ({"scripts": {"pip": {"sha256": "x", "mode": "0o755"}}}, "has no sha256"),
        ({"scripts": {"pip": {"sha256": "a" * 64, "mode": "0o755", "run": "id"}}}, "not a script record"),
        ({"scripts": ["pip"]}, "scripts is not a table"),
        ({"target_python": "venv/bin/python"}, "target_python 'venv/bin/python' is not an absolute path"),
        ({"target_python": None}, "target_python is NoneType, not text"),
        ({"originals": 5}, "originals is int, not text"),
        ({"ledger": "/l\n.json"}, "ledger '/l\\n.json' is not an absolute path"),
        ({"installed_at": float("nan")}, "installed_at is float, not text"),
        ({"format": True}, "format is True, not 1"),
        ({"format": 1.0}, "format is 1.0, not 1"),
        ({"format": 2}, "format is 2, not 1"),
        ({"exec": "id"}, "unknown keys exec"),
    ],
)
def test_a_record_of_any_other_shape_is_refused_naming_the_problem(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(ShimRecordInvalid) as caught:
        parse_shim_record({**GOOD, **change})
    assert problem in str(caught.value)
    assert str(caught.value).startswith("the ledger's shim record is not one pipguard wrote: ")


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ShimRecordInvalid) as caught:
        parse_shim_record({**GOOD, "runner": "x", "originals": 1, "format": 0})
    assert len(caught.value.problems) == 3


@pytest.mark.parametrize("record", [[], "shim", 3, None])
def test_a_record_that_is_not_a_table_is_refused(record: Any) -> None:
    with pytest.raises(ShimRecordInvalid):
        parse_shim_record(record)


@pytest.mark.parametrize(
    "runner",
    [(), ("/usr/bin/python3", "-I", "-m", "pipguard"), ("/opt/pg/bin/python", "-m", "pipguard"),
     ("/root/.local/pipx/venvs/pipguard/bin/python3.12", "-I", "-m", "pipguard"),
     ("/usr/bin/pypy3", "-I", "-m", "pipguard")],
)
def test_the_runners_shim_install_records_are_accepted(runner: tuple[str, ...]) -> None:
    assert runner_problem(runner) is None

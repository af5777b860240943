"""While pip backtracks, a line at least every interval says what it tries (issue 18)."""

from __future__ import annotations

import pytest

from pipguard.engines.pip.progress import Progress, file_version, interval_from_environment


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def progress(clock: Clock, uv: bool = True) -> tuple[Progress, list[str]]:
    said: list[str] = []
    return Progress(10.0, said.append, lambda: uv, clock), said


def test_nothing_is_said_while_pip_does_not_backtrack() -> None:
    clock = Clock()
    watch, said = progress(clock)
    for version in ("1.0", "1.1"):
        watch.line(f"Processing ./wheels/boto3-{version}-py3-none-any.whl\n")
        clock.now += 60
        watch.tick()
    assert said == []


def test_while_pip_backtracks_a_line_names_what_it_tries_every_interval() -> None:
    clock = Clock()
    watch, said = progress(clock)
    watch.line("INFO: pip is looking at multiple versions of boto3 to determine which version is compatible\n")
    for minor in range(40):
        clock.now += 0.5
        watch.line(f"  Downloading boto3-1.26.{minor}-py3-none-any.whl.metadata (6.9 kB)\n")
    assert len(said) == 2  # 20 s of lines: one every 10 s
    assert said[0].startswith("pipguard: pip is still resolving (10 s), looking at several versions of boto3; "
                              "now boto3 1.26.19 (20 versions of boto3 tried so far).")
    assert "--engine auto" in said[0]
    assert "--engine auto" not in said[1]  # suggested once
    clock.now += 12
    watch.tick()  # pip prints nothing (it builds): the timer still says where it is
    assert len(said) == 3 and "boto3 1.26.39 (40 versions" in said[2]


def test_without_uv_no_engine_is_suggested() -> None:
    clock = Clock()
    watch, said = progress(clock, uv=False)
    watch.line("INFO: pip is looking at multiple versions of c to determine which version is compatible\n")
    clock.now += 11
    watch.tick()
    assert len(said) == 1 and "uv" not in said[0]


def test_text_from_pip_is_made_printable() -> None:
    clock = Clock()
    watch, said = progress(clock)
    watch.line("INFO: pip is looking at multiple versions of evil\x1b]0;title\x07 to determine\n")
    clock.now += 11
    watch.tick()
    assert "\x1b" not in said[0] and "\x07" not in said[0]


@pytest.mark.parametrize(("filename", "expected"), [
    ("boto3-1.26.76-py3-none-any.whl", ("boto3", "1.26.76")),
    ("PyYAML-5.4.1.tar.gz", ("pyyaml", "5.4.1")),
    ("not-a-distribution.txt", None),
    ("bad-name-x-y-z-w-v.whl", None),
])
def test_file_names_are_read_by_packaging(filename: str, expected: tuple[str, str] | None) -> None:
    assert file_version(filename) == expected


@pytest.mark.parametrize(("value", "expected"), [("", 10.0), ("2.5", 2.5), ("0", 0.0), ("-1", 10.0),
                                                 ("nan", 10.0), ("inf", 10.0), ("soon", 10.0)])
def test_the_interval_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str,
                                                  expected: float) -> None:
    monkeypatch.setenv("PIPGUARD_PROGRESS_INTERVAL", value)
    assert interval_from_environment() == expected


def test_nothing_more_is_said_once_pip_has_its_plan() -> None:
    """pip installs (or waits at the gate): the resolution is over, however long the install takes."""
    clock = Clock()
    watch, said = progress(clock)
    watch.line("INFO: pip is looking at multiple versions of c to determine which version is compatible\n")
    watch.line("Installing collected packages: c\n")
    clock.now += 60
    watch.tick()
    watch.line("Successfully installed c-1.0\n")
    assert said == []
    other, said_too = progress(clock)
    other.line("INFO: pip is looking at multiple versions of c to determine which version is compatible\n")
    other.resolved()
    clock.now += 60
    other.tick()
    assert said_too == []

"""``pytest --cpu-time``: what each test file costs in CPU time, children included.

On a shared machine a test's duration says more about the load than about
the test. Its CPU time (pytest's own and that of every process it ran and
waited for: pipguard, pip, uv, virtualenv) does not: this plugin adds it up
per test and, with ``--cpu-time``, prints the totals per file at the end
(with xdist too), beside the summed durations. docs/development.md ("The
test suite") quotes them. Loaded by tests/conftest.py.
"""

from __future__ import annotations

import resource
from collections import defaultdict
from collections.abc import Iterator

import pytest

_PHASES = ("setup", "call", "teardown")
_cpu: dict[str, float] = defaultdict(float)
_wall: dict[str, float] = defaultdict(float)
_tests: dict[str, int] = defaultdict(int)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--cpu-time", action="store_true",
                     help="print each test file's CPU time (children included) at the end")


def _used() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _measured(item: pytest.Item, phase: str) -> Iterator[None]:
    start = _used()
    yield
    item.user_properties.append((f"cpu-{phase}", _used() - start))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    yield from _measured(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    yield from _measured(item, "call")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    yield from _measured(item, "teardown")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::", 1)[0]
    _wall[path] += report.duration
    if report.when == "call":
        _tests[path] += 1
    for key, value in report.user_properties:
        if key == f"cpu-{report.when}" and isinstance(value, float):
            _cpu[path] += value


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _cpu or not terminalreporter.config.getoption("cpu_time"):
        return
    write = terminalreporter.write_line
    terminalreporter.section("CPU time per test file (children included)")
    for path, seconds in sorted(_cpu.items(), key=lambda item: -item[1]):
        write(f"{seconds:8.1f} s CPU {_wall[path]:8.1f} s summed durations {_tests[path]:5d} tests  {path}")
    write(f"{sum(_cpu.values()):8.1f} s CPU {sum(_wall.values()):8.1f} s summed durations "
          f"{sum(_tests.values()):5d} tests  in all")

"""``check`` at start-up: which distributions have every requirement readable is kept with the
needs beside the probe's cache, so an unchanged environment is not parsed again to know it,
and what cannot be read is still reported on every run."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipguard.core import constraints
from pipguard.core.constraints import unreadable_requirements
from pipguard.core.model import Distribution
from pipguard.core.names import canonicalize_name
from pipguard.system.environment import EnvironmentState, read_needs_cache, write_needs_cache
from tests.support.fakes import count_requirement_parses

MARKERS = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux",
           "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}


def dist(name: str, version: str, *requires: str) -> Distribution:
    return Distribution(canonicalize_name(name), version, tuple(requires), display_name=name)


DISTS = {d.name: d for d in (
    dist("A", "1.0", "B>=1,<2", "C>=2; python_version >= '3'"),
    dist("B", "1.5"),
    dist("Bad", "1.0", "not a requirement !!", "B"),
    dist("Odd", "1.0", "B; python_version ~= 'zzz'"),
)}


def state(dists: dict[str, Distribution] | None = None) -> EnvironmentState:
    return EnvironmentState("/venv/bin/python", "3.11", "/venv", "/usr", dict(MARKERS),
                            dict(dists or DISTS), signature="sig-1")  # type: ignore[arg-type]


def forget_everything() -> None:
    constraints._DIST_NEEDS.clear()
    constraints._READABLE.clear()
    constraints._UNEVALUABLE.clear()
    constraints._active_cached.cache_clear()
    constraints._requirement.cache_clear()


def reported(dists: dict[str, Distribution]) -> list[tuple[str, str]]:
    return [(u.source, u.requirement) for u in unreadable_requirements(dists, MARKERS)]  # type: ignore[arg-type]


EXPECTED = [("bad", "not a requirement !!"), ("odd", "B; python_version ~= 'zzz'")]


def test_readable_distributions_are_kept_with_the_needs_and_not_parsed_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forget_everything()
    assert reported(DISTS) == EXPECTED  # type: ignore[arg-type]
    path = tmp_path / "cache-needs"
    assert write_needs_cache(path, state())
    forget_everything()  # a new process
    assert read_needs_cache(path, state())
    parsed = count_requirement_parses(monkeypatch)
    assert reported(DISTS) == EXPECTED, "what cannot be read is still reported"  # type: ignore[arg-type]
    assert set(parsed) == {"not a requirement !!", "B", "B; python_version ~= 'zzz'"}, (
        "only the distributions with an unreadable requirement are read again")


def test_a_distribution_that_changed_is_read_again() -> None:
    forget_everything()
    assert reported(DISTS) == EXPECTED  # type: ignore[arg-type]
    changed = {**DISTS, canonicalize_name("a"): dist("A", "1.0", "B>=1,<2", "also not !! valid")}
    assert reported(changed) == [("a", "also not !! valid"), *EXPECTED]  # type: ignore[arg-type]


def test_readable_kept_for_another_state_is_not_taken(tmp_path: Path) -> None:
    forget_everything()
    reported(DISTS)  # type: ignore[arg-type]
    path = tmp_path / "cache-needs"
    assert write_needs_cache(path, state())
    forget_everything()
    changed = EnvironmentState("/venv/bin/python", "3.11", "/venv", "/usr", dict(MARKERS), dict(DISTS),  # type: ignore[arg-type]
                               signature="sig-2")
    assert not read_needs_cache(path, changed)
    assert not constraints._READABLE
    other = {**DISTS, canonicalize_name("b"): dist("B", "1.6")}
    read_needs_cache(path, state(other))  # type: ignore[arg-type]
    assert constraints.known_readable(other.values(), MARKERS) == [DISTS[canonicalize_name("a")]]


def test_exports_markers_are_kept_with_the_needs_and_give_the_same_pins(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipguard.core.constraints import all_needs
    from pipguard.core.model import Root
    from pipguard.core.views import export_pins

    dists = {d.name: d for d in (
        dist("A", "1.0", "B>=1; sys_platform == 'linux'", "C[fast]>=2"),
        dist("B", "1.5"),
        dist("C", "2.1", "D>=3; extra == 'fast' and python_version >= '3'"),
        dist("D", "3.0"),
    )}
    roots = {canonicalize_name("a"): Root(canonicalize_name("a"), "A", ">=1")}
    forget_everything()
    constraints._EXPORT_MARKERS.clear()
    all_needs(dists, roots, (), MARKERS, "protect")  # as every command's session does
    pins = export_pins(dists, roots, MARKERS)  # type: ignore[arg-type]
    assert [(p.name, p.marker) for p in pins] == [
        ("a", None), ("b", 'sys_platform == "linux"'), ("c", None), ("d", 'python_version >= "3"')]
    path = tmp_path / "cache-needs"
    assert write_needs_cache(path, state(dists))  # type: ignore[arg-type]
    forget_everything()  # a new process
    constraints._EXPORT_MARKERS.clear()
    assert read_needs_cache(path, state(dists))  # type: ignore[arg-type]
    monkeypatch.setattr(constraints, "_requirement", lambda text: pytest.fail(f"parsed {text!r}"))
    assert export_pins(dists, roots, MARKERS) == pins  # type: ignore[arg-type]

"""The needs derived from an environment, kept beside the probe's cache under its signature."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipguard.core import constraints
from pipguard.core.constraints import all_needs, known_needs, remember_needs
from pipguard.core.model import Distribution, Root
from pipguard.core.names import canonicalize_name
from pipguard.system.environment import EnvironmentState, read_needs_cache, write_needs_cache

MARKERS = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux",
           "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}


def dist(name: str, version: str, *requires: str) -> Distribution:
    return Distribution(canonicalize_name(name), version, tuple(requires), display_name=name)


DISTS = {d.name: d for d in (
    dist("A", "1.0", "B>=1,<2", "C[fast]>=2; python_version >= '3'", "Win>=1; sys_platform == 'win32'"),
    dist("B", "1.5"),
    dist("C", "2.1", "D>=3; extra == 'fast'"),
    dist("D", "3.0"),
)}
ROOTS = {canonicalize_name("a"): Root(canonicalize_name("a"), "A", ">=1")}


def state(signature: str = "sig-1", dists: dict[str, Distribution] | None = None) -> EnvironmentState:
    return EnvironmentState("/venv/bin/python", "3.11", "/venv", "/usr", dict(MARKERS),
                            dict(dists or DISTS), signature=signature)  # type: ignore[arg-type]


def forget_everything() -> None:
    constraints._DIST_NEEDS.clear()
    constraints._active_cached.cache_clear()
    constraints._requirement.cache_clear()


def test_needs_taken_from_an_earlier_run_equal_the_derived_ones(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    forget_everything()
    derived = all_needs(DISTS, ROOTS, (), MARKERS, "ignore")
    assert {n.name for n in derived} == {"a", "b", "c", "d"}  # D through C's extra in use; Win not on linux
    path = tmp_path / "cache-needs"
    assert write_needs_cache(path, state())
    forget_everything()  # a new process
    monkeypatch.setattr(constraints, "_requirement", lambda text: pytest.fail(f"parsed {text!r}"))
    assert read_needs_cache(path, state())
    assert all_needs(DISTS, ROOTS, (), MARKERS, "ignore") == derived


@pytest.mark.parametrize("other", [
    state("sig-2"),  # the environment changed since
    state("sig-1", {**DISTS, canonicalize_name("b"): dist("B", "1.6")}),  # same signature, other content
    state(""),  # no signature: nothing to key on
])
def test_needs_of_another_state_are_not_taken(tmp_path: Path, other: EnvironmentState) -> None:
    forget_everything()
    all_needs(DISTS, ROOTS, (), MARKERS, "ignore")
    path = tmp_path / "cache-needs"
    assert write_needs_cache(path, state())
    forget_everything()
    assert not read_needs_cache(path, other)
    assert known_needs(DISTS.values(), MARKERS) == []


def test_remembered_needs_are_keyed_by_markers() -> None:
    forget_everything()
    all_needs(DISTS, ROOTS, (), MARKERS, "ignore")
    known = known_needs(DISTS.values(), MARKERS)
    forget_everything()
    remember_needs(known, MARKERS)
    windows = {**MARKERS, "sys_platform": "win32"}
    assert known_needs(DISTS.values(), windows) == []
    assert "win" in {n.name for n in all_needs(DISTS, ROOTS, (), windows, "ignore")}

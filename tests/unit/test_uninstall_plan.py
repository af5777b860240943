"""Who still needs what an uninstall would remove (pure)."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name

from pipguard.commands.support import known_after
from pipguard.commands.uninstall import explain_refusal, removal_blockers
from pipguard.core.model import StandingConstraint
from pipguard.core.run_end import RunEnd
from pipguard.system.environment import EnvironmentState
from tests.support.fakes import dist, root

MARKERS = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux",
           "implementation_name": "cpython", "os_name": "posix", "platform_machine": "x86_64",
           "platform_python_implementation": "CPython", "python_full_version": "3.11.7",
           "implementation_version": "3.11.7", "platform_release": "", "platform_version": ""}


DISTS = {d.name: d for d in [dist("A", "1.0", "B>1.0,<2.0"), dist("B", "1.5"), dist("C", "1.0"),
                              dist("D", "1.0", "B; python_version < '3'")]}
ROOTS = {r.name: r for r in [root("A"), root("C")]}


def blockers(*names: str, standing: tuple[StandingConstraint, ...] = ()) -> list[str]:
    found = removal_blockers(DISTS, ROOTS, standing, MARKERS, {canonicalize_name(n) for n in names})
    return [f"{v.need.required_by} needs {v.need.describe()}" for v in found]


def test_removing_a_dependency_is_blocked_by_what_needs_it() -> None:
    assert blockers("B") == ["A 1.0 needs b<2.0,>1.0"]


def test_removing_a_root_is_allowed_and_so_is_removing_a_dependency_with_its_dependent() -> None:
    assert blockers("C") == []
    assert blockers("A", "B") == []


def test_requirement_whose_marker_does_not_apply_does_not_block() -> None:
    assert blockers("B") == ["A 1.0 needs b<2.0,>1.0"]  # D's marker never applies on 3.11


def test_standing_constraints_never_require_a_package_to_stay() -> None:
    assert blockers("C", standing=(StandingConstraint("C==1.0", "uc.txt"),)) == []


def test_refusal_names_the_package_and_who_needs_it_and_the_override() -> None:
    found = removal_blockers(DISTS, ROOTS, (), MARKERS, {canonicalize_name("B")})
    text = explain_refusal({canonicalize_name("B"): "B"}, found, ["-y", "B"])
    assert text.splitlines()[0] == "pipguard: not uninstalling B: earlier projects still need it."
    assert "A 1.0 needs b<2.0,>1.0" in text
    assert "Nothing was changed" in text and "pipguard uninstall --no-guard -y B" in text




def _state(**views: object) -> EnvironmentState:
    return EnvironmentState("/venv/bin/python", "3.11", "/venv", "/usr", dict(MARKERS), dict(DISTS),
                            **views)  # type: ignore[arg-type]


def test_the_versions_after_a_confirmed_uninstall_are_known_without_a_probe() -> None:
    after = known_after(_state(), {canonicalize_name("B")}, RunEnd(0), confirmed=True)
    assert after == {"a": "1.0", "c": "1.0", "d": "1.0"}


@pytest.mark.parametrize("end, confirmed, views", [
    (RunEnd(0), False, {}),  # "Proceed (Y/n)?" answered no also exits 0
    (RunEnd(1), True, {}),  # pip failed part way
    (RunEnd(-9), True, {}),  # pip killed
    (RunEnd(0, signal=2), True, {}),  # pipguard interrupted while pip ran
    (RunEnd(0), True, {"shadowed": {"b": "1.0"}}),  # another B shows once this one is gone
    (RunEnd(0), True, {"hidden": {"b": dist("B", "1.1")}}),  # pip uninstalls the one in front, skips it
])
def test_the_environment_is_read_again_unless_the_uninstall_is_certain(
        end: RunEnd, confirmed: bool, views: dict[str, object]) -> None:
    assert known_after(_state(**views), {canonicalize_name("B")}, end, confirmed=confirmed) is None

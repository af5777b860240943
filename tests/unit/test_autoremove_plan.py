"""autoremove_plan.py: what no root needs (pure)."""

from __future__ import annotations

from pipguard.core.model import Distribution, Root
from pipguard.maintenance.autoremove import plan_autoremove
from tests.support.fakes import dist, root

ENV = {"python_version": "3.11", "sys_platform": "linux", "python_full_version": "3.11.7"}


def by_name(*dists: Distribution) -> dict[str, Distribution]:
    return {d.name: d for d in dists}


def removed(own: dict[str, Distribution], roots: tuple[Root, ...], outside: dict[str, Distribution] | None = None,
            policy: str = "ignore") -> dict[str, str]:
    plan = plan_autoremove(own, outside or {}, {r.name: r for r in roots}, ENV, policy)  # type: ignore[arg-type]
    return {item.name: item.reason for item in plan.remove}


def test_private_dependencies_of_a_removed_root_go_and_shared_ones_stay() -> None:
    # G was a root (needs K and B); A, still a root, needs B too
    own = by_name(dist("A", "1.0", "B<2"), dist("B", "1.5"), dist("K", "1.0", "L"), dist("L", "1.0"))
    assert removed(own, (root("A"),)) == {
        "k": "not a root, and nothing installed requires it",
        "l": "not a root; required only by K 1.0 (unneeded too)",
    }


def test_requirements_are_followed_with_markers_for_the_target_and_extras_in_use() -> None:
    own = by_name(dist("D", "1.0", 'X; extra == "x"', 'Y; extra == "y"', "Z; python_version < '3'"),
                  dist("X", "1.0", "W[fast]"), dist("W", "1.0", 'V; extra == "fast"'), dist("V", "1.0"),
                  dist("Y", "1.0"), dist("Z", "1.0"))
    assert set(removed(own, (root("D", extras=["x"]),))) == {"y", "z"}


def test_tooling_and_pipguard_with_what_it_needs_are_never_removed() -> None:
    own = by_name(dist("pip", "26.3"), dist("setuptools", "80.0"), dist("wheel", "0.45"),
                  dist("pipguard", "0.1", "packaging>=20", "filelock>=3"), dist("packaging", "25.0"),
                  dist("filelock", "3.20"), dist("K", "1.0"))
    plan = plan_autoremove(own, {}, {}, ENV)
    assert plan.names == ("k",)
    assert plan.kept_tooling == ("filelock", "packaging", "pip", "pipguard", "setuptools", "wheel")


def test_outside_distributions_are_never_removed_and_protect_what_they_need_only_when_asked() -> None:
    own = by_name(dist("B", "1.5"), dist("K", "1.0"))
    outside = by_name(dist("C", "1.1", "B>=1.0", outside=True), dist("Q", "1.0", outside=True))
    assert removed(own, (), outside) == {
        "b": "not a root; required by C 1.1 outside the environment (not protected here: pipguard outside protect)",
        "k": "not a root, and nothing installed requires it",
    }
    assert set(removed(own, (), outside, policy="protect")) == {"k"}


def test_every_root_keeps_its_closure() -> None:
    own = by_name(dist("A", "1.0", "B"), dist("B", "1.0", "C"), dist("C", "1.0", "A"))  # a cycle, too
    assert removed(own, (root("A"),)) == {}

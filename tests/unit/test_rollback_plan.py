"""rollback_plan.py and state_diff.py: from what is installed to a recorded point (pure; a fake engine)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from packaging.utils import canonicalize_name as cn

from pipguard.core.model import StandingConstraint, StandingFile
from pipguard.engines.base import Invocation, Resolution
from pipguard.maintenance.diff import Snapshot, diff_dict, diff_lines, diff_snapshots
from pipguard.maintenance.rollback import LookupFailed, pins_missing, plan_rollback, unavailable
from pipguard.pip.request import InstallRequest, read_install
from tests.support.fakes import FakeEngine, by_name, dist, fails, ok, planned, root


def test_versions_are_pinned_and_what_the_point_lacked_is_removed_but_never_pip() -> None:
    plan = plan_rollback(by_name(dist("G", "1.2"), dist("C", "1.0"), dist("pip", "26.3"), dist("pipguard", "0.1")),
                         {cn("g"): "1.0", cn("b"): "1.5"}, {}, lambda path: True)
    assert plan.pins == ("b==1.5", "g==1.0")
    assert plan.remove == ("c",) and plan.kept == ("pip", "pipguard")


def test_an_editable_root_is_installed_again_as_editable_from_its_path() -> None:
    editable = "file:///src/p"
    wanted_roots = {cn("p"): root("P", editable=editable, extras=("x",))}
    plan = plan_rollback(by_name(dist("P", "2.0")), {cn("p"): "1.0"}, wanted_roots, lambda path: path == "/src/p")
    assert plan.pins == () and [r.argument for r in plan.reinstall] == [("-e", "/src/p[x]")]
    # already installed that way: nothing to do
    same = plan_rollback(by_name(dist("P", "1.0", editable=editable)), {cn("p"): "1.0"}, wanted_roots, lambda p: True)
    assert same.empty


def test_an_editable_root_whose_directory_is_gone_is_named() -> None:
    plan = plan_rollback(by_name(dist("P", "2.0")), {cn("p"): "1.0"}, {cn("p"): root("P", editable="file:///src/p")},
                         lambda path: False)
    assert plan.missing_paths == (("p", "/src/p"),) and plan.reinstall == () and plan.pins == ()


def test_a_url_root_is_installed_from_its_url_unless_the_url_was_redacted() -> None:
    wanted = {cn("u"): "1.0", cn("v"): "1.0"}
    roots = {cn("u"): root("U", url="file:///w/u-1.0-py3-none-any.whl"),
             cn("v"): root("V", url="https://****@host/v-1.0.tar.gz")}
    plan = plan_rollback(by_name(dist("U", "2.0"), dist("V", "2.0")), wanted, roots, lambda p: True)
    assert [r.argument for r in plan.reinstall] == [("U @ file:///w/u-1.0-py3-none-any.whl",)]
    assert plan.pins == ("v==1.0",)


def test_pins_named_in_an_engines_words_are_told_apart_from_their_neighbours() -> None:
    words = "ERROR: No matching distribution found for b==1.0.1\nbecause cab==2.0 and c==1.0 were not found"
    assert pins_missing(("b==1.0", "ab==2.0", "c==1.0"), words) == ["c==1.0"]


def request_for(pins: Sequence[str]) -> InstallRequest:
    return read_install(["--no-deps", *pins], "/nonexistent", {"PIP_CONFIG_FILE": "/dev/null"})


def test_every_version_that_cannot_be_had_is_named_at_once() -> None:
    def answer(invocation: Invocation) -> Resolution:
        asked = [r.text for r in invocation.request.requested]
        for gone in ("b==1.0", "g==1.0"):
            if gone in asked:
                return fails("no-match", summary=f"ERROR: No matching distribution found for {gone}")
        return ok(*(planned(text.split("==")[0], text.split("==")[1]) for text in asked))

    engine = FakeEngine(answer)
    assert unavailable(engine, ("b==1.0", "c==1.0", "g==1.0"), request_for) == ["b==1.0", "g==1.0"]
    assert len(engine.calls) == 3  # all, then without b, then without b and g
    assert unavailable(FakeEngine(answer), ("c==1.0",), request_for) == []


def test_a_failure_that_names_no_pin_is_not_taken_for_a_missing_version() -> None:
    with pytest.raises(LookupFailed, match="index down"):
        unavailable(FakeEngine(lambda inv: fails("other", summary="ERROR: index down")), ("c==1.0",), request_for)


# -- the difference between two points ------------------------------------------------------------


def test_a_difference_names_versions_roots_and_standing_constraints() -> None:
    before = Snapshot("3", {cn("a"): "1.0", cn("b"): "1.5"}, {cn("a"): root("A", "<2")},
                      (StandingConstraint("b<=2.0", "command line", 2),))
    after = Snapshot("now", {cn("a"): "1.5", cn("c"): "1.0"},
                     {cn("a"): root("A", ">=1.0"), cn("p"): root("P", editable="file:///src/p")},
                     (StandingConstraint("c<2", "/etc/upper.txt", 4),), (StandingFile("/etc/upper.txt", 4),))
    diff = diff_snapshots(before, after)
    assert diff_lines(diff) == [
        "name  after 3  now",
        "a     1.0      1.5",
        "b     1.5      -",
        "c     -        1.0",
        "",
        "roots:",
        "  ~ A<2  ->  A>=1.0",
        "  + -e file:///src/p (P)",
        "",
        "standing constraints:",
        "  + c<2 (from /etc/upper.txt)",
        "  - b<=2.0 (command line)",
        "  + file /etc/upper.txt",
    ]
    data = diff_dict(diff)
    assert data["versions"][1] == {"name": "b", "before": "1.5", "after": None}
    assert data["roots"][1]["after"]["editable"] == "file:///src/p" and data["roots"][1]["before"] is None
    assert diff_snapshots(after, after).empty and diff_lines(diff_snapshots(after, after)) == []

"""verdicts.py: only real reasons, and how to lift a root's range (over the fake engine of test_decide)."""

from __future__ import annotations

from pathlib import Path

from pipguard.core.decide import decide_install
from pipguard.engines.base import Invocation, Resolution
from tests.support.fakes import FakeEngine, Recorder, dist, fails, ok, planned, root
from tests.unit.test_decide import situation


def test_a_requirement_the_installed_version_meets_is_not_given_as_a_reason(tmp_path: Path) -> None:
    """After a one-off 'Utils<4', -c pinning Utils===10.1: the pin clashes, not Nova's 'Utils>=3.33'."""
    upper = tmp_path / "upper.txt"
    upper.write_text("Utils===10.1\n")

    def answer(inv: Invocation) -> Resolution:
        if "utils" in inv.constraints and "<4" in str(inv.constraints["utils"]):  # type: ignore[index]
            return fails("impossible")
        return ok(planned("Nova", "1.0", "Utils>=3.33", requested=True), planned("Utils", "10.1"))

    s = situation("-c", str(upper), "Nova", dists=(dist("Utils", "3.40"),), roots=(root("Utils", "<4"),))
    outcome = decide_install(s, FakeEngine(answer), Recorder())
    assert outcome.kind == "rejected" and outcome.returncode == 10
    assert outcome.messages[-1].splitlines() == [
        "pipguard: not installing Nova: it would break earlier projects.",
        f"  Utils (root, transaction 2) needs utils<4; this install would bring utils 10.1 (the command's "
        f"constraints file {upper}, line 1 pins Utils===10.1).",
        "  Utils<4 is a root you asked for in transaction 2; to lift its range, ask for it again without one "
        "('pipguard install Utils', which changes nothing installed), then run this command again.",
        "Nothing was changed.",
    ]


def test_the_requirement_that_excludes_the_installed_version_is_the_reason_and_a_rangeless_root_has_no_lift(
        ) -> None:
    engine = FakeEngine(lambda inv: fails("impossible") if inv.constraints else ok(
        planned("E", "1.0", "B>=2.0", requested=True), planned("B", "2.0")))
    s = situation("E", dists=(dist("A", "1.0", "B>1.0,<2.0"), dist("B", "1.5")), roots=(root("A"),))
    outcome = decide_install(s, engine, Recorder())
    assert "this install would bring b 2.0 (E 1.0 needs B>=2.0)." in outcome.messages[-1]
    assert "to lift its range" not in outcome.messages[-1]  # A is a root without a range of its own


def test_the_requested_projects_own_requirement_is_the_reason_whatever_the_engines_plan_order() -> None:
    """connexion 2.14 then quart: uv listed Flask first ("Flask 3.1.3 needs werkzeug>=3.1.0"), pip Quart."""
    def answer(inv: Invocation) -> Resolution:
        if inv.constraints:
            return ok(planned("Quart", "0.18.4", "Werkzeug>=2.2", requested=True), backtracked=True)
        return ok(planned("Werkzeug", "3.1.9"), planned("Flask", "3.1.3", "Werkzeug>=3.1.0"),
                  planned("Quart", "0.22.0", "Werkzeug>=3.0", "Flask>=3.0", requested=True))

    s = situation("Quart", dists=(dist("Connexion", "2.14.2", "Werkzeug<2.3"), dist("Werkzeug", "2.2.3")),
                  roots=(root("Connexion"),))
    outcome = decide_install(s, FakeEngine(answer), Recorder())
    assert outcome.kind == "installed"
    assert outcome.messages == (
        "pipguard: installed Quart 0.18.4 instead of 0.22.0, plain pip's choice here (4 minor versions back): "
        "Quart 0.22.0 needs Werkzeug>=3.0, but Connexion 2.14.2 (root, transaction 2) needs werkzeug<2.3.",
    )


def test_the_engines_give_release_dates_for_the_request_they_are_given(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Through the port, for the request passed in: the engines keep no request of their own for it."""
    from pipguard.engines import index
    from pipguard.engines.pip.engine import PipEngine
    from pipguard.engines.uv.engine import UvEngine
    from pipguard.pip.request import read_install

    asked: list[tuple[object, str]] = []
    monkeypatch.setattr(index, "release_dates",
                        lambda request, name: asked.append((request, name)) or {"1.0": "2020-01-02"})
    request = read_install(["Quart"], "/nonexistent", {"PIP_CONFIG_FILE": "/dev/null"})
    engines = (UvEngine("/nonexistent/python", ["uv"], tmp_path), PipEngine("/nonexistent/python", "26.0", tmp_path))
    for engine in engines:
        assert engine.release_dates(request, ["Quart"]) == {"Quart": {"1.0": "2020-01-02"}}
        assert not hasattr(engine, "_request")
    assert asked == [(request, "Quart"), (request, "Quart")]

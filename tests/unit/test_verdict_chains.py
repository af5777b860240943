"""verdicts.py: each re-planned project gets its own reason, and a reason that runs through other
projects names the chain from the request to the clash (issue 19, items 22 and 24)."""

from __future__ import annotations

from pipguard.core.decide import decide_install
from pipguard.engines.base import Invocation, Resolution
from tests.unit.test_decide import FakeEngine, Recorder, dist, ok, planned, root, situation


def test_two_replanned_projects_each_get_their_own_requirement_as_the_reason() -> None:
    def answer(inv: Invocation) -> Resolution:
        if "marshmallow" in inv.constraints:
            return ok(planned("flask-marshmallow", "1.3.0", "marshmallow>=3", requested=True),
                      planned("marshmallow-sqlalchemy", "1.5.0", "marshmallow>=3.18", requested=True),
                      backtracked=True)
        return ok(planned("flask-marshmallow", "1.5.0", "marshmallow>=4", requested=True),
                  planned("marshmallow-sqlalchemy", "1.6.0", "marshmallow>=4", requested=True),
                  planned("marshmallow", "4.0.0"))

    s = situation("flask-marshmallow", "marshmallow-sqlalchemy",
                  dists=(dist("Earlier", "1.0", "marshmallow<4"), dist("marshmallow", "3.26.1")),
                  roots=(root("Earlier"),))
    outcome = decide_install(s, FakeEngine(answer), Recorder())
    assert outcome.kind == "installed"
    assert [m.split(": ", 2)[2] for m in outcome.messages] == [
        "flask-marshmallow 1.5.0 needs marshmallow>=4, but Earlier 1.0 (root, transaction 2) needs marshmallow<4.",
        "marshmallow-sqlalchemy 1.6.0 needs marshmallow>=4, but Earlier 1.0 (root, transaction 2) needs "
        "marshmallow<4.",
    ]


def test_an_older_major_refusal_names_every_step_from_the_request_to_the_clash() -> None:
    def answer(inv: Invocation) -> Resolution:
        if "docutils" in inv.constraints:
            return ok(planned("sat", "2.5.0", "Sphinx>=8", requested=True), planned("Sphinx", "8.2.3"),
                      backtracked=True)
        return ok(planned("sat", "3.6.1", "Sphinx>=9.0.4", requested=True),
                  planned("Sphinx", "9.0.4", "Jinja>=3", "docutils>=0.22"), planned("Jinja", "3.1"),
                  planned("docutils", "0.22.3"))

    s = situation("sat", dists=(dist("Theme", "3.0", "docutils<0.22"), dist("docutils", "0.21.2")),
                  roots=(root("Theme"),))
    outcome = decide_install(s, FakeEngine(answer), Recorder())
    assert outcome.kind == "rejected"
    assert ("  sat 3.6.1 needs Sphinx>=9.0.4, and Sphinx 9.0.4 needs docutils>=0.22, but Theme 3.0 (root, "
            "transaction 2) needs docutils<0.22.") in outcome.messages[-1].splitlines()

"""The plain run started ahead (issue 18) is the run the core then asks for.

``plain_invocation_ahead`` builds plain pip's first invocation before the
environment is read; the pip engine takes a run started ahead over only when
the core's invocation gives the same pip command line (equal invocations do).
Over the fake engine of test_decide.
"""

from __future__ import annotations

from pipguard.core.decide import Situation, decide_install, plain_invocation_ahead
from pipguard.core.model import StandingConstraint
from pipguard.engines.base import Invocation
from tests.support.fakes import FakeEngine, Recorder, ok, planned
from tests.unit.test_decide import ENV, SEED, SEED_ROOTS, situation


def _first_invocation(s: Situation) -> Invocation:
    """The core's first invocation, as far as it makes the engine's command line: which planned
    versions the core will read (``versions_read``) is known only with the environment, and is no
    word of the command (the engines take a run ahead over by its command line)."""
    engine = FakeEngine(lambda inv: ok(planned("C", "1.0", "B>=1.0", requested=True)))
    decide_install(s, engine, Recorder())
    return engine.calls[0][1]._replace(versions_read=None)


def test_without_standing_constraints_the_run_ahead_is_the_plain_run() -> None:
    s = situation("C", dists=SEED, roots=SEED_ROOTS)
    assert plain_invocation_ahead(s.request, (), ENV) == _first_invocation(s)


def test_standing_constraints_with_markers_evaluated_for_the_target_give_the_same_run() -> None:
    standing = (
        StandingConstraint("B<3; python_version >= '3'", "/etc/uc.txt", 1),
        StandingConstraint("B<1.2; python_version < '3'", "/etc/uc.txt", 2),
        StandingConstraint("C<=1.0", "command line", 0),
    )
    s = situation("C", dists=SEED, roots=SEED_ROOTS, standing=standing)
    ahead = plain_invocation_ahead(s.request, standing, ENV)
    assert ahead == _first_invocation(s)
    assert {name: str(spec) for name, spec in ahead.constraints.items()} == {"b": "<3", "c": "<=1.0"}


def test_a_standing_constraint_the_environment_already_breaks_makes_the_runs_differ() -> None:
    standing = (StandingConstraint("B<1.2", "/etc/uc.txt", 1),)  # B 1.5 is installed: broken before
    s = situation("C", dists=SEED, roots=SEED_ROOTS, standing=standing)
    ahead = plain_invocation_ahead(s.request, standing, ENV)
    assert ahead != _first_invocation(s)  # the engine ends the run ahead and starts the core's


def test_a_standing_file_the_command_line_passes_itself_is_left_out_of_the_plain_run() -> None:
    """devstack passes ``-c upper-constraints.txt`` on every call; kept standing as well, its lines
    would reach plain pip twice (its own -c file and pipguard's): pip reads them from its own."""
    standing = (
        StandingConstraint("B<3", "/etc/uc.txt", 1),
        StandingConstraint("C<=1.0", "command line", 0),
    )
    s = situation("C", dists=SEED, roots=SEED_ROOTS, standing=standing, standing_passed=frozenset({"/etc/uc.txt"}))
    ahead = plain_invocation_ahead(s.request, standing, ENV, s.standing_passed)
    assert ahead == _first_invocation(s)
    assert {name: str(spec) for name, spec in ahead.constraints.items()} == {"c": "<=1.0"}
    # a -c file does not reach pip's isolated builds: the build constraints keep every standing line
    assert {name: str(spec) for name, spec in ahead.build_constraints.items()} == {"b": "<3", "c": "<=1.0"}

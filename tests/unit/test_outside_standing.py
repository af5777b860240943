"""Standing constraints judge the environment's own distributions, not those seen from outside
(issue 19, item 8): a --system-site-packages venv's base interpreter is not the environment."""

from __future__ import annotations

from packaging.utils import canonicalize_name as cn

from pipguard.core.decide import Situation, judge, protect, satisfied
from pipguard.core.health import assess, outside_unmet_summary
from pipguard.core.model import Distribution, LedgerState, OutsidePolicy, PlannedInstall, StandingConstraint
from pipguard.pip.request import read_install

ENV = {"python_version": "3.11", "sys_platform": "linux", "python_full_version": "3.11.7"}
UPPER = (StandingConstraint("click===8.1.7", "/opt/stack/requirements/upper-constraints.txt"),
         StandingConstraint("nova-lib===1.0", "/opt/stack/requirements/upper-constraints.txt"))
DISTS = {d.name: d for d in (
    Distribution(cn("click"), "8.0.3", (), "click", outside=True),  # the distro's, seen from outside
    Distribution(cn("nova-lib"), "1.0", (), "nova-lib"),
)}


def situation(*args: str, outside: OutsidePolicy = "ignore") -> Situation:
    return Situation(read_install(list(args), "/nonexistent", {"PIP_CONFIG_FILE": "/dev/null"}), DISTS, ENV,
                     standing=UPPER, outside=outside)


def test_an_outside_distribution_is_not_already_broken_by_a_standing_constraint() -> None:
    protection = protect(situation("nova-lib"))
    assert protection.preexisting == ()
    assert str(protection.constraints()[cn("click")]) == "===8.1.7"  # still handed to pip, for what it installs
    assert satisfied(situation("nova-lib"))


def test_shadowing_it_inside_is_held_to_the_standing_constraint() -> None:
    inside = PlannedInstall(cn("click"), "click", "8.2.0", requested=True)
    verdict = judge(situation("click"), [inside])
    assert [v.need.describe() for v in verdict.blocking] == ["click===8.1.7"]
    assert not judge(situation("click"), [PlannedInstall(cn("click"), "click", "8.1.7")]).blocking


def test_protecting_what_is_outside_judges_it_by_the_standing_constraints_too() -> None:
    protection = protect(situation("nova-lib", outside="protect"))
    assert [v.need.describe() for v in protection.preexisting] == ["click===8.1.7"]


def test_check_reports_it_as_outside_not_as_a_problem() -> None:
    for policy, problems, unmet in (("ignore", 0, 1), ("protect", 1, 0)):
        ledger = LedgerState(outside=policy, distributions={cn("nova-lib"): "1.0"})  # type: ignore[arg-type]
        result = assess(DISTS, ledger, ENV, ledger_path="l", has_ledger=True, standing=UPPER)
        assert (len(result.violations), len(result.outside_unmet)) == (problems, unmet), policy
        assert result.ok is (problems == 0)
    result = assess(DISTS, LedgerState(), ENV, ledger_path="l", has_ledger=True, standing=UPPER)
    assert outside_unmet_summary(result.outside_unmet) == "click 8.0.3 (constraint: click===8.1.7)"


def test_check_json_lists_the_unmet_constraints_of_outside_distributions() -> None:
    from pipguard.cli.render import check_json

    ledger = LedgerState(distributions={cn("nova-lib"): "1.0"})
    result = assess(DISTS, ledger, ENV, ledger_path="l", has_ledger=True, standing=UPPER)
    outside = check_json(result)["outside"]
    assert outside["distributions"] == [{"name": "click", "version": "8.0.3"}]
    assert outside["unmet_constraints"] == [{"name": "click", "version": "8.0.3", "constraint": "click===8.1.7",
                                             "source": "/opt/stack/requirements/upper-constraints.txt"}]

"""An editable root asked for again by name keeps its source (issue 19, item 9), and a checkout
asked for by path is never called a re-plan of the earlier root it replaces."""

from __future__ import annotations

from packaging.utils import canonicalize_name as cn

from pipguard.core.decide import Situation, roots_after
from pipguard.core.model import Distribution, PlannedInstall, Root
from pipguard.core.verdicts import Explainer
from pipguard.pip.request import read_install

ENV = {"python_version": "3.11", "sys_platform": "linux", "python_full_version": "3.11.7"}
CHECKOUT = "file:///opt/stack/keystoneauth"
NAME = cn("keystoneauth1")


def situation(*args: str, installed: Distribution, root: Root) -> Situation:
    return Situation(read_install(list(args), "/nonexistent", {"PIP_CONFIG_FILE": "/dev/null"}),
                     {NAME: installed}, ENV, roots={NAME: root}, txn_id=7)


EDITABLE_ROOT = Root(NAME, "keystoneauth1", editable=CHECKOUT, added_by=4)
FROM_CHECKOUT = Distribution(NAME, "5.14.1.dev11", (), "keystoneauth1", editable=CHECKOUT)


def test_asked_for_by_name_with_extras_while_the_checkout_satisfies_it_keeps_the_checkout() -> None:
    s = situation("keystoneauth1[oauth1]>=5.0", installed=FROM_CHECKOUT, root=EDITABLE_ROOT)
    for plan in ((), (PlannedInstall(cn("oauthlib"), "oauthlib", "3.2"),)):
        root = roots_after(s, plan)[NAME]
        assert (root.editable, root.extras, root.specifier, root.added_by) == (CHECKOUT, ("oauth1",), ">=5.0", 7)


def test_installed_by_name_from_the_index_after_all_the_checkout_is_gone() -> None:
    s = situation("keystoneauth1[oauth1]>=5.0", installed=FROM_CHECKOUT, root=EDITABLE_ROOT)
    root = roots_after(s, (PlannedInstall(NAME, "keystoneauth1", "5.15.0", requested=True),))[NAME]
    assert (root.editable, root.extras, root.specifier) == (None, ("oauth1",), ">=5.0")


def test_a_root_whose_checkout_is_no_longer_installed_takes_the_request() -> None:
    released = Distribution(NAME, "5.15.0", (), "keystoneauth1")
    root = roots_after(situation("keystoneauth1>=5.0", installed=released, root=EDITABLE_ROOT))[NAME]
    assert (root.editable, root.specifier) == (None, ">=5.0")


def test_the_checkout_asked_for_by_path_is_not_a_replan_of_the_earlier_root() -> None:
    released = Distribution(NAME, "5.15.0", (), "keystoneauth1")
    s = situation("-e", "/opt/stack/keystoneauth", installed=released, root=Root(NAME, "keystoneauth1", ">=5.0"))
    explainer = Explainer(s.request, s.distributions, s.roots, ENV)
    by_path = PlannedInstall(NAME, "keystoneauth1", "5.14.1.dev11", requested=True, editable=CHECKOUT)
    assert explainer.moved_roots([by_path]) == []
    # a dependency's move, or the replan policy resolving the root again by name: those are re-plans
    for requested in (False, True):
        moved = PlannedInstall(NAME, "keystoneauth1", "5.14.0", requested=requested)
        assert explainer.moved_roots([moved]) == [
            "pipguard: re-planned the earlier root keystoneauth1: 5.15.0 -> 5.14.0 (still within >=5.0)."]


def test_a_named_root_reinstalled_by_name_keeps_its_transaction() -> None:
    named = Root(NAME, "keystoneauth1", ">=5.0", added_by=3)
    s = situation("-U", "keystoneauth1>=5.0", installed=Distribution(NAME, "5.14.0", (), "keystoneauth1"), root=named)
    assert roots_after(s, (PlannedInstall(NAME, "keystoneauth1", "5.15.0", requested=True),))[NAME] == named

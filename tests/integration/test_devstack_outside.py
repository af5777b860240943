"""devstack's default venv, as docs/devstack.md sets it up (issue 19, items 8 and 9).

devstack makes its venv with ``--system-site-packages``: the base interpreter's
distributions are seen from outside. Standing upper-constraints (step 3) are
judged against the environment's own distributions, like every other
protection; the base's are reported as outside in one line, unless the user
chose to protect them (``pipguard outside protect``). And an editable root
installed by ``setup_dev_lib`` keeps its checkout when devstack later asks for
it by name with extras (``pip_install_gr_extras``).

Every call goes through devstack's real ``inc/python`` (tests/data/devstack),
against pipguard installed outside the venv and shimmed, as in
tests/integration/test_devstack.py; the base interpreter is a copy the test
controls, holding ``ds-crypto 2.0`` where upper-constraints pins 1.0.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import journal_transactions
from tests.integration.conftest import devstack_venv
from tests.integration.devstack_world import World
from tests.support.devstack_kit import CallResult, Devstack, clean_env

# The session's devstack fixtures (tests/integration/conftest.py: the world, the base
# interpreter, pipguard outside) are shared with test_devstack.py, on one worker.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("devstack")]

ALREADY_BROKEN = "already broken before this install"


class Box:
    """A devstack box: its --system-site-packages venv (shimmed), requirements checkout and ledger."""

    def __init__(self, root: Path, world: World, base: Path, pipguard: Path) -> None:
        self.venv = root / "data" / "venv"
        self.python = devstack_venv(self.venv, base)
        self.devstack = Devstack(world.dest, world.requirements_copy(root / "requirements"), self.venv,
                                 global_venv=True, find_links=[world.wheelhouse])
        self.pipguard = pipguard
        self.upper = self.devstack.requirements_dir / "upper-constraints.txt"
        shimmed = self.guard("shim", "install")
        assert shimmed.returncode == 0, shown(shimmed)

    def call(self, snippet: str) -> CallResult:
        return self.devstack.call(snippet)

    def guard(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.pipguard), "--python", str(self.python), *args],
                              capture_output=True, text=True, env=clean_env(), check=False, timeout=600)

    def versions(self) -> dict[str, str]:
        listed = subprocess.run([str(self.python), "-m", "pip", "list", "--format=json"], capture_output=True,
                                text=True, env=clean_env({"PIPGUARD_INNER_PIP": "1"}), check=True).stdout
        return {item["name"].lower(): item["version"] for item in json.loads(listed)}

    def ledger(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.venv / ".pipguard" / "ledger.json").read_text())
        return data

    def transactions(self) -> list[dict[str, Any]]:
        return journal_transactions(self.venv / ".pipguard" / "ledger.journal.jsonl")


def shown(*results: CallResult | subprocess.CompletedProcess[str]) -> str:
    return "\n".join(r.output if isinstance(r, CallResult) else f"{r.args}\n{r.stdout}{r.stderr}[exit {r.returncode}]"
                     for r in results)


STACK = [
    "pip_install_gr ds-oslo-config",
    "setup_develop $DEST/nova compute",
    "setup_develop $DEST/cinder",
    "pip_install_gr ds-glanceclient",  # needs ds-crypto<2.0: shadows the base's ds-crypto 2.0 with u-c's 1.0
    # edit-constraints deletes the library's pin from upper-constraints.txt in place, then
    # installs it from its checkout: the standing constraints are read again, as plain pip would
    "GITDIR[ds-oslo-config]=$DEST/oslo-config; setup_dev_lib ds-oslo-config",
]


def test_standing_upper_constraints_judge_the_venvs_own_distributions_not_the_base_interpreters(
        tmp_path: Path, devstack_world: World, devstack_base_python: Path, outside_pipguard: Path) -> None:
    """docs/devstack.md steps 3 and 5 both pass in devstack's --system-site-packages venv; and
    setup_dev_lib, which edits the standing upper-constraints file in place, installs the library
    from its checkout."""
    world = devstack_world
    box = Box(tmp_path / "box", world, devstack_base_python, outside_pipguard)
    assert box.versions()["ds-crypto"] == "2.0"  # the base's, seen from outside; u-c pins 1.0

    # Step 3: standing upper-constraints. The base's ds-crypto is outside them, and said so in one line.
    added = box.guard("constraints", "add", str(box.upper))
    assert added.returncode == 0, shown(added)
    assert "warning" not in added.stderr, shown(added)
    outside_lines = [line for line in added.stderr.splitlines() if "outside the environment" in line]
    assert len(outside_lines) == 1 and "ds-crypto 2.0" in outside_lines[0], shown(added)

    # The user may choose to protect what is outside too: then the standing constraints judge it as well.
    assert box.guard("outside", "protect").returncode == 0
    protected = box.guard("check")
    assert protected.returncode == 1 and "ds-crypto===1.0, but ds-crypto 2.0 is installed" in protected.stdout, \
        shown(protected)
    assert box.guard("outside", "ignore").returncode == 0

    # The stack: nothing "already broken" from outside the environment.
    for snippet in STACK:
        result = box.call(snippet)
        assert result.returncode == 0, shown(result)
        assert ALREADY_BROKEN not in result.stderr, shown(result)
    assert box.versions()["ds-crypto"] == "1.0"  # the venv's own now, as upper-constraints says
    assert box.versions()["ds-oslo-config"] == "3.0.1.dev3"  # from the checkout: its pin was edited out

    # Step 5: check is clean; the base's distributions are one line, not problems.
    check = box.guard("check")
    assert check.returncode == 0, shown(check)
    assert check.stdout == "", shown(check)
    assert sum("outside the environment" in line for line in check.stderr.splitlines()) == 1, shown(check)


def test_an_editable_library_from_git_keeps_its_checkout_when_devstack_asks_for_it_by_name_with_extras(
        tmp_path: Path, devstack_world: World, devstack_base_python: Path, outside_pipguard: Path) -> None:
    """pip_install_gr, then setup_dev_lib (editable, from the checkout), then pip_install_gr_extras by name:
    the root keeps its checkout (so a rollback can put it back), and the checkout asked for by path is
    not called a re-plan."""
    world = devstack_world
    box = Box(tmp_path / "box", world, devstack_base_python, outside_pipguard)
    checkout = world.dest / "keystoneauth"

    released = box.call("pip_install_gr ds-keystoneauth1")
    assert released.returncode == 0, shown(released)
    assert box.versions()["ds-keystoneauth1"] == "5.15.0"

    from_git = box.call("GITDIR[ds-keystoneauth1]=$DEST/keystoneauth; setup_dev_lib ds-keystoneauth1")
    assert from_git.returncode == 0, shown(from_git)
    assert "re-planned" not in from_git.stderr, shown(from_git)  # the checkout was what was asked for
    assert box.versions()["ds-keystoneauth1"] == "5.14.1.dev11"
    editable = box.ledger()["roots"]["ds-keystoneauth1"]["editable"]
    assert editable and str(checkout) in editable
    from_git_txn = box.transactions()[-1]["id"]

    extras = box.call("pip_install_gr_extras ds-keystoneauth1 oauth1")  # pip install ds-keystoneauth1[oauth1]>=5.0.0
    assert extras.returncode == 0, shown(extras)
    assert "re-planned" not in extras.stderr, shown(extras)
    assert box.versions()["ds-keystoneauth1"] == "5.14.1.dev11" and box.versions()["ds-oauthlib"] == "1.0"
    root = box.ledger()["roots"]["ds-keystoneauth1"]
    assert root["editable"] == editable, root  # still the checkout
    assert root["extras"] == ["oauth1"] and root["specifier"] == ">=5.0.0", root
    extras_txn = box.transactions()[-1]["id"]
    assert extras_txn > from_git_txn

    # The ledger can put it back: back to the release, then forward to the checkout with its extra.
    offline = ["--no-index", "-f", str(world.wheelhouse)]
    back = box.guard("rollback", str(from_git_txn - 1), *offline)
    assert back.returncode == 0, shown(back)
    assert box.versions()["ds-keystoneauth1"] == "5.15.0"
    forward = box.guard("rollback", str(extras_txn), *offline)
    assert forward.returncode == 0, shown(forward)
    assert box.versions()["ds-keystoneauth1"] == "5.14.1.dev11" and box.versions()["ds-oauthlib"] == "1.0"
    assert box.ledger()["roots"]["ds-keystoneauth1"]["editable"] == editable

"""devstack's own functions as pipguard's client (issue 9, "How it is shown").

Every call goes through devstack's real ``inc/python`` (sourced in bash,
unchanged, with ``tests/support/devstack_stubs.sh``), offline on a wheelhouse the
suite builds, against pipguard installed *outside* the environment it guards
(its own venv, as docs/devstack.md tells an operator) and shimmed with
``pipguard --python VENV shim install``. Each sequence runs twice in the same
test: once guarded, once with plain pip as the control, and the outcomes are
compared. Fixtures are session-wide (one world, one base interpreter, one
pipguard home); each test makes only the environments it shows something in.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import journal_transactions
from tests.integration.conftest import devstack_venv
from tests.integration.devstack_world import World
from tests.support.devstack_kit import CallResult, Devstack, clean_env, copy_interpreter, install_pip

# The session's devstack fixtures (tests/integration/conftest.py) are made once, on one worker.
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("devstack")]

# The stack: devstack's calls in the order stack.sh would make them, and the breaking calls after.
STACK = [
    "pip_install_gr ds-oslo-config",
    "setup_develop $DEST/nova compute",  # pip install -c ... -e /opt/stack/nova[compute]
    "pip_uninstall ds-debug-tool",  # python3.X -m pip uninstall -y, in every mode
    "setup_develop $DEST/cinder",
    "GITDIR[ds-oslo-config]=$DEST/oslo-config; setup_dev_lib ds-oslo-config",  # after edit-constraints
]
LISTINGS = ["pip list --format=columns", "python$PYTHON3_VERSION -m pip freeze"]
ROGUE = "pip_install ds-rogue-plugin"  # needs ds-legacy>=2.0; ds-cinder needs ds-legacy<2.0
NEEDED_UNINSTALL = "pip_uninstall ds-oslo-db"  # ds-nova and ds-cinder need it
NEEDED_UNINSTALL_DIRECT = "python$PYTHON3_VERSION -m pip uninstall -y ds-oslo-db"  # its exit code, unmasked


# -- running a stack -------------------------------------------------------------------------


@dataclass
class Stack:
    """One devstack box: its environment, its requirements checkout, and how pip is reached."""

    devstack: Devstack
    python: Path  # the guarded interpreter (the venv's, or the system one's)
    pipguard: Path | None  # None: the plain-pip control
    ledger: Path | None = None  # --ledger, for a system interpreter

    def call(self, snippet: str) -> CallResult:
        return self.devstack.call(snippet)

    def guard(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert self.pipguard is not None
        own = ["--ledger", str(self.ledger)] if self.ledger else []
        return subprocess.run([str(self.pipguard), "--python", str(self.python), *own, *args],
                              capture_output=True, text=True, env=clean_env(), check=False, timeout=600)

    def pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Plain pip in that environment, not through pipguard (the hook lets pipguard's own through)."""
        return subprocess.run([str(self.python), "-m", "pip", *args], capture_output=True, text=True,
                              env=clean_env({"PIPGUARD_INNER_PIP": "1"}), check=False)

    def versions(self) -> dict[str, str]:
        listed = json.loads(self.pip("list", "--format=json").stdout)
        return {item["name"].lower(): item["version"] for item in listed}

    def ledger_data(self) -> dict[str, object]:
        path = self.ledger or self.python.parent.parent / ".pipguard" / "ledger.json"
        data: dict[str, object] = json.loads(path.read_text())
        return data

    def transactions(self) -> list[dict[str, Any]]:
        """The journal's transactions, oldest first."""
        path = self.ledger or self.python.parent.parent / ".pipguard" / "ledger.json"
        return journal_transactions(path.with_name(path.stem + ".journal.jsonl"))


def show(*results: CallResult | subprocess.CompletedProcess[str]) -> str:
    return "\n".join(r.output if isinstance(r, CallResult) else f"{r.args}\n{r.stdout}{r.stderr}[exit {r.returncode}]"
                     for r in results)


def run_stack(stack: Stack, calls: list[str] = STACK) -> dict[str, CallResult]:
    return {snippet: stack.call(snippet) for snippet in [*calls, *LISTINGS]}


def venv_box(root: Path, world: World, base: Path, pipguard: Path | None) -> Stack:
    """devstack's GLOBAL_VENV box: a --system-site-packages venv over *base*, the image's tool in it."""
    venv = root / "data" / "venv"
    python = devstack_venv(venv, base)
    devstack = Devstack(world.dest, world.requirements_copy(root / "requirements"), venv,
                        global_venv=True, find_links=[world.wheelhouse])
    stack = Stack(devstack, python, pipguard)
    image = stack.pip("install", "--no-index", "-f", str(world.wheelhouse), "ds-debug-tool")
    assert image.returncode == 0, image.stderr
    if pipguard is not None:
        shimmed = stack.guard("shim", "install")
        assert shimmed.returncode == 0, show(shimmed)
    return stack


def system_box(root: Path, world: World, pipguard: Path | None) -> Stack:
    """devstack's GLOBAL_VENV=False box: a system interpreter (a copy), first on PATH as python3.X."""
    python = copy_interpreter(root / "system")
    install_pip(python)
    devstack = Devstack(world.dest, world.requirements_copy(root / "requirements"), root / "no-venv",
                        global_venv=False, python_bin=python.parent, find_links=[world.wheelhouse])
    stack = Stack(devstack, python, pipguard, ledger=root / "state" / "ledger.json" if pipguard else None)
    image = stack.pip("install", "--no-index", "-f", str(world.wheelhouse), "--root-user-action=ignore",
                      "ds-debug-tool")
    assert image.returncode == 0, image.stderr
    if pipguard is not None:
        shimmed = stack.guard("shim", "install")
        assert shimmed.returncode == 0, show(shimmed)
    return stack


def assert_same_stack_as_plain_pip(guarded: Stack, ours: dict[str, CallResult],
                                   theirs: dict[str, CallResult]) -> None:
    for snippet in ours:
        assert ours[snippet].returncode == theirs[snippet].returncode == 0, show(ours[snippet], theirs[snippet])
    for listing in LISTINGS:
        assert ours[listing].stdout == theirs[listing].stdout, show(ours[listing], theirs[listing])
    assert "ds-debug-tool" not in guarded.versions()  # pip_uninstall, through python -m pip
    columns = ours["pip list --format=columns"].stdout
    for checkout in ("nova", "cinder", "oslo-config"):
        if any(f"$DEST/{checkout}" in snippet for snippet in ours):
            assert str(guarded.devstack.dest / checkout) in columns  # editables with their checkout
    assert guarded.pip("check").returncode == 0
    check = guarded.guard("check")
    assert check.returncode == 0, show(check)


def assert_breaking_calls_refused(guarded: Stack, plain: Stack) -> None:
    """What would break an earlier project: exit 10 and nothing changed; plain pip breaks it."""
    before = guarded.versions()
    rogue, plain_rogue = guarded.call(ROGUE), plain.call(ROGUE)
    assert plain_rogue.returncode == 0 and plain.pip("check").returncode == 1, show(plain_rogue)
    assert rogue.returncode == 10, show(rogue)
    assert "not installing ds-rogue-plugin" in rogue.stderr and "ds-cinder" in rogue.stderr, show(rogue)

    uninstall, plain_uninstall = guarded.call(NEEDED_UNINSTALL), plain.call(NEEDED_UNINSTALL)
    assert uninstall.returncode == plain_uninstall.returncode == 0  # devstack's `|| /bin/true`
    assert "not uninstalling ds-oslo-db" in uninstall.stderr, show(uninstall)
    assert "ds-oslo-db" not in plain.versions()
    direct = guarded.call(NEEDED_UNINSTALL_DIRECT)
    assert direct.returncode == 10, show(direct)  # python -m pip's own exit code

    assert guarded.versions() == before and guarded.pip("check").returncode == 0


def assert_base_distributions_do_not_block_an_install_into_the_venv(guarded: Stack, plain: Stack) -> None:
    """The base's ds-distro-tool needs ds-crypto>=2.0; the venv gets ds-crypto 1.0 (shadowing the base's
    2.0), as plain pip does: the base interpreter is not the environment being guarded. (The boxes differ
    by now, the plain one broken: the call must change both in the same way.)"""
    call, freeze = "pip_install_gr ds-glanceclient", "python$PYTHON3_VERSION -m pip freeze"
    ours_before, theirs_before = (set(box.call(freeze).stdout.splitlines()) for box in (guarded, plain))
    ours, theirs = guarded.call(call), plain.call(call)
    assert theirs.returncode == 0, show(theirs)
    assert ours.returncode == 0, show(ours)
    assert guarded.versions()["ds-crypto"] == plain.versions()["ds-crypto"] == "1.0"
    ours_after, theirs_after = (set(box.call(freeze).stdout.splitlines()) for box in (guarded, plain))
    assert ours_after - ours_before == theirs_after - theirs_before != set()
    assert ours_before - ours_after == theirs_before - theirs_after


# -- the tests ---------------------------------------------------------------------------------


def test_devstack_global_venv_stack_matches_plain_pip_and_refuses_what_would_break(
        tmp_path: Path, devstack_world: World, devstack_base_python: Path, outside_pipguard: Path) -> None:
    """GLOBAL_VENV=True: $DEVSTACK_VENV/bin/pip for installs, python3.X -m pip for pip_uninstall,
    in a --system-site-packages venv whose base holds distributions of its own."""
    guarded = venv_box(tmp_path / "guarded", devstack_world, devstack_base_python, outside_pipguard)
    plain = venv_box(tmp_path / "plain", devstack_world, devstack_base_python, None)

    ours, theirs = run_stack(guarded), run_stack(plain)
    assert_same_stack_as_plain_pip(guarded, ours, theirs)
    transactions = guarded.transactions()
    roots = guarded.ledger_data()["roots"]
    assert isinstance(roots, dict) and roots["ds-nova"]["extras"] == ["compute"]
    assert roots["ds-oslo-config"]["editable"]  # setup_dev_lib: from the checkout, after edit-constraints
    commands = [t["command"] for t in transactions]
    assert "uninstall" in commands  # pip_uninstall reached pipguard through python -m pip

    assert_breaking_calls_refused(guarded, plain)
    assert_base_distributions_do_not_block_an_install_into_the_venv(guarded, plain)

    # pipguard lives outside: nothing of it in the guarded venv (nor in what the venv sees).
    installed = guarded.versions()
    assert not {"pipguard", "filelock", "packaging"} & set(installed), installed
    status = json.loads(guarded.guard("shim", "status", "--json").stdout)
    assert status["python_m_pip"]["state"] == "guarded"
    assert status["runner"] == [str(outside_pipguard.parent / "python"), "-I", "-m", "pipguard"]


def test_devstack_without_global_venv_goes_through_python_m_pip_for_every_call(
        tmp_path: Path, devstack_world: World, outside_pipguard: Path) -> None:
    """GLOBAL_VENV=False: `sudo -H LC_ALL=... python3.X -m pip` for every call, on a system interpreter."""
    guarded = system_box(tmp_path / "guarded", devstack_world, outside_pipguard)
    plain = system_box(tmp_path / "plain", devstack_world, None)

    calls = STACK[:-1]  # setup_dev_lib after edit-constraints is shown in the GLOBAL_VENV test
    ours, theirs = run_stack(guarded, calls), run_stack(plain, calls)
    assert_same_stack_as_plain_pip(guarded, ours, theirs)
    transactions = guarded.transactions()
    assert isinstance(transactions, list)
    commands = [t["command"] for t in transactions]
    assert commands.count("install") == 3 and commands.count("uninstall") == 1, commands  # all via -m pip

    assert_breaking_calls_refused(guarded, plain)

    removed = guarded.guard("shim", "remove")
    assert removed.returncode == 0, show(removed)
    after = guarded.call(ROGUE)  # plain pip again: nothing guards the system interpreter any more
    assert after.returncode == 0, show(after)

"""The pip engine's gate: one real pip run that resolves, waits for the core's answer, then installs.

Nothing may change before the core has approved the plan, however long the
core takes and however fast pip would have gone on (a report read from a
pipe and a SIGSTOP after it once let a fast pip start installing first).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipguard.engines.base import Approval, Invocation, Resolution
from pipguard.engines.pip.engine import PipEngine
from pipguard.engines.pip.gate import NO_GATE
from pipguard.engines.pip.gated import gate_source
from pipguard.pip.request import read_install
from tests.conftest import Venv, scrubbed_env


def engine_for(venv: Venv, tmp_path: Path) -> PipEngine:
    work = tmp_path / "work"
    work.mkdir()
    return PipEngine(venv.python, "26.0", work)


def invocation(venv: Venv, wheelhouse: Path, *requirements: str) -> Invocation:
    args = ["--no-index", "-f", str(wheelhouse), *requirements]
    return Invocation(read_install(args, str(venv.path), scrubbed_env()), show_output=False)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine runs pip with pipguard's own environment: scrub pip's settings from it."""
    for name in [name for name in os.environ if name.startswith("PIP_")]:
        monkeypatch.delenv(name)
    for name, value in scrubbed_env().items():
        if name.startswith("PIP_"):
            monkeypatch.setenv(name, value)


def test_pip_waits_at_the_gate_until_the_core_answers_and_a_no_changes_nothing(
        venv: Venv, wheelhouse: Path, tmp_path: Path) -> None:
    seen: list[dict[str, str]] = []

    def slow_no(planned: Resolution) -> Approval:
        assert {item.name for item in planned.plan} == {"a", "b"}
        time.sleep(1.5)  # a slow core: pip must still be waiting, having changed nothing
        seen.append(venv.versions())
        return Approval(False, "no")

    found = engine_for(venv, tmp_path).install(invocation(venv, wheelhouse, "A"), slow_no)
    assert found.failure is not None and found.failure.kind == "stopped", found.output
    assert seen and not {"a", "b"} & set(seen[0])
    assert not {"a", "b"} & set(venv.versions())


def test_a_yes_lets_the_same_pip_run_install_the_plan_it_reported(
        venv: Venv, wheelhouse: Path, tmp_path: Path) -> None:
    plans: list[set[str]] = []

    def yes(planned: Resolution) -> Approval:
        plans.append({f"{item.name}=={item.version}" for item in planned.plan})
        assert "a" not in venv.versions()
        return Approval(True)

    found = engine_for(venv, tmp_path).install(invocation(venv, wheelhouse, "A"), yes)
    assert found.ok, found.output
    assert plans == [{"a==1.0", "b==1.8"}]
    assert {"a": "1.0", "b": "1.8"}.items() <= venv.versions().items()


_WITH_GATE_PLACE = {"commands/install.py": "def install_given_reqs():\n    pass\n",
                    "req/req_install.py": "class InstallRequirement:\n    def uninstall(self):\n        pass\n"}


@pytest.mark.parametrize("command, module, text", [
    ("install", "commands/install.py", "# a future pip, reorganised\n"),
    ("uninstall", "req/req_install.py", "class InstallRequirement:  # a future pip, reorganised\n    pass\n"),
])
def test_a_pip_without_the_gates_place_runs_nothing_and_says_so(
        venv: Venv, tmp_path: Path, command: str, module: str, text: str) -> None:
    """The engine then falls back to a dry run and an exact install (an uninstall: to pip run
    after the judgement); the gate never lets an ungated pip run. The other command's place is
    there: each command is gated where its own first change starts."""
    fake = tmp_path / "fake"
    for name, source in {**_WITH_GATE_PLACE, module: text}.items():
        (fake / "pip" / "_internal" / name).parent.mkdir(parents=True, exist_ok=True)
        (fake / "pip" / "_internal" / name).write_text(source)
    for package in ("pip", "pip/_internal", "pip/_internal/commands", "pip/_internal/req"):
        (fake / package / "__init__.py").write_text("")
    (fake / "pip" / "__main__.py").write_text("raise SystemExit('ungated pip ran')\n")
    read, write = os.pipe()
    go_read, go_write = os.pipe()
    result = subprocess.run(
        [sys.executable, "-c", gate_source(), str(write), str(go_read), "", command, "x"],
        env={**scrubbed_env(), "PYTHONPATH": str(fake)}, capture_output=True, text=True, pass_fds=(write, go_read),
        check=False, cwd=tmp_path,
    )
    for fd in (read, write, go_read, go_write):
        os.close(fd)
    assert result.returncode == NO_GATE, result.stderr
    assert "ungated pip ran" not in result.stderr

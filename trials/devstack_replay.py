"""Replay devstack's pip calls through its real inc/python, against the real package index.

Opt-in (it needs the network; never run in CI). It builds two devstack boxes
the way stack.sh does (``setup_devstack_virtualenv``: ``python3 -m venv
--system-site-packages``, then ``pip_install -U pip setuptools[core]``) over
the same base interpreter, shims one with pipguard installed outside it (its
own venv, a wheel of this checkout), and makes the same devstack calls in
both, one after the other: ``pip_install_gr`` of real OpenStack libraries
and clients with ``-c upper-constraints.txt`` (OpenStack's real files from
the shared data), ``setup_develop DIR[extras]`` and ``setup_dev_lib`` of
checkouts (sdists from the index, unpacked under ``$DEST``) after
``edit-constraints``, ``pip_uninstall`` through ``python3.X -m pip``, ``pip
list --format=columns``, ``python3.X -m pip freeze``, ``pip show``; then calls
that would break earlier projects, through ``bin/pip`` and ``python -m pip``.

Whichever box makes a call first fetches what pip's caches lack (the index's
pages, which the index lets pip keep for ten minutes, and the files), and the
other then finds them there. So a third box, plain pip, first makes every call
but the breaking ones, untimed (``--no-warm-up`` leaves it
out); the two timed boxes then take turns at going first, as before.

It prints each call's exit codes and times (pipguard, plain pip, ratio), the
totals, and checks: the guarded box ends as the plain one did before the
breaking calls (same ``pip freeze``), ``pip check`` with nothing that plain
pip's box did not have before the breaking calls (over the base
interpreter, the base's own distributions are reported in both), every breaking
call refused with exit 10 while plain pip went ahead. Exit 1 if a check
fails. The offline version of the same sequence, on synthetic projects, is
``tests/integration/test_devstack.py`` (in CI).

    trials/devstack-replay [--workdir DIR] [--keep] [--base-python PATH | --clean-base] [--no-warm-up]
                           [--verbose]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from tests.support.devstack_kit import (  # noqa: E402
    PY_VERSION,
    CallResult,
    Devstack,
    clean_env,
    copy_interpreter,
    pipguard_wheel,
    write_edit_constraints,
)

SHARED = [base / "shared" / "data" for base in (REPO.parent, REPO.parent.parent)]
# Checkouts devstack would clone: (directory under $DEST, project). Their sdists stand in for git.
CHECKOUTS = [("keystoneauth", "keystoneauth1"), ("oslo.log", "oslo.log")]
IMAGE_TOOL = "cowsay"  # in the image before devstack; nothing needs it


@dataclass(frozen=True)
class Step:
    """One devstack call and what must come of it with pipguard."""

    call: str
    expect: int = 0  # pipguard's exit code; plain pip's is 0 for every step
    breaking: bool = False  # plain pip goes ahead and breaks an earlier project


STEPS = [
    Step("pip_install_gr oslo.config"),
    Step("pip_install_gr python-keystoneclient"),
    Step("pip_install_gr osc-lib"),
    Step("pip_install_gr python-glanceclient"),
    Step("setup_develop $DEST/keystoneauth oauth1"),  # -e /opt/stack/keystoneauth[oauth1], after edit-constraints
    Step(f"pip_uninstall {IMAGE_TOOL}"),  # python3.X -m pip uninstall -y
    Step("GITDIR[oslo.log]=$DEST/oslo.log; setup_dev_lib oslo.log"),
    Step("pip_install_gr python-openstackclient"),
    Step("pip_install_gr osc-placement"),
    Step("pip list --format=columns"),
    Step("python$PYTHON3_VERSION -m pip freeze"),
    Step("pip show oslo.config"),
    # What would break earlier projects (plain pip does it and breaks them):
    Step("$DEVSTACK_VENV/bin/pip install 'stevedore<3'", expect=10, breaking=True),
    Step("python$PYTHON3_VERSION -m pip uninstall -y keystoneauth1", expect=10, breaking=True),
    Step("pip_uninstall oslo.config", breaking=True),  # `|| /bin/true`: 0 either way; see the check
]
FREEZE = "python$PYTHON3_VERSION -m pip freeze"
PIP_CHECK = "python$PYTHON3_VERSION -m pip check"


def shared_file(name: str) -> Path:
    for base in SHARED:
        if (base / name).is_file():
            return base / name
    raise SystemExit(f"devstack-replay: {name} not found in " + ", ".join(map(str, SHARED)))


def index_settings() -> dict[str, str]:
    """How to reach the index (kept from this machine's environment; its pip.conf is not read)."""
    return {k: v for k, v in os.environ.items() if k in ("PIP_CERT", "PIP_INDEX_URL", "PIP_DEFAULT_TIMEOUT")}


def index_env() -> dict[str, str]:
    return {**clean_env(), **index_settings()}


def run(cmd: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, env=index_env(), check=False,
                          **kwargs)  # type: ignore[call-overload]


def prepare_requirements(root: Path) -> Path:
    requirements = root / "requirements"
    requirements.mkdir(parents=True)
    shutil.copy(shared_file("upper-constraints.txt"), requirements / "upper-constraints.txt")
    shutil.copy(shared_file("global-requirements.txt"), requirements / "global-requirements.txt")
    write_edit_constraints(requirements)
    return requirements


def prepare_checkouts(dest: Path, upper: Path) -> None:
    """The upper-constraints version of each project's sdist, unpacked where devstack clones it."""
    pins = {line.split("===")[0].lower(): line.split("===")[1].split(";")[0].strip()
            for line in upper.read_text().splitlines() if "===" in line}
    downloads = dest.parent / "sdists"
    for directory, project in CHECKOUTS:
        spec = f"{project}=={pins[project.lower()]}"
        result = run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                      "-d", str(downloads), spec])
        if result.returncode != 0:
            raise SystemExit(f"devstack-replay: cannot download {spec}: {result.stderr[-400:]}")
        archive = next(p for p in downloads.glob("*.tar.gz")
                       if p.name.lower().replace("_", ".").startswith(project.lower().replace("_", ".")))
        with tarfile.open(archive) as tar:
            top = tar.getnames()[0].split("/")[0]
            tar.extractall(downloads, filter="data")
        shutil.move(str(downloads / top), str(dest / directory))


def pipguard_outside(root: Path) -> Path:
    """pipguard in a venv of its own: a wheel of this checkout, its requirements from the index."""
    wheels = root / "wheels"
    wheels.mkdir(parents=True)
    wheel = pipguard_wheel(wheels)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    result = run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)])
    if result.returncode != 0:
        raise SystemExit(f"devstack-replay: cannot install pipguard: {result.stderr[-400:]}")
    return venv / "bin" / "pipguard"


def devstack_box(root: Path, requirements: Path, dest: Path, base: str) -> Devstack:
    """A devstack box, its venv made by devstack's own setup_devstack_virtualenv."""
    box_requirements = root / "requirements"
    shutil.copytree(requirements, box_requirements)
    write_edit_constraints(box_requirements)
    devstack = Devstack(dest, box_requirements, root / "data" / "venv", global_venv=True, offline_index=False,
                        extra_env={**index_settings(), "PYTHON": base})
    made = devstack.call("setup_devstack_virtualenv")
    if made.returncode != 0:
        raise SystemExit(f"devstack-replay: setup_devstack_virtualenv failed:\n{made.output}")
    image = devstack.call(f"$DEVSTACK_VENV/bin/pip install --quiet {IMAGE_TOOL}")
    if image.returncode != 0:
        raise SystemExit(f"devstack-replay: cannot prepare the image:\n{image.output}")
    return devstack


@dataclass
class Outcome:
    step: Step
    guarded: CallResult
    plain: CallResult

    @property
    def ratio(self) -> float:
        return self.guarded.seconds / self.plain.seconds if self.plain.seconds else 0.0


def warm_up(box: Devstack, log: Path) -> float:
    """Every call that breaks nothing, in a box of its own (plain pip), untimed: pip's caches then
    hold what the timed boxes would otherwise fetch for each other. Returns the seconds it took."""
    began = time.monotonic()
    with log.open("a") as handle:
        for step in STEPS:
            if step.breaking:
                continue
            result = box.call(step.call)
            handle.write(f"[warm-up]\n{result.output}\n")
            if result.returncode != 0:
                raise SystemExit(f"devstack-replay: the warm-up call {step.call!r} failed:\n{result.output[-2000:]}")
    return time.monotonic() - began


def replay(guarded: Devstack, plain: Devstack, log: Path,
           verbose: bool) -> tuple[list[Outcome], tuple[str, str], str]:
    """The steps in both boxes; also each box's freeze and plain pip's `pip check` before the breaking calls."""
    outcomes = []
    freezes = ("", "")
    plain_check = ""
    print(f"  {'call':<62} {'pipguard':>14} {'plain pip':>14} {'ratio':>6}")
    for step in STEPS:
        if step.breaking and not freezes[0]:
            freezes = (guarded.call(FREEZE).stdout, plain.call(FREEZE).stdout)
            plain_check = plain.call(PIP_CHECK).stdout
        # Whichever goes first fills pip's download cache for the other: take turns.
        if len(outcomes) % 2 == 0:
            ours, theirs = guarded.call(step.call), plain.call(step.call)
        else:
            theirs, ours = plain.call(step.call), guarded.call(step.call)
        outcome = Outcome(step, ours, theirs)
        outcomes.append(outcome)
        with log.open("a") as handle:
            handle.write(f"[pipguard]\n{ours.output}\n[plain pip]\n{theirs.output}\n")
        if verbose:
            sys.stderr.write(ours.output + theirs.output)
        print(f"  {step.call[:62]:<62} exit {ours.returncode:<3} {ours.seconds:5.1f}s "
              f"exit {theirs.returncode:<3} {theirs.seconds:5.1f}s {outcome.ratio:5.2f}x")
    return outcomes, freezes, plain_check


def checks(outcomes: list[Outcome], guarded: Devstack, plain: Devstack, freezes: tuple[str, str],
           plain_check: str) -> list[str]:
    failed = []
    for outcome in outcomes:
        if outcome.plain.returncode != 0:
            failed.append(f"plain pip: {outcome.step.call} exited {outcome.plain.returncode}")
        if outcome.guarded.returncode != outcome.step.expect:
            failed.append(f"pipguard: {outcome.step.call} exited {outcome.guarded.returncode}, "
                          f"not {outcome.step.expect}")
    if freezes[0] != freezes[1]:
        failed.append("pip freeze before the breaking calls differs from plain pip's")
    uninstall = next(o for o in outcomes if o.step.call.startswith("pip_uninstall oslo.config"))
    if "not uninstalling oslo.config" not in uninstall.guarded.stderr:
        failed.append("pip_uninstall oslo.config was not refused")
    # Over the base interpreter's site-packages, pip check also reports the base's own distributions,
    # which pipguard leaves unguarded by design ("outside"): plain pip's box had the same lines before
    # the breaking calls, so only a problem plain pip's box did not have counts.
    guarded_check = guarded.call(PIP_CHECK)
    new_problems = [line for line in guarded_check.stdout.splitlines()
                    if line.strip() and line not in plain_check.splitlines()]
    if guarded_check.returncode != 0 and (new_problems or not guarded_check.stdout.strip()):
        failed.append(f"pip check in the guarded box: {guarded_check.stdout.strip()}")
    final_plain_check = plain.call(PIP_CHECK)
    if final_plain_check.returncode == 0:
        failed.append("plain pip's box is not broken: the breaking calls did not break anything")
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devstack-replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", help="where to build everything (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--base-python", default=str(Path(sys.base_prefix) / "bin" / f"python{PY_VERSION}"),
                        help="the interpreter devstack's venvs are made from (its site-packages is seen)")
    parser.add_argument("--clean-base", action="store_true",
                        help="make the venvs from a copy of the base interpreter with an empty site-packages "
                             "(nothing of its own for the venvs to see)")
    parser.add_argument("--no-warm-up", action="store_true",
                        help="leave out the untimed plain-pip box that fills pip's caches first")
    parser.add_argument("--dry-run", action="store_true", help="print the calls, change nothing")
    parser.add_argument("--verbose", action="store_true", help="show pip's output")
    args = parser.parse_args(argv)
    if args.dry_run:
        for step in STEPS:
            print(f"{step.call}  # pipguard exit {step.expect}{', breaks with plain pip' if step.breaking else ''}")
        return 0
    start = time.monotonic()
    root = Path(args.workdir or tempfile.mkdtemp(prefix="devstack-replay-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    log = root / "replay.log"
    try:
        requirements = prepare_requirements(root / "shared")
        dest = root / "opt" / "stack"
        dest.mkdir(parents=True)
        prepare_checkouts(dest, requirements / "upper-constraints.txt")
        pipguard = pipguard_outside(root / "pipguard")
        base = str(copy_interpreter(root / "base")) if args.clean_base else args.base_python
        guarded = devstack_box(root / "guarded", requirements, dest, base)
        plain = devstack_box(root / "plain", requirements, dest, base)
        shim = run([str(pipguard), "--python", str(guarded.venv / "bin" / "python"), "shim", "install"])
        if shim.returncode != 0:
            raise SystemExit(f"devstack-replay: pipguard shim install failed: {shim.stderr}")
        seen = "its site-packages empty" if args.clean_base else "its site-packages seen by the venvs"
        print(f"devstack-replay in {root} (venvs --system-site-packages over {base}, {seen})")
        if not args.no_warm_up:
            warm = devstack_box(root / "warm", requirements, dest, base)
            print(f"  pip's caches warmed by a plain-pip box first (untimed, {warm_up(warm, log):.0f} s)")
        outcomes, freezes, plain_check = replay(guarded, plain, log, args.verbose)
        ours = sum(o.guarded.seconds for o in outcomes if not o.step.breaking)
        theirs = sum(o.plain.seconds for o in outcomes if not o.step.breaking)
        print(f"  {'total before the breaking calls':<62} {ours:13.1f}s {theirs:13.1f}s {ours / theirs:5.2f}x")
        failed = checks(outcomes, guarded, plain, freezes, plain_check)
        for problem in failed:
            print(f"  FAIL: {problem}")
        kept = f"; log: {log}" if args.workdir or args.keep else ""
        print(f"devstack-replay: {'OK' if not failed else 'FAILED'} ({len(STEPS)} calls, "
              f"{time.monotonic() - start:.0f} s{kept})")
        return 0 if not failed else 1
    finally:
        if not args.workdir and not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Replay devstack's pip call sequence through a pipguard-shimmed ``$VENV/bin/pip``.

Everything is synthetic and offline: the libraries are wheels built with
wheelkit, the services are source projects installed editable (``-e``), and
every install passes ``-c upper-constraints.txt`` (OpenStack's real file
when it can be found, plus pins for the synthetic names) with
``--no-index -f WHEELHOUSE``. The calls are the shapes devstack's
inc/python makes: ``pip_install_gr``, ``setup_develop`` (with
``-r test-requirements.txt``, ``-U``, ``-e path[extras]``),
``pip_install_gr_extras``, ``pip_uninstall -y name || true``,
``pip list --format=columns``, ``pip freeze``, ``pip show``.

Checks (exit 1 if any fails): every call behaved as expected; every
service imports; ``pip check`` and ``pipguard check`` are clean; the
conflicting plugin was rejected (exit 10, naming the earlier project,
nothing changed); the re-run of the whole stack changed nothing; and
``pipguard shim remove`` put pip's scripts back byte for byte.

    scripts/devstack-replay [--workdir DIR] [--keep] [--verbose]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from wheelkit import build_wheel, module_name, write_source_project  # noqa: E402

# Libraries (wheels): (name, version, requires, extras). "ds-" names are not in upper-constraints.
LIBRARIES: list[tuple[str, str, list[str], dict[str, list[str]]]] = [
    ("ds-oslo-config", "1.0", [], {}),
    ("ds-oslo-config", "2.0", [], {}),
    ("ds-oslo-config", "3.0", [], {}),
    ("ds-oslo-db", "1.0", ["ds-oslo-config>=1.0"], {}),
    ("ds-oslo-db", "2.0", ["ds-oslo-config>=1.0"], {}),
    ("ds-oslo-messaging", "1.0", ["ds-oslo-config>=1.0"], {"amqp": ["ds-amqp>=1.0"]}),
    ("ds-amqp", "1.0", [], {}),
    ("ds-amqp", "1.1", [], {}),
    ("ds-keystoneauth", "1.0", ["ds-oslo-config>=2.0"], {}),
    ("ds-libvirt", "1.0", [], {}),
    ("ds-testtools", "1.0", [], {}),
    ("ds-legacy", "1.0", [], {}),  # not in upper-constraints
    ("ds-legacy", "2.0", [], {}),
    ("ds-neutron-fwaas", "1.0", ["ds-neutron>=1.0", "ds-oslo-config>=2.0"], {}),  # a plugin, from a wheel
    ("ds-rogue-plugin", "1.0", ["ds-legacy>=2.0"], {}),  # conflicts with cinder: must be rejected
    ("ds-debug-tool", "1.0", [], {}),  # in the image before devstack; pip_uninstall removes it
]
# Services (editable source projects): (name, requires, extras, test-requirements).
SERVICES: list[tuple[str, list[str], dict[str, list[str]], list[str]]] = [
    ("ds-keystone", ["ds-oslo-config>=1.0", "ds-oslo-db>=1.0", "ds-keystoneauth"], {}, []),
    ("ds-glance", ["ds-oslo-config>=2.0,<3", "ds-oslo-messaging"], {}, ["ds-testtools"]),
    ("ds-nova", ["ds-oslo-config>=2.0", "ds-oslo-db", "ds-oslo-messaging", "ds-keystoneauth"],
     {"compute": ["ds-libvirt>=1.0"]}, []),
    ("ds-neutron", ["ds-oslo-config", "ds-oslo-messaging"], {}, ["ds-testtools"]),
    ("ds-cinder", ["ds-oslo-config", "ds-oslo-db>=2.0", "ds-legacy<2.0"], {}, []),
]
UPPER_PINS = ["ds-oslo-config===2.0", "ds-oslo-db===2.0", "ds-oslo-messaging===1.0", "ds-amqp===1.1",
              "ds-keystoneauth===1.0", "ds-libvirt===1.0", "ds-testtools===1.0", "ds-neutron-fwaas===1.0"]
SERVICE_MODULES = [module_name(name) for name, *_ in SERVICES] + [module_name("ds-neutron-fwaas")]
REAL_UPPER_CONSTRAINTS = [
    REPO.parent / "shared" / "data" / "upper-constraints.txt",
    REPO.parent.parent / "shared" / "data" / "upper-constraints.txt",
]


CONFLICT = "conflicting plugin ds-rogue-plugin"
NEEDED_UNINSTALL = "pip_uninstall ds-oslo-db (still needed) || true"
LIST_COLUMNS = "pip list --format=columns (editable detection)"


@dataclass(frozen=True)
class Call:
    """One pip call devstack makes, and what must come of it."""

    label: str
    args: tuple[str, ...]
    expect: str = "ok"  # "ok" (exit 0), "rejected" (exit 10), "tolerated" (`|| true`)


@dataclass
class Outcome:
    call: Call
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def as_expected(self) -> bool:
        if self.call.expect == "ok":
            return self.returncode == 0
        if self.call.expect == "rejected":
            return self.returncode == 10
        return True


@dataclass
class Box:
    """The replay's files: wheelhouse, /opt/stack, the venv, the constraints file."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)
    upper_source: str = ""

    @property
    def wheelhouse(self) -> Path:
        return self.root / "wheelhouse"

    @property
    def stack(self) -> Path:
        return self.root / "opt" / "stack"

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    @property
    def pip(self) -> str:
        return str(self.venv / "bin" / "pip")

    @property
    def upper_constraints(self) -> Path:
        return self.stack / "requirements" / "upper-constraints.txt"


# -- building the world --------------------------------------------------------------


def upper_constraints_text(explicit: str | None) -> tuple[str, str]:
    """OpenStack's real upper-constraints (or a same-shaped stand-in) plus the synthetic pins."""
    candidates = [Path(explicit)] if explicit else REAL_UPPER_CONSTRAINTS
    for path in candidates:
        if path.is_file():
            return path.read_text(), str(path)
    if explicit:
        raise SystemExit(f"devstack-replay: upper-constraints file not found: {explicit}")
    lines = [f"synthetic-project-{i}==={i % 7}.{i % 13}.{i}" for i in range(575)]
    return "\n".join(lines) + "\n", "synthetic stand-in (575 lines; the real file was not found)"


def build_world(box: Box, explicit_uc: str | None) -> None:
    for name, version, requires, extras in LIBRARIES:
        build_wheel(box.wheelhouse, name, version, requires, extras)
    import virtualenv.seed.wheels.embed as embed  # setuptools wheels for the isolated builds

    for wheel in Path(embed.__file__).parent.glob("setuptools-*.whl"):
        shutil.copy(wheel, box.wheelhouse)
    for name, requires, extras, test_requires in SERVICES:
        directory = box.stack / name.removeprefix("ds-")
        write_source_project(directory, name, "1.0", requires, extras)
        (directory / "test-requirements.txt").write_text("".join(f"{r}\n" for r in test_requires))
    text, box.upper_source = upper_constraints_text(explicit_uc)
    box.upper_constraints.parent.mkdir(parents=True, exist_ok=True)
    box.upper_constraints.write_text(text.rstrip("\n") + "\n" + "\n".join(UPPER_PINS) + "\n")


def make_venv(box: Box) -> None:
    from virtualenv import cli_run

    cli_run([str(box.venv), "--no-setuptools", "--no-wheel", "--no-periodic-update", "-q"])


def replay_env() -> dict[str, str]:
    """devstack's environment shape, without the machine's own pip settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PIPGUARD_", "VIRTUAL_ENV"))}
    env.update({
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "SETUPTOOLS_SYS_PATH_TECHNIQUE": "rewrite",  # devstack sets it
    })
    return env


# -- the stack ---------------------------------------------------------------------


def stack_calls(box: Box) -> list[Call]:
    uc = ("-c", str(box.upper_constraints))
    links = ("--no-index", "-f", str(box.wheelhouse))

    def src(name: str) -> str:
        return str(box.stack / name)

    return [
        Call("pip_install_gr ds-oslo-config", ("install", *uc, *links, "ds-oslo-config")),
        Call("setup_develop keystone", ("install", *uc, *links, "-e", src("keystone"))),
        Call("setup_develop glance -r test-requirements",
             ("install", *uc, *links, "-r", src("glance/test-requirements.txt"), "-e", src("glance"))),
        Call("setup_develop nova --upgrade", ("install", *uc, *links, "--upgrade", "-e", src("nova"))),
        Call("pip_uninstall ds-debug-tool || true", ("uninstall", "-y", "ds-debug-tool"), "tolerated"),
        Call("setup_develop neutron -r test-requirements",
             ("install", *uc, *links, "-r", src("neutron/test-requirements.txt"), "-e", src("neutron"))),
        Call("pip_install_gr_extras ds-oslo-messaging[amqp]",
             ("install", *uc, *links, "ds-oslo-messaging[amqp]")),
        Call("setup_develop nova[compute] (extras added later)",
             ("install", *uc, *links, "-e", src("nova") + "[compute]")),
        Call("setup_develop cinder", ("install", *uc, *links, "-e", src("cinder"))),
        Call("plugin ds-neutron-fwaas", ("install", *uc, *links, "ds-neutron-fwaas")),
        Call(NEEDED_UNINSTALL, ("uninstall", "-y", "ds-oslo-db"), "rejected"),
        Call(CONFLICT, ("install", *uc, *links, "ds-rogue-plugin"), "rejected"),
        Call(LIST_COLUMNS, ("list", "--format=columns")),
        Call("pip freeze", ("freeze",)),
        Call("pip show ds-nova", ("show", "ds-nova")),
    ]


def run(cmd: Sequence[str], env: Mapping[str, str], log: Path | None = None,
        verbose: bool = False) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(cmd), capture_output=True, text=True, env=dict(env), check=False)
    if log is not None:
        with log.open("a") as handle:
            handle.write(f"$ {' '.join(cmd)}\n{result.stdout}{result.stderr}[exit {result.returncode}]\n\n")
    if verbose:
        sys.stderr.write(result.stdout + result.stderr)
    return result


def run_stack(box: Box, calls: Sequence[Call], log: Path, verbose: bool) -> list[Outcome]:
    outcomes = []
    for call in calls:
        start = time.monotonic()
        result = run([box.pip, *call.args], box.env, log, verbose)
        outcome = Outcome(call, result.returncode, result.stdout, result.stderr, time.monotonic() - start)
        outcomes.append(outcome)
        mark = "ok" if outcome.as_expected else "UNEXPECTED"
        print(f"  {call.label:<52} exit {result.returncode:<3} {outcome.seconds:5.1f}s  {mark}")
    return outcomes


def pipguard(box: Box, *args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "pipguard", "--python", box.python, *args], box.env)


def installed(box: Box) -> dict[str, str]:
    code = ("import json, importlib.metadata as m;"
            "print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions()}))")
    result: dict[str, str] = json.loads(run([box.python, "-I", "-c", code], box.env).stdout)
    return result


def ledger(box: Box) -> dict[str, Any]:
    """The ledger's current state (the state document)."""
    data: dict[str, Any] = json.loads((box.venv / ".pipguard" / "ledger.json").read_text())
    return data


def transactions(box: Box) -> list[dict[str, Any]]:
    """The journal's transactions, oldest first (an outcome replaces its pending record)."""
    found: dict[int, dict[str, Any]] = {}
    for line in (box.venv / ".pipguard" / "ledger.journal.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("kind") == "transaction":
            found[record["id"]] = record
    return [found[key] for key in sorted(found)]


def pip_scripts(box: Box) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() + oct(p.stat().st_mode)
            for p in sorted((box.venv / "bin").glob("pip*"))}


# -- checks ------------------------------------------------------------------------


class Checks:
    def __init__(self) -> None:
        self.results: list[tuple[str, bool, str]] = []

    def add(self, name: str, ok: bool, detail: str = "") -> None:
        self.results.append((name, ok, detail))

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.results)

    def print(self) -> None:
        width = max(len(name) for name, _, _ in self.results)
        for name, ok, detail in self.results:
            print(f"  {name:<{width}}  {'OK  ' if ok else 'FAIL'}  {detail}")


def check_end_state(box: Box, outcomes: Sequence[Outcome], checks: Checks, run_name: str) -> None:
    unexpected = [o.call.label for o in outcomes if not o.as_expected]
    checks.add(f"{run_name}: every call as expected", not unexpected, ", ".join(unexpected))
    broken = [m for m in SERVICE_MODULES
              if run([box.python, "-c", f"import {m}"], box.env).returncode != 0]
    checks.add(f"{run_name}: every service imports", not broken,
               "broken: " + ", ".join(broken) if broken else ", ".join(SERVICE_MODULES))
    pip_check = run([box.python, "-m", "pip", "check"], box.env)
    checks.add(f"{run_name}: pip check", pip_check.returncode == 0, pip_check.stdout.strip().splitlines()[0]
               if pip_check.stdout.strip() else "")
    guard_check = pipguard(box, "check")
    checks.add(f"{run_name}: pipguard check", guard_check.returncode == 0,
               (guard_check.stdout + guard_check.stderr).strip().splitlines()[-1])
    by_label = {o.call.label: o for o in outcomes}
    rogue = by_label[CONFLICT]
    versions = installed(box)
    rejected = (rogue.returncode == 10 and "ds-cinder" in rogue.stderr
                and "Nothing was changed" in rogue.stderr
                and "ds-rogue-plugin" not in versions and versions.get("ds-legacy") == "1.0")
    lines = rogue.stderr.splitlines()
    first = next((line for line in lines if line.startswith("pipguard: not installing")), "")
    checks.add(f"{run_name}: conflicting call rejected", rejected, first)
    kept = by_label[NEEDED_UNINSTALL]
    checks.add(f"{run_name}: needed library kept", kept.returncode == 10 and "ds-oslo-db" in versions,
               f"exit {kept.returncode}")
    columns = by_label[LIST_COLUMNS].stdout.splitlines()
    missing = [name for name, *_ in SERVICES
               if not any(line.split()[:1] == [name] and str(box.stack) in line for line in columns)]
    checks.add(f"{run_name}: editables listed with their source", not missing, ", ".join(missing))


def snapshot(box: Box) -> dict[str, Any]:
    """What the environment holds and what the ledger protects (not when it was recorded)."""
    data = ledger(box)
    roots = {name: {k: v for k, v in root.items() if k not in ("added_by", "added_at")}
             for name, root in data["roots"].items()}
    return {"installed": installed(box), "roots": roots,
            "standing": [data["standing"], data["standing_files"]], "last": data["last_id"]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devstack-replay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", help="where to build everything (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--upper-constraints", help="the upper-constraints file to shape -c after")
    parser.add_argument("--verbose", action="store_true", help="show pip's output")
    args = parser.parse_args(argv)
    start = time.monotonic()
    root = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="devstack-replay-"))
    root.mkdir(parents=True, exist_ok=True)
    box = Box(root.resolve(), replay_env())
    log = box.root / "replay.log"
    try:
        build_world(box, args.upper_constraints)
        make_venv(box)
        image = run([box.python, "-m", "pip", "install", "--no-index", "-f", str(box.wheelhouse),
                     "ds-debug-tool"], box.env, log)
        if image.returncode != 0:
            raise SystemExit(f"devstack-replay: could not prepare the image: {image.stderr}")
        original_pip = pip_scripts(box)
        shim = pipguard(box, "shim", "install")
        if shim.returncode != 0:
            raise SystemExit(f"devstack-replay: pipguard shim install failed: {shim.stderr}")
        print(f"devstack-replay in {box.root}")
        print(f"  -c {box.upper_constraints} ({len(box.upper_constraints.read_text().splitlines())} lines; "
              f"from {box.upper_source})")
        checks = Checks()
        calls = stack_calls(box)

        print("stack:")
        first = run_stack(box, calls, log, args.verbose)
        check_end_state(box, first, checks, "stack")
        checks.add("stack: uninstalled root left the ledger",
                   "ds-debug-tool" not in ledger(box)["roots"] and "ds-debug-tool" not in installed(box))
        before = snapshot(box)

        print("re-stack (the same calls again):")
        second = run_stack(box, calls, log, args.verbose)
        check_end_state(box, second, checks, "re-stack")
        after = snapshot(box)
        changed = [t for t in transactions(box) if t["id"] > before["last"] and t["changes"]]
        same = all(before[key] == after[key] for key in ("installed", "roots", "standing"))
        checks.add("re-stack is a no-op", same and not changed,
                   f"{after['last'] - before['last']} transactions, "
                   f"{sum(len(t['changes']) for t in changed)} distribution changes")

        removed = pipguard(box, "shim", "remove")
        checks.add("shim remove restores pip byte for byte",
                   removed.returncode == 0 and pip_scripts(box) == original_pip)
        print("checks:")
        checks.print()
        elapsed = time.monotonic() - start
        kept = f"; log: {log}" if args.workdir or args.keep else ""
        print(f"devstack-replay: {'OK' if checks.ok else 'FAILED'} ({len(calls)} calls x 2 runs, "
              f"{elapsed:.0f} s{kept})")
        return 0 if checks.ok else 1
    finally:
        if not args.workdir and not args.keep and box.root.exists():
            shutil.rmtree(box.root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

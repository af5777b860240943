"""``pipguard shim install|remove|status``: an environment's pip, through pipguard.

The command: its arguments, the lock, the ledger's shim record, and what is
said. The work is in ``pipguard.shim``: ``scripts`` (finding pip's scripts,
writing shims over them, putting pip's back after checking them), ``runner``
(how a shim reaches pipguard, and the record checked against this
environment), ``record`` (the record's shape) and ``hook`` (``python -m
pip``). What was installed is recorded in the ledger's ``shim`` key; that
record is data, checked before anything in it is run or written.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipguard.cli.context import Target, locate, open_session
from pipguard.cli.options import Options, say
from pipguard.commands.support import (
    originals_directory,
    pip_installed,
    read_record,
    reinstall_pip_advice,
)
from pipguard.core.model import LedgerState
from pipguard.errors import EnvironmentUnusable, UsageError
from pipguard.ledger import now
from pipguard.shim.hook import HOOK_NAME, HookConfig, hook_state, render_hook, site_packages, write_hook
from pipguard.shim.record import (
    ShimRecord,
    ShimRecordInvalid,
    runner_problem,
)
from pipguard.shim.runner import choose_runner, interpreter_problem
from pipguard.shim.scripts import (
    SHIM_MARKER,
    RemoveReport,
    ShimSpec,
    find_pip_scripts,
    is_shim,
    remove_shims,
    render_shim,
    scripts_directory,
    shebang_interpreter,
    shim_scripts,
    spec_of,
)

__all__: Sequence[str] = ["SHIM_MARKER", "ShimSpec", "render_shim", "run_shim", "shebang_interpreter"]


# -- the record, checked against this environment -------------------------------------------


def _record_or_warn(target: Target, ledger: LedgerState | None, doing: str) -> ShimRecord | None:
    try:
        return read_record(target, ledger)
    except ShimRecordInvalid as exc:
        say(f"pipguard: warning: {exc}. It is ignored: {doing}.")
        return None


# -- the commands ------------------------------------------------------------------------


@dataclass(frozen=True)
class ShimReport:
    shimmed: tuple[str, ...]
    refreshed: tuple[str, ...]
    unchanged: tuple[str, ...]
    hook_written: bool


def hook_config(spec: ShimSpec, target: Target, pth: Path) -> HookConfig:
    ledger_args = ("--ledger", spec.ledger) if spec.ledger else ()
    return HookConfig(os.path.realpath(target.prefix), spec.target_python, spec.hook_runner,
                      ledger_args, str(pth))


def install_shims(target: Target, previous: ShimRecord | None, spec: ShimSpec,
                  pth: Path) -> tuple[ShimRecord, ShimReport]:
    """Shim every pip script next to the target interpreter, and write the hook (idempotent)."""
    directory = scripts_directory(target.python)
    scripts = find_pip_scripts(directory, target.python)
    if not scripts:
        raise EnvironmentUnusable(
            f"no pip scripts for {target.python} in {directory}: nothing to shim. Install pip "
            f"there first ({target.python} -m ensurepip), or give --python the interpreter "
            "whose pip devstack calls."
        )
    done = shim_scripts(scripts, spec, dict(previous.scripts) if previous else {}, reinstall_pip_advice(target))
    for warning in done.warnings:
        say(f"pipguard: warning: {warning}")
    hook_written = write_hook(pth, render_hook(hook_config(spec, target, pth)))
    installed_at = previous.installed_at if previous and not done.shimmed else now()
    record = ShimRecord(spec.target_python, spec.runner, spec.ledger, spec.originals, str(directory),
                        done.scripts, str(pth), installed_at)
    return record, ShimReport(done.shimmed, done.refreshed, done.unchanged, hook_written)


def shim_status(target: Target, ledger: LedgerState | None, pth: Path) -> dict[str, Any]:
    directory = scripts_directory(target.python)
    originals = originals_directory(target)
    try:
        record, problems = read_record(target, ledger), []
    except ShimRecordInvalid as exc:
        record, problems = None, list(exc.problems)
    scripts = {}
    names = {p.name for p in find_pip_scripts(directory, target.python)} | set(record.scripts if record else ())
    for name in sorted(names):
        path = directory / name
        if not (path.exists() or path.is_symlink()):
            kind = "missing"
        elif is_shim(path):
            kind = "shim"
        else:
            kind = "pip"
        scripts[name] = {"path": str(path), "state": kind,
                         "original_kept": (originals / name).exists() or (originals / name).is_symlink()}
    expected = render_hook(hook_config(spec_of(record), target, pth)) if record else None
    return {
        "schema": 2, "python": target.python, "scripts_dir": str(directory), "originals": str(originals),
        "ledger": str(target.store.path), "scripts": scripts,
        "python_m_pip": {"path": str(pth), "state": hook_state(pth, expected)},
        "runner": list(record.runner) if record else None,
        "record_problems": problems,
    }


_HOOK_WORDS = {"guarded": "guarded (runs through pipguard)", "absent": "not guarded",
               "changed": "pipguard's hook, but not as 'shim install' would write it now: run it again",
               "foreign": "not guarded (a file of that name that pipguard did not write)"}


def render_status(status: dict[str, Any]) -> str:
    rows = [(info["path"], info["state"]) for info in status["scripts"].values()]
    hook = status["python_m_pip"]
    rows.append((hook["path"], "python -m pip: " + _HOOK_WORDS[hook["state"]]))
    width = max(40, *(len(path) for path, _ in rows))
    lines = [f"{path:<{width}} {state}" for path, state in rows]
    if status["runner"]:
        lines.append(f"runs: {' '.join(status['runner'])}")
    lines.extend(f"warning: shim record: {problem}" for problem in status["record_problems"])
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}. See '{self.prog} --help'.")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pipguard shim", description=(
        "Make an environment's pip (bin/pip, pip3, pip3.X, and python -m pip) run through pipguard, "
        "or put pip's own back."))
    sub = parser.add_subparsers(dest="action", metavar="{install,remove,status}")
    for name, text in (("install", "replace pip's scripts with pipguard shims and hook python -m pip "
                                   "(idempotent)"),
                       ("remove", "put pip's own scripts back, byte for byte, and remove the hook"),
                       ("status", "show which pip scripts are shimmed and whether python -m pip is guarded")):
        action = sub.add_parser(name, help=text, description=text)
        action.__class__ = _Parser
        action.add_argument("--python", metavar="PATH", help="the environment's interpreter")
        if name == "status":
            action.add_argument("--json", action="store_true", help="print JSON")
    return parser


def run_shim(options: Options, args: list[str]) -> int:
    ns = build_parser().parse_args(args)
    if ns.action is None:
        raise UsageError("pipguard shim: say what to do: install, remove or status. "
                         "See 'pipguard shim --help'.")
    if ns.python:
        options = options._replace(python=ns.python)
    target = locate(options)
    if ns.action == "status":
        result = shim_status(target, target.store.load(), site_packages(target.python) / HOOK_NAME)
        print(json.dumps(result, indent=1) if ns.json else render_status(result))
        return 0
    with target.store.locked():
        try:
            if ns.action == "install":
                return _install(options, target)
            return _remove(target)
        except OSError as exc:
            where = exc.filename or scripts_directory(target.python)
            raise EnvironmentUnusable(
                f"cannot change {where}: {exc.strerror or exc}. The pip scripts belong to whoever "
                "installed that Python: run 'pipguard shim' as that user (for a system Python, with "
                "sudo), or shim a virtual environment instead. Scripts already replaced have their "
                "originals kept: running the command again (or 'shim remove') finishes or undoes it."
            ) from None


def _checked_runner(target: Target) -> tuple[str, ...]:
    """The runner to record, refused now if a later run would refuse to use it."""
    runner, caveat = choose_runner(target.python, target.prefix)
    if caveat:
        say(caveat)
    problem = runner_problem(runner) or (interpreter_problem(runner[0]) if runner else None)
    if problem:
        raise EnvironmentUnusable(
            f"cannot install the shims: {problem}. The shims run pipguard with that interpreter, so it "
            "must be a Python interpreter that only root or you can change. Install pipguard in a "
            "virtual environment of its own (python3 -m venv /opt/pipguard && /opt/pipguard/bin/pip "
            "install pipguard) and run 'pipguard shim install' from there."
        )
    return runner


def _install(options: Options, target: Target) -> int:
    session = open_session(target)
    for note in session.notes:
        say(note)
    previous = _record_or_warn(target, session.ledger, "the shims are installed afresh")
    runner = _checked_runner(target)
    override = options.ledger or os.environ.get("PIPGUARD_LEDGER")
    spec = ShimSpec(os.path.abspath(target.python), runner, str(target.store.path) if override else None,
                    str(originals_directory(target)))
    pth = site_packages(target.python) / HOOK_NAME
    record, report = install_shims(target, previous, spec, pth)
    target.store.save(session.ledger._replace(shim=record.to_dict()))
    directory = scripts_directory(target.python)
    runs = " ".join(spec.hook_runner)
    if report.shimmed:
        say(f"pipguard: {', '.join(report.shimmed)} in {directory} now run through pipguard "
            f"(pip's own scripts kept in {spec.originals}; 'pipguard shim remove' puts them back).")
    if report.refreshed:
        say(f"pipguard: updated the shims {', '.join(report.refreshed)} in {directory}.")
    if report.hook_written:
        say(f"pipguard: 'python -m pip' with {spec.target_python} (and its python3, python3.X) now runs "
            f"through pipguard too ({pth}).")
    if not (report.shimmed or report.refreshed or report.hook_written):
        say(f"pipguard: the shims in {directory} and the python -m pip hook are already installed; "
            "nothing changed.")
    else:
        say(f"pipguard: they run: {runs}")
    return 0


def _remove(target: Target) -> int:
    ledger = target.store.load()
    record = _record_or_warn(target, ledger, "only pipguard's own files in this environment are removed")
    report: RemoveReport = remove_shims(
        target.python, originals_directory(target), record, site_packages(target.python) / HOOK_NAME,
        lambda: pip_installed(target), reinstall_pip_advice(target))
    if ledger is not None and target.store.exists():
        target.store.save(ledger._replace(shim={}))
    for note in report.notes:
        say(f"pipguard: {note}")
    directory = scripts_directory(target.python)
    if report.dropped:
        say(f"pipguard: pip is no longer installed in {target.prefix}: its scripts "
            f"{', '.join(report.dropped)} were not put back (they would run a pip that is gone), and no "
            f"shim is left in their place. Install pip again with: {target.python} -m ensurepip")
    if report.restored:
        say(f"pipguard: put pip's own {', '.join(report.restored)} back in {directory}.")
    if report.hook_removed:
        say(f"pipguard: 'python -m pip' with {target.python} is plain pip again.")
    if not report.restored and not report.hook_removed and not report.notes and not report.dropped:
        say(f"pipguard: no shims in {directory}; nothing changed.")
    return 1 if any(n.startswith("cannot") for n in report.notes) else 0


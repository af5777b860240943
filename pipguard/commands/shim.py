"""``pipguard shim install|remove|status``: an environment's pip, through pipguard.

devstack calls ``$VENV/bin/pip`` by absolute path, so the files themselves
are replaced: ``pip``, ``pip3``, ``pip3.X`` (and ``pip-3.X``) next to the
target interpreter become small scripts that run ``pipguard --python TARGET
pip ARGS``. pip's own scripts are kept byte for byte beside the ledger (in
``shim-originals/``) so ``shim remove`` puts them back exactly; pass-through
commands run the kept original, so pip's output (down to the program name in
its usage lines) is unchanged. devstack also runs ``python3.X -m pip``: a
``.pth`` hook in the environment's site-packages (``pipguard.shim.hook``)
sends those to the same pipguard.

A shim names only interpreters, never a pipguard file: it imports pipguard
when it runs in the target, or runs ``python -I -m pipguard`` with
pipguard's own interpreter (pipguard installed outside the environment it
guards, the way devstack should use it), so upgrading pipguard keeps it
working. What was installed is recorded in the ledger's ``shim`` key; that
record is data, checked (``pipguard.shim.record`` and ``verify_record``)
before anything in it is run or written.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipguard.cli.context import Options, Target, locate, open_session
from pipguard.cli.options import say
from pipguard.core.model import LedgerState
from pipguard.engines.pip.runner import run_process
from pipguard.errors import EnvironmentUnusable, UsageError
from pipguard.ledger import now
from pipguard.shim.hook import HOOK_NAME, HookConfig, hook_state, remove_hook, render_hook, site_packages, write_hook
from pipguard.shim.record import (
    PIP_SCRIPT,
    ScriptRecord,
    ShimRecord,
    ShimRecordInvalid,
    runner_problem,
)
from pipguard.shim.scripts import (
    ShimSpec,
    _copy_entry,
    _script_mode,
    _script_record,
    _shim_over,
    _write_atomically,
    find_pip_scripts,
    interpreter_problem,
    is_shim,
    keep_shims,
    original_script,
    originals_directory,
    read_record,
    render_shim,
    scripts_directory,
    spec_of,
)

# -- where things are -------------------------------------------------------------


# -- reading scripts ----------------------------------------------------------------


# -- writing shims --------------------------------------------------------------------


# -- choosing how the shim runs pipguard ---------------------------------------------------

_HAS_PIP_COMMAND = "from pipguard.cli.registry import COMMANDS; raise SystemExit('pip' not in COMMANDS)"


def can_import_pipguard(python: str, isolated: bool = True) -> bool:
    flags = ["-I"] if isolated else []
    return run_process([python, *flags, "-c", _HAS_PIP_COMMAND], capture=True).returncode == 0


def choose_runner(target_python: str, target_prefix: str) -> tuple[tuple[str, ...], str | None]:
    """How the shim reaches pipguard, and a note when that depends on the caller's setup.

    The pipguard running now is the one the user chose: from its own venv (or
    pipx) it guards the target from outside, as devstack should use it; run
    from inside the target, the shims import it there.
    """
    own = sys.executable
    here = os.path.realpath(sys.prefix) == os.path.realpath(target_prefix)
    if here and can_import_pipguard(target_python):
        return (), None
    if can_import_pipguard(own):
        return (own, "-I", "-m", "pipguard"), None
    if can_import_pipguard(target_python):
        return (), None
    return (own, "-m", "pipguard"), (
        f"pipguard: note: pipguard is not installed for {own} (it runs from PYTHONPATH or the "
        "current directory), so the shim works only where that is still the case. Install "
        "pipguard (pip install pipguard) and run 'pipguard shim install' again to make it permanent."
    )


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
    originals = Path(spec.originals)
    originals.mkdir(parents=True, exist_ok=True, mode=0o755)
    records: dict[str, ScriptRecord] = dict(previous.scripts) if previous else {}
    shimmed, refreshed, unchanged = [], [], []
    wanted = render_shim(spec)
    for path in scripts:
        kept = originals / path.name
        if is_shim(path):
            if not (kept.exists() or kept.is_symlink()):
                say(f"pipguard: warning: {path} is a pipguard shim but pip's own script is not kept "
                    f"in {originals}; left as it is. Reinstall pip to get it back: "
                    f"{target.python} -m pip install --force-reinstall pip")
                continue
            records.setdefault(path.name, _script_record(kept))
            if path.read_bytes() != wanted:
                _write_atomically(path, wanted, _script_mode(path))
                refreshed.append(path.name)
            else:
                unchanged.append(path.name)
            continue
        records[path.name] = _shim_over(path, spec, originals)
        shimmed.append(path.name)
    hook_written = write_hook(pth, render_hook(hook_config(spec, target, pth)))
    installed_at = previous.installed_at if previous and not shimmed else now()
    record = ShimRecord(spec.target_python, spec.runner, spec.ledger, spec.originals, str(directory),
                        dict(sorted(records.items())), str(pth), installed_at)
    return record, ShimReport(tuple(shimmed), tuple(refreshed), tuple(unchanged), hook_written)


@dataclass(frozen=True)
class RemoveReport:
    restored: tuple[str, ...]
    hook_removed: bool
    notes: tuple[str, ...]


def remove_shims(target: Target, record: ShimRecord | None, pth: Path | None) -> RemoveReport:
    """Put pip's own scripts back and delete the hook.

    Only paths computed for *target* are touched (never paths read from the
    ledger); the record contributes script names, which have been checked.
    """
    directory = scripts_directory(target.python)
    originals = originals_directory(target)
    names = set(record.scripts) if record else set()
    if originals.is_dir():
        names |= {p.name for p in originals.iterdir() if PIP_SCRIPT.match(p.name)}
    restored, notes = [], []
    for name in sorted(names):
        path, kept = directory / name, originals / name
        has_kept = kept.exists() or kept.is_symlink()
        current_is_pips = (path.exists() or path.is_symlink()) and not is_shim(path)
        if current_is_pips:
            notes.append(f"{path} is pip's own script already (pip rewrote it); left as it is.")
        elif has_kept:
            _copy_entry(kept, path)
            restored.append(name)
        elif path.exists():
            notes.append(f"cannot restore {path}: pip's own script is not kept in {originals}. "
                         f"Reinstall pip: {target.python} -m pip install --force-reinstall pip")
            continue
        if has_kept:
            kept.unlink()
    for path in find_pip_scripts(directory, target.python):
        if is_shim(path) and path.name not in names:
            notes.append(f"cannot restore {path}: pip's own script is not kept in {originals}. "
                         f"Reinstall pip: {target.python} -m pip install --force-reinstall pip")
    with contextlib.suppress(OSError):
        originals.rmdir()
    hook_removed = remove_hook(pth) if pth is not None else False
    return RemoveReport(tuple(restored), hook_removed, tuple(notes))


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
        options = replace(options, python=ns.python)
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
    target.store.save(replace(session.ledger, shim=record.to_dict()))
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
    report = remove_shims(target, record, site_packages(target.python) / HOOK_NAME)
    if ledger is not None and target.store.exists():
        target.store.save(replace(ledger, shim={}))
    for note in report.notes:
        say(f"pipguard: {note}")
    directory = scripts_directory(target.python)
    if report.restored:
        say(f"pipguard: put pip's own {', '.join(report.restored)} back in {directory}.")
    if report.hook_removed:
        say(f"pipguard: 'python -m pip' with {target.python} is plain pip again.")
    if not report.restored and not report.hook_removed and not report.notes:
        say(f"pipguard: no shims in {directory}; nothing changed.")
    return 1 if any(n.startswith("cannot") for n in report.notes) else 0


__all__: Sequence[str] = ["keep_shims", "original_script", "run_shim"]

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
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import stat
import sys
import tempfile
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
    SHIM_FORMAT,
    ScriptRecord,
    ShimRecord,
    ShimRecordInvalid,
    parse_shim_record,
    runner_problem,
)

SHIM_MARKER = b"# pipguard-shim"
ORIGINALS_DIRNAME = "shim-originals"
_MAX_SHEBANG = 127  # the kernel's limit on older Linux; longer ones go through /bin/sh


# -- where things are -------------------------------------------------------------


def scripts_directory(python: str) -> Path:
    """The directory holding the interpreter, as given (a venv's bin/, not the base's)."""
    return Path(os.path.abspath(python)).parent


def originals_directory(target: Target) -> Path:
    return target.store.path.parent / ORIGINALS_DIRNAME


def original_script(target: Target, invoked_as: str) -> Path | None:
    """pip's own script kept for the name the shim was run as, if there is one."""
    name = os.path.basename(invoked_as)
    if not PIP_SCRIPT.match(name):
        return None
    kept = originals_directory(target) / name
    return kept if kept.is_file() else None


# -- reading scripts ----------------------------------------------------------------


def _head(path: Path, size: int = 2048) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


def is_shim(path: Path) -> bool:
    """Is *path* (followed if a link) a script pipguard wrote?"""
    return not path.is_symlink() and SHIM_MARKER in _head(path)


def shebang_interpreter(head: bytes) -> str | None:
    """The interpreter a script runs with (handles distlib's /bin/sh trampoline)."""
    lines = head.split(b"\n", 2)
    if not lines or not lines[0].startswith(b"#!"):
        return None
    first = lines[0][2:].strip().decode(errors="replace")
    if first in ("/bin/sh", "/usr/bin/env sh") and len(lines) > 1:
        second = lines[1].decode(errors="replace")
        match = re.match(r"""^'''exec' (?:"([^"]+)"|(\S+))""", second)
        return (match.group(1) or match.group(2)) if match else None
    try:
        words = shlex.split(first)
    except ValueError:
        return None
    if not words:
        return None
    interpreter = words[1] if os.path.basename(words[0]) == "env" and len(words) > 1 else words[0]
    return interpreter if os.path.isabs(interpreter) else shutil.which(interpreter)


def _same_interpreter(a: str, b: str) -> bool:
    try:
        return os.path.samefile(os.path.realpath(a), os.path.realpath(b))
    except OSError:
        return False


def find_pip_scripts(directory: Path, python: str) -> list[Path]:
    """pip's scripts in *directory* that run *python* (and shims pipguard wrote there)."""
    found = []
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return []
    for path in entries:
        if not PIP_SCRIPT.match(path.name) or not path.is_file():
            continue
        if is_shim(path):
            found.append(path)
            continue
        interpreter = shebang_interpreter(_head(path))
        if interpreter and _same_interpreter(interpreter, python):
            found.append(path)
    return found


def digest(path: Path) -> str:
    if path.is_symlink():
        return "symlink:" + os.readlink(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- writing shims --------------------------------------------------------------------


@dataclass(frozen=True)
class ShimSpec:
    """How the shims of one environment run pipguard."""

    target_python: str
    runner: tuple[str, ...]  # () : import pipguard in the target; else the command to run
    ledger: str | None  # a --ledger override given when the shim was installed
    originals: str

    @property
    def pipguard_args(self) -> list[str]:
        args = ["--python", self.target_python]
        if self.ledger:
            args += ["--ledger", self.ledger]
        return args

    @property
    def hook_runner(self) -> tuple[str, ...]:
        """What the ``python -m pip`` hook runs: the runner, or pipguard in the target itself."""
        return self.runner or (self.target_python, "-I", "-m", "pipguard")


def spec_of(record: ShimRecord) -> ShimSpec:
    return ShimSpec(record.target_python, record.runner, record.ledger, record.originals)


def render_shim(spec: ShimSpec) -> bytes:
    """The text of one shim script."""
    header = (
        f"{SHIM_MARKER.decode()} {SHIM_FORMAT}: this pip runs through pipguard. pip's own script is\n"
        f"# kept in {spec.originals}; 'pipguard shim remove' puts it back.\n"
        f"# 'python -m pip' runs through pipguard too (the {HOOK_NAME} file in site-packages).\n"
    )
    if spec.runner:
        command = " ".join(shlex.quote(w) for w in (*spec.runner, *spec.pipguard_args, "pip"))
        return f'#!/bin/sh\n{header}exec {command} --invoked-as "$0" "$@"\n'.encode()
    python = spec.target_python
    if len(python) + 2 > _MAX_SHEBANG or " " in python:
        start = f"#!/bin/sh\n'''exec' {shlex.quote(python)} \"$0\" \"$@\"\n' '''\n"
    else:
        start = f"#!{python}\n"
    argv = repr([*spec.pipguard_args, "pip", "--invoked-as"])
    advice = (f" cannot import pipguard any more. Reinstall pipguard, then run 'pipguard --python "
              f"{spec.target_python} shim remove'; or put pip back by copying the files in "
              f"{spec.originals} over the shims.\n")
    return (
        f"{start}{header}"
        "import sys\n\n"
        "if __name__ == '__main__':\n"
        "    try:\n"
        "        from pipguard.cli.main import main\n"
        "    except ImportError:\n"
        f"        sys.stderr.write('pipguard: this pip is a pipguard shim, but ' + sys.executable + {advice!r})\n"
        "        sys.exit(12)\n"
        f"    sys.exit(main([*{argv}, sys.argv[0], *sys.argv[1:]]))\n"
    ).encode()


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = ""
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _copy_entry(source: Path, destination: Path) -> None:
    """Copy a file (bytes and mode) or a symlink (its target), replacing *destination*."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.is_symlink():
        tmp = destination.with_name(f".{destination.name}.{secrets.token_hex(8)}")
        os.symlink(os.readlink(source), tmp)
        os.replace(tmp, destination)
        return
    _write_atomically(destination, source.read_bytes(), stat.S_IMODE(source.lstat().st_mode))


def _script_mode(path: Path) -> int:
    if path.is_symlink() or not path.exists():
        return 0o755
    return stat.S_IMODE(path.stat().st_mode)


def _script_record(original: Path) -> ScriptRecord:
    if original.is_symlink():
        return ScriptRecord(digest(original), symlink=os.readlink(original))
    return ScriptRecord(digest(original), mode=oct(stat.S_IMODE(original.lstat().st_mode)))


def _shim_over(path: Path, spec: ShimSpec, originals: Path) -> ScriptRecord:
    """Keep pip's script at *path*, then write the shim over it."""
    kept = originals / path.name
    mode = _script_mode(path)
    _copy_entry(path, kept)
    if path.is_symlink():
        path.unlink()
    _write_atomically(path, render_shim(spec), mode | 0o111)
    return _script_record(kept)


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


def interpreter_problem(path: str) -> str | None:
    """Why the runner's interpreter is not one only root or this user could have put there."""
    try:
        info = os.stat(path)
    except OSError as exc:
        return f"runner {path} cannot be found ({exc.strerror or exc})"
    if not stat.S_ISREG(info.st_mode) or not info.st_mode & 0o111:
        return f"runner {path} is not an executable file"
    me = os.geteuid() if hasattr(os, "geteuid") else 0
    resolved = os.path.realpath(path)
    for where in dict.fromkeys((resolved, os.path.dirname(resolved), os.path.dirname(path))):
        try:
            info = os.stat(where)
        except OSError as exc:
            return f"cannot inspect {where} ({exc.strerror or exc})"
        if info.st_uid not in (0, me):
            return f"runner {path}: {where} is owned by user id {info.st_uid}"
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return f"runner {path}: {where} is writable by others (mode {stat.filemode(info.st_mode)})"
    return None


def _inside(path: str, prefix: str) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(prefix)
    return real.startswith(top.rstrip("/") + "/")


def verify_record(record: ShimRecord, target: Target) -> list[str]:
    """What in *record* is not what ``shim install`` would have recorded for *target*."""
    problems = []
    directory = str(scripts_directory(target.python))
    if record.scripts_dir != directory:
        problems.append(f"scripts_dir {record.scripts_dir} is not {directory}")
    if os.path.dirname(record.target_python) != directory or not _same_interpreter(
            record.target_python, target.python):
        problems.append(f"target_python {record.target_python} is not the interpreter {target.python}")
    if record.originals != str(originals_directory(target)):
        problems.append(f"originals {record.originals} is not {originals_directory(target)}")
    if record.ledger is not None and record.ledger != str(target.store.path):
        problems.append(f"ledger {record.ledger} is not {target.store.path}")
    if record.pip_hook is not None and (
            os.path.basename(record.pip_hook) != HOOK_NAME or not _inside(record.pip_hook, target.prefix)):
        problems.append(f"pip_hook {record.pip_hook} is not a {HOOK_NAME} inside {target.prefix}")
    if record.runner:
        problem = interpreter_problem(record.runner[0])
        if problem:
            problems.append(problem)
    return problems


def read_record(target: Target, ledger: LedgerState | None) -> ShimRecord | None:
    """The ledger's shim record, checked for shape and against *target*; raises ShimRecordInvalid."""
    record = parse_shim_record(dict(ledger.shim) if ledger else {})
    if record is None:
        return None
    problems = verify_record(record, target)
    if problems:
        raise ShimRecordInvalid(problems)
    return record


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


def keep_shims(target: Target) -> None:
    """After pip ran: put the shims back over pip scripts it rewrote (``pip install -U pip``).

    Called with the lock held, at the end of an install. pip's newly written
    script becomes the kept original, so ``shim remove`` restores the pip
    that is installed now. Nothing is written from a record that fails the
    checks of ``read_record``: a warning says so instead.
    """
    ledger = target.store.load()
    if ledger is None or not ledger.shim:
        return
    try:
        record = read_record(target, ledger)
        if record is not None and record.scripts:
            _put_shims_back(target, ledger, record)
    except ShimRecordInvalid as exc:
        say(f"pipguard: warning: {exc}. Nothing was run or written from it, and pip scripts pip "
            "rewrote were left as pip wrote them; check the ledger, then run 'pipguard shim install' "
            "again.")
    except OSError as exc:
        # The install itself succeeded: say what is wrong with the shims, do not fail it.
        say(f"pipguard: warning: could not check the pip shims ({exc.strerror or exc}); run "
            "'pipguard shim install' again to put them back.")


def _put_shims_back(target: Target, ledger: LedgerState, record: ShimRecord) -> None:
    spec = spec_of(record)
    directory = Path(record.scripts_dir)
    records = dict(record.scripts)
    put_back, gone = [], []
    for name in sorted(records):
        path = directory / name
        if not (path.exists() or path.is_symlink()):
            # pip removed it (a new pip that does not write this name): nothing to restore later.
            with contextlib.suppress(FileNotFoundError):
                (Path(spec.originals) / name).unlink()
            del records[name]
            gone.append(name)
        elif not is_shim(path):
            records[name] = _shim_over(path, spec, Path(spec.originals))
            put_back.append(name)
    if put_back or gone:
        target.store.save(replace(ledger, shim=replace(record, scripts=records).to_dict()))
    if put_back:
        say(f"pipguard: pip rewrote {', '.join(put_back)} in {directory}; put pipguard's shim back "
            f"(pip's new scripts are kept in {spec.originals}).")


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

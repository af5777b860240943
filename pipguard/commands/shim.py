"""``pipguard shim install|remove|status``: an environment's pip scripts, through pipguard.

devstack calls ``$VENV/bin/pip`` by absolute path, so the files themselves
are replaced: ``pip``, ``pip3``, ``pip3.X`` (and ``pip-3.X``) next to the
target interpreter become small scripts that run ``pipguard --python TARGET
pip ARGS``. pip's own scripts are kept byte for byte beside the ledger (in
``shim-originals/``) so ``shim remove`` puts them back exactly; pass-through
commands run the kept original, so pip's output (down to the program name in
its usage lines) is unchanged.

A shim names only interpreters, never a pipguard file: it imports pipguard
when the target can, or runs ``python -m pipguard`` with pipguard's own
interpreter, so upgrading pipguard keeps it working.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import stat
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipguard.context import Options, Target, locate, open_session
from pipguard.errors import EnvironmentError_, UsageError
from pipguard.ledger import now
from pipguard.model import LedgerState
from pipguard.pip_runner import run_process

SHIM_MARKER = b"# pipguard-shim"
SHIM_FORMAT = 1
ORIGINALS_DIRNAME = "shim-originals"
_PIP_SCRIPT = re.compile(r"^pip(\d+(\.\d+)?)?$|^pip-\d+(\.\d+)?$")
_MAX_SHEBANG = 127  # the kernel's limit on older Linux; longer ones go through /bin/sh


def say(message: str) -> None:
    print(message, file=sys.stderr)


# -- where things are -------------------------------------------------------------


def scripts_directory(python: str) -> Path:
    """The directory holding the interpreter, as given (a venv's bin/, not the base's)."""
    return Path(os.path.abspath(python)).parent


def originals_directory(target: Target) -> Path:
    return target.store.path.parent / ORIGINALS_DIRNAME


def original_script(target: Target, invoked_as: str) -> Path | None:
    """pip's own script kept for the name the shim was run as, if there is one."""
    name = os.path.basename(invoked_as)
    if not _PIP_SCRIPT.match(name):
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
        if not _PIP_SCRIPT.match(path.name) or not path.is_file():
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
    """How the shims of one environment run pipguard (kept in the ledger's ``shim``)."""

    target_python: str
    runner: tuple[str, ...]  # () : import pipguard in the target; else the command to run
    ledger: str | None  # a --ledger override given when the shim was installed
    originals: str

    def to_dict(self) -> dict[str, Any]:
        return {"target_python": self.target_python, "runner": list(self.runner),
                "ledger": self.ledger, "originals": self.originals}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShimSpec:
        try:
            return cls(str(data["target_python"]), tuple(str(w) for w in data.get("runner", [])),
                       data.get("ledger"), str(data["originals"]))
        except (KeyError, TypeError) as exc:
            raise UsageError(f"the ledger's shim record is incomplete (no {exc})") from None

    @property
    def pipguard_args(self) -> list[str]:
        args = ["--python", self.target_python]
        if self.ledger:
            args += ["--ledger", self.ledger]
        return args


def render_shim(spec: ShimSpec) -> bytes:
    """The text of one shim script."""
    header = (
        f"{SHIM_MARKER.decode()} {SHIM_FORMAT}: this pip runs through pipguard. pip's own script is\n"
        f"# kept in {spec.originals}; 'pipguard shim remove' puts it back.\n"
        "# 'python -m pip' is not guarded.\n"
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
    return (
        f"{start}{header}"
        "import sys\n\n"
        "if __name__ == '__main__':\n"
        "    try:\n"
        "        from pipguard.cli import main\n"
        "    except ImportError:\n"
        "        sys.stderr.write(\n"
        "            'pipguard: this pip is a pipguard shim, but ' + sys.executable + ' cannot import '\n"
        f"            'pipguard any more. Reinstall pipguard, or put pip back by copying the files in '\n"
        f"            {spec.originals!r} + ' over the shims (or use: python -m pip).\\n'\n"
        "        )\n"
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
        tmp = destination.with_name(f".{destination.name}.tmp{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(os.readlink(source), tmp)
        os.replace(tmp, destination)
        return
    _write_atomically(destination, source.read_bytes(), stat.S_IMODE(source.lstat().st_mode))


def _script_mode(path: Path) -> int:
    if path.is_symlink() or not path.exists():
        return 0o755
    return stat.S_IMODE(path.stat().st_mode)


def _record(original: Path) -> dict[str, Any]:
    info: dict[str, Any] = {"sha256": digest(original)}
    if original.is_symlink():
        info["symlink"] = os.readlink(original)
    else:
        info["mode"] = oct(stat.S_IMODE(original.lstat().st_mode))
    return info


def _shim_over(path: Path, spec: ShimSpec, originals: Path) -> dict[str, Any]:
    """Keep pip's script at *path*, then write the shim over it."""
    kept = originals / path.name
    mode = _script_mode(path)
    _copy_entry(path, kept)
    if path.is_symlink():
        path.unlink()
    _write_atomically(path, render_shim(spec), mode | 0o111)
    return _record(kept)


# -- choosing how the shim runs pipguard ---------------------------------------------------

_HAS_PIP_COMMAND = "from pipguard.commands.registry import COMMANDS; raise SystemExit('pip' not in COMMANDS)"


def can_import_pipguard(python: str, isolated: bool = True) -> bool:
    flags = ["-I"] if isolated else []
    return run_process([python, *flags, "-c", _HAS_PIP_COMMAND], capture=True).returncode == 0


def choose_runner(target_python: str) -> tuple[tuple[str, ...], str | None]:
    """How the shim reaches pipguard, and a note when that depends on the caller's setup."""
    if can_import_pipguard(target_python):
        return (), None
    own = sys.executable
    if can_import_pipguard(own):
        return (own, "-I", "-m", "pipguard"), None
    return (own, "-m", "pipguard"), (
        f"pipguard: note: pipguard is not installed for {own} (it runs from PYTHONPATH or the "
        "current directory), so the shim works only where that is still the case. Install "
        "pipguard (pip install pipguard) and run 'pipguard shim install' again to make it permanent."
    )


# -- the commands ------------------------------------------------------------------------


@dataclass(frozen=True)
class ShimReport:
    shimmed: tuple[str, ...]
    refreshed: tuple[str, ...]
    unchanged: tuple[str, ...]


def _shim_state(ledger: LedgerState) -> dict[str, Any]:
    return dict(ledger.shim) if ledger.shim else {}


def install_shims(target: Target, ledger: LedgerState, spec: ShimSpec) -> tuple[LedgerState, ShimReport]:
    """Shim every pip script next to the target interpreter (idempotent)."""
    directory = scripts_directory(target.python)
    scripts = find_pip_scripts(directory, target.python)
    if not scripts:
        raise EnvironmentError_(
            f"no pip scripts for {target.python} in {directory}: nothing to shim. Install pip "
            f"there first ({target.python} -m ensurepip), or give --python the interpreter "
            "whose pip devstack calls."
        )
    originals = Path(spec.originals)
    originals.mkdir(parents=True, exist_ok=True, mode=0o755)
    state = _shim_state(ledger)
    records: dict[str, Any] = dict(state.get("scripts", {}))
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
            records.setdefault(path.name, _record(kept))
            if path.read_bytes() != wanted:
                _write_atomically(path, wanted, _script_mode(path))
                refreshed.append(path.name)
            else:
                unchanged.append(path.name)
            continue
        records[path.name] = _shim_over(path, spec, originals)
        shimmed.append(path.name)
    state = {
        "format": SHIM_FORMAT,
        "installed_at": state.get("installed_at") if not shimmed else now(),
        "scripts_dir": str(directory),
        **spec.to_dict(),
        "scripts": dict(sorted(records.items())),
    }
    return replace(ledger, shim=state), ShimReport(tuple(shimmed), tuple(refreshed), tuple(unchanged))


def remove_shims(target: Target, ledger: LedgerState) -> tuple[LedgerState, list[str], list[str]]:
    """Put pip's own scripts back; returns (restored, notes)."""
    state = _shim_state(ledger)
    directory = Path(state.get("scripts_dir") or scripts_directory(target.python))
    originals = Path(state.get("originals") or originals_directory(target))
    names = set(state.get("scripts", {}))
    if originals.is_dir():
        names |= {p.name for p in originals.iterdir() if _PIP_SCRIPT.match(p.name)}
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
    return replace(ledger, shim={}), restored, notes


def keep_shims(target: Target) -> None:
    """After pip ran: put the shims back over pip scripts it rewrote (``pip install -U pip``).

    Called with the lock held, at the end of an install. pip's newly written
    script becomes the kept original, so ``shim remove`` restores the pip
    that is installed now.
    """
    ledger = target.store.load()
    if ledger is None or not ledger.shim or not ledger.shim.get("scripts"):
        return
    try:
        _put_shims_back(target, ledger)
    except (UsageError, OSError) as exc:
        # The install itself succeeded: say what is wrong with the shims, do not fail it.
        say(f"pipguard: warning: could not check the pip shims ({str(exc).rstrip('.')}); run "
            "'pipguard shim install' again to put them back.")


def _put_shims_back(target: Target, ledger: LedgerState) -> None:
    state = dict(ledger.shim)
    spec = ShimSpec.from_dict(state)
    directory = Path(state.get("scripts_dir") or scripts_directory(target.python))
    records = dict(state["scripts"])
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
        target.store.save(replace(ledger, shim={**state, "scripts": records}))
    if put_back:
        say(f"pipguard: pip rewrote {', '.join(put_back)} in {directory}; put pipguard's shim back "
            f"(pip's new scripts are kept in {spec.originals}).")


def shim_status(target: Target, ledger: LedgerState | None) -> dict[str, Any]:
    state = _shim_state(ledger) if ledger else {}
    directory = Path(state.get("scripts_dir") or scripts_directory(target.python))
    originals = Path(state.get("originals") or originals_directory(target))
    scripts = {}
    names = {p.name for p in find_pip_scripts(directory, target.python)} | set(state.get("scripts", {}))
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
    return {"schema": 1, "python": target.python, "scripts_dir": str(directory),
            "originals": str(originals), "ledger": str(target.store.path), "scripts": scripts}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}. See '{self.prog} --help'.")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pipguard shim", description=(
        "Make the pip scripts of an environment (bin/pip, pip3, pip3.X) run through pipguard, "
        "or put pip's own back. 'python -m pip' is not guarded."))
    sub = parser.add_subparsers(dest="action", metavar="{install,remove,status}")
    for name, text in (("install", "replace pip's scripts with pipguard shims (idempotent)"),
                       ("remove", "put pip's own scripts back, byte for byte"),
                       ("status", "show which pip scripts are shimmed")):
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
        result = shim_status(target, target.store.load())
        if ns.json:
            print(json.dumps(result, indent=1))
        else:
            for info in result["scripts"].values():
                print(f"{info['path']:<40} {info['state']}")
        return 0
    with target.store.locked():
        try:
            if ns.action == "install":
                return _install(options, target)
            return _remove(target)
        except OSError as exc:
            where = exc.filename or scripts_directory(target.python)
            raise EnvironmentError_(
                f"cannot change {where}: {exc.strerror or exc}. The pip scripts belong to whoever "
                "installed that Python: run 'pipguard shim' as that user (for a system Python, with "
                "sudo), or shim a virtual environment instead. Scripts already replaced have their "
                "originals kept: running the command again (or 'shim remove') finishes or undoes it."
            ) from None


def _install(options: Options, target: Target) -> int:
    session = open_session(target)
    for note in session.notes:
        say(note)
    runner, caveat = choose_runner(target.python)
    if caveat:
        say(caveat)
    override = options.ledger or os.environ.get("PIPGUARD_LEDGER")
    spec = ShimSpec(target.python, runner, str(target.store.path) if override else None,
                    str(originals_directory(target)))
    ledger, report = install_shims(target, session.ledger, spec)
    target.store.save(ledger)
    directory = scripts_directory(target.python)
    if report.shimmed:
        say(f"pipguard: {', '.join(report.shimmed)} in {directory} now run through pipguard "
            f"(pip's own scripts kept in {spec.originals}; 'pipguard shim remove' puts them back). "
            "'python -m pip' is not guarded.")
    if report.refreshed:
        say(f"pipguard: updated the shims {', '.join(report.refreshed)} in {directory}.")
    if not report.shimmed and not report.refreshed:
        say(f"pipguard: the shims in {directory} are already installed; nothing changed.")
    return 0


def _remove(target: Target) -> int:
    ledger = target.store.load() or LedgerState()
    ledger, restored, notes = remove_shims(target, ledger)
    if target.store.exists():
        target.store.save(ledger)
    for note in notes:
        say(f"pipguard: {note}")
    directory = scripts_directory(target.python)
    if restored:
        say(f"pipguard: put pip's own {', '.join(restored)} back in {directory}.")
    elif not notes:
        say(f"pipguard: no shims in {directory}; nothing changed.")
    return 1 if any(n.startswith("cannot") for n in notes) else 0


__all__: Sequence[str] = ["keep_shims", "original_script", "run_shim"]

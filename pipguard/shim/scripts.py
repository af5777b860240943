"""pip's scripts and pipguard's shims over them (an I/O edge): find, write, verify, put back.

``pipguard shim`` (commands/shim.py) installs and removes the shims; every
command that lets pip run calls ``keep_shims`` afterwards, and ``pipguard pip``
finds pip's own script through ``original_script``: what they share lives
here, so that no command imports another.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shlex
import shutil
import stat
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipguard.cli.options import say
from pipguard.core.model import LedgerState
from pipguard.shim.hook import HOOK_NAME
from pipguard.shim.record import (
    PIP_SCRIPT,
    SHIM_FORMAT,
    ScriptRecord,
    ShimRecord,
    ShimRecordInvalid,
    parse_shim_record,
)

if TYPE_CHECKING:
    from pipguard.cli.context import Target

SHIM_MARKER = b"# pipguard-shim"



ORIGINALS_DIRNAME = "shim-originals"



_MAX_SHEBANG = 127  # the kernel's limit on older Linux; longer ones go through /bin/sh



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

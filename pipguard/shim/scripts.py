"""The ``bin/pip`` shims: finding pip's scripts, writing shims over them, putting pip's back.

devstack calls ``$VENV/bin/pip`` by absolute path, so the files themselves
are replaced: ``pip``, ``pip3``, ``pip3.X`` (and ``pip-3.X``) next to the
target interpreter become small scripts that run ``pipguard --python TARGET
pip ARGS``. pip's own scripts are kept byte for byte beside the ledger (in
``shim-originals/``) so ``shim remove`` puts them back exactly, and only
after checking each against the sha256 the shim record keeps for it, in a
directory nobody else may write (``check_originals``): whatever lies there
is about to become the environment's pip.

A shim names only interpreters, never a pipguard file: it imports pipguard
when it runs in the target, or runs ``python -I -m pipguard`` with
pipguard's own interpreter (pipguard installed outside the environment it
guards), so upgrading pipguard keeps it working. When that cannot be done
any more (pipguard's own environment is gone), the shim says what to do and
exits 12, as the ``python -m pip`` hook does.

The ``#!`` line of a script is read as the kernel reads it: the interpreter
is everything up to the first blank, quotes and all (a venv's path may hold
``"`` or ``'``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import shutil
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pipguard.errors import LedgerError
from pipguard.shim.hook import HOOK_NAME, remove_hook
from pipguard.shim.paths import PIP_SCRIPT
from pipguard.shim.record import SHIM_FORMAT, ScriptRecord, ShimRecord
from pipguard.system.files import NotRegularFile, open_regular, same_file, write_atomically

SHIM_MARKER = b"# pipguard-shim"
_MAX_SHEBANG = 127  # the kernel's limit on older Linux; longer ones go through /bin/sh
_BLANKS = b" \t"
_TRAMPOLINE = "'''exec' "


# -- where things are -------------------------------------------------------------


def scripts_directory(python: str) -> Path:
    """The directory holding the interpreter, as given (a venv's bin/, not the base's)."""
    return Path(os.path.abspath(python)).parent


# -- reading scripts ----------------------------------------------------------------


def head(path: Path, size: int = 2048) -> bytes:
    """The first bytes of a regular file, a link followed (nothing for a FIFO, a device or a
    missing file)."""
    try:
        fd = open_regular(path, follow_symlinks=True)
    except OSError:
        return b""
    with os.fdopen(fd, "rb") as handle:
        return handle.read(size)


def is_shim(path: Path) -> bool:
    """Is *path* (followed if a link) a script pipguard wrote?"""
    return not path.is_symlink() and SHIM_MARKER in head(path)


def kernel_shebang(line: bytes) -> tuple[str, str] | None:
    """(interpreter, argument) of a ``#!`` line, split as Linux splits it: the
    interpreter ends at the first blank, the rest (stripped) is one argument."""
    if not line.startswith(b"#!"):
        return None
    rest = line[2:].strip(_BLANKS + b"\r")
    if not rest:
        return None
    end = next((i for i, byte in enumerate(rest) if byte in _BLANKS), len(rest))
    return os.fsdecode(rest[:end]), os.fsdecode(rest[end:].strip(_BLANKS))


def shebang_interpreter(data: bytes) -> str | None:
    """The interpreter a script runs with (handles distlib's /bin/sh trampoline)."""
    lines = data.split(b"\n", 2)
    split = kernel_shebang(lines[0]) if lines else None
    if split is None:
        return None
    program, argument = split
    if (program, argument) in (("/bin/sh", ""), ("/usr/bin/env", "sh")) and len(lines) > 1:
        # distlib's trampoline: the second line is shell, and the shell reads its quoting.
        second = os.fsdecode(lines[1])
        if not second.startswith(_TRAMPOLINE):
            return None
        try:
            words = shlex.split(second[len(_TRAMPOLINE):])
        except ValueError:
            return None
        return words[0] if words else None
    interpreter = program
    if os.path.basename(program) == "env" and argument:
        words = argument.split()
        interpreter = next((w for w in words if not w.startswith("-") and "=" not in w), "")
    if not interpreter:
        return None
    return interpreter if os.path.isabs(interpreter) else shutil.which(interpreter)


def same_interpreter(a: str, b: str) -> bool:
    return same_file(a, b)  # samefile follows symbolic links, as realpath did


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
        interpreter = shebang_interpreter(head(path))
        if interpreter and same_interpreter(interpreter, python):
            found.append(path)
    return found


def digest(path: Path) -> str:
    """The sha256 a kept script is recorded with (or its symlink's target)."""
    if path.is_symlink():
        return "symlink:" + os.readlink(path)
    sha = hashlib.sha256()
    fd = open_regular(path)
    with os.fdopen(fd, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            sha.update(block)
    return sha.hexdigest()


# -- the shim's text --------------------------------------------------------------------


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


def _gone_advice(spec: ShimSpec) -> str:
    return (f"Reinstall pipguard, then run 'pipguard --python {spec.target_python} shim remove'; or put "
            f"pip back by copying the files in {spec.originals} over the shims.")


def render_shim(spec: ShimSpec) -> bytes:
    """The text of one shim script."""
    header = (
        f"{SHIM_MARKER.decode()} {SHIM_FORMAT}: this pip runs through pipguard. pip's own script is\n"
        f"# kept in {spec.originals}; 'pipguard shim remove' puts it back.\n"
        f"# 'python -m pip' runs through pipguard too (the {HOOK_NAME} file in site-packages).\n"
    )
    if spec.runner:
        runner = shlex.quote(spec.runner[0])
        command = " ".join(shlex.quote(w) for w in (*spec.runner, *spec.pipguard_args, "pip"))
        message = (f"pipguard: this pip is a pipguard shim, but the pipguard it runs ({spec.runner[0]}) "
                   f"is gone. {_gone_advice(spec)}")
        # Without the check the shell would say "not found" and exit 127: say what to do, exit 12.
        return (f"#!/bin/sh\n{header}"
                f"if [ ! -x {runner} ]; then\n"
                f"    printf '%s\\n' {shlex.quote(message)} >&2\n"
                "    exit 12\n"
                "fi\n"
                f'exec {command} --invoked-as "$0" "$@"\n').encode()
    python = spec.target_python
    if len(python) + 2 > _MAX_SHEBANG or " " in python or "\t" in python:
        start = f"#!/bin/sh\n'''exec' {shlex.quote(python)} \"$0\" \"$@\"\n' '''\n"
    else:
        start = f"#!{python}\n"
    argv = repr([*spec.pipguard_args, "pip", "--invoked-as"])
    advice = f" cannot import pipguard any more. {_gone_advice(spec)}\n"
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


# -- writing shims --------------------------------------------------------------------


def copy_entry(source: Path, destination: Path) -> None:
    """Copy a file (bytes and mode) or a symlink (its target), replacing *destination*."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.is_symlink():
        tmp = destination.with_name(f".{destination.name}.{os.urandom(8).hex()}")
        os.symlink(os.readlink(source), tmp)
        os.replace(tmp, destination)
        return
    fd = open_regular(source)
    with os.fdopen(fd, "rb") as handle:
        data, mode = handle.read(), stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
    write_atomically(destination, data, mode, prefix=f".{destination.name}-")


def script_mode(path: Path) -> int:
    if path.is_symlink() or not path.exists():
        return 0o755
    return stat.S_IMODE(path.stat().st_mode)


def script_record(original: Path) -> ScriptRecord:
    if original.is_symlink():
        return ScriptRecord(digest(original), symlink=os.readlink(original))
    return ScriptRecord(digest(original), mode=oct(stat.S_IMODE(original.lstat().st_mode)))


def write_shim(path: Path, data: bytes, mode: int) -> None:
    write_atomically(path, data, mode, prefix=f".{path.name}-")


def shim_over(path: Path, spec: ShimSpec, originals: Path) -> ScriptRecord:
    """Keep pip's script at *path*, then write the shim over it."""
    kept = originals / path.name
    mode = script_mode(path)
    copy_entry(path, kept)
    if path.is_symlink():
        path.unlink()
    write_shim(path, render_shim(spec), mode | 0o111)
    return script_record(kept)


@dataclass(frozen=True)
class InstallReport:
    shimmed: tuple[str, ...]
    refreshed: tuple[str, ...]
    unchanged: tuple[str, ...]
    scripts: dict[str, ScriptRecord]
    warnings: tuple[str, ...] = ()


def shim_scripts(scripts: Iterable[Path], spec: ShimSpec, previous: dict[str, ScriptRecord],
                 repair_hint: str) -> InstallReport:
    """Shim each of pip's *scripts* (idempotent: a shim already there is refreshed)."""
    originals = Path(spec.originals)
    originals.mkdir(parents=True, exist_ok=True, mode=0o755)
    records = dict(previous)
    shimmed, refreshed, unchanged, warnings = [], [], [], []
    wanted = render_shim(spec)
    for path in scripts:
        kept = originals / path.name
        if is_shim(path):
            if not (kept.exists() or kept.is_symlink()):
                warnings.append(f"{path} is a pipguard shim but pip's own script is not kept in {originals}; "
                                f"left as it is. Reinstall pip to get it back: {repair_hint}")
                continue
            records.setdefault(path.name, script_record(kept))
            if head(path, len(wanted) + 1) != wanted:
                write_shim(path, wanted, script_mode(path))
                refreshed.append(path.name)
            else:
                unchanged.append(path.name)
            continue
        records[path.name] = shim_over(path, spec, originals)
        shimmed.append(path.name)
    return InstallReport(tuple(shimmed), tuple(refreshed), tuple(unchanged), dict(sorted(records.items())),
                         tuple(warnings))


# -- putting pip's scripts back ------------------------------------------------------------


def _others_may_write(info: os.stat_result) -> str | None:
    me = os.geteuid() if hasattr(os, "geteuid") else 0
    if info.st_uid not in (0, me):
        return f"owned by user id {info.st_uid}"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"writable by others (mode {stat.filemode(info.st_mode)})"
    return None


def check_originals(originals: Path, names: Iterable[str], record: ShimRecord | None) -> list[str]:
    """Why pip's kept scripts in *originals* may not be put back (empty: they may).

    The directory and each kept file must be ones only root or this user could
    have written; each kept file must match the sha256 the shim record keeps
    for it (when the record is readable).
    """
    problems = []
    try:
        info = os.lstat(originals)
    except FileNotFoundError:
        return []
    if not stat.S_ISDIR(info.st_mode):
        return [f"{originals} is not a directory"]
    why = _others_may_write(info)
    if why:
        return [f"the directory {originals} is {why}: anyone could have put a 'pip' there"]
    recorded = dict(record.scripts) if record else {}
    for name in sorted(names):
        kept = originals / name
        try:
            info = os.lstat(kept)
        except FileNotFoundError:
            continue
        why = _others_may_write(info) if not stat.S_ISLNK(info.st_mode) else None
        if why:
            problems.append(f"{kept} is {why}")
            continue
        if not (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
            problems.append(f"{kept} is not a regular file")
            continue
        expected = recorded.get(name)
        if record is not None and expected is None:
            problems.append(f"{kept} is not in the shim record (no sha256 to check it against)")
            continue
        try:
            found = digest(kept)
        except NotRegularFile as exc:
            problems.append(str(exc))
            continue
        if expected is not None and found != expected.sha256:
            problems.append(f"{kept} does not match the sha256 recorded when it was kept "
                            f"({expected.sha256[:16]}..., found {found[:16]}...)")
    return problems


@dataclass(frozen=True)
class RemoveReport:
    restored: tuple[str, ...]
    hook_removed: bool
    notes: tuple[str, ...]
    dropped: tuple[str, ...] = ()  # shims removed whose pip is no longer installed


def remove_shims(python: str, originals: Path, record: ShimRecord | None, pth: Path | None,
                 pip_installed: Callable[[], bool], repair_hint: str) -> RemoveReport:
    """Put pip's own scripts back and delete the hook.

    Only paths computed for the target are touched (never paths read from
    the ledger); the record contributes script names, which have been
    checked, and the sha256 of each kept script. Everything is checked
    before anything changes: a refusal (``LedgerError``, exit 11) leaves
    ``bin/`` as it was. When pip itself is no longer installed, its scripts
    are not put back (they would run a pip that is gone): the shims are
    removed and named instead.
    """
    directory = scripts_directory(python)
    names = set(record.scripts) if record else set()
    if originals.is_dir() and not originals.is_symlink():
        names |= {p.name for p in originals.iterdir() if PIP_SCRIPT.match(p.name)}
    problems = check_originals(originals, names, record)
    if problems:
        raise LedgerError(
            "refusing to put pip's scripts back: " + "; ".join(problems) + ". Nothing in "
            f"{directory} was changed. Check those files; if pip's own scripts cannot be trusted, "
            f"delete {originals} and reinstall pip ({repair_hint}), then run 'shim remove' again."
        )
    keep_pip = pip_installed() if names else True
    restored, dropped, notes = [], [], []
    for name in sorted(names):
        path, kept = directory / name, originals / name
        has_kept = kept.exists() or kept.is_symlink()
        current_is_pips = (path.exists() or path.is_symlink()) and not is_shim(path)
        if current_is_pips:
            notes.append(f"{path} is pip's own script already (pip rewrote it); left as it is.")
        elif not keep_pip:
            if path.exists() or path.is_symlink():
                path.unlink()  # a shim of a pip that is gone
            dropped.append(name)
        elif has_kept:
            copy_entry(kept, path)
            restored.append(name)
        elif path.exists():
            notes.append(f"cannot restore {path}: pip's own script is not kept in {originals}. "
                         f"Reinstall pip: {repair_hint}")
            continue
        if has_kept:
            kept.unlink()
    for path in find_pip_scripts(directory, python):
        if is_shim(path) and path.name not in names:
            notes.append(f"cannot restore {path}: pip's own script is not kept in {originals}. "
                         f"Reinstall pip: {repair_hint}")
    with contextlib.suppress(OSError):
        originals.rmdir()
    hook_removed = remove_hook(pth) if pth is not None else False
    return RemoveReport(tuple(restored), hook_removed, tuple(notes), tuple(dropped))


def shims_in_place(record: ShimRecord) -> bool:
    """Is every recorded script still pipguard's shim (``put_shims_back`` would change nothing)?"""
    directory = Path(record.scripts_dir)
    return all(is_shim(directory / name) for name in record.scripts)


def put_shims_back(record: ShimRecord) -> tuple[dict[str, ScriptRecord], list[str], list[str]]:
    """After pip ran: shim again the scripts pip rewrote (their new text becomes the kept
    original); forget the ones pip removed. Returns (scripts, put back, gone)."""
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
            records[name] = shim_over(path, spec, Path(spec.originals))
            put_back.append(name)
    return records, put_back, gone

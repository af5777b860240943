"""The ledger's shim record: data that ``shim install`` wrote, read back as data.

A ledger is a file, and whoever could write it could put anything into its
``shim`` key (a "runner" of ``/bin/sh -c '...'`` was once written into
``bin/pip`` this way). So the record is never taken as a command: before
anything in it is run or written, it must have exactly the shape ``shim
install`` records. Known keys of the right types; pip's script names only;
absolute, normalised paths; and a runner that is either nothing (the shim
imports pipguard in the target) or an absolute path to a Python interpreter
followed by pipguard's own fixed arguments. Whether those paths are the ones
*this* environment's shims use, and whether that interpreter is a file only
root or the current user could have written, is checked where the files are
(``pipguard.shim.runner``); this module is pure.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipguard.errors import LedgerError
from pipguard.shim.paths import PIP_SCRIPT

SHIM_FORMAT = 1
# What follows the interpreter in a runner: exactly what shim.runner.choose_runner records.
RUNNER_ARGUMENTS = (("-I", "-m", "pipguard"), ("-m", "pipguard"))
_INTERPRETER = re.compile(r"^(python|pypy)(\d+(\.\d+)?)?$")
_MODE = re.compile(r"^0o[0-7]{1,4}$")
_SHA256 = re.compile(r"^([0-9a-f]{64}|symlink:.*)$", re.DOTALL)
_KEYS = frozenset({"format", "installed_at", "scripts_dir", "target_python", "runner", "ledger",
                   "originals", "scripts", "pip_hook"})


class ShimRecordInvalid(LedgerError):
    """The ledger's shim record is not one ``shim install`` wrote; every problem is listed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "the ledger's shim record is not one pipguard wrote: " + "; ".join(self.problems)


@dataclass(frozen=True)
class ScriptRecord:
    """One kept original: its digest, and its mode or the symlink it was."""

    sha256: str
    mode: str | None = None
    symlink: str | None = None

    def to_dict(self) -> dict[str, str]:
        data = {"sha256": self.sha256}
        if self.symlink is not None:
            data["symlink"] = self.symlink
        if self.mode is not None:
            data["mode"] = self.mode
        return data


@dataclass(frozen=True)
class ShimRecord:
    """What ``shim install`` recorded (the ledger's ``shim`` key), checked."""

    target_python: str
    runner: tuple[str, ...]
    ledger: str | None
    originals: str
    scripts_dir: str
    scripts: Mapping[str, ScriptRecord] = field(default_factory=dict)
    pip_hook: str | None = None
    installed_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SHIM_FORMAT,
            "installed_at": self.installed_at,
            "scripts_dir": self.scripts_dir,
            "target_python": self.target_python,
            "runner": list(self.runner),
            "ledger": self.ledger,
            "originals": self.originals,
            "scripts": {name: self.scripts[name].to_dict() for name in sorted(self.scripts)},
            "pip_hook": self.pip_hook,
        }


def _is_clean_absolute(path: str) -> bool:
    return (path.startswith("/") and posixpath.normpath(path) == path
            and not any(ch in path for ch in "\0\n\r"))


def runner_problem(runner: tuple[str, ...]) -> str | None:
    """Why *runner* is not a runner ``shim install`` records (None when it is one)."""
    if not runner:
        return None
    interpreter, arguments = runner[0], tuple(runner[1:])
    if arguments not in RUNNER_ARGUMENTS:
        return (f"runner {list(runner)!r} is not a Python interpreter followed by "
                f"{' or '.join(repr(' '.join(a)) for a in RUNNER_ARGUMENTS)}")
    if not _is_clean_absolute(interpreter) or not _INTERPRETER.match(posixpath.basename(interpreter)):
        return f"runner {interpreter!r} is not an absolute path to a Python interpreter"
    return None


class _Reader:
    """Collects every problem of a record at once (as the user will want to see them all)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.problems: list[str] = []

    def text(self, key: str, *, optional: bool = False, path: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str):
            self.problems.append(f"{key} is {type(value).__name__}, not text")
            return None
        if path and not _is_clean_absolute(value):
            self.problems.append(f"{key} {value!r} is not an absolute path")
            return None
        return value

    def runner(self) -> tuple[str, ...]:
        value = self.data.get("runner", [])
        if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
            self.problems.append("runner is not a list of words")
            return ()
        problem = runner_problem(tuple(value))
        if problem:
            self.problems.append(problem)
            return ()
        return tuple(value)

    def scripts(self) -> dict[str, ScriptRecord]:
        value = self.data.get("scripts", {})
        if not isinstance(value, dict):
            self.problems.append("scripts is not a table of pip scripts")
            return {}
        found = {}
        for name, info in value.items():
            script = self._script(name, info)
            if script is not None:
                found[name] = script
        return found

    def _script(self, name: Any, info: Any) -> ScriptRecord | None:
        if not isinstance(name, str) or not PIP_SCRIPT.match(name):
            self.problems.append(f"{name!r} is not the name of a pip script")
            return None
        if not isinstance(info, dict) or set(info) - {"sha256", "mode", "symlink"}:
            self.problems.append(f"the entry for {name} is not a script record")
            return None
        sha, mode, link = info.get("sha256"), info.get("mode"), info.get("symlink")
        if not isinstance(sha, str) or not _SHA256.match(sha):
            self.problems.append(f"the entry for {name} has no sha256")
            return None
        if not ((isinstance(mode, str) and _MODE.match(mode) and link is None)
                or (isinstance(link, str) and mode is None)):
            self.problems.append(f"the entry for {name} has neither a mode nor a symlink")
            return None
        return ScriptRecord(sha, mode, link)


def parse_shim_record(data: Any) -> ShimRecord | None:
    """The record in a ledger's ``shim`` key, checked; None when there are no shims.

    Raises ``ShimRecordInvalid`` naming every problem found.
    """
    if isinstance(data, Mapping) and not data:
        return None
    if not isinstance(data, Mapping):
        raise ShimRecordInvalid([f"it is {type(data).__name__}, not a table"])
    reader = _Reader(data)
    unknown = sorted(str(k) for k in data if k not in _KEYS)
    if unknown:
        reader.problems.append(f"unknown keys {', '.join(unknown)}")
    fmt = data.get("format")
    if type(fmt) is not int or fmt != SHIM_FORMAT:  # not True, not 1.0, not NaN
        reader.problems.append(f"format is {fmt!r}, not {SHIM_FORMAT}")
    installed_at = reader.text("installed_at", optional=True)
    target_python = reader.text("target_python", path=True)
    scripts_dir = reader.text("scripts_dir", path=True)
    originals = reader.text("originals", path=True)
    ledger = reader.text("ledger", optional=True, path=True)
    pip_hook = reader.text("pip_hook", optional=True, path=True)
    runner = reader.runner()
    scripts = reader.scripts()
    if reader.problems or target_python is None or scripts_dir is None or originals is None:
        raise ShimRecordInvalid(reader.problems)
    return ShimRecord(target_python, runner, ledger, originals, scripts_dir, scripts, pip_hook, installed_at)

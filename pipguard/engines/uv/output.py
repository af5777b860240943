"""Reading what ``uv pip install`` says (pure): its JSON plan, its log, its errors.

``uv pip install --dry-run --output-format json`` writes, on stdout, a
document of schema ``{"version": "preview"}`` (uv 0.13.9)::

    {"schema": {"version": "preview"},
     "changes": [{"name": "b", "version": "1.8", "action": "uninstalled"},
                 {"name": "b", "version": "2.0", "action": "installed"},
                 {"name": "svc", "action": "installed"}],
     "dry_run": true}

Names are normalised, a direct reference (a path, a URL, an editable) may
have no version, and nothing is said of requirements, of what was asked
for, or of URLs: the engine gets those elsewhere (uv's own lines on stderr,
the distributions' metadata). The schema is uv's "preview": it may change
in any uv release, so it is read defensively: an unknown schema, a missing
key or a value of the wrong type is a clear error naming uv's version,
never a traceback.

uv's human output goes to stderr: progress ("Resolved 3 packages in 5ms",
`` + b==2.0``), warnings (``warning: ...``) and errors (``error: ...``
followed by indented ``cause:`` and ``hint:`` lines); with ``-v``, ``DEBUG``
lines, of which pipguard reads the resolver's ``Selecting: c==2.0
[compatible] (c-2.0-py3-none-any.whl)``: which versions it looked at, and
from which file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from packaging.version import InvalidVersion, Version

from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.core.redaction import redact
from pipguard.engines.base import Failure
from pipguard.engines.pip.runner import ProcessResult
from pipguard.errors import EnvironmentUnusable

# The JSON schemas this module reads, and the oldest uv known to write one.
SCHEMAS = ("preview",)
MINIMUM_UV = Version("0.13.9")

Action = Literal["installed", "uninstalled", "reinstalled"]
_ACTIONS: tuple[Action, ...] = ("installed", "uninstalled", "reinstalled")

_SELECTING = re.compile(r"^DEBUG Selecting: (?P<name>[^=\s\[]+)(?:\[[^\]]*\])?==(?P<version>\S+)"
                        r"(?: \[[^\]]*\])?(?: \((?P<file>[^)]+)\))?")
_VERSION_LINE = re.compile(r"^uv (?P<version>\d[^\s]*)")
_PLUS_URL = re.compile(r"^ \+ (?P<name>[^\s=@]+) @ (?P<url>\S+)")
_PLUS_FROM = re.compile(r"^ \+ (?P<name>[^\s=@]+)==(?P<version>\S+) \(from (?P<url>[^)]+)\)")
_BUILD = re.compile(r"Failed to (?:build|download and build|prepare distributions for|build wheel for)"
                    r"[^`]*`(?P<what>[^`]+)`")
_NOT_FOUND = ("404 Not Found", "HTTP status client error (404", "No such file or directory",
              "does not exist", "Distribution not found at", "not found at:")
_NO_MATCH = ("not found in the package registry", "not found in the provided package locations",
             "there is no version of", "was not found in the cache")


class UvUnreadable(EnvironmentUnusable):
    """uv said something pipguard cannot read (another uv version's output)."""


def uv_version(text: str) -> Version | None:
    """``uv --version``'s answer ("uv 0.13.9 (x86_64-unknown-linux-gnu)") as a version."""
    match = _VERSION_LINE.match(text.strip())
    if not match:
        return None
    try:
        return Version(match.group("version"))
    except InvalidVersion:
        return None


@dataclass(frozen=True)
class UvChange:
    """One line of uv's plan."""

    name: NormalizedName
    version: str | None  # None: a direct reference whose version uv did not say
    action: Action


def _unreadable(uv: str, what: str) -> UvUnreadable:
    return UvUnreadable(
        f"cannot read the plan of uv {uv}: {what}. pipguard reads the JSON schema "
        f"{' or '.join(repr(s) for s in SCHEMAS)} of uv {MINIMUM_UV} and later; install a uv it knows "
        "(pip install 'pipguard[uv]'), or use --engine pip."
    )


def _field(data: Mapping[str, Any], key: str, kind: type, uv: str, where: str, required: bool = True) -> Any:
    if key not in data:
        if required:
            raise _unreadable(uv, f"{where} has no {key!r}")
        return None
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _unreadable(uv, f"{where}'s {key!r} is a {type(value).__name__}, not a {kind.__name__}")
    return value


def read_changes(text: str, uv: str) -> tuple[UvChange, ...]:
    """uv's plan (``--output-format json``); *uv* is its version, for messages."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _unreadable(uv, f"its output is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _unreadable(uv, f"its output is a JSON {type(data).__name__}, not an object")
    schema = _field(data, "schema", dict, uv, "the document")
    version = _field(schema, "version", str, uv, "the schema")
    if version not in SCHEMAS:
        raise _unreadable(uv, f"its schema is {version!r}")
    changes = []
    for index, item in enumerate(_field(data, "changes", list, uv, "the document")):
        where = f"change {index}"
        if not isinstance(item, dict):
            raise _unreadable(uv, f"{where} is a {type(item).__name__}, not an object")
        name = _field(item, "name", str, uv, where)
        action = _field(item, "action", str, uv, where)
        if action not in _ACTIONS:
            raise _unreadable(uv, f"{where} has the unknown action {action!r}")
        changes.append(UvChange(canonicalize_name(name), _field(item, "version", str, uv, where, False), action))
    return tuple(changes)


def installed(changes: tuple[UvChange, ...]) -> tuple[UvChange, ...]:
    """What the plan installs (a reinstall is an installation too), each name once."""
    found: dict[NormalizedName, UvChange] = {}
    for change in changes:
        if change.action in ("installed", "reinstalled"):
            found[change.name] = change
    return tuple(found.values())


# -- uv's log ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Selections:
    """What uv's resolver looked at (its -v log): versions, and the file of each."""

    files: Mapping[tuple[NormalizedName, str], str] = field(default_factory=dict)
    considered: tuple[tuple[NormalizedName, str], ...] = ()
    backtracked: bool = False  # uv looked at more than one version of something


def read_selections(stderr: str) -> Selections:
    files: dict[tuple[NormalizedName, str], str] = {}
    versions: dict[NormalizedName, set[str]] = {}
    for line in stderr.splitlines():
        match = _SELECTING.match(line)
        if not match:
            continue
        key = (canonicalize_name(match.group("name")), match.group("version"))
        versions.setdefault(key[0], set()).add(key[1])
        if match.group("file"):
            files[key] = match.group("file")
    considered = tuple((name, version) for name, found in versions.items() for version in sorted(found))
    return Selections(files, considered, any(len(found) > 1 for found in versions.values()))


def direct_references(stderr: str) -> dict[NormalizedName, str]:
    """The URL of each planned direct reference (" + svc @ file:///src/svc")."""
    found: dict[NormalizedName, str] = {}
    for line in stderr.splitlines():
        match = _PLUS_URL.match(line) or _PLUS_FROM.match(line)
        if match:
            found[canonicalize_name(match.group("name"))] = match.group("url")
    return found


def _is_log(line: str) -> bool:
    return line.startswith(("DEBUG ", "TRACE ", " INFO ", "INFO ")) or bool(re.match(r"^\s*\d+\.\d+s ", line))


def split_output(stderr: str) -> tuple[str, str, str]:
    """uv's stderr as (progress to show, warnings and errors to hold, everything but the debug log).

    A ``warning:`` line and the indented lines after it are held, and so is
    everything from an ``error:`` line on; a ``DEBUG`` line and the indented
    lines after it are dropped.
    """
    parts: dict[str, list[str]] = {"shown": [], "held": [], "kept": []}
    mode = "shown"
    failed = False  # uv's error comes last: all of it (hints, unindented examples) is held
    for line in stderr.splitlines(keepends=True):
        indented = line[:1] in (" ", "\t") and not line.startswith((" + ", " - ", " ~ "))
        if not indented:
            failed = failed or line.startswith("error:")
            if _is_log(line):
                mode = "dropped"
            elif failed or line.startswith(("warning:", "hint:")):
                mode = "held"
            else:
                mode = "shown"
        if mode == "dropped":
            continue
        parts[mode].append(line)
        parts["kept"].append(line)
    return "".join(parts["shown"]), "".join(parts["held"]), "".join(parts["kept"])


# -- why uv stopped ----------------------------------------------------------------------------


def _summary(stderr: str) -> str:
    for line in stderr.splitlines():
        if line.startswith("error:"):
            return redact(line.strip())
    return ""


def _candidate(text: str) -> str:
    """The distribution uv could not build ("pyyaml 5.4.1"), as uv names it."""
    match = _BUILD.search(text)
    if not match:
        return ""
    what = match.group("what").strip()
    name, sep, version = what.partition("==")
    return f"{name} {version}" if sep else redact(what)


_DEPENDS_ON = re.compile(
    r"(?:all versions of |only )?(?P<who>[a-z0-9][a-z0-9._-]*)(?:\[[^\]]*\])?(?:==(?P<version>[^\s,]+))?"
    r" depends? on (?P<req>[a-z0-9][^\s,]*(?:,[<>=!~][^\s,]*)*)")


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", text) is not None


def pip_style_conflict(stderr: str, requested: Sequence[tuple[NormalizedName, str]],
                       constraints: Sequence[tuple[NormalizedName, str]]) -> str:
    """uv's "No solution found" account, told as pip's "The conflict is caused by:" block.

    uv tells requirements and constraints alike ("you require b==2.0 and
    b==1.5"); pipguard, which passed both, names each side as pip does: the
    request's requirements and the constraints on the packages uv mentions,
    and the dependencies uv says led there. *requested* and *constraints* are
    (name, requirement) pairs.
    """
    if "No solution found when resolving" not in stderr:
        return ""
    causes = stderr.split("No solution found when resolving", 1)[1]
    lines = []
    for match in _DEPENDS_ON.finditer(causes):
        version = f" {match.group('version')}" if match.group("version") else ""
        lines.append(f"    {match.group('who')}{version} depends on {match.group('req')}")
    lines += [f"    The user requested {text}" for name, text in requested if _mentions(causes, name)]
    lines += [f"    The user requested (constraint) {text}" for name, text in constraints if _mentions(causes, name)]
    if not lines:
        return ""
    return "\n".join(["The conflict is caused by:", *dict.fromkeys(lines)])


def classify_failure(result: ProcessResult) -> Failure:
    """Why uv ended without a plan, in the port's kinds; uv's own words stay in *summary*."""
    text = result.stdout + result.stderr
    summary = _summary(result.stderr)
    if result.returncode < 0:
        return Failure("killed", result.returncode, summary)
    if _BUILD.search(text) or "Failed to build" in text:
        return Failure("build", result.returncode, summary, candidate=_candidate(text))
    if "No solution found when resolving" in text:
        causes = text.split("No solution found when resolving", 1)[1]
        # nothing matches at all (pip's "No matching distribution"), as opposed to
        # versions that exist but do not fit together (pip's ResolutionImpossible)
        if any(marker in causes for marker in _NO_MATCH) and not re.search(r" depends? on ", causes):
            return Failure("no-match", result.returncode, summary)
        return Failure("impossible", result.returncode, summary)
    if any(marker in text for marker in _NOT_FOUND):
        return Failure("not-found", result.returncode, summary)
    return Failure("other", result.returncode, summary)

"""pip's command line, read once: options, requirements, files, configuration.

Every command that takes pip's arguments (``install``, ``uninstall``,
``check --plan``, ``upgrade``, ``rollback``) reads them here into one typed
request, and asks it whatever it needs: what is requested (named
requirements, URLs, paths, editables, from the command line and from every
nested requirements file), which constraints pip will apply (``-c``, ``-c``
inside requirement files, pip.conf, ``PIP_CONSTRAINT``), and the effective
value of each pip setting with configuration folded in as pip folds it. The
request renders itself back for pip, less or plus given options; pip always
gets the user's own arguments, never a re-spelling of them.

Pure, but for reading files (requirement and constraint files, pip.conf).
"""

from __future__ import annotations

import codecs
import locale
import os
import re
import shlex
import stat
import sys
import urllib.parse
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Literal, NamedTuple

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion

from pipguard.core.model import COMMAND_LINE, EMPTY
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.core.redaction import redact
from pipguard.errors import UsageError
from pipguard.pip.config import ConfigValue, read_configuration
from pipguard.pip.options import (
    INSTALL_TABLE,
    REQUIREMENTS_FILE_TABLE,
    UNINSTALL_TABLE,
    OptionSpec,
    OptionTable,
    ParsedOption,
)

RequestKind = Literal["named", "url", "path", "editable"]

_VCS = ("git", "hg", "svn", "bzr")
_URL_SCHEMES = {"http", "https", "file", "ftp", *_VCS, *(f"{v}+{s}" for v in _VCS
                                                       for s in ("http", "https", "ssh", "git", "file"))}
_ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz", ".tar.xz", ".txz",
             ".tlz", ".tar.lz", ".tar.lzma")
_REMOTE = re.compile(r"^(http|https|file):", re.IGNORECASE)
_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
_PEP263 = re.compile(rb"coding[:=]\s*([-\w.]+)")
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF16, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_TRUE = {"y", "yes", "t", "true", "on", "1"}
_FALSE = {"n", "no", "f", "false", "off", "0"}


# -- what is asked for ------------------------------------------------------------


class Requested(NamedTuple):
    """One thing to install, as pip will read it."""

    text: str  # as written
    kind: RequestKind
    requirement: Requirement | None  # parsed, when it names a project (or a wheel file does)
    source: str  # "command line", or "FILE, line N"
    origin: str  # the argument or top-level -r file it came from (for check --plan)
    extras: tuple[str, ...] = ()  # of a path or editable written "dir[extra]"

    @property
    def name(self) -> NormalizedName | None:
        return canonicalize_name(self.requirement.name) if self.requirement else None

    @property
    def label(self) -> str:
        """How to name it to the user (credentials redacted)."""
        return redact(self.text if self.kind != "editable" else f"-e {self.text}")


class ConstraintLine(NamedTuple):
    """One line of a constraints file pip will apply."""

    requirement: Requirement
    file: str  # the file, or "PIP_CONSTRAINT"-style source for messages
    line: int

    @property
    def name(self) -> NormalizedName:
        return canonicalize_name(self.requirement.name)

    @property
    def where(self) -> str:
        return f"{self.file}, line {self.line}"


def _is_url(text: str) -> bool:
    scheme = urllib.parse.urlsplit(text).scheme
    return bool(scheme) and scheme.lower() in _URL_SCHEMES


def _looks_like_path(text: str) -> bool:
    return os.sep in text or (os.altsep is not None and os.altsep in text) or text.startswith(".")


def _is_archive(text: str) -> bool:
    return text.lower().endswith(_ARCHIVES)


def _strip_extras(text: str) -> tuple[str, tuple[str, ...]]:
    match = re.match(r"^(.+)(\[[^\]]+\])$", text)
    if not match:
        return text, ()
    extras = tuple(sorted(canonicalize_name(e.strip()) for e in match.group(2)[1:-1].split(",") if e.strip()))
    return match.group(1).rstrip(), extras


def _wheel_requirement(filename: str) -> Requirement | None:
    """``name==version`` from a wheel's file name (pip's ``Wheel`` does the same)."""
    # packaging.utils loads packaging.tags (and logging, platform, ...): only for a wheel named on the line
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        name, version, _, _ = parse_wheel_filename(os.path.basename(filename))
    except (InvalidWheelFilename, InvalidVersion):  # packaging < 23.2 lets a bad version through
        return None
    return Requirement(f"{name}=={version}")


def _egg_fragment(url: str) -> Requirement | None:
    fragment = urllib.parse.urlsplit(url).fragment
    for item in fragment.split("&"):
        key, _, value = item.partition("=")
        if key == "egg" and value:
            try:
                return Requirement(value)
            except InvalidRequirement:
                return None
    return None


def _invalid(text: str, source: str, reason: object, hint: str = "") -> UsageError:
    return UsageError(
        f"invalid requirement {redact(text)!r} ({source}): {redact(str(reason))}. "
        + (hint or "Use a PEP 508 requirement such as 'name>=1.0,<2' or 'name[extra]', a path, or a URL.")
    )


def classify(text: str, source: str, origin: str = "") -> Requested:
    """What pip makes of one requirement argument (its ``install_req_from_line``)."""
    origin = origin or text
    separator = "; " if _is_url(text) else ";"
    head, _, marker_text = text.partition(separator)
    if marker_text.strip():
        try:
            Marker(marker_text.strip())
        except InvalidMarker as exc:
            raise _invalid(text, source, exc, "Fix the environment marker after ';'.") from None
    head = head.strip()
    if _is_url(head):
        return Requested(text, "url", _wheel_requirement(head) or _egg_fragment(head), source, origin)
    path, extras = _strip_extras(head)
    if _looks_like_path(head) and os.path.isdir(path):
        return Requested(text, "path", None, source, origin, extras)
    if _is_archive(path):
        before_at = head.split("@", 1)
        if os.path.isfile(path) or len(before_at) < 2 or _looks_like_path(before_at[0]):
            return Requested(text, "path", _wheel_requirement(path), source, origin, extras)
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        hint = ""
        if os.sep in text:
            hint = "It looks like a path: check that it exists (a directory needs pyproject.toml or setup.py)."
        elif "=" in text and not re.search(r"[<>=!~]=|===|[<>]", text):
            hint = "= is not a valid operator. Did you mean == ?"
        raise _invalid(text, source, exc, hint) from None
    return Requested(text, "url" if requirement.url else "named", requirement, source, origin)


def classify_editable(text: str, source: str, origin: str = "") -> Requested:
    """An ``-e`` value: a local project (``dir[extras]``), a VCS URL, or ``name @ URL``."""
    origin = origin or f"-e {text}"
    if "@" in text and not _is_url(text) and not _looks_like_path(text.split("@", 1)[0]):
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise _invalid(text, source, exc) from None
        return Requested(text, "editable", requirement, source, origin, tuple(sorted(requirement.extras)))
    path, extras = _strip_extras(text)
    if _is_url(path):
        return Requested(text, "editable", _egg_fragment(path), source, origin, extras)
    return Requested(text, "editable", None, source, origin, extras)


# -- reading requirement files as pip does -------------------------------------------


def decode_requirements_file(data: bytes, path: str) -> str:
    """pip's ``_decode_req_file``: a BOM, a PEP 263 line, UTF-8, then the locale's encoding."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding)
    for line in data.split(b"\n")[:2]:
        if line[:1] == b"#":
            found = _PEP263.search(line)
            if found:
                try:
                    return data.decode(found.group(1).decode("ascii"))
                except (LookupError, UnicodeDecodeError) as exc:
                    raise UsageError(f"cannot read {path}: {exc}.") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode(locale.getpreferredencoding(False) or sys.getdefaultencoding())
        except (LookupError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"cannot read {path}: it is neither UTF-8 nor in the locale's encoding ({exc}). "
                "Declare its encoding with a '# -*- coding: NAME -*-' first line, as pip allows."
            ) from None


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """pip's preprocess: ``\\`` continuations, comments, blank lines, ``${VAR}``."""
    joined: list[tuple[int, str]] = []
    first: int | None = None
    pending: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.endswith("\\") or _COMMENT.match(line):
            if _COMMENT.match(line):
                line = " " + line
            if pending:
                pending.append(line)
                joined.append((first or number, "".join(pending)))
                pending = []
            else:
                joined.append((number, line))
        else:
            if not pending:
                first = number
            pending.append(line.strip("\\"))
    if pending:
        joined.append((first or 0, "".join(pending)))
    for number, line in joined:
        line = _COMMENT.sub("", line).strip()
        if not line:
            continue
        for var in _ENV_VAR.findall(line):
            value = os.environ.get(var)
            if value:
                line = line.replace("${" + var + "}", value)
        yield number, line


class FileContent:
    """Everything a requirements or constraints file (and the files it includes) holds.

    A small class, read-only by convention: not a NamedTuple, whose ``+`` would be a tuple's.
    """

    __slots__ = ("constraint_files", "constraints", "options", "remote", "requested", "requirement_files")

    def __init__(self, requested: tuple[Requested, ...] = (), constraints: tuple[Requested, ...] = (),
                 requirement_files: tuple[str, ...] = (), constraint_files: tuple[str, ...] = (),
                 options: tuple[tuple[str, ParsedOption], ...] = (), remote: tuple[str, ...] = ()) -> None:
        self.requested = requested  # requirement lines of requirements files
        self.constraints = constraints  # requirement lines of constraints files
        self.requirement_files = requirement_files
        self.constraint_files = constraint_files
        self.options = options  # (file, option) of option lines
        self.remote = remote  # files by URL: pip fetches them, pipguard cannot read them ahead

    def __add__(self, other: FileContent) -> FileContent:
        return FileContent(
            self.requested + other.requested, self.constraints + other.constraints,
            self.requirement_files + other.requirement_files, self.constraint_files + other.constraint_files,
            self.options + other.options, self.remote + other.remote,
        )


# The most a requirements or constraints file may hold (OpenStack's upper-constraints.txt, the
# largest known, is ~20 KB): a file that goes on (/dev/zero, a runaway generator) is refused,
# never read until the kernel stops pipguard. docs/reliability.md says so.
MAX_FILE_BYTES = 16 * 1024 * 1024


def _read_bytes(path: str, what: str, flag: str) -> bytes:
    """A requirements or constraints file's bytes: a regular file (or the null device), at most
    ``MAX_FILE_BYTES``; a FIFO, another device, a socket or a directory is refused (exit 2).
    pip runs apart from pipguard, so a pipe (``-r <(...)``) could not reach it anyway."""
    try:
        # O_NONBLOCK: opening a FIFO nobody writes to must not hang before it is refused
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError
            if _is_null_device(info):
                return b""
            if not stat.S_ISREG(info.st_mode):
                raise UsageError(f"cannot read the {what} file {path}: it is not a regular file (a FIFO, "
                                 f"device or socket). Give {flag} a file.")
            os.set_blocking(fd, True)
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise UsageError(f"cannot read the {what} file {path}: it is larger than "
                             f"{MAX_FILE_BYTES // (1024 * 1024)} MiB, far more than any {what} file needs. "
                             f"Check the path given to {flag}.")
        return data
    except FileNotFoundError:
        raise UsageError(f"{what} file not found: {path}. Check the path given to {flag}.") from None
    except IsADirectoryError:
        raise UsageError(f"cannot read the {what} file {path}: it is a directory. Check the path given "
                         f"to {flag}.") from None
    except OSError as exc:
        raise UsageError(f"cannot read the {what} file {path}: {exc.strerror or exc}.") from None


def _is_null_device(info: os.stat_result) -> bool:
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(info.st_mode) and info.st_rdev == null.st_rdev


def _break_line(line: str) -> tuple[str, str]:
    """pip's break_args_options: the requirement, then the options (split at the first '-' token)."""
    tokens = line.split(" ")
    args: list[str] = []
    for index, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(args), " ".join(tokens[index:])
        args.append(token)
    return " ".join(args), ""


def _nested_path(including: str, value: str) -> str:
    if _REMOTE.match(value):
        return value
    return os.path.join(os.path.dirname(including), value)


def read_requirements_file(
    path: str, *, constraint: bool = False, origin: str = "", _seen: Mapping[str, str | None] | None = None
) -> FileContent:
    """A requirements (or constraints) file read as pip reads it, nested files included.

    Raises ``UsageError`` (exit 2) for what pip would refuse: a missing or
    unreadable file, an include cycle, a line pip cannot parse.
    """
    what, flag = ("constraints", "-c") if constraint else ("requirements", "-r")
    if _REMOTE.match(path) and not path.lower().startswith("file:"):
        return FileContent(remote=(path,))
    local = urllib.parse.unquote(urllib.parse.urlsplit(path).path) if path.lower().startswith("file:") else path
    seen = dict(_seen or {os.path.abspath(local): None})
    origin = origin or path
    text = decode_requirements_file(_read_bytes(local, what, flag), local)
    content = FileContent(constraint_files=(path,)) if constraint else FileContent(requirement_files=(path,))
    for number, line in logical_lines(text):
        where = f"{path}, line {number}"
        args_text, options_text = _break_line(line)
        try:
            words = shlex.split(options_text)
        except ValueError as exc:
            raise UsageError(f"cannot read {where}: {exc} in {options_text!r}.") from None
        parsed, extra = REQUIREMENTS_FILE_TABLE.parse(words, where)
        unknown = [o.written[0] for o in parsed if o.spec is None] + extra
        if unknown:
            raise UsageError(f"invalid line in {where}: pip does not accept {unknown[0]!r} in a "
                             f"{what} file.")
        by_key = {o.spec.key: o for o in reversed(parsed) if o.spec is not None}
        if args_text or "editable" in by_key:
            item = (classify(args_text, where, origin) if args_text
                    else classify_editable(by_key["editable"].value or "", where, origin))
            content += FileContent(constraints=(item,)) if constraint else FileContent(requested=(item,))
            continue
        nested = by_key.get("requirement") or by_key.get("constraint")
        if nested is None or nested.value is None:
            content += FileContent(options=tuple((path, option) for option in parsed))
            continue
        inner = _nested_path(path, nested.value)
        inner_constraint = nested.key == "constraint"
        if _REMOTE.match(inner) and not inner.lower().startswith("file:"):
            content += FileContent(remote=(inner,))
            continue
        key = os.path.abspath(inner)
        if key in seen:
            again = f" and again in {seen[key]}" if seen[key] else ""
            raise UsageError(
                f"{inner} recursively references itself in {path}{again}: pip refuses such a cycle. "
                "Remove one of the -r/-c lines."
            )
        content += read_requirements_file(inner, constraint=inner_constraint, origin=origin,
                                          _seen={**seen, key: path})
    return content


def constraint_lines(items: Sequence[Requested]) -> list[ConstraintLine]:
    """The lines of constraints files, checked as pip checks them."""
    lines = []
    for item in items:
        if item.kind == "editable":
            raise UsageError(f"invalid constraint in {item.source}: editable requirements are not allowed "
                             "as constraints (pip refuses them).")
        if item.requirement is None or item.kind == "path":
            raise UsageError(f"invalid constraint {item.label!r} in {item.source}: unnamed requirements are "
                             "not allowed as constraints (pip refuses them).")
        if item.requirement.extras:
            raise UsageError(f"invalid constraint {item.label!r} in {item.source}: constraints cannot have "
                             "extras (pip refuses them). Drop the [extras].")
        file, _, line = item.source.rpartition(", line ")
        lines.append(ConstraintLine(item.requirement, file, int(line) if line.isdigit() else 0))
    return lines


def read_constraints_file(path: str) -> list[ConstraintLine]:
    """Every constraint line of a constraints file (and the files it includes)."""
    content = read_requirements_file(path, constraint=True)
    return constraint_lines(content.constraints)


# -- settings: the command line folded with pip's configuration ------------------------


class Setting(NamedTuple):
    """The value pip will use for one option, and where it came from."""

    value: bool | int | str | tuple[str, ...]
    source: str  # "command line", "PIP_UPGRADE", "/etc/pip.conf [install]"


def _config_value(spec: OptionSpec, item: ConfigValue) -> Setting:
    text = item.value
    if spec.kind in ("flag", "false-flag"):
        lowered = text.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise UsageError(
                f"{text!r} is not a valid value for {item.key} ({item.source}): pip wants a boolean "
                "such as yes/no, true/false or 1/0."
            )
        # As pip does, the value sets the option's destination as it is, even for
        # "--no-x" options (PIP_NO_BUILD_ISOLATION=0 turns isolation off).
        truth = lowered in _TRUE
        return Setting(truth if spec.kind == "flag" else not truth, item.source)
    if spec.kind == "count":
        lowered = text.strip().lower()
        if lowered in _TRUE | _FALSE:
            return Setting(int(lowered in _TRUE), item.source)
        if not lowered.isdigit():
            raise UsageError(f"{text!r} is not a valid value for {item.key} ({item.source}): pip wants a "
                             "non-negative number or yes/no.")
        return Setting(int(lowered), item.source)
    if spec.kind == "append":
        return Setting(tuple(text.split()), item.source)
    return Setting(text, item.source)


def fold_settings(options: Sequence[ParsedOption], table: OptionTable,
                  configuration: Mapping[str, ConfigValue]) -> dict[str, Setting]:
    """Each option's effective value: configuration first, then the command line on top.

    As in pip: a flag or value given on the command line replaces the
    configured one; a list option's command-line values are added to the
    configured list; a count adds to the configured count. For a "--no-x"
    flag, the stored value is what the option sets (so ``--no-deps`` is
    ``no-deps: True``, ``--no-build-isolation`` is ``no-build-isolation: True``).
    """
    settings: dict[str, Setting] = {}
    for key, item in configuration.items():
        spec = table.by_key(key)
        if spec is not None:
            settings[spec.key] = _config_value(spec, item)
    for option in options:
        spec = option.spec
        if spec is None:
            continue
        old = settings.get(spec.key)
        if spec.kind == "append" and option.value is not None:
            before = old.value if old and isinstance(old.value, tuple) else ()
            settings[spec.key] = Setting((*before, option.value), COMMAND_LINE)
        elif spec.kind == "count":
            before_count = old.value if old and isinstance(old.value, int) else 0
            settings[spec.key] = Setting(before_count + 1, COMMAND_LINE)
        elif spec.kind in ("flag", "false-flag"):
            settings[spec.key] = Setting(True, COMMAND_LINE)
        elif option.value is not None:
            settings[spec.key] = Setting(option.value, COMMAND_LINE)
    return settings


# -- requests -------------------------------------------------------------------------


# The requests are plain classes, read-only by convention (nothing sets their attributes): not
# NamedTuples, as an install request extends the request of every pip command; not dataclasses,
# which cost a command's start-up (docs/development.md, "Values are NamedTuples").
class PipRequest:
    """A pip command line, read: what it asks for, and every setting pip will apply."""

    def __init__(self, command: str, args: tuple[str, ...], options: tuple[ParsedOption, ...],
                 settings: Mapping[str, Setting] = EMPTY) -> None:
        self.command = command
        self.args = args  # the command's own arguments, exactly as given
        self.options = options  # as written on the command line
        self.settings = settings

    # -- settings -------------------------------------------------------------

    def flag(self, key: str) -> bool:
        setting = self.settings.get(key)
        return bool(setting and setting.value)

    def value(self, key: str) -> str | None:
        setting = self.settings.get(key)
        return setting.value if setting and isinstance(setting.value, str) else None

    def values(self, key: str) -> tuple[str, ...]:
        setting = self.settings.get(key)
        return setting.value if setting and isinstance(setting.value, tuple) else ()

    def count(self, key: str) -> int:
        setting = self.settings.get(key)
        return setting.value if setting and isinstance(setting.value, int) else 0

    def source(self, key: str) -> str | None:
        setting = self.settings.get(key)
        return setting.source if setting else None

    @property
    def unknown_options(self) -> tuple[str, ...]:
        """Options pip does not have (pip refuses them, with its own message)."""
        return tuple(o.written[0] for o in self.options if o.spec is None)

    def wants_help(self) -> bool:
        return any(o.spec is not None and o.spec.key in ("help", "version") for o in self.options)

    # -- rendering back for pip ---------------------------------------------------

    def _option_groups(self) -> dict[int, list[ParsedOption]]:
        """Options by the position of their first argument (a bundle such as -qU is one group)."""
        groups: dict[int, list[ParsedOption]] = {}
        for option in self.options:
            groups.setdefault(option.position, []).append(option)
        return groups

    @staticmethod
    def _render(group: Sequence[ParsedOption], dropped: Collection[str]) -> list[str]:
        if not any(o.spec is not None and o.spec.key in dropped for o in group):
            return list(group[0].written)
        words: list[str] = []
        for option in group:
            if not (option.spec is not None and option.spec.key in dropped):
                words.extend(option.respelled())
        return words

    def pip_options(self, drop: Collection[str] = ()) -> list[str]:
        """The user's options alone (no requirements), less the options keyed in *drop*."""
        dropped = set(drop)
        groups = self._option_groups()
        return [word for position in sorted(groups) for word in self._render(groups[position], dropped)]

    def pip_args(self, drop: Collection[str] = (), add: Sequence[str] = ()) -> list[str]:
        """The user's arguments for pip, less the options keyed in *drop*, plus *add* (before any ``--``)."""
        dropped = set(drop)
        groups = self._option_groups()
        kept: list[str] = []
        requirements_only: list[str] = []
        i = 0
        while i < len(self.args):
            group = groups.get(i)
            if group is None:
                if self.args[i] == "--":
                    # after "--" pip takes everything for a requirement, pipguard's own options too
                    requirements_only = list(self.args[i:])
                    break
                kept.append(self.args[i])
                i += 1
                continue
            kept.extend(self._render(group, dropped))
            i += len(group[0].written)
        return [*kept, *add, *requirements_only]


class InstallRequest(PipRequest):
    """``pip install ARGS``, read."""

    def __init__(self, command: str, args: tuple[str, ...], options: tuple[ParsedOption, ...],
                 settings: Mapping[str, Setting] = EMPTY, requested: tuple[Requested, ...] = (),
                 requirement_files: tuple[str, ...] = (), constraint_files: tuple[str, ...] = (),
                 constraints: tuple[ConstraintLine, ...] = (), remote_files: tuple[str, ...] = (),
                 file_options: tuple[tuple[str, ParsedOption], ...] = ()) -> None:
        super().__init__(command, args, options, settings)
        self.requested = requested
        self.requirement_files = requirement_files
        self.constraint_files = constraint_files  # every file pip applies, nested and configured included
        self.constraints = constraints
        self.remote_files = remote_files  # -r/-c by URL (pip fetches them)
        self.file_options = file_options  # option lines of requirement files

    # -- what is asked for -------------------------------------------------------------

    @property
    def has_requests(self) -> bool:
        """Does it ask for anything? (If not, pip gives its own usage error.)"""
        return bool(self.requested or self.remote_files or self.values("requirement")
                    or self.values("requirements-from-script") or self.values("group"))

    @property
    def named(self) -> tuple[Requested, ...]:
        return tuple(r for r in self.requested if r.kind == "named")

    @property
    def names(self) -> frozenset[NormalizedName]:
        """Every project named in the request (by requirement, URL with a name, or wheel file)."""
        return frozenset(r.name for r in self.requested if r.name is not None)

    @property
    def editables(self) -> tuple[Requested, ...]:
        return tuple(r for r in self.requested if r.kind == "editable")

    def describe(self) -> str:
        return ", ".join(r.label for r in self.requested) or "the request"

    # -- settings that change what an install does ----------------------------------------

    @property
    def upgrade(self) -> bool:
        return self.flag("upgrade")

    @property
    def dry_run(self) -> bool:
        return self.flag("dry-run")

    @property
    def report(self) -> str | None:
        return self.value("report")

    @property
    def quiet(self) -> int:
        return self.count("quiet")

    @property
    def verbose(self) -> int:
        return self.count("verbose")

    def locations(self) -> list[str]:
        """Settings that send the install outside the guarded environment, with their source."""
        found = []
        for key in ("user", "target", "prefix", "root", "python"):
            setting = self.settings.get(key)
            if setting is None or setting.value in (False, "", ()):
                continue
            where = "" if setting.source == COMMAND_LINE else f" ({setting.source})"
            shown = f"--{key}" if setting.value is True else f"--{key} {setting.value}"
            found.append(shown + where)
        return found

    def build_possible(self) -> bool:
        """Could pip build a source project in an isolated environment for this install?"""
        if self.flag("no-build-isolation"):
            return False
        if ":all:" in self.values("only-binary"):
            return False
        if any(r.kind in ("path", "editable") for r in self.requested if not r.text.endswith(".whl")):
            return True
        if not self.flag("no-index") or self.remote_files:
            return True
        return any(_holds_sdists(link) for link in self.values("find-links"))


def _holds_sdists(link: str) -> bool:
    try:
        return any(not name.endswith(".whl") and name.lower().endswith(_ARCHIVES) for name in os.listdir(link))
    except OSError:
        return "://" in link  # a remote page may list anything


def _configuration(command: str, table: OptionTable, options: Sequence[ParsedOption], prefix: str,
                   environ: Mapping[str, str]) -> dict[str, Setting]:
    isolated = any(o.spec is not None and o.spec.key == "isolated" for o in options)
    return fold_settings(options, table, read_configuration(command, prefix, environ, isolated))


def read_install(args: Sequence[str], prefix: str, environ: Mapping[str, str] | None = None,
                 *, read_files: bool = True) -> InstallRequest:
    """Read ``pip install ARGS`` for the interpreter whose prefix is *prefix*."""
    environ = os.environ if environ is None else environ
    options, positional = INSTALL_TABLE.parse(args, COMMAND_LINE)
    settings = _configuration("install", INSTALL_TABLE, options, prefix, environ)
    requested: list[Requested] = [classify(arg, COMMAND_LINE) for arg in positional]
    for option in options:
        if option.spec is not None and option.spec.key == "editable" and option.value is not None:
            requested.append(classify_editable(option.value, COMMAND_LINE))
    request = InstallRequest("install", tuple(args), tuple(options), settings, tuple(requested))
    return with_files(request) if read_files else request


def with_files(request: InstallRequest, constraints: bool = True) -> InstallRequest:
    """Open every requirements and constraints file the request names (nested ones too).

    *constraints*: False leaves the constraints files (``-c``) unread: what the request asks
    for, known sooner (an upper-constraints file is ~600 lines to parse)."""
    content = FileContent()
    for path in request.values("requirement"):
        content += read_requirements_file(path)
    for path in request.values("constraint") if constraints else ():
        content += read_requirements_file(path, constraint=True)
    # a changed copy: the command line as read, with every field its files fill given anew
    return InstallRequest(
        request.command, request.args, request.options, request.settings,
        requested=(*request.requested, *content.requested),
        requirement_files=tuple(dict.fromkeys(content.requirement_files)),
        constraint_files=tuple(dict.fromkeys(content.constraint_files)),
        constraints=tuple(constraint_lines(content.constraints)),
        remote_files=tuple(dict.fromkeys(content.remote)),
        file_options=content.options,
    )


class UninstallRequest(PipRequest):
    """``pip uninstall ARGS``, read."""

    def __init__(self, command: str, args: tuple[str, ...], options: tuple[ParsedOption, ...],
                 settings: Mapping[str, Setting] = EMPTY, names: tuple[str, ...] = (),
                 requirement_files: tuple[str, ...] = ()) -> None:
        super().__init__(command, args, options, settings)
        self.names = names  # as the user spelled them
        self.requirement_files = requirement_files


def read_uninstall(args: Sequence[str], prefix: str, environ: Mapping[str, str] | None = None) -> UninstallRequest:
    environ = os.environ if environ is None else environ
    options, positional = UNINSTALL_TABLE.parse(args, COMMAND_LINE)
    settings = _configuration("uninstall", UNINSTALL_TABLE, options, prefix, environ)
    names = [_uninstall_name(arg, COMMAND_LINE) for arg in positional]
    files: list[str] = []
    requirement_files = settings.get("requirement")
    for path in requirement_files.value if requirement_files and isinstance(requirement_files.value, tuple) else ():
        content = read_requirements_file(path)
        files += content.requirement_files
        names += [r.requirement.name for r in content.requested if r.requirement is not None]
    return UninstallRequest("uninstall", tuple(args), tuple(options), settings, tuple(names), tuple(files))


def _uninstall_name(arg: str, source: str) -> str:
    try:
        return Requirement(arg).name
    except InvalidRequirement:
        raise UsageError(
            f"cannot uninstall {redact(arg)!r} ({source}): it is not a package name. Give the names pip list shows."
        ) from None

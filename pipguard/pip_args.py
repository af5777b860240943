"""Read what a pip command line asks for (pipguard passes it on unchanged).

pipguard never re-implements pip's option handling: it only needs to know
which arguments are requirements, requirement files, constraint files and
editables, and which options change where or how pip installs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from pipguard.errors import UsageError

# pip options that take a value (long and short spellings), across commands.
_VALUED = {
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-t", "--target",
    "--platform", "--python-version", "--implementation", "--abi", "--root", "--prefix",
    "--src", "--upgrade-strategy", "-C", "--config-settings", "--global-option",
    "--install-option", "--build-option", "--report", "-i", "--index-url",
    "--extra-index-url", "-f", "--find-links", "--no-binary", "--only-binary",
    "--progress-bar", "--root-user-action", "--build-constraint", "--group",
    "--trusted-host", "--proxy", "--retries", "--timeout", "--exists-action", "--cert",
    "--client-cert", "--cache-dir", "--log", "--log-file", "--keyring-provider",
    "--python", "--use-feature", "--use-deprecated", "--resume-retries",
    "--uploaded-prior-to", "-d", "--dest", "-w", "--wheel-dir", "--path", "--format",
}
VALUED_OPTIONS = frozenset(_VALUED)
# Short options that are flags and may be bundled ("-qU", "-vv").
_SHORT_FLAGS = set("qvUIy")
_LOCATION_OPTIONS = {"--user", "-t", "--target", "--prefix", "--root"}
_ARCHIVE = re.compile(r"\.(whl|zip|tar\.gz|tgz|tar\.bz2|tar\.xz|tar)$", re.IGNORECASE)
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")


@dataclass
class InstallRequest:
    """A pip install command line, read."""

    args: list[str]
    requirements: list[Requirement] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    editables: list[str] = field(default_factory=list)
    requirement_files: list[str] = field(default_factory=list)
    constraint_files: list[str] = field(default_factory=list)
    upgrade: bool = False
    no_deps: bool = False
    dry_run: bool = False
    report: str | None = None
    quiet: int = 0
    locations: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)  # all but -e, -r and requirements

    @property
    def has_requests(self) -> bool:
        return bool(self.requirements or self.paths or self.editables)


def looks_like_path(arg: str) -> bool:
    if "://" in arg or arg.startswith("file:"):
        return True
    if os.sep in arg or arg.startswith("."):
        return True
    return bool(_ARCHIVE.search(arg)) or (os.path.isdir(arg) and os.path.exists(os.path.join(arg, "pyproject.toml")))


def parse_requirement_arg(arg: str, source: str = "command line") -> Requirement:
    try:
        return Requirement(arg)
    except InvalidRequirement as exc:
        raise UsageError(
            f"invalid requirement {arg!r} ({source}): {exc}. Use a PEP 508 requirement "
            "such as 'name>=1.0,<2' or 'name[extra]', a path, or a URL."
        ) from None


def _split_option(args: list[str], index: int) -> tuple[str, str | None, int]:
    """(option, value, next index) for the option at *index*."""
    arg = args[index]
    if arg.startswith("--"):
        if "=" in arg:
            opt, value = arg.split("=", 1)
            return opt, value, index + 1
        if arg in _VALUED:
            if index + 1 >= len(args):
                raise UsageError(f"option {arg} needs a value.")
            return arg, args[index + 1], index + 2
        return arg, None, index + 1
    opt = arg[:2]
    if opt in _VALUED:
        if len(arg) > 2:
            return opt, arg[2:].lstrip("="), index + 1
        if index + 1 >= len(args):
            raise UsageError(f"option {opt} needs a value.")
        return opt, args[index + 1], index + 2
    return arg, None, index + 1


def parse_install_args(args: list[str]) -> InstallRequest:
    request = InstallRequest(args=list(args))
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            for rest in args[i + 1 :]:
                _add_positional(request, rest)
            break
        if not arg.startswith("-") or arg == "-":
            _add_positional(request, arg)
            i += 1
            continue
        opt, value, nxt = _split_option(args, i)
        if opt not in ("-e", "--editable", "-r", "--requirement"):
            request.options.extend(args[i:nxt])
        _apply_option(request, opt, value, arg)
        i = nxt
    return request


def _add_positional(request: InstallRequest, arg: str) -> None:
    if looks_like_path(arg):
        request.paths.append(arg)
    else:
        request.requirements.append(parse_requirement_arg(arg))


def _apply_option(request: InstallRequest, opt: str, value: str | None, raw: str) -> None:
    if opt in ("-r", "--requirement") and value is not None:
        request.requirement_files.append(value)
    elif opt in ("-c", "--constraint") and value is not None:
        request.constraint_files.append(value)
    elif opt in ("-e", "--editable") and value is not None:
        request.editables.append(value)
    elif opt in ("-U", "--upgrade"):
        request.upgrade = True
    elif opt == "--no-deps":
        request.no_deps = True
    elif opt == "--dry-run":
        request.dry_run = True
    elif opt == "--report":
        request.report = value
    elif opt in ("-q", "--quiet"):
        request.quiet += 1
    elif opt in _LOCATION_OPTIONS:
        request.locations.append(opt)
    elif not raw.startswith("--") and len(raw) > 2 and set(raw[1:]) <= _SHORT_FLAGS:
        # bundled short flags such as -qU
        for flag in raw[1:]:
            _apply_option(request, f"-{flag}", None, f"-{flag}")


@dataclass
class RequirementFile:
    requirements: list[Requirement] = field(default_factory=list)
    editables: list[str] = field(default_factory=list)
    constraint_files: list[str] = field(default_factory=list)


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        if raw.endswith("\\"):
            current += raw[:-1]
            continue
        lines.append(current + raw)
        current = ""
    if current:
        lines.append(current)
    return lines


def read_requirement_file(path: str, seen: frozenset[str] = frozenset()) -> RequirementFile:
    """The named requirements, editables and constraint files in a requirements file.

    Follows ``-r`` includes relative to the including file. Paths and URLs
    are left to pip (its report names them); options pipguard does not need
    are skipped, as pip would apply them itself.
    """
    result = RequirementFile()
    if path.startswith(("http://", "https://")):
        return result  # pip fetches it; its report still names what it installs
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"requirements file not found: {path}. Check the path given to -r."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the requirements file {path}: {exc}.") from None
    base = os.path.dirname(path)
    for number, raw in enumerate(_logical_lines(text), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        line = _ENV_VAR.sub(lambda m: os.environ.get(m.group(1), m.group(0)), line)
        if not line:
            continue
        where = f"{path}, line {number}"
        if line.startswith("-"):
            words = line.split(None, 1)
            opt, value = words[0], words[1].strip() if len(words) > 1 else ""
            if "=" in opt and opt.startswith("--"):
                opt, value = opt.split("=", 1)
            elif len(opt) > 2 and not opt.startswith("--"):
                opt, value = opt[:2], opt[2:]
            if opt in ("-r", "--requirement"):
                nested = os.path.join(base, value)
                # an include cycle (however the paths are spelled) is followed once
                here = seen | {os.path.realpath(path)}
                if os.path.realpath(nested) in here:
                    continue
                inner = read_requirement_file(nested, here)
                result.requirements += inner.requirements
                result.editables += inner.editables
                result.constraint_files += inner.constraint_files
            elif opt in ("-c", "--constraint"):
                result.constraint_files.append(os.path.join(base, value))
            elif opt in ("-e", "--editable"):
                result.editables.append(value)
            continue
        requirement_text = re.split(r"\s+--?\w", line, maxsplit=1)[0].strip()
        if looks_like_path(requirement_text) and "@" not in requirement_text:
            continue
        result.requirements.append(parse_requirement_arg(requirement_text, where))
    return result

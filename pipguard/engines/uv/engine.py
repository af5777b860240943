"""The uv engine: uv's pip interface behind the same guard as pip.

Supported: uv 0.13.9 and later whose ``uv pip install --dry-run
--output-format json`` writes the JSON schema "preview" (checked on every
run: ``uv --version`` before the first, the schema in every answer; an older
uv, or an unknown schema, is refused with a clear error, exit 12). Tested
with uv 0.13.9.

* **Same arguments, same meaning.** uv reads neither pip.conf nor
  ``PIP_*``: the request's settings (configuration folded in) are spelled
  out as uv flags and variables by ``options``, which refuses what uv
  cannot do alike (exit 2, naming the setting and where it came from).
  uv's own configuration is kept out: ``--no-config``, and the user's
  ``UV_*`` variables that could change what uv installs are removed from
  its environment. pip's way of choosing among indexes is kept
  (``--index-strategy unsafe-best-match``: the best version from any index).
* **The plan.** A dry run (``--dry-run --output-format json -v``) gives the
  plan's names, versions and actions (``output``); which distributions
  were asked for, with which extras, and which are editables or URLs come
  from the request and uv's own lines; requirements (``Requires-Dist``)
  from the distributions' metadata (``metadata``) where a local file
  holds it. uv is asked for the rest only when the core needs it: a plan
  it refuses (its explanation names who needs what), ``--no-deps``, or a
  dry run the user asked for. A plan the core approves meets the new
  distributions' own requirements by construction (uv resolved it), and
  the environment says what they are once installed.
* **Judged before anything changes.** uv has no hook between resolving and
  installing, so ``install`` is a dry run of the user's own request, the
  core's approval, and then an install of exactly that plan: its items
  pinned (or their exact URL or editable checkout) in a requirements file,
  with ``--no-deps``, so that uv resolves nothing again (the request itself,
  with the plan pinned as constraints, only where hashes or a requirements
  file's own index options need it).

pipguard's constraints reach uv as ``-c`` and ``--build-constraints`` files,
exactly as they reach pip.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from pipguard.core.constraints import exact_pin, plan_pins, requirement_text
from pipguard.core.model import PlannedInstall
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.core.redaction import redact
from pipguard.engines.base import AHEAD_GRACE, Approver, Constraints, Failure, Invocation, Resolution
from pipguard.engines.files import constraints_file, text_file
from pipguard.engines.pip.runner import ProcessResult, run_process
from pipguard.engines.uv.metadata import (
    Metadata,
    file_url_path,
    find_wheel,
    from_target,
    from_url,
    from_wheel,
)
from pipguard.engines.uv.options import FILE_OPTIONS_UV_READS, UvArguments, translate, uv_environment
from pipguard.engines.uv.output import (
    MINIMUM_UV,
    Action,
    UvChange,
    UvUnreadable,
    classify_failure,
    direct_references,
    installed,
    pip_style_conflict,
    read_changes,
    read_selections,
    split_output,
    uv_version,
)
from pipguard.errors import EnvironmentUnusable
from pipguard.pip.request import InstallRequest, PipRequest, Requested
from pipguard.system.process import RunningProcess

# Always: no uv configuration files, and pip's choice among several indexes.
_FIXED = ("--no-config", "--index-strategy", "unsafe-best-match")


def check_uv_version(command: Sequence[str]) -> Version:
    """The version of the uv at *command*, refused when pipguard cannot read its plans."""
    from pipguard.system.interpreter import PROBE_TIMEOUT_ENV, probe_timeout

    # A uv that never answers must not hold the environment's lock for ever (issue 19.13).
    timeout = probe_timeout()
    result = run_process([*command, "--version"], capture=True, timeout=timeout)
    shown = " ".join(command)
    if result.timed_out:
        raise EnvironmentUnusable(
            f"uv ({shown} --version) did not answer within {timeout:g} s, so pipguard stopped it. "
            f"Reinstall uv (pip install 'pipguard[uv]'), allow it more time with {PROBE_TIMEOUT_ENV}=SECONDS, "
            "or use --engine pip."
        )
    found = uv_version(result.stdout) if result.returncode == 0 else None
    if found is None:
        raise EnvironmentUnusable(
            f"cannot tell the version of uv ({shown} --version exited {result.returncode}: "
            f"{(result.stdout + result.stderr).strip()[:200]!r}). Reinstall it (pip install 'pipguard[uv]'), "
            "or use --engine pip."
        )
    if found < MINIMUM_UV:
        raise EnvironmentUnusable(
            f"uv {found} ({shown}) is older than the uv engine supports ({MINIMUM_UV} and later, whose "
            "'uv pip install --dry-run --output-format json' pipguard reads). Upgrade it "
            f"(pip install 'uv>={MINIMUM_UV}'), or use --engine pip."
        )
    return found


def packaged_uv_version(command: Sequence[str]) -> Version | None:
    """The version of the uv package whose own binary *command* runs, read with no process.

    From the package's record (``engines/uv/package.py``): when *command* is
    the recorded binary (the same path and size), its version is the
    package's. Anything else (uv on PATH, ``python -m uv``, a binary replaced
    since): None, and ``uv --version`` is asked. Saves a process on every
    install.
    """
    from pipguard.engines.uv.package import packaged_uv

    found = packaged_uv() if len(command) == 1 else None
    if found is None or os.path.realpath(found[0]) != os.path.realpath(command[0]):
        return None
    try:
        return Version(found[1])
    except InvalidVersion:
        return None


@dataclass(frozen=True)
class _Plan:
    """What one dry run of uv said, kept to read the planned distributions' metadata when needed."""

    changes: tuple[UvChange, ...]
    urls: Mapping[NormalizedName, str]
    files: Mapping[tuple[NormalizedName, str], str]
    arguments: UvArguments
    replaced: frozenset[NormalizedName] = frozenset()  # installed now, uninstalled by the plan
    shown: str = ""  # uv's progress lines ("Resolved 2 packages in 6ms"), not shown yet


class UvEngine:
    """Runs ``uv pip install --python TARGET`` for the decision core."""

    name = "uv"

    def __init__(self, python: str, uv: Sequence[str], workdir: Path, version: Version | None = None) -> None:
        self.python = python
        self.uv = list(uv)
        self.workdir = workdir
        self.version = version
        # metadata uv gave in this call, by requirement line: a refused plan described again, or the
        # guarded plan after the plain one, never asks uv (nor builds) for the same distribution twice
        self._asked: dict[str, Metadata] = {}
        # a dry run started before the core asked for it: its command line, and the process
        self._ahead: tuple[list[str], RunningProcess] | None = None

    def supports_build_constraints(self) -> bool:
        return True

    def ready(self) -> None:
        """uv's version, read and checked once: before anything is recorded (never on the fast path).

        Read from the uv package's record when uv is that package's binary (no
        process), else asked of uv (``uv --version``).
        """
        if self.version is None:
            packaged = packaged_uv_version(self.uv)
            if packaged is not None and packaged >= MINIMUM_UV:
                self.version = packaged
            else:
                self.version = check_uv_version(self.uv)

    def release_dates(self, request: PipRequest, names: Sequence[str]) -> dict[str, dict[str, str]]:
        """When each version of *names* was released, where the index says (for re-plan messages, as pip's)."""
        from pipguard.engines.index import release_dates

        return {name: release_dates(request, name) for name in names}

    @property
    def _version(self) -> str:
        self.ready()
        return str(self.version)

    # -- command lines ----------------------------------------------------------

    def _file(self, stem: str, constraints: Constraints) -> Path:
        return constraints_file(self.workdir, stem, constraints)

    def _own(self, invocation: Invocation, constraints: Constraints) -> list[str]:
        words: list[str] = []
        if constraints:
            words += ["-c", str(self._file("constraints", constraints))]
        if invocation.build_constraints:
            words += ["--build-constraints", str(self._file("build-constraints", invocation.build_constraints))]
        return words

    def command(self, arguments: UvArguments, own: Sequence[str], *extra: str) -> list[str]:
        return [*self.uv, "pip", "install", "--python", self.python, *_FIXED, *extra, *arguments.sources,
                *own, *arguments.requests]

    def _run(self, cmd: list[str], arguments: UvArguments) -> ProcessResult:
        return run_process(cmd, capture=True, env=uv_environment(os.environ, arguments))

    # -- the port -----------------------------------------------------------------

    def resolve(self, invocation: Invocation) -> Resolution:
        found, plan = self._dry_run(invocation, translate(invocation.request, invocation.also, dry_run=True))
        return found if plan is None else self._described(found, plan, invocation, fully=True)

    def install(self, invocation: Invocation, approve: Approver) -> Resolution:
        """A dry run, the core's approval, then an install of exactly that plan.

        The plan is judged without the planned distributions' requirements
        where only uv could tell them (uv's plan meets them by construction;
        the environment says what they are once installed): no second uv run
        in the common case. A plan the core refuses is described in full where
        its explanation reads it (``Approval.described_again``).

        The approved plan is installed as it is: its items pinned (or their
        exact file, URL or editable checkout) with ``--no-deps``, so that uv
        neither resolves again nor builds anything the dry run did not plan
        (``_exact_install``). An empty plan installs nothing: uv is not run again.
        """
        found, plan = self._dry_run(invocation, translate(invocation.request, invocation.also))
        if plan is None:
            return found
        # with --no-deps nothing says their requirements are met: they are read for the judgement
        fully = invocation.needs_requirements or invocation.request.flag("no-deps")
        planned = self._described(found, plan, invocation, fully=fully)
        if not planned.ok:
            return planned
        approval = approve(planned)
        if not approval.proceed:
            if not fully and approval.described_again:  # plain uv's plan, explained by its requirements
                planned = self._described(found, plan, invocation, fully=True)
            return planned.stopped(approval.reason)
        quiet = _quiet(invocation.request)
        if not plan.changes:  # nothing to install: uv's dry run said so, as uv's install would
            done = "".join(line for line in plan.shown.splitlines(keepends=True) if not line.startswith("Would "))
            if invocation.show_output and done and not quiet:
                sys.stderr.write(redact(done))
                sys.stderr.flush()
            return planned
        result = self._run(self._exact_install(invocation, plan, planned.plan), plan.arguments)
        shown, held, output = split_output(result.stderr)
        if invocation.show_output and shown and not quiet:
            sys.stderr.write(redact(shown))
            sys.stderr.flush()
        if result.returncode != 0:
            return Resolution(failure=classify_failure(result), output=planned.output + output,
                              held=planned.held + held)
        try:  # uv's account of the install, read once: versions approved unknown, and a check
            account: tuple[UvChange, ...] | None = installed(read_changes(result.stdout, self._version))
        except UvUnreadable as exc:
            account, held = None, held + f"pipguard: warning: {exc}\n"
        items = _with_told_versions(planned.plan, account)
        held += _unplanned(account, items)
        return Resolution(items, None, planned.output + output, None, planned.backtracked,
                          planned.held + held, planned.considered)

    def _exact_install(self, invocation: Invocation, plan: _Plan, items: Sequence[PlannedInstall]) -> list[str]:
        """The command that installs exactly the approved plan.

        Every planned distribution is written to a requirements file (one path
        per content): ``name==version``, or ``name @ URL`` for a direct reference,
        or ``-e URL`` for an editable, with ``--no-deps``: uv resolves nothing
        again, and takes what it built or downloaded for the dry run from its
        cache. (A local directory named on uv's command line is always built
        again; read from a file, uv reuses its build, as it reuses any other.)
        What the user's options say about where to look and how to build is kept
        (``UvArguments.sources``: indexes, find-links, ``--reinstall``,
        ``--no-build-isolation``, ``--config-setting``, ...), and so are the
        build constraints of the dry run (the same file).

        Hashes (``--require-hashes``, ``--hash``) and index options inside
        requirement files are the request's own: there the request is installed
        with the plan pinned as constraints, as uv resolves it.
        """
        arguments = plan.arguments
        # never -q here: uv's -qq also silences its JSON; pipguard hides what -q would hide itself
        extra = ["--output-format", "json"]
        if not _exact_plan_possible(invocation.request):
            exact = {**invocation.constraints, **plan_pins(items)}
            return self.command(arguments, self._own(invocation, exact), *extra)
        lines, reinstall = _plan_lines(plan, items)
        path = text_file(self.workdir, "plan", "".join(f"{line}\n" for line in lines))
        own: list[str] = []
        if invocation.build_constraints:
            own += ["--build-constraints", str(self._file("build-constraints", invocation.build_constraints))]
        if "--no-deps" not in arguments.sources:
            own.append("--no-deps")
        for name in reinstall:
            own += ["--reinstall-package", name]
        return [*self.uv, "pip", "install", "--python", self.python, *_FIXED, *extra, *arguments.sources,
                *own, "-r", str(path)]

    def start(self, invocation: Invocation) -> None:
        """Start the dry run of installing *invocation* now, ahead of the core's asking (uv resolves
        while pipguard reads the environment); ``install`` with the same command takes it over,
        ``cancel`` ends it. A dry run changes nothing."""
        if self._ahead is None:
            arguments = translate(invocation.request, invocation.also)
            cmd = self._dry_run_command(invocation, arguments)
            self._ahead = (cmd, RunningProcess(cmd, env=uv_environment(os.environ, arguments)))

    def cancel(self) -> None:
        """End a dry run started ahead that the core did not ask for."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead[1].stop(AHEAD_GRACE)

    def _dry_run_command(self, invocation: Invocation, arguments: UvArguments) -> list[str]:
        own = self._own(invocation, invocation.constraints)
        extra = ["--dry-run", "--output-format", "json", "-v"]
        if arguments.ignore_installed:
            empty = self.workdir / "empty-environment"
            empty.mkdir(exist_ok=True)
            extra += ["--target", str(empty)]
        return self.command(arguments, own, *extra)

    def _dry_run(self, invocation: Invocation, arguments: UvArguments) -> tuple[Resolution, _Plan | None]:
        """uv's plan for *invocation* (names, versions, files), changing nothing."""
        version = self._version
        cmd = self._dry_run_command(invocation, arguments)
        ahead = self._ahead
        if ahead is not None and ahead[0] == cmd and ahead[1].started:
            self._ahead = None
            result = ahead[1].finish()  # the run started ahead is this one
        else:
            self.cancel()  # none, or started for another command than the core's
            result = self._run(cmd, arguments)
        shown, held, output = split_output(result.stderr)
        selections = read_selections(result.stderr)
        if result.returncode != 0:
            return Resolution(failure=_failure(result, invocation), output=output, held=held,
                              backtracked=selections.backtracked, considered=selections.considered), None
        every = read_changes(result.stdout, version)
        replaced = frozenset(change.name for change in every if change.action == "uninstalled")
        plan = _Plan(installed(every), direct_references(result.stderr), selections.files, arguments, replaced,
                     shown)
        return Resolution((), None, output, None, selections.backtracked, held, selections.considered), plan

    def _described(self, found: Resolution, plan: _Plan, invocation: Invocation, fully: bool) -> Resolution:
        """*found* with its plan's items: names, versions and (where read) requirements.

        Not *fully*, a direct reference whose version only a build could tell (a local project
        with dynamic metadata) and whose version the judgement does not read
        (``Invocation.versions_read``) goes without it: uv's dry run prepared its metadata, and a
        run to learn it would build it again; the install says it (``_with_told_versions``)."""
        read = invocation.versions_read
        later = frozenset() if fully or read is None else frozenset(
            change.name for change in plan.changes if change.name in plan.urls and change.name not in read)
        metadata = self._metadata(plan, invocation.build_constraints, fully, later)
        if isinstance(metadata, Resolution):
            return metadata
        items = tuple(_planned(change, metadata, plan, invocation, self._version, later)
                      for change in plan.changes)
        return found._replace(plan=items)

    # -- metadata ---------------------------------------------------------------------

    def _metadata(self, plan: _Plan, build_constraints: Constraints, fully: bool,
                  later: frozenset[NormalizedName] = frozenset()) -> dict[NormalizedName, Metadata] | Resolution:
        """Each planned distribution's metadata: from local files where uv says which, else from uv.

        Not *fully*: uv is asked only for what a plan cannot do without (the
        version of a direct reference, but for those in *later*); the rest go
        without requirements.
        """
        find_links = _find_links(plan.arguments)
        found: dict[NormalizedName, Metadata] = {}
        missing: list[tuple[NormalizedName, str]] = []
        for change in plan.changes:
            url = plan.urls.get(change.name)
            meta: Metadata | None = None
            if url is not None:
                meta = from_url(url)
            elif change.version is not None:
                filename = plan.files.get((change.name, change.version))
                wheel = find_wheel(filename, find_links) if filename else None
                meta = from_wheel(wheel) if wheel else None
            if meta is not None:
                found[change.name] = meta
            elif not fully and (change.version is not None or change.name in later):
                continue  # its requirements are read from the environment once it is installed
            elif url is not None:
                missing.append((change.name, f"{change.name} @ {url}"))
            elif change.version is not None:
                missing.append((change.name, f"{change.name}{exact_pin(change.version)}"))
            else:
                missing.append((change.name, change.name))
        if not missing:
            return found
        asked = self._ask_metadata(plan, build_constraints, missing)
        if isinstance(asked, Resolution):
            return asked
        found.update(asked)
        return found

    def _ask_metadata(self, plan: _Plan, build_constraints: Constraints,
                      missing: Sequence[tuple[NormalizedName, str]]) -> dict[NormalizedName, Metadata] | Resolution:
        """*missing* (name, requirement line) installed by uv into a scratch ``--target``, and read there.

        The lines go in a requirements file, not on uv's command line: uv
        then reuses what its dry run prepared (a local directory named on the
        command line is always built again), and the wheel it builds here is
        the one the install takes from its cache.
        """
        found = {name: self._asked[line] for name, line in missing if line in self._asked}
        lines = [line for name, line in missing if name not in found]
        if not lines:
            return found
        scratch = self.workdir / f"metadata-{len(list(self.workdir.glob('metadata-*'))) + 1}"
        requirements = text_file(self.workdir, "metadata", "".join(f"{line}\n" for line in lines))
        own = ["--build-constraints", str(self._file("build-constraints", build_constraints))] \
            if build_constraints else []
        if "--no-deps" not in plan.arguments.sources:  # uv refuses a flag given twice
            own.append("--no-deps")
        cmd = [*self.uv, "pip", "install", "--python", self.python, *_FIXED, "--target", str(scratch), "-q",
               *plan.arguments.sources, *own, "-r", str(requirements)]
        result = self._run(cmd, plan.arguments)
        if result.returncode != 0:
            _, held, output = split_output(result.stderr)
            return Resolution(failure=classify_failure(result), output=output, held=held)
        read = from_target(scratch)
        for name, line in missing:
            if name in read:
                self._asked[line] = found[name] = read[name]
        return found


def _with_told_versions(plan: tuple[PlannedInstall, ...],
                        done: Sequence[UvChange] | None) -> tuple[PlannedInstall, ...]:
    """*plan* with the versions its items were approved without, as uv's account of the install
    (*done*: what it installed; None where the account was unreadable) says them."""
    if done is None or all(item.version for item in plan):
        return plan
    told = {c.name: c.version for c in done if c.version is not None}
    return tuple(item if item.version else item._replace(version=told.get(item.name, "")) for item in plan)


def _unplanned(done: Sequence[UvChange] | None, plan: Sequence[PlannedInstall]) -> str:
    """A warning when uv's account of the install (*done*: what it installed; None where it was
    unreadable, said already) differs from the approved plan.

    The install has happened by then: its account is checked, never a reason to fail.
    """
    if done is None:
        return ""
    planned = {(item.name, item.version) for item in plan}
    unplanned = sorted(f"{c.name} {c.version}" for c in done if c.version is not None
                       and (c.name, c.version) not in planned)
    if not unplanned:
        return ""
    return (f"pipguard: warning: uv installed {', '.join(unplanned)}, which the approved plan did not hold "
            "(did the index change between the dry run and the install?).\n")


def _exact_plan_possible(request: InstallRequest) -> bool:
    """Can the approved plan be installed as a plain list of pins (``--no-deps``)?

    Not where hashes are checked (``--require-hashes``, or a ``--hash`` on a
    line of a requirements or constraints file, which turns checking on for
    it: the pins carry none, and uv would install unchecked), nor where a
    requirements file says where to look or which files to take (uv reads
    those lines only with the file itself), nor with a file fetched by URL.
    """
    if request.flag("require-hashes") or request.remote_files:
        return False
    own = FILE_OPTIONS_UV_READS - {"constraint", "requirement", "editable"}
    if any(option.key in own for _, option in request.file_options):
        return False
    for path in (*request.requirement_files, *request.constraint_files):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                if "--hash" in handle.read():
                    return False
        except OSError:
            return False  # uv will say what is wrong with it, reading it with the request
    return True


def _plan_lines(plan: _Plan, items: Sequence[PlannedInstall]) -> tuple[list[str], list[str]]:
    """The approved plan as requirement lines, and the names uv must install again though installed.

    uv plans to reinstall a local project or URL asked for again (pip does
    too), and what ``--reinstall`` names; read from a file, uv would keep an
    installed copy of the same version, so those are named with
    ``--reinstall-package``. (A new version of a named distribution replaces
    the old one by itself, and keeps uv's cache: ``--reinstall-package`` would
    refresh it, building an sdist again.)
    """
    actions: dict[NormalizedName, Action] = {change.name: change.action for change in plan.changes}
    lines: list[str] = []
    reinstall: list[str] = []
    for item in items:
        if item.editable:
            lines.append(f"-e {item.editable}")
        elif item.url:
            lines.append(f"{item.name} @ {item.url}")
        else:
            lines.append(f"{item.name}{exact_pin(item.version)}")
        again = actions.get(item.name) == "reinstalled" or (
            item.name in plan.replaced and bool(item.editable or item.url))
        if again and "--reinstall" not in plan.arguments.sources:
            reinstall.append(item.name)
    return lines, reinstall


def _failure(result: ProcessResult, invocation: Invocation) -> Failure:
    """Why uv found no plan; for a conflict, told as pip tells it (the core reads pip's account)."""
    failure = classify_failure(result)
    if failure.kind != "impossible":
        return failure
    request = invocation.request
    requested = [(item.name, requirement_text(item.requirement)) for item in request.requested
                 if item.name is not None and item.requirement is not None]
    requested += [(name, text) for text in invocation.also for name in _names([text])]
    constraints = [(name, f"{name}{spec}") for name, spec in sorted(invocation.constraints.items())]
    constraints += [(line.name, requirement_text(line.requirement)) for line in request.constraints]
    return failure._replace(conflict=pip_style_conflict(result.stderr, requested, constraints))


def _quiet(request: InstallRequest) -> int:
    return max(0, request.count("quiet") - request.count("verbose"))


def _find_links(arguments: UvArguments) -> list[str]:
    words = list(arguments.sources)
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word == "--find-links"]


def _matching_request(request: InstallRequest, name: NormalizedName, url: str | None) -> Requested | None:
    """The request item that asked for this distribution (by name, or by path or URL)."""
    for item in request.requested:
        if item.name == name:
            return item
    if url is None:
        return None
    for item in request.requested:
        if item.name is None and _same_location(item, url):
            return item
    return None


def _local_path(location: str) -> str | None:
    """A local path, or a file: URL, as a real path (None for anything remote)."""
    location = location.split("#", 1)[0]
    if location.startswith("file:"):
        return os.path.realpath(file_url_path(location))
    if "://" in location:
        return None
    return os.path.realpath(location)


def _same_location(item: Requested, url: str) -> bool:
    """Does the request item (a path, an editable, a URL) name what uv reports at *url*?"""
    text = item.text.split(";", 1)[0].strip()
    if item.extras and text.endswith("]"):
        text = text[: text.rindex("[")]
    if text == url:
        return True
    mine, theirs = _local_path(text), _local_path(url)
    return mine is not None and mine == theirs


def _planned(change: UvChange, metadata: Mapping[NormalizedName, Metadata], plan: _Plan,
             invocation: Invocation, uv: str, later: frozenset[NormalizedName] = frozenset()) -> PlannedInstall:
    meta = metadata.get(change.name)
    if meta is None and change.version is not None and change.name not in plan.urls:
        # not read (uv's plan meets its requirements): uv's own name and version
        meta = Metadata(change.name, change.version, requires=())
    if meta is None and change.name in later:
        meta = Metadata(change.name, "", requires=())  # a version nothing reads yet: the install tells it
    if meta is None:
        raise UvUnreadable(
            f"cannot read the metadata of {change.name}, which uv {uv} plans to install: no METADATA was "
            "found for it. Use --engine pip for this install."
        )
    url = plan.urls.get(change.name)
    archive = url or (plan.files.get((change.name, change.version)) if change.version is not None else None)
    item = _matching_request(invocation.request, change.name, url)
    requested = item is not None or change.name in _names(invocation.also)
    extras = _extras(invocation.request, change.name, item)
    editable = url if item is not None and item.kind == "editable" else None
    return PlannedInstall(
        name=change.name,
        display_name=meta.name,
        version=meta.version if change.version is None else change.version,
        requires=meta.requires,
        requested=requested,
        requested_extras=extras,
        editable=editable,
        url=url if url is not None and editable is None else None,
        archive=archive,
    )


def _extras(request: InstallRequest, name: NormalizedName, item: Requested | None) -> tuple[str, ...]:
    """The extras asked for (every request item naming *name*, or the path/editable's own)."""
    found = set(item.extras) if item is not None else set()
    for other in request.requested:
        if other.name == name and other.requirement is not None:
            found |= {canonicalize_name(extra) for extra in other.requirement.extras}
    return tuple(sorted(found))


def _names(requirements: Sequence[str]) -> set[NormalizedName]:
    names = set()
    for text in requirements:
        try:
            names.add(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            continue
    return names

"""The pip engine: pip's own command line, constraints files and ``--report`` JSON.

pip is run in the target interpreter (``TARGET -m pip install``) with the
user's arguments untouched, plus pipguard's constraints (``-c``, and
``--build-constraint`` where pip has it) and a report path. pipguard never
imports pip.

Installing is judged before anything changes, in one pip run: pip is run
through a gate (``pipguard.engines.pip.gate``) that stops it after it has resolved
and written its ``--report``, before its first uninstall or install, until
pipguard says go. The core judges the plan in between; pip then goes on, or
ends having changed nothing. Where the gate cannot go (Windows, or a pip
without its place), the engine falls back to a dry run followed by an
install of exactly the planned versions.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.utils import InvalidSdistFilename, parse_sdist_filename
from packaging.version import Version

from pipguard.core.constraints import plan_pins
from pipguard.core.model import PlannedInstall
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.core.redaction import redact
from pipguard.engines.base import (
    AHEAD_GRACE,
    Approval,
    Approver,
    Constraints,
    Failure,
    Invocation,
    Resolution,
)
from pipguard.engines.files import constraints_file
from pipguard.engines.pip.gate import NO_GATE
from pipguard.engines.pip.gated import Gate
from pipguard.engines.pip.progress import Progress, pip_progress
from pipguard.engines.pip.runner import BUILD_CONSTRAINT_PIP as BUILD_CONSTRAINT_PIP
from pipguard.engines.pip.runner import build_constraints_note as build_constraints_note
from pipguard.engines.pip.runner import pip_command
from pipguard.pip.request import PipRequest
from pipguard.system.process import ProcessResult, WatchedProcess

_BACKTRACKING = "INFO: pip is looking at multiple versions of"
_INSTALLING = ("Installing collected packages:", "Successfully installed")
_ARCHIVE_LINE = re.compile(r"^\s*(?:Downloading|Using cached|Processing|Obtaining|Collecting)\s+(\S+)")
_WHEEL_NAME = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")
_BUILD_ERRORS = (
    "subprocess-exited-with-error", "metadata-generation-failed", "Failed building wheel",
    "Failed to build", "did not run successfully", "Could not build wheels",
)
_NOT_FOUND = ("404 Client Error", "HTTP error 404", "No such file or directory", "does not exist")


# -- reading pip's answers ----------------------------------------------------------


def _item(data: Mapping[str, Any]) -> PlannedInstall:
    meta = data.get("metadata", {})
    info = data.get("download_info") or {}
    url = info.get("url")
    editable = url if (info.get("dir_info") or {}).get("editable") else None
    return PlannedInstall(
        name=canonicalize_name(meta["name"]),
        display_name=meta["name"],
        version=str(meta["version"]),
        requires=tuple(meta.get("requires_dist") or ()),
        requested=bool(data.get("requested")),
        requested_extras=tuple(data.get("requested_extras") or ()),
        editable=editable,
        url=url if data.get("is_direct") and not editable else None,
        archive=url,
    )


def parse_report(text: str) -> tuple[PlannedInstall, ...]:
    """The items of a ``pip install --report`` document (format version 1)."""
    data = json.loads(text)
    return tuple(_item(item) for item in data.get("install", []))


def conflict_block(stdout: str) -> str:
    """pip's "The conflict is caused by:" explanation, as pip printed it."""
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if line.strip() == "The conflict is caused by:":
            block = [line]
            for more in lines[index + 1:]:
                if not more.strip():
                    break
                block.append(more)
            return "\n".join(block)
    return ""


def _failed_candidate(output: str) -> str:
    """The last source distribution pip was handling before it failed ("PyYAML 5.4.1")."""
    found = ""
    for line in output.splitlines():
        match = _ARCHIVE_LINE.match(line)
        if not match:
            continue
        filename = match.group(1).rsplit("/", 1)[-1].split("#", 1)[0]
        try:
            name, version = parse_sdist_filename(filename)
        except InvalidSdistFilename:
            continue
        display = filename[: len(filename) - len(filename.lstrip("-_.").split("-")[-1])].rstrip("-")
        found = f"{display or name} {version}"
    return found


def considered_versions(output: str) -> tuple[tuple[NormalizedName, str], ...]:
    """The distribution files pip looked at ("Processing c-2.0-py3-none-any.whl"), as (name, version).

    A version newer than the one pip chose means it examined and turned down
    a candidate: a sign that pipguard's constraints may have made the choice.
    """
    found: list[tuple[NormalizedName, str]] = []
    for line in output.splitlines():
        match = _ARCHIVE_LINE.match(line)
        if not match:
            continue
        filename = match.group(1).rsplit("/", 1)[-1].split("#", 1)[0].removesuffix(".metadata")
        wheel = _WHEEL_NAME.match(filename)
        if wheel:
            found.append((canonicalize_name(wheel.group("name")), wheel.group("version")))
            continue
        try:
            name, version = parse_sdist_filename(filename)
        except InvalidSdistFilename:
            continue
        found.append((name, str(version)))
    return tuple(dict.fromkeys(found))


def classify_failure(result: ProcessResult) -> Failure:
    """Why pip ended without a plan (read from its exit code and words)."""
    text = result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    summary = redact(errors[-1]) if errors else ""
    if result.returncode < 0:
        return Failure("killed", result.returncode, summary)
    if "ResolutionImpossible" in text:
        return Failure("impossible", result.returncode, summary, conflict=conflict_block(result.stdout))
    if any(marker in text for marker in _BUILD_ERRORS):
        return Failure("build", result.returncode, summary, candidate=_failed_candidate(text))
    if "No matching distribution found" in text:
        return Failure("no-match", result.returncode, summary)
    if any(marker in text for marker in _NOT_FOUND):
        return Failure("not-found", result.returncode, summary)
    return Failure("other", result.returncode, summary)


# -- showing pip's output as the user asked -----------------------------------------------


class _Output:
    """Watches a pip run's lines: shows what pip would have shown, holds back the rest.

    pip's progress (stdout) is shown as pip would show it (pip runs at
    verbosity 0 or more so that pipguard sees its INFO lines; what the
    user's -q would have hidden stays hidden): in a gated run, what pip says
    while it resolves is held until the plan is approved, then shown at once,
    and the rest as it comes; a plan that is refused shows none of it (the
    verdict comes first, and pip's words go to the log). Lines about pipguard's
    constraints (pip looking at several versions, a conflict's explanation)
    and pip's warnings and errors (stderr) are held: the core decides whether
    pip's failure is passed on (then they are shown once) or handled (then
    pipguard's verdict comes first, and pip's words go to the log).
    """

    def __init__(self, show: bool, quiet: int, gated: bool = False, progress: Progress | None = None) -> None:
        self.show = show
        self.quiet = quiet
        # a gated run: what pip prints to stdout while it resolves is held until its plan is
        # approved (``release``), so that a refusal comes before any of it (and it goes to the log)
        self.gated = gated
        self.backtracked = False
        self.installing = False
        self.held: list[str] = []
        self.early: list[str] = []  # stdout held until the plan is approved
        self._released = False
        self._in_conflict = False
        self._lock = threading.Lock()
        # says what pip tries while it backtracks (the lines that would say it are held)
        self.progress = progress

    def release(self, show_early: bool) -> None:
        """The plan is approved: show what pip printed so far (when *show_early*), then go on showing."""
        with self._lock:
            self._released = True
            if show_early and self.early:
                _write("".join(self.early))
            self.early.clear()

    def __call__(self, stream: str, line: str) -> None:
        if self.progress is not None:
            self.progress.line(line)
        with self._lock:
            if line.startswith(_BACKTRACKING):
                self.backtracked = True
            if line.startswith(_INSTALLING):
                self.installing = True
            if stream == "stdout" and line.strip() == "The conflict is caused by:":
                self._in_conflict = True
            if line.startswith(("INFO: pip is looking", "INFO: pip is still looking", "INFO: This is taking")):
                return  # pipguard's constraints made pip look: it says what came of it itself
            if not self.show or stream == "stderr" or self._in_conflict:
                if not self._hidden(stream, line):
                    self.held.append(line)
                return
            if self._hidden(stream, line):
                return
            if self.gated and not self._released:
                self.early.append(line)
                return
            _write(line)

    def _hidden(self, stream: str, line: str) -> bool:
        if self.quiet >= 1 and stream == "stdout":
            return True  # -q: pip shows warnings and errors only
        return self.quiet >= 2 and not line.startswith("ERROR")


def _write(text: str) -> None:
    import sys

    sys.stdout.write(redact(text))
    sys.stdout.flush()


# -- the engine ---------------------------------------------------------------------------

# pip's options that pipguard sets itself on every run (the user's are taken out).
_OWN_OPTIONS = ("report", "dry-run")


class PipEngine:
    """Runs the target's pip for the decision core."""

    name = "pip"

    def __init__(self, python: str, pip_version: str | None, workdir: Path) -> None:
        self.python = python
        self.pip_version = pip_version
        self.workdir = workdir
        self._count = itertools.count(1)
        self._ahead: _GatedRun | None = None  # a run started before the core asked for it

    def ready(self) -> None:
        """pip's version is checked by the command, from the probe, before the engine is made."""

    def release_dates(self, request: PipRequest, names: Sequence[str]) -> dict[str, dict[str, str]]:
        """When each version of *names* was released, where the index says (for re-plan messages)."""
        from pipguard.engines.index import release_dates

        return {name: release_dates(request, name) for name in names}

    def supports_build_constraints(self) -> bool:
        try:
            return self.pip_version is not None and Version(self.pip_version) >= BUILD_CONSTRAINT_PIP
        except ValueError:
            return False

    # -- command lines ----------------------------------------------------------

    def _file(self, stem: str, constraints: Constraints) -> Path:
        return constraints_file(self.workdir, stem, constraints)

    def command(self, invocation: Invocation, report: Path, dry_run: bool) -> list[str]:
        request = invocation.request
        extra: list[str] = []
        if invocation.constraints:
            extra += ["-c", str(self._file("constraints", invocation.constraints))]
        if invocation.build_constraints and self.supports_build_constraints():
            extra += ["--build-constraint", str(self._file("build-constraints", invocation.build_constraints))]
        extra += ["--report", str(report)]
        if dry_run:
            extra.append("--dry-run")
        # pip runs at verbosity 0 or more, so that its INFO lines (backtracking, what it
        # installs) reach pipguard; pipguard itself hides what -q would have hidden.
        net = request.count("verbose") - request.count("quiet")
        extra += ["-v"] * max(0, -net)
        args = request.pip_args(drop=_OWN_OPTIONS, add=[*invocation.also, *extra])
        return pip_command(self.python, "install", *args)

    def _quiet(self, invocation: Invocation) -> int:
        request = invocation.request
        return max(0, request.count("quiet") - request.count("verbose"))

    # -- the port -----------------------------------------------------------------

    def resolve(self, invocation: Invocation) -> Resolution:
        report = self.workdir / f"report-{next(self._count)}.json"
        with pip_progress() as progress:
            watch = _Output(show=False, quiet=self._quiet(invocation), progress=progress)
            with WatchedProcess(self.command(invocation, report, dry_run=True), watch) as process:
                result = process.wait()
        return self._answer(result, report.read_text() if report.exists() else None, watch)

    def start(self, invocation: Invocation) -> None:
        """Start installing *invocation* now, ahead of the core's asking: pip resolves while pipguard
        still reads the environment, and waits at its gate, having changed nothing. ``install`` with
        the same invocation takes this run over; ``cancel`` ends it."""
        if os.name == "posix" and self._ahead is None:
            self._ahead = self._begin(invocation, background=True)

    def cancel(self) -> None:
        """End a run started ahead that the core did not ask for (nothing was changed)."""
        run, self._ahead = self._ahead, None
        if run is not None:
            _end_unheard(run)

    def install(self, invocation: Invocation, approve: Approver) -> Resolution:
        if os.name != "posix":
            return self._install_in_two_runs(invocation, approve)
        run, self._ahead = self._ahead, None
        if run is not None and self.command(invocation, run.report, dry_run=False) != run.pip:
            _end_unheard(run)  # started for another command line than the core's: not this one
            run = None
        if run is None:
            run = self._begin(invocation, background=False)
        run.invocation = invocation  # the core's own, with its request read in full
        with run.stack:
            return self._finish(run, approve)

    def _begin(self, invocation: Invocation, background: bool) -> _GatedRun:
        number = next(self._count)
        report = self.workdir / f"report-{number}.json"
        watch = _Output(show=invocation.show_output, quiet=self._quiet(invocation), gated=True)
        with contextlib.ExitStack() as stack:
            gate = stack.enter_context(Gate())
            watch.progress = stack.enter_context(pip_progress())
            pip = self.command(invocation, report, dry_run=False)
            gated = gate.command(pip, _temp_dir(self.workdir / f"tmp-{number}", pip))
            process = stack.enter_context(WatchedProcess(gated, watch, pass_fds=gate.child_ends,
                                                         shown=pip, background=background))
            gate.started()
            return _GatedRun(invocation, pip, report, watch, gate, process, stack.pop_all())
        raise AssertionError("unreachable")  # for mypy: the with block returns or raises

    def _finish(self, run: _GatedRun, approve: Approver) -> Resolution:
        """Wait for pip at its gate, have its plan approved, and let it go on (or stop it)."""
        invocation, report, watch, gate, process = run.invocation, run.report, run.watch, run.gate, run.process
        process.foreground()
        approval: Approval | None = None
        if gate.wait_until_ready():  # pip has resolved and written its report; it has changed nothing
            if watch.progress is not None:
                watch.progress.resolved()
            planned = self._answer(ProcessResult(0, process.stdout_so_far()), _read(report), watch)
            approval = Approval(False, "") if process.signalled else approve(planned)
            if approval.proceed:
                watch.release(invocation.show_resolution)
            gate.answer(approval.proceed)
        else:
            gate.answer(False)
        result = process.wait()
        if approval is None and result.signal is None and result.returncode == NO_GATE:
            return self._install_in_two_runs(invocation, approve)  # a pip without the gate's place
        if approval is not None and not approval.proceed and result.signal is None:
            return Resolution(
                plan=parse_report(_read(report) or "") if report.exists() else (),
                failure=Failure("stopped", 0, approval.reason),
                output=result.stdout + result.stderr, report=_read(report), backtracked=watch.backtracked,
                held="".join(watch.held), considered=considered_versions(result.stdout),
            )
        return self._answer(result, _read(report), watch)

    def _install_in_two_runs(self, invocation: Invocation, approve: Approver) -> Resolution:
        planned = self.resolve(invocation)
        if not planned.ok:
            return planned
        approval = approve(planned)
        if not approval.proceed:
            return planned.stopped(approval.reason)
        pins = plan_pins(planned.plan)
        exact = Invocation(invocation.request, pins, invocation.build_constraints or invocation.constraints,
                           invocation.also, invocation.show_output)
        report = self.workdir / f"report-{next(self._count)}.json"
        with pip_progress() as progress:
            watch = _Output(show=invocation.show_output, quiet=self._quiet(invocation), progress=progress)
            with WatchedProcess(self.command(exact, report, dry_run=False), watch) as process:
                result = process.wait()
        return self._answer(result, report.read_text() if report.exists() else None, watch)

    def _answer(self, result: ProcessResult, report: str | None, watch: _Output) -> Resolution:
        output = result.stdout + result.stderr
        held = "".join(watch.held)
        considered = considered_versions(result.stdout)
        if result.signal is not None:
            return Resolution(failure=Failure("killed", result.returncode, signal=result.signal), output=output,
                              report=report, backtracked=watch.backtracked, held=held, considered=considered)
        if result.returncode != 0:
            return Resolution(failure=classify_failure(result), output=output, report=report,
                              backtracked=watch.backtracked, held=held, considered=considered,
                              unshown="".join(watch.early))
        plan = parse_report(report) if report else ()
        return Resolution(plan, None, output, report, watch.backtracked, held, considered, "".join(watch.early))


class _GatedRun:
    """One gated pip run under way: what it was asked, and what to close when it is over."""

    def __init__(self, invocation: Invocation, pip: list[str], report: Path, watch: _Output, gate: Gate,
                 process: WatchedProcess, stack: contextlib.ExitStack) -> None:
        self.invocation = invocation
        self.pip = pip  # pip's own command line (a run started ahead is taken over only for the same)
        self.report = report
        self.watch = watch
        self.gate = gate
        self.process = process
        self.stack = stack


def _end_unheard(run: _GatedRun) -> None:
    """End a gated run nobody will approve (it changed nothing): told to stop, interrupted."""
    try:
        run.gate.answer(False)
        run.process.interrupt(AHEAD_GRACE)
    finally:
        run.stack.close()


def _read(report: Path) -> str | None:
    return report.read_text(encoding="utf-8") if report.exists() else None


def _temp_dir(path: Path, pip: list[str]) -> Path | None:
    """A directory in pipguard's work directory for pip's temporary ones, which pipguard removes:
    a pip stopped at the gate cannot. None with ``--no-clean``, where the user keeps pip's build
    directories where pip puts them."""
    if "--no-clean" in pip:
        return None
    path.mkdir(mode=0o700)
    return path

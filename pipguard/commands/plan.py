"""``pipguard check --plan``: can these projects live together, before anything is installed?

pip answers (dry runs, ``--report``); pipguard only reads the answer:

* with ``--no-ledger``: one ``pip install --dry-run --ignore-installed`` of
  every source together, as if into an empty environment;
* by default, laid over this environment: the dry run gets pipguard's
  protections (what earlier projects need) as constraints, exactly as a
  guarded install would; when pip finds no plan inside them, a dry run
  without them tells whether the sources clash among themselves or with an
  earlier project (the planner judges that plan).

When something clashes, each source is also dry-run alone (in parallel)
to learn what it brings in, so that every side of a clash can be named by
the file or argument it comes from.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name

from pipguard.commands.install import Request, updated_roots
from pipguard.conflicts import (
    Clash,
    PlanResult,
    Source,
    clashes_from_causes,
    clashes_with_earlier,
    parse_conflict,
    pip_summary,
)
from pipguard.constraints import parse_constraints, render_constraints
from pipguard.context import Options, locate, open_session
from pipguard.environment import EnvironmentState, probe_environment
from pipguard.errors import PipFailed, UsageError
from pipguard.model import LedgerState, StandingConstraint
from pipguard.pip_args import InstallRequest, parse_install_args, read_requirement_file
from pipguard.pip_config import configured_constraints
from pipguard.pip_runner import (
    PlannedInstall,
    ProcessResult,
    RunningProcess,
    check_pip_version,
    is_resolution_impossible,
    pip_command,
    read_report,
    run_process,
)
from pipguard.planner import Judgement, changes_between, judge, overlay, protected_needs

# Options pipguard sets itself on its dry runs: the user's are dropped.
_OWN = {"--report", "--dry-run", "-q", "--quiet", "-v", "--verbose", "--ignore-installed", "-I"}
_VALUED_OWN = {"--report"}


def sources_of(request: InstallRequest) -> list[Source]:
    """One source per requirements file, editable, requirement and path, in that order."""
    sources = []
    for path in request.requirement_files:
        content = read_requirement_file(path)
        sources.append(Source(
            path, ("-r", path),
            tuple(dict.fromkeys(canonicalize_name(r.name) for r in content.requirements)),
            tuple(str(r) for r in content.requirements),
        ))
    for editable in request.editables:
        sources.append(Source(f"-e {editable}", ("-e", editable)))
    for req in request.requirements:
        sources.append(Source(str(req), (str(req),), (canonicalize_name(req.name),), (str(req),)))
    for path in request.paths:
        sources.append(Source(path, (path,)))
    return sources


def common_options(request: InstallRequest) -> list[str]:
    """The user's pip options (index, find-links, -c, ...), less the ones a dry run sets."""
    kept, skip = [], False
    for arg in request.options:
        if skip:
            skip = False
            continue
        opt = arg.split("=", 1)[0]
        if opt in _OWN:
            skip = opt in _VALUED_OWN and "=" not in arg
            continue
        kept.append(arg)
    return kept


def _constraint_specs(paths: Sequence[str]) -> dict[str, dict[NormalizedName, str]]:
    specs = {}
    for path in paths:
        if path.startswith(("http://", "https://")):
            continue
        try:
            parsed = parse_constraints(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        specs[path] = {name: str(spec) for name, spec in parsed.items()}
    return specs


@dataclass(frozen=True)
class DryRun:
    result: ProcessResult
    plan: tuple[PlannedInstall, ...]

    @property
    def ok(self) -> bool:
        return self.result.returncode == 0

    @property
    def impossible(self) -> bool:
        return not self.ok and is_resolution_impossible(self.result)


class Planner:
    """The dry runs of one ``check --plan`` (an I/O edge: it runs pip)."""

    def __init__(self, python: str, common: list[str], workdir: Path) -> None:
        self.python = python
        self.common = common
        self.workdir = workdir
        self._count = 0

    def _report(self) -> Path:
        self._count += 1
        return self.workdir / f"report-{self._count}.json"

    def command(self, args: Sequence[str], report: Path, ignore_installed: bool) -> list[str]:
        # No --quiet: pip explains a conflict on stdout, and --quiet hides it.
        extra = ["--ignore-installed"] if ignore_installed else []
        return pip_command(self.python, "install", "--dry-run", *extra, "--report", str(report),
                           *self.common, *args)

    def dry_run(self, args: Sequence[str], ignore_installed: bool) -> DryRun:
        report = self._report()
        result = run_process(self.command(args, report, ignore_installed), capture=True)
        return DryRun(result, tuple(read_report(report)) if result.returncode == 0 else ())

    def each_alone(self, sources: Sequence[Source]) -> dict[str, DryRun]:
        """Every source dry-run on its own, two at a time."""
        runs: dict[str, DryRun] = {}
        pending = list(sources)
        while pending:
            batch, pending = pending[:2], pending[2:]
            started = []
            for source in batch:
                report = self._report()
                started.append((source, report, RunningProcess(self.command(source.args, report, True))))
            for source, report, process in started:
                result = process.finish()
                items = tuple(read_report(report)) if result.returncode == 0 else ()
                runs[source.label] = DryRun(result, items)
        return runs


def _fail(run: DryRun) -> PipFailed:
    """pip failed for another reason than a conflict: its own message stands."""
    detail = run.result.stderr.strip() or run.result.stdout.strip()
    return PipFailed(
        f"pip could not plan the install (exit {run.result.returncode}), so nothing was checked:\n{detail}",
        run.result.returncode,
    )


def _attribute(planner: Planner, sources: Sequence[Source], conflict: DryRun,
               constraint_files: Sequence[str]) -> tuple[list[Clash], list[tuple[str, tuple[Clash, ...]]]]:
    """Clashes from pip's causes, with each side named by its source; sources failing alone."""
    alone_runs = planner.each_alone(sources)
    closures = {label: [item.name for item in run.plan] for label, run in alone_runs.items()}
    specs = _constraint_specs(constraint_files)
    alone = []
    for source in sources:
        run = alone_runs[source.label]
        if run.ok:
            continue
        if not run.impossible:
            raise _fail(run)
        causes = parse_conflict(run.result.stdout)
        closures[source.label] = [*source.names, *(c.requirer for c in causes if c.requirer)]
        own = {source.label: closures[source.label]}
        alone.append((source.label, tuple(clashes_from_causes(causes, [source], own, specs))))
    told = {clash.key for _, clashes in alone for clash in clashes}
    clashes = [
        clash
        for clash in clashes_from_causes(parse_conflict(conflict.result.stdout), sources, closures, specs)
        if clash.key not in told  # already told under "alone"
    ]
    return clashes, alone


def _all_constraint_files(request: InstallRequest, prefix: str) -> list[str]:
    """Every constraints file pip will apply: -c, -c inside requirement files, pip.conf, PIP_CONSTRAINT."""
    found = list(request.constraint_files)
    for path in request.requirement_files:
        found += read_requirement_file(path).constraint_files
    found += configured_constraints(prefix, os.environ)
    return list(dict.fromkeys(found))


def _unexplained(run: DryRun, clashes: Sequence[Clash], alone: Sequence[object]) -> str:
    if clashes or alone:
        return ""
    return pip_summary(run.result.stderr) or "pip found no versions that fit together, and gave no reason."


def plan(options: Options, pip_args: list[str], *, with_ledger: bool) -> PlanResult:
    """Ask pip whether the sources in *pip_args* can be installed together (and here)."""
    request = parse_install_args(pip_args)
    if request.locations:
        raise UsageError(
            f"pipguard check --plan: {', '.join(request.locations)} plans an install outside the "
            "environment; leave it out."
        )
    sources = sources_of(request)
    if not sources:
        raise UsageError(
            "pipguard check --plan: nothing to plan. Give what would be installed: requirements files "
            "(-r FILE), requirements ('name>=1'), paths or -e PATH, as for pip install."
        )
    for path in request.constraint_files:
        if not path.startswith(("http://", "https://")) and not os.path.exists(path):
            raise UsageError(f"constraints file not found: {path}. Check the path given to -c.")
    target = locate(options)
    ledger: LedgerState | None = None
    standing: tuple[StandingConstraint, ...] = ()
    has_ledger = False
    if with_ledger:
        with target.store.locked(shared=True):
            session = open_session(target, reconcile_drift=False)
        state, ledger, has_ledger = session.state, session.ledger, not session.created
        standing = session.standing
    else:
        state = probe_environment(target.python)
    check_pip_version(state.pip_version, target.python)
    workdir = Path(tempfile.mkdtemp(prefix="pipguard-plan-"))
    try:
        planner = Planner(target.python, common_options(request), workdir)
        base = PlanResult(
            with_ledger=with_ledger, sources=tuple(sources),
            constraint_files=tuple(_all_constraint_files(request, target.prefix)),
            ledger_path=str(target.store.path), has_ledger=has_ledger,
        )
        joint = [arg for source in sources for arg in source.args]
        if ledger is None:
            return _plan_empty(planner, base, joint, request)
        policy = options.policy or ledger.policy
        return _plan_here(planner, base, joint, request, state, ledger, standing, policy)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _plan_empty(planner: Planner, base: PlanResult, joint: list[str], request: InstallRequest) -> PlanResult:
    """As if into an empty environment: do the sources fit together at all?"""
    run = planner.dry_run(joint, ignore_installed=True)
    if run.ok:
        return replace(base, install=tuple(sorted((i.name, i.version) for i in run.plan)))
    if not run.impossible:
        raise _fail(run)
    clashes, alone = _attribute(planner, base.sources, run, base.constraint_files)
    return replace(base, clashes=tuple(clashes), alone=tuple(alone),
                   pip_summary=pip_summary(run.result.stderr), unexplained=_unexplained(run, clashes, alone))


def _plan_here(planner: Planner, base: PlanResult, joint: list[str], request: InstallRequest,
               state: EnvironmentState, ledger: LedgerState, standing: Sequence[StandingConstraint],
               policy: str) -> PlanResult:
    """Laid over this environment: what a guarded install of everything at once would meet."""
    named = [r for path in request.requirement_files for r in read_requirement_file(path).requirements]
    wanted = Request(request, (*named, *request.requirements), tuple(request.editables))
    protected = protected_needs(state.distributions, ledger.roots, standing, state.markers,
                                wanted.names, policy)
    constraints = planner.workdir / "protections.txt"
    constraints.write_text(render_constraints(protected.merged(), header="written by pipguard check --plan"))

    def judged(items: Sequence[PlannedInstall]) -> Judgement:
        after = overlay(state.distributions, items)
        roots_after = updated_roots(ledger.roots, wanted, items, state.markers, 0)
        return judge(state.distributions, after, ledger.roots, roots_after, standing, state.markers)

    def planned(items: Sequence[PlannedInstall], verdict: Judgement | None) -> PlanResult:
        after = overlay(state.distributions, items)
        return replace(
            base,
            install=tuple(sorted((i.name, i.version) for i in items)),
            changes=changes_between(state.versions, {n: d.version for n, d in after.items()}),
            warnings=tuple(v.describe() for v in verdict.warnings) if verdict else (),
        )

    guarded = planner.dry_run([*joint, "-c", str(constraints)], ignore_installed=False)
    if guarded.ok:
        return planned(guarded.plan, judged(guarded.plan))
    if not guarded.impossible:
        raise _fail(guarded)
    plain = planner.dry_run(joint, ignore_installed=False)
    if plain.ok:
        verdict = judged(plain.plan)
        if not verdict.blocking:
            # The protections were stricter than needed: a guarded install takes pip's own plan.
            return planned(plain.plan, verdict)
        runs = planner.each_alone(base.sources)
        closures = {label: [i.name for i in run.plan] for label, run in runs.items()}
        clashes = clashes_with_earlier(verdict.blocking, plain.plan, base.sources, closures, state.markers)
        return replace(planned(plain.plan, None), clashes=tuple(clashes))
    if not plain.impossible:
        raise _fail(plain)
    clashes, alone = _attribute(planner, base.sources, plain, base.constraint_files)
    return replace(base, clashes=tuple(clashes), alone=tuple(alone),
                   pip_summary=pip_summary(plain.result.stderr),
                   unexplained=_unexplained(plain, clashes, alone))

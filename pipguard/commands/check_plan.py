"""``pipguard check --plan``: can these projects live together, before anything is installed?

The engine answers (dry runs); the decision core judges; this module only
arranges the runs and names the sides of each clash:

* with ``--no-ledger``: one dry run of every source together, ignoring what
  is installed, as if into an empty environment;
* by default, laid over this environment, exactly as a guarded install
  would be: a dry run inside pipguard's protections; when the engine finds no
  plan inside them, a plain dry run tells whether the sources clash among
  themselves or with an earlier project (the core judges that plan).

When something clashes, each source is also dry-run alone (two at a time)
to learn what it brings in, so that every side of a clash can be named by
the file or argument it comes from.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipguard.cli.context import locate, open_session
from pipguard.cli.options import Options
from pipguard.core.conflicts import (
    Clash,
    PlanResult,
    Source,
    clashes_from_causes,
    clashes_with_earlier,
    parse_conflict,
    pip_summary,
)
from pipguard.core.constraints import requirement_text
from pipguard.core.decide import Situation, judge, overlay, protect
from pipguard.core.model import COMMAND_LINE
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.core.redaction import redact
from pipguard.core.transactions import changes_between
from pipguard.engines import make_engine
from pipguard.engines.base import Engine, Invocation, Resolution
from pipguard.engines.pip.runner import check_pip_version
from pipguard.errors import PipFailed, UsageError
from pipguard.pip.request import InstallRequest, read_install
from pipguard.system.environment import probe_environment
from pipguard.system.process import work_directory

# Options pipguard sets itself on its dry runs: the user's are dropped.
_OWN = {"report", "dry-run", "quiet", "verbose", "ignore-installed", "requirement", "editable"}


def sources_of(request: InstallRequest) -> list[Source]:
    """One source per requirements file, editable, requirement and path, in that order.

    Labels and requirements are what every output shows (text, --json,
    --junit): credentials in their URLs are redacted here, at the source;
    only the arguments given to pip keep them.
    """
    sources = []
    for path in request.values("requirement"):
        items = [r for r in request.requested if r.origin == path and r.requirement is not None]
        sources.append(Source(
            redact(path), ("-r", path),
            tuple(dict.fromkeys(r.name for r in items if r.name is not None)),
            tuple(requirement_text(r.requirement) for r in items if r.requirement is not None),
        ))
    given = [r for r in request.requested if r.source == COMMAND_LINE]
    for item in given:
        if item.kind == "editable":
            sources.append(Source(item.label, ("-e", item.text)))
    for item in given:
        if item.kind in ("named", "url") and item.requirement is not None:
            name = canonicalize_name(item.requirement.name)
            sources.append(Source(item.label, (item.text,), (name,), (redact(requirement_text(item.requirement)),)))
    for item in given:
        if item.kind == "path":
            sources.append(Source(item.label, (item.text,)))
    return sources


def _constraint_specs(request: InstallRequest) -> dict[str, dict[NormalizedName, str]]:
    specs: dict[str, dict[NormalizedName, str]] = {}
    for line in request.constraints:
        specs.setdefault(redact(line.file), {})[line.name] = str(line.requirement.specifier)
    return specs


class DryRuns:
    """The dry runs of one ``check --plan``, through the engine."""

    def __init__(self, engine: Engine, request: InstallRequest, prefix: str) -> None:
        self.engine = engine
        self.common = request.pip_options(drop=_OWN)
        self.prefix = prefix

    def request(self, args: Sequence[str], ignore_installed: bool) -> InstallRequest:
        extra = ["--ignore-installed"] if ignore_installed else []
        return read_install([*self.common, *extra, *args], self.prefix, read_files=False)

    def run(self, args: Sequence[str], ignore_installed: bool, constraints: dict[NormalizedName, object] | None = None,
            ) -> Resolution:
        request = self.request(args, ignore_installed)
        return self.engine.resolve(Invocation(request, constraints or {}, show_output=False))  # type: ignore[arg-type]

    def each_alone(self, sources: Sequence[Source]) -> dict[str, Resolution]:
        """Every source dry-run on its own, two at a time."""
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(lambda source: self.run(source.args, True), sources))
        return {source.label: run for source, run in zip(sources, runs)}


def _fail(run: Resolution) -> PipFailed:
    """pip failed for another reason than a conflict: its own message stands."""
    failure = run.failure
    code = failure.returncode if failure else 1
    return PipFailed(
        f"pip could not plan the install (exit {code}), so nothing was checked:\n{redact(run.output.strip())}",
        code,
    )


def _impossible(run: Resolution) -> bool:
    return run.failure is not None and run.failure.kind == "impossible"


def _attribute(runs: DryRuns, sources: Sequence[Source], conflict: Resolution,
               specs: dict[str, dict[NormalizedName, str]]) -> tuple[list[Clash], list[tuple[str, tuple[Clash, ...]]]]:
    """Clashes from pip's causes, with each side named by its source; sources failing alone."""
    alone_runs = runs.each_alone(sources)
    closures = {label: [item.name for item in run.plan] for label, run in alone_runs.items()}
    alone = []
    for source in sources:
        run = alone_runs[source.label]
        if run.ok:
            continue
        if not _impossible(run):
            raise _fail(run)
        causes = parse_conflict(run.failure.conflict if run.failure else "")
        closures[source.label] = [*source.names, *(c.requirer for c in causes if c.requirer)]
        own = {source.label: closures[source.label]}
        alone.append((source.label, tuple(clashes_from_causes(causes, [source], own, specs))))
    told = {clash.key for _, clashes in alone for clash in clashes}
    causes = parse_conflict(conflict.failure.conflict if conflict.failure else "")
    clashes = [clash for clash in clashes_from_causes(causes, sources, closures, specs) if clash.key not in told]
    return clashes, alone


def _unexplained(run: Resolution, clashes: Sequence[Clash], alone: Sequence[object]) -> str:
    if clashes or alone:
        return ""
    return pip_summary(run.output) or "pip found no versions that fit together, and gave no reason."


def plan(options: Options, pip_args: list[str], *, with_ledger: bool) -> PlanResult:
    """Ask the engine whether the sources in *pip_args* can be installed together (and here)."""
    target = locate(options)
    request = read_install(pip_args, target.prefix)
    locations = request.locations()
    if locations:
        raise UsageError(
            f"pipguard check --plan: {', '.join(locations)} plans an install outside the environment; leave it out."
        )
    sources = sources_of(request)
    if not sources:
        raise UsageError(
            "pipguard check --plan: nothing to plan. Give what would be installed: requirements files "
            "(-r FILE), requirements ('name>=1'), paths or -e PATH, as for pip install."
        )
    if with_ledger:
        with target.store.locked(shared=True):
            session = open_session(target, reconcile_drift=False)
        state, ledger, has_ledger = session.state, session.ledger, not session.created
        standing = session.standing
    else:
        state, ledger, has_ledger, standing = probe_environment(target.python), None, False, ()
    engine_name = options.engine or (ledger.engine if ledger is not None else "pip")
    with work_directory() as workdir:
        engine = make_engine(engine_name, target.python, state.pip_version, Path(workdir))
        if engine.name == "pip":
            check_pip_version(state.pip_version, target.python)
        engine.ready()
        runs = DryRuns(engine, request, target.prefix)
        base = PlanResult(
            with_ledger=with_ledger, sources=tuple(sources),
            constraint_files=tuple(redact(path) for path in request.constraint_files),
            ledger_path=str(target.store.path), has_ledger=has_ledger,
        )
        joint = [arg for source in sources for arg in source.args]
        specs = _constraint_specs(request)
        if ledger is None:
            return _plan_empty(runs, base, joint, specs)
        policy = options.policy or ledger.policy
        here = Situation(runs.request(joint, False), state.distributions, state.markers, ledger.roots,
                         standing, policy, ledger.outside)  # type: ignore[arg-type]
        return _plan_here(runs, base, joint, here, specs)


def _plan_empty(runs: DryRuns, base: PlanResult, joint: list[str],
                specs: dict[str, dict[NormalizedName, str]]) -> PlanResult:
    """As if into an empty environment: do the sources fit together at all?"""
    run = runs.run(joint, ignore_installed=True)
    if run.ok:
        return base._replace(install=tuple(sorted((i.name, i.version) for i in run.plan)))
    if not _impossible(run):
        raise _fail(run)
    clashes, alone = _attribute(runs, base.sources, run, specs)
    return base._replace(clashes=tuple(clashes), alone=tuple(alone),
                         pip_summary=pip_summary(run.output), unexplained=_unexplained(run, clashes, alone))


def _plan_here(runs: DryRuns, base: PlanResult, joint: list[str], here: Situation,
               specs: dict[str, dict[NormalizedName, str]]) -> PlanResult:
    """Laid over this environment: what a guarded install of everything at once would meet."""
    protection = protect(here)

    def planned(run: Resolution, with_warnings: bool) -> PlanResult:
        after = overlay(here.distributions, run.plan)
        return base._replace(
            install=tuple(sorted((i.name, i.version) for i in run.plan)),
            changes=changes_between(here.versions, {n: d.version for n, d in after.items()}),
            warnings=tuple(v.describe() for v in judge(here, run.plan).warnings) if with_warnings else (),
        )

    guarded = runs.run(joint, False, dict(protection.constraints()))
    if guarded.ok:
        return planned(guarded, True)
    if not (_impossible(guarded) or (guarded.failure and guarded.failure.from_older_candidate)):
        raise _fail(guarded)
    plain = runs.run(joint, False, dict(protection.standing_constraints()))
    if plain.ok:
        verdict = judge(here, plain.plan)
        if not verdict.blocking:
            # The protections were stricter than needed: a guarded install takes pip's own plan.
            return planned(plain, True)
        alone = runs.each_alone(base.sources)
        closures = {label: [i.name for i in run.plan] for label, run in alone.items()}
        clashes = clashes_with_earlier(verdict.blocking, plain.plan, base.sources, closures, here.markers)
        return planned(plain, False)._replace(clashes=tuple(clashes))
    if not _impossible(plain):
        raise _fail(plain)
    clashes, alone_clashes = _attribute(runs, base.sources, plain, specs)
    return base._replace(clashes=tuple(clashes), alone=tuple(alone_clashes),
                         pip_summary=pip_summary(plain.output), unexplained=_unexplained(plain, clashes, alone_clashes))

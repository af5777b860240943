"""``pipguard install``: pip install, merged with everything installed before."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from pipguard.commands.options import say
from pipguard.commands.shim import keep_shims
from pipguard.commands.standing import read_constraints_file
from pipguard.constraints import (
    find_violations,
    marker_applies,
    merge_specifiers,
    render_constraints,
    standing_needs,
)
from pipguard.context import Options, Session, Target, locate, open_session, probe
from pipguard.environment import resolve_python
from pipguard.errors import PipFailed, PipguardError, Rejected, UsageError
from pipguard.ledger import now
from pipguard.locations import install_locations
from pipguard.model import LedgerState, Root, Status, Transaction
from pipguard.pip_args import VALUED_OPTIONS as _VALUED_OPTIONS
from pipguard.pip_args import InstallRequest, parse_install_args, read_requirement_file
from pipguard.pip_config import configured_constraints
from pipguard.pip_runner import (
    BUILD_CONSTRAINT_PIP,
    PlannedInstall,
    ProcessResult,
    RunningProcess,
    check_pip_version,
    is_resolution_impossible,
    parse_report,
    pip_command,
    read_report,
    run_process,
)
from pipguard.planner import (
    TOOLING,
    Judgement,
    ProtectedSet,
    all_needs,
    explain_impossible,
    explain_rejection,
    find_replans,
    judge,
    overlay,
    protected_needs,
)
from pipguard.redaction import redact
from pipguard.testhook import pause_at
from pipguard.transactions import close as close_transaction
from pipguard.transactions import root_changes, start


@dataclass(frozen=True)
class Request:
    """The install command line, read, with its requirement files opened."""

    pip: InstallRequest
    named: tuple[Requirement, ...]
    editables: tuple[str, ...]

    @property
    def names(self) -> set[NormalizedName]:
        return {canonicalize_name(r.name) for r in self.named}

    def describe(self) -> str:
        words = [str(r) for r in self.named] + list(self.editables) + self.pip.paths
        return ", ".join(words) or "the request"


def read_request(args: list[str]) -> Request:
    pip = parse_install_args(args)
    named = list(pip.requirements)
    editables = list(pip.editables)
    for path in pip.requirement_files:
        content = read_requirement_file(path)
        named += content.requirements
        editables += content.editables
    for path in pip.constraint_files:
        if not path.startswith(("http://", "https://")) and not os.path.exists(path):
            raise UsageError(f"constraints file not found: {path}. Check the path given to -c.")
    return Request(pip, tuple(named), tuple(editables))


def without_options(args: Sequence[str], names: set[str]) -> list[str]:
    """*args* less the given options (and their values)."""
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
            continue
        opt = arg.split("=", 1)[0]
        if opt in names:
            skip = "=" not in arg and opt in {"--report"}
            continue
        kept.append(arg)
    return kept


def updated_roots(
    roots: Mapping[NormalizedName, Root],
    request: Request,
    plan: Sequence[PlannedInstall],
    markers: Mapping[str, str],
    txn_id: int,
) -> dict[NormalizedName, Root]:
    """The ledger's roots after this request: what the user asked for, and how."""
    result = dict(roots)
    stamp = now()
    for req in request.named:
        if not marker_applies(req.marker, markers):
            continue
        name = canonicalize_name(req.name)
        new = Root(
            name=name,
            display_name=req.name,
            specifier=str(req.specifier),
            extras=tuple(sorted(req.extras)),
            url=redact(req.url) if req.url else None,
            added_by=txn_id,
            added_at=stamp,
        )
        old = result.get(name)
        if old and (old.specifier, old.extras, old.url, old.kind) == (new.specifier, new.extras, new.url, new.kind):
            continue
        result[name] = new
    for item in plan:
        if item.requested and (item.editable or item.url) and item.name not in request.names:
            result[item.name] = Root(
                name=item.name,
                display_name=item.display_name,
                extras=tuple(sorted(item.requested_extras)),
                editable=item.editable,
                url=item.url,
                added_by=txn_id,
                added_at=stamp,
            )
    return result


class GuardedInstall:
    """One guarded ``pip install``: plan inside the protections, judge, record."""

    def __init__(self, target: Target, session: Session, request: Request, policy: str) -> None:
        self.target = target
        self.session = session
        self.ledger: LedgerState = session.ledger
        self.request = request
        self.policy = policy
        self.state = session.state
        self.workdir = Path(tempfile.mkdtemp(prefix="pipguard-"))

    # -- pieces ------------------------------------------------------------

    def protected(self) -> ProtectedSet:
        return protected_needs(
            self.state.distributions,
            self.ledger.roots,
            self.session.standing,
            self.state.markers,
            self.request.names,
            self.policy,
        )

    def write_constraints(self, protected: ProtectedSet) -> Path:
        path = self.workdir / "constraints.txt"
        path.write_text(
            render_constraints(
                protected.merged(),
                header="written by pipguard: what earlier installs need (do not edit)",
            )
        )
        return path

    def pip_args(self, constraints: Path, report: Path, extra: Sequence[str] = (),
                 build: Path | None = None) -> list[str]:
        args = without_options(self.request.pip.args, {"--report"})
        cmd = pip_command(self.target.python, "install", *args, *self.joint_roots, "-c", str(constraints))
        if self.build_constraints_supported:
            # build environments get the cumulative (and standing) constraints, always
            cmd += ["--build-constraint", str(build or constraints)]
        return [*cmd, "--report", str(report), *extra]

    @property
    def joint_roots(self) -> list[str]:
        """Under ``replan``, every earlier root is resolved again with the request."""
        if self.policy != "replan":
            return []
        return [
            root.requirement
            for root in sorted(self.ledger.roots.values(), key=lambda r: r.name)
            if not (root.editable or root.url) and root.name not in self.request.names
            and root.name not in TOOLING
        ]

    @property
    def build_constraints_supported(self) -> bool:
        version = self.state.pip_version
        return bool(version) and check_pip_version(version, self.target.python) >= BUILD_CONSTRAINT_PIP

    def start_preference_probe(self) -> RunningProcess | None:
        """What plain pip would pick for the named requests (to explain a re-plan).

        A dry run that ignores what is installed and skips dependencies is
        cheap, and runs beside the real install, on the other core.
        """
        wanted = [str(r) for r in self.request.named if not _is_exact_pin(r)]
        if not wanted:
            return None
        options = without_options(self.request.pip.options, {"--report", "--dry-run"})
        options = [o for o in options if o not in ("-q", "--quiet", "-v", "--verbose")]
        cmd = pip_command(
            self.target.python, "install", *options, *wanted,
            "--dry-run", "--ignore-installed", "--no-deps", "--report", "-", "-q",
        )
        return RunningProcess(cmd)

    def plain_plan(self) -> tuple[ProcessResult, list[PlannedInstall]]:
        """What plain pip would do (a dry run without pipguard's constraints)."""
        report = self.workdir / "plain-report.json"
        args = without_options(self.request.pip.args, {"--report", "--dry-run"})
        result = run_process(
            pip_command(self.target.python, "install", *args, "--dry-run", "--report", str(report), "-q"),
            capture=True,
        )
        return result, read_report(report) if result.returncode == 0 else []

    # -- the run -------------------------------------------------------------

    def run(self) -> int:
        try:
            return self._run()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _run(self) -> int:
        protected = self.protected()
        for violation in protected.preexisting:
            say(f"pipguard: already broken before this install (not blocking): {violation.describe()}.")
        if self.try_fast_path():
            return 0
        constraints = self.write_constraints(protected)
        report = self.workdir / "report.json"
        if not self.build_constraints_supported and _may_build_isolated(self.request):
            say(f"pipguard: note: pip {self.state.pip_version} is older than {BUILD_CONSTRAINT_PIP}, so "
                "isolated build environments are not constrained: build requirements of source "
                "projects are resolved apart from the ledger (pip 25.3+ fixes this).")
        if self.request.pip.dry_run:
            return self.dry_run(constraints, report)
        # The roots this run means to add or change, kept with the pending record: a run
        # killed before its commit is reconciled with what the user asked for.
        intended = root_changes(self.ledger.roots, updated_roots(
            self.ledger.roots, self.request, [], self.state.markers, self.ledger.next_id))
        txn = start(
            self.ledger, "install", ["install", *self.request.pip.args], self.state.pip_version,
            self.policy, now, constraints=self.request.pip.constraint_files, roots=intended,
        )
        self.ledger = self.target.store.begin(self.ledger, txn)
        pause_at("pending")
        if self.policy == "replan":
            return self.install_judged_plan(txn, constraints, protected)
        preference = self.start_preference_probe()
        result = run_process(self.pip_args(constraints, report), capture=True, tee=True)
        preferred = preference.finish() if preference else None
        if result.returncode != 0:
            if not is_resolution_impossible(result) or _build_failed(result):
                self.close_after_pip_failure(txn, result.returncode)
            return self.resolve_outside_protections(txn, constraints, protected)
        plan = read_report(report)
        pause_at("commit")
        self.commit(txn, plan)
        self.copy_report(report)
        if preferred is not None and preferred.returncode == 0:
            chosen = {name: dist.version for name, dist in overlay(self.state.distributions, plan).items()}
            for replan in find_replans(
                chosen, parse_report(preferred.stdout), protected, self.state.distributions, self.state.markers
            ):
                say(replan.describe())
        return 0

    def install_judged_plan(self, txn: Transaction, constraints: Path, protected: ProtectedSet) -> int:
        """Dry run, judge the whole end state, then install exactly that plan."""
        report = self.workdir / "replan-report.json"
        dry = run_process(self.pip_args(constraints, report, ["--dry-run", "-q"]), capture=True)
        if dry.returncode != 0:
            if is_resolution_impossible(dry):
                return self.resolve_outside_protections(txn, constraints, protected)
            sys.stderr.write(redact(dry.stderr))
            self.close(txn, "failed", reason=f"pip exited with {dry.returncode}")
            raise PipFailed("", dry.returncode)
        return self.install_if_judged_safe(txn, read_report(report), constraints, protected)

    def install_if_judged_safe(self, txn: Transaction, plan: list[PlannedInstall], constraints: Path,
                               protected: ProtectedSet) -> int:
        verdict = self.judge(plan)
        if verdict.blocking:
            message = explain_rejection(self.request.describe(), verdict.blocking, plan, self.state.markers)
        else:
            pins = self.workdir / "plan.txt"
            pins.write_text("".join(f"{item.name}=={item.version}\n" for item in plan))
            report = self.workdir / "report-plan.json"
            # build environments keep the cumulative constraints already written
            rerun = run_process(self.pip_args(pins, report, build=constraints), capture=True, tee=True)
            if rerun.returncode == 0:
                installed = read_report(report)
                self.commit(txn, installed)
                self.copy_report(report)
                self.tell_moved_roots(installed)
                return 0
            message = explain_impossible(self.request.describe(), protected, plan)
        self.close(txn, "rejected", reason=message)
        raise Rejected(message)

    def resolve_outside_protections(self, txn: Transaction, constraints: Path, protected: ProtectedSet) -> int:
        """pip found no plan inside the protections: reject, or take plain pip's plan.

        The protections are a little stricter than "every earlier project
        keeps working" (a distribution's old needs stay in force even when
        pip would move it), so plain pip's plan is judged on its own merits.
        """
        result, plan = self.plain_plan()
        if result.returncode != 0:
            # pip cannot do this even without pipguard: its own error stands.
            sys.stderr.write(redact(result.stderr))
            self.close(txn, "failed", reason="pip found no way to install the request")
            raise PipFailed("", result.returncode)
        return self.install_if_judged_safe(txn, plan, constraints, protected)

    def tell_moved_roots(self, plan: Sequence[PlannedInstall]) -> None:
        for item in plan:
            root = self.ledger.roots.get(item.name)
            before = self.state.distributions.get(item.name)
            if root and before and item.name not in self.request.names and before.version != item.version:
                within = f" (still within {root.specifier})" if root.specifier else ""
                say(f"pipguard: re-planned the earlier root {root.display_name}: "
                    f"{before.version} -> {item.version}{within}.")

    def judge(self, plan: Sequence[PlannedInstall]) -> Judgement:
        after = overlay(self.state.distributions, plan)
        roots_after = updated_roots(self.ledger.roots, self.request, plan, self.state.markers, 0)
        return judge(
            self.state.distributions, after, self.ledger.roots, roots_after,
            self.session.standing, self.state.markers,
        )

    def commit(self, txn: Transaction, plan: Sequence[PlannedInstall]) -> None:
        after = overlay(self.state.distributions, plan)
        verdict = self.judge(plan)
        for violation in verdict.blocking:
            say(f"pipguard: warning: after this install, {violation.describe()}.")
        for violation in verdict.warnings:
            say(f"pipguard: warning: {violation.describe()} (installed with unmet requirements).")
        roots = updated_roots(self.ledger.roots, self.request, plan, self.state.markers, txn.id)
        done = close_transaction(
            self.ledger, txn, "committed", now,
            after={name: dist.version for name, dist in after.items()}, roots=roots,
        )
        self.ledger = self.target.store.finish(self.ledger, done)

    def close(self, txn: Transaction, status: Status, reason: str) -> None:
        self.ledger = self.target.store.finish(self.ledger, close_transaction(self.ledger, txn, status, now,
                                                                              reason=reason))

    def close_after_pip_failure(self, txn: Transaction, returncode: int) -> NoReturn:
        """pip failed or was killed: record what it really changed, pass its code on.

        pip may have changed the environment before it stopped (a killed pip
        can leave an upgrade half done), so the environment is read again and
        the changes are recorded with the transaction, not left as drift.
        """
        status: Status
        if returncode < 0:
            signame = _signal_name(-returncode)
            status, reason = "interrupted", f"pip was killed by signal {signame}"
            message = (f"pip was killed by signal {signame}; what it changed before it stopped "
                       "is recorded in the ledger. Run 'pipguard check' to see the environment's state.")
        else:
            status, reason, message = "failed", f"pip exited with {returncode}", ""
        after = probe(self.target).versions
        done = close_transaction(self.ledger, txn, status, now, after=after, reason=reason)
        self.ledger = self.target.store.finish(self.ledger, done)
        raise PipFailed(message, returncode)

    def copy_report(self, report: Path) -> None:
        if self.request.pip.report and report.exists():
            if self.request.pip.report == "-":
                sys.stdout.write(report.read_text())
            else:
                shutil.copyfile(report, self.request.pip.report)

    def dry_run(self, constraints: Path, report: Path) -> int:
        """The user asked for --dry-run: say what would happen; change nothing."""
        result = run_process(self.pip_args(constraints, report), capture=True, tee=True)
        if result.returncode != 0:
            if is_resolution_impossible(result) and not _build_failed(result):
                plain, plan = self.plain_plan()
                if plain.returncode == 0:
                    verdict = self.judge(plan)
                    if verdict.blocking:
                        raise Rejected(explain_rejection(
                            self.request.describe(), verdict.blocking, plan, self.state.markers))
            raise PipFailed("", result.returncode)
        self.copy_report(report)
        return 0

    def try_fast_path(self) -> bool:
        """Prove, without running pip, that pip would change nothing."""
        pip = self.request.pip
        if (pip.paths or self.request.editables or pip.upgrade or pip.dry_run or pip.report
                or pip.locations or not self.request.named or self.policy == "replan"):
            return False
        if not _fast_path_options_only(pip.options):
            return False
        if any(r.url for r in self.request.named):
            return False
        constraint_files = list(pip.constraint_files) + configured_constraints(self.target.prefix, os.environ)
        limits = []
        for path in constraint_files:
            try:
                lines = read_constraints_file(Path(path))
                limits.append(merge_specifiers(standing_needs(lines, path, self.state.markers)))
            except (PipguardError, ValueError):
                return False  # pip reads it and says what is wrong
        versions = self.state.versions
        for req in self.request.named:
            name = canonicalize_name(req.name)
            if not marker_applies(req.marker, self.state.markers):
                continue
            installed = versions.get(name)
            if installed is None or not req.specifier.contains(installed, prereleases=True):
                return False
            for limit in limits:
                if name in limit and not limit[name].contains(installed, prereleases=True):
                    return False
        # Nothing would change, so one look at the end state is the whole judgement:
        # every need of it met (none new, none already broken for pip to repair).
        roots = updated_roots(self.ledger.roots, self.request, [], self.state.markers, self.ledger.next_id)
        needs = all_needs(self.state.distributions, roots, self.session.standing, self.state.markers)
        if find_violations(versions, needs):
            return False
        if roots != dict(self.ledger.roots):
            txn = start(
                self.ledger, "install", ["install", *pip.args], self.state.pip_version, self.policy, now,
                constraints=pip.constraint_files, status="committed",
            )
            done = close_transaction(self.ledger, txn, "committed", now, after=versions, roots=roots)
            self.ledger = self.target.store.finish(self.ledger, done)
        if not pip.quiet:
            for req in self.request.named:
                name = canonicalize_name(req.name)
                if name in versions:
                    print(f"Requirement already satisfied: {req} ({versions[name]})")
        return True


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


# pip install options that cannot make pip act on an already-satisfied
# request (where to look, how to talk, how loud). Anything else, and any
# option pip does not know (pip must be the one to reject it, with its own
# message and exit code), means pip runs.
_FAST_SAFE_OPTIONS = {
    "-c", "--constraint", "--build-constraint", "-i", "--index-url", "--extra-index-url",
    "--no-index", "-f", "--find-links", "--trusted-host", "--pre", "--prefer-binary",
    "--only-binary", "--no-binary", "-q", "--quiet", "-v", "--verbose", "--no-input",
    "--disable-pip-version-check", "--no-color", "--cache-dir", "--no-cache-dir", "--timeout",
    "--retries", "--proxy", "--cert", "--client-cert", "--keyring-provider", "--exists-action",
    "--log", "--no-build-isolation", "--no-warn-script-location", "--no-warn-conflicts",
    "--compile", "--no-compile", "--progress-bar", "--root-user-action", "--upgrade-strategy",
    "--no-clean", "--src", "-C", "--config-settings", "--resume-retries", "--isolated",
}


def _fast_path_options_only(options: Sequence[str]) -> bool:
    """Are all of these pip options ones that leave a satisfied request alone?"""
    expecting_value = False
    for raw in options:
        if expecting_value:
            expecting_value = False
            continue
        if not raw.startswith("-") or raw == "-":
            return False
        if raw.startswith("--"):
            name = raw.split("=", 1)[0]
            if name not in _FAST_SAFE_OPTIONS:
                return False
            expecting_value = "=" not in raw and name in _VALUED_OPTIONS
        elif raw[:2] in _VALUED_OPTIONS:
            if raw[:2] not in _FAST_SAFE_OPTIONS:
                return False
            expecting_value = len(raw) == 2
        elif not set(raw[1:]) <= {"q", "v"}:
            return False
    return True


def _build_failed(result: ProcessResult) -> bool:
    """Did pip fail installing a build environment (not resolving the install itself)?"""
    return "build dependencies did not run successfully" in result.stderr + result.stdout


def _may_build_isolated(request: Request) -> bool:
    """Could pip build a source project in an isolated environment for this install?

    Certainly for editables and local paths; possibly whenever an index may
    serve an sdist; with --no-index, only if a --find-links directory holds one.
    """
    options = request.pip.options
    if "--no-build-isolation" in options:
        return False
    only_binary = [opt.split("=", 1)[1] for opt in options if opt.startswith("--only-binary=")]
    only_binary += [options[i + 1] for i, opt in enumerate(options[:-1]) if opt == "--only-binary"]
    if ":all:" in only_binary:
        return False
    if request.editables or request.pip.paths:
        return True
    if "--no-index" not in options:
        return True
    links = [opt.split("=", 1)[1] for opt in options if opt.startswith("--find-links=")]
    links += [options[i + 1] for i, opt in enumerate(options[:-1]) if opt in ("-f", "--find-links")]
    return any(_holds_sdists(link) for link in links)


def _holds_sdists(link: str) -> bool:
    try:
        return any(not name.endswith(".whl") and _SDIST.search(name) for name in os.listdir(link))
    except OSError:
        return "://" in link  # a remote page may list anything


_SDIST = re.compile(r"\.(tar\.gz|zip|tar\.bz2|tar\.xz|tgz)$")


def _is_exact_pin(req: Requirement) -> bool:
    specs = list(req.specifier)
    return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version


def run_install(options: Options, args: list[str]) -> int:
    if "-h" in args or "--help" in args:
        # pip's own help: nothing to guard, nothing to record.
        return run_process(pip_command(resolve_python(options.python), "install", "--help")).returncode
    request = read_request(args)
    if not options.guard or os.environ.get("PIPGUARD_DISABLE") == "1":
        return run_unguarded(options, ["install", *args])
    target = locate(options)
    locations = install_locations(request.pip.options, request.pip.locations, target.prefix, os.environ)
    if locations:
        raise UsageError(
            f"pipguard does not guard installs with {', '.join(locations)}: they go "
            "outside the environment whose ledger it keeps. Run them with --no-guard (recorded "
            "as unguarded) or plain pip."
        )
    with target.store.locked():
        session = open_session(target, policy=options.policy or "compatible", require_pip=True)
        for note in session.notes:
            say(note)
        if not request.pip.has_requests and not request.pip.requirement_files:
            result = run_process(pip_command(target.python, "install", *args))
            return result.returncode
        policy = options.policy or session.ledger.policy
        code = GuardedInstall(target, session, request, policy).run()
        keep_shims(target)  # shim: put pipguard's pip scripts back if pip rewrote them
        return code


def run_unguarded(options: Options, pip_args: list[str]) -> int:
    """Plain pip, and a record of what it changed, marked unguarded."""
    target = locate(options)
    store = target.store
    with store.locked():
        session = open_session(target)
        for note in session.notes:
            say(note)
        ledger = session.ledger
        txn = start(ledger, pip_args[0], pip_args, session.state.pip_version, "none", now)
        ledger = store.begin(ledger, txn)
        result = run_process(pip_command(target.python, *pip_args))
        after = probe(target).versions
        status: Status = "unguarded" if result.returncode == 0 else "failed"
        store.finish(ledger, close_transaction(ledger, txn, status, now, after=after,
                                               reason="run with --no-guard: pip was not checked by pipguard"))
        keep_shims(target)  # shim: put pipguard's pip scripts back if pip rewrote them
        return result.returncode

"""``pipguard install``: read the request, let the core decide, carry out its outcome."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from pipguard.cli.context import (
    Loaded,
    Session,
    Target,
    caches_beside,
    environment_record,
    load_ledger,
    locate,
    open_session,
)
from pipguard.cli.options import Options, say
from pipguard.commands.support import RecordedRun, keep_shims, load_shim_modules, refuse_locations, shims_kept
from pipguard.core.constraints import Distribution
from pipguard.core.decide import (
    Outcome,
    Situation,
    decide_install,
    decide_satisfied,
    overlay,
    plain_invocation_ahead,
    versions_satisfy,
)
from pipguard.core.model import EMPTY, LedgerState, Root, StandingConstraint, Status, Transaction
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.core.redaction import redact
from pipguard.core.run_end import RunEnd
from pipguard.core.transactions import close, reconcile, root_changes, start
from pipguard.engines import make_engine
from pipguard.engines.base import UsableEngine
from pipguard.engines.pip.runner import build_constraints_note, check_pip_version, pip_command, run_process
from pipguard.errors import PipguardError
from pipguard.ledger import now
from pipguard.ledger.recovery import NeedsWriter
from pipguard.ledger.standing import standing_cache_path, standing_in_force
from pipguard.pip.request import InstallRequest, read_install, with_files
from pipguard.system.environment import read_cache, state_from_dict
from pipguard.system.files import same_file
from pipguard.system.interpreter import resolve_python
from pipguard.system.process import Interrupted, replace_process, work_directory
from pipguard.system.testhook import pause_at

_STATUS: dict[str, Status] = {"installed": "committed", "rejected": "rejected", "failed": "failed"}


def situation(request: InstallRequest, session: Session, policy: str, allow_older_major: bool,
              target_python: str, engine: UsableEngine | None = None) -> Situation:
    state, ledger = session.state, session.ledger
    return Situation(
        request=request,
        distributions=state.distributions,
        markers=state.markers,
        roots=ledger.roots,
        standing=session.standing,
        policy=policy,  # type: ignore[arg-type]  # checked by the command line
        outside=ledger.outside,
        allow_older_major=allow_older_major,
        txn_id=ledger.next_id,
        now=now(),
        pipguard_here=target_python if canonicalize_name("pipguard") in state.own else "",
        release_dates=functools.partial(engine.release_dates, request) if engine is not None else None,
        standing_passed=standing_passed(request, session.standing),
    )


def standing_passed(request: InstallRequest, standing: Sequence[StandingConstraint]) -> frozenset[str]:
    """The standing files this command line passes to pip itself with ``-c`` (devstack passes its
    upper-constraints on every call, and the docs suggest keeping it standing too): pip reads
    them there, so plain pip's run does not get their ~600 lines a second time."""
    given = request.values("constraint")
    if not given:
        return frozenset()
    sources = {item.source for item in standing}  # a file's absolute path, or "command line"
    # spelled as it was added, it is that file without a look at the disk; a URL is no file
    return frozenset(source for source in sources
                     if any(os.path.abspath(path) == source or same_file(path, source) for path in given))


class InstallEffects:
    """The edge of one guarded install: the ledger, the terminal, files."""

    def __init__(self, target: Target, session: Session, request: InstallRequest, policy: str) -> None:
        self.target = target
        self.session = session
        self.ledger: LedgerState = session.ledger
        self.request = request
        self.policy = policy
        self.txn: Transaction | None = None
        self.engine_name = "pip"

    def say_once(self, key: str, note: str) -> None:
        """A note given once per environment (remembered in the ledger's state)."""
        if key in self.ledger.said:
            return
        say(note)
        self.ledger = self.ledger._replace(said=(*self.ledger.said, key))
        self.target.store.save(self.ledger)

    def _start(self, roots: Mapping[NormalizedName, Root] | None = None) -> Transaction:
        intended = root_changes(self.ledger.roots, roots) if roots is not None else ()
        return start(self.ledger, "install", ["install", *self.request.args], self.session.state.pip_version,
                     self.policy, now, constraints=self.request.constraint_files, roots=intended,
                     engine=self.engine_name)

    def begin(self, roots: Mapping[NormalizedName, Root]) -> None:
        """The pending record, with the roots the run means to add: before anything can change."""
        txn = self._start(roots)
        self.ledger = self.target.store.begin(self.ledger, txn)
        self.txn = txn  # only once it is recorded: a pending record that could not be written is not closed
        pause_at("pending")

    def carry_out(self, outcome: Outcome) -> int:
        for line in outcome.stdout:
            print(line)
        if outcome.show_engine_output and outcome.held_output:
            sys.stderr.write(redact(outcome.held_output))
        for message in outcome.messages:
            say(message)
        if outcome.kind == "rejected" and outcome.engine_output:
            self.keep_engine_output(outcome.engine_output)
        self.copy_report(outcome.report)
        if outcome.kind == "satisfied" and outcome.roots is not None:
            txn = self._start()
            done = close(self.ledger, txn, "committed", now, after=self.session.state.own_versions,
                         roots=outcome.roots)
            self.ledger = self.target.store.finish(self.ledger, done)
        if self.txn is None:
            return outcome.returncode
        pause_at("commit")
        self.record(outcome, self.txn)
        if outcome.signal is not None:
            raise Interrupted(outcome.signal)
        return outcome.returncode

    def record(self, outcome: Outcome, txn: Transaction) -> None:
        """Close the transaction with what really happened (by the one rule of ``RecordedRun``)."""
        if outcome.kind == "rejected":
            done = close(self.ledger, txn, _STATUS[outcome.kind], now, reason=outcome.reason)
            self.ledger = self.target.store.finish(self.ledger, done)
            return
        run = RecordedRun(self.target, self.ledger, txn)
        installed = outcome.kind == "installed"
        # the outcome's code is already an exit status: a run killed by signal N has 128 + N
        code = 0 if installed else (128 - outcome.returncode if outcome.killed else outcome.returncode)
        try:
            run.close(RunEnd(code, outcome.signal, failed=not installed), detail=outcome.reason,
                      program=self.engine_name,
                      after=_versions(overlay(self.session.state.own, outcome.plan)) if installed else None,
                      roots=(lambda _after: outcome.roots) if installed else None)
        finally:
            self.ledger = run.ledger

    def keep_engine_output(self, text: str) -> None:
        """pip's own words about a failure pipguard handled: shown with -v, else kept in a log."""
        if self.request.verbose:
            say(f"pipguard: {self.engine_name}'s own output follows.")
            sys.stderr.write(redact(text))
            return
        name = f"install-{self.txn.id if self.txn else 'dry-run'}.log"
        path = write_log(self.target.store.path.parent / "logs", name, redact(text))
        if path is not None:
            say(f"pipguard: {self.engine_name}'s own output is in {path} (or run again with -v to see it).")

    def copy_report(self, report: str | None) -> None:
        destination = self.request.report
        if not destination or report is None:
            return
        if destination == "-":
            sys.stdout.write(report)
        else:
            Path(destination).write_text(report, encoding="utf-8")


def _versions(dists: Mapping[NormalizedName, Distribution]) -> dict[NormalizedName, str]:
    return {name: dist.version for name, dist in dists.items()}


LOGS_KEPT = 20


def write_log(directory: Path, name: str, text: str) -> Path | None:
    """Write a log no one else can have prepared (no symlinks followed, never an existing file).

    The newest LOGS_KEPT logs are kept. A log that cannot be written is not
    worth failing the command for: None is returned and nothing is said.
    """
    try:
        directory.mkdir(mode=0o700, exist_ok=True)
        if directory.is_symlink() or not directory.is_dir():
            return None
        path = directory / name
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)
        logs = sorted(directory.glob("*.log"), key=lambda p: p.stat().st_mtime)
        for old in logs[:-LOGS_KEPT]:
            with contextlib.suppress(OSError):
                old.unlink()
        return path
    except OSError:
        return None


def run_install(options: Options, args: list[str]) -> int:
    if "-h" in args or "--help" in args:
        # pip's own help: nothing to guard, nothing to record; pip takes pipguard's place.
        return replace_process(pip_command(resolve_python(options.python), "install", "--help"))
    target = locate(options)
    # the constraints files are read once pip has started (below): what is asked for is known first
    asked = read_install(args, target.prefix, read_files=False)
    early = with_files(asked, constraints=False)
    if not options.guard:  # --no-guard, or PIPGUARD_DISABLE=1 (read once, with the global options)
        return run_unguarded(options, ["install", *args])
    refuse_locations(early)
    with contextlib.ExitStack() as stack:
        # pip is started on a guess from the state as it is now, and the lock taken while it
        # resolves; the guess is checked under the lock (a run between them: pip is stopped)
        found, guess = target.store.peek()
        start = _head_start(options, target, early, guess, stack) if found else _Start()
        if start.satisfied:
            code = _satisfied_reading(options, target, asked, early)
            if code is not None:
                return code
        ahead = start.ahead
        try:
            with target.store.locked():
                try:
                    loaded: Loaded | None = load_ledger(target)
                except PipguardError:
                    loaded = None  # said by the session, the same way, before anything runs
                if ahead is not None and (loaded is None or not _as_guessed(loaded.state, guess)):
                    ahead.engine.cancel()  # the ledger changed since the guess: started afresh
                    ahead = None
                return _guarded_install(options, target, _whole(asked, early), loaded, ahead, stack)
        finally:
            if ahead is not None:
                ahead.engine.cancel()  # a run started ahead that the core did not take over: it changed nothing


def _as_guessed(state: LedgerState | None, guess: LedgerState | None) -> bool:
    """Is the ledger read under the lock the one the head start guessed from (roots aside: a
    guess leaves them out, and they change only with a transaction, which ``last_id`` counts)?"""
    if state is None or guess is None:
        return state is guess
    return state._replace(roots=EMPTY) == guess


class _Ahead(NamedTuple):
    """An engine whose first run was started ahead, and the name it was made for."""

    name: str
    engine: UsableEngine


class _Start(NamedTuple):
    """What the guess led to: an engine started ahead, or none because the versions last
    recorded already meet the request (an install that is likely satisfied)."""

    ahead: _Ahead | None = None
    satisfied: bool = False


def _head_start(options: Options, target: Target, request: InstallRequest, ledger: LedgerState | None,
                stack: contextlib.ExitStack) -> _Start:
    """Start the engine's first run before the environment is read again, when it will surely be needed.

    Plain first means the engine's first run needs nothing of pipguard's: it can resolve while
    pipguard probes the environment, derives the needs and begins its record; pip then waits at its
    gate until the core has judged its plan, as it would have (uv's first run is a dry run). Started
    only where that run is the install's first (no dry run, not ``replan``; the standing
    constraints are evaluated for the target's markers as the probe last saw them), and where what
    pipguard last recorded does not already satisfy the request (a satisfied install runs no
    engine; one satisfied only by changes made behind pipguard's back stops this run again).
    """
    if not request.has_requests or os.name != "posix":
        return _Start()
    caches = caches_beside(target, ledger)
    kept = standing_cache_path(caches) if caches else None  # an unchanged standing file's lines
    try:
        # read without the lock: nothing is written (a file not kept yet is read, not kept)
        standing = standing_in_force(ledger, kept, keep=False) if ledger is not None else ()
    except PipguardError:
        return _Start()  # the session says what is wrong, the same way, before anything runs
    policy = options.policy or (ledger.policy if ledger is not None else "compatible")
    name = options.engine or (ledger.engine if ledger is not None else "pip")
    if policy == "replan" or request.dry_run:
        return _Start()
    seen = _last_seen(target) if standing else ({}, None)
    if seen is None:
        return _Start()  # standing lines are read for the target's markers: unknown yet
    markers, pip_version = seen
    # the versions as pipguard last recorded them (an install's own changes are recorded, not
    # probed again); markers are evaluated here, for a guess, as for pipguard's own interpreter
    recorded = dict(ledger.distributions) if ledger is not None else {}
    if versions_satisfy(request, recorded, markers, policy):
        return _Start(satisfied=ledger is not None)
    workdir = stack.enter_context(work_directory())
    try:
        engine = make_engine(name, target.python, pip_version, workdir, request)
    except PipguardError:
        return _Start()  # said by the session's own making of the engine, in its place
    engine.start(plain_invocation_ahead(request, standing, markers, standing_passed(request, standing)))
    return _Start(_Ahead(name, engine))


def _satisfied_reading(options: Options, target: Target, asked: InstallRequest,
                       early: InstallRequest) -> int | None:
    """A satisfied install that records nothing, answered under the shared lock as the readers
    answer (no filelock: ~15 ms of such an install's start), with exactly the exclusive path's
    output and exit code.

    None where a writer must run: anything to record, repair or say that only the exclusive
    path does (a new root, changes made behind pipguard's back, an interrupted run, a torn or
    lagging journal, shims pip rewrote, a ledger a writer would refuse), or an install that is
    not satisfied after all. Nothing has been written or said then; the caller takes the
    exclusive lock and reads everything again.
    """
    store = target.store
    try:
        with store.tentatively() as held:
            if not held:
                return None
            loaded = load_ledger(target)
            if loaded.state is None:
                return None
            request = _whole(asked, early)
            session = _install_session(options, target, loaded)
            ledger, state = session.ledger, session.state
            if (reconcile(ledger, state.own_versions, now).records
                    or dict(ledger.environment) != environment_record(state) or not shims_kept(target, ledger)):
                return None
            policy = options.policy or ledger.policy
            outcome = decide_satisfied(situation(request, session, policy, options.allow_older_major,
                                                 target.python))
            if outcome is None or outcome.roots is not None:
                return None
            return InstallEffects(target, session, request, policy).carry_out(outcome)
    except (NeedsWriter, PipguardError):
        return None  # the exclusive path meets it again, and acts on it or says it


def _whole(asked: InstallRequest, early: InstallRequest) -> InstallRequest:
    """The request with its constraints files read too (*early* is it without them)."""
    if not asked.values("constraint"):
        return early
    request = with_files(asked)
    refuse_locations(request)  # options in the constraints files, read only now
    return request


def _install_session(options: Options, target: Target, loaded: Loaded | None) -> Session:
    """The session an install judges in (call with the store's lock held)."""
    # pip must be there before a new ledger starts, unless uv is asked for explicitly
    return open_session(target, policy=options.policy or "compatible", require_pip=options.engine != "uv",
                        loaded=loaded)


def _last_seen(target: Target) -> tuple[dict[str, str], str | None] | None:
    """The target's marker environment and pip's version as the probe last saw them (its cache)."""
    cached = read_cache(target.store.probe_cache)
    if cached is None:
        return None
    try:
        state = state_from_dict(cached)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return dict(state.markers), state.pip_version


def _guarded_install(options: Options, target: Target, request: InstallRequest, loaded: Loaded | None,
                     ahead: _Ahead | None, stack: contextlib.ExitStack) -> int:
    session = _install_session(options, target, loaded)
    for note in session.notes:
        say(note)
    engine_name = options.engine or session.ledger.engine
    if not request.has_requests:
        return run_process(pip_command(target.python, "install", *request.args)).returncode  # as given
    policy = options.policy or session.ledger.policy
    effects = InstallEffects(target, session, request, policy)
    # already satisfied: proved from the probe alone, with no engine made (none is imported)
    early = decide_satisfied(situation(request, session, policy, options.allow_older_major, target.python))
    if early is not None:
        code = effects.carry_out(early)
        keep_shims(target, effects.ledger)  # as after every install: a shim record of the wrong shape is said
        return code
    if ahead is not None and ahead.name == engine_name:
        engine = ahead.engine
        from pipguard.engines.pip.engine import PipEngine  # loaded already where pip is the engine

        if isinstance(engine, PipEngine):
            engine.pip_version = session.state.pip_version  # the probe's, now (the ahead run's was the cache's)
    else:
        workdir = stack.enter_context(work_directory())
        engine = make_engine(engine_name, target.python, session.state.pip_version, workdir, request)
    if engine.name == "pip":
        check_pip_version(session.state.pip_version, target.python)
    effects.engine_name = engine.name
    note = build_constraints_note(session.state.pip_version)
    if note and engine.name == "pip" and request.build_possible():
        effects.say_once(f"build-constraints:{session.state.pip_version}", note)
    load_shim_modules(session.ledger)
    outcome = _decide(effects, engine, situation(request, session, policy, options.allow_older_major,
                                                 target.python, engine))
    code = effects.carry_out(outcome)
    keep_shims(target, effects.ledger)  # shim: put pipguard's pip scripts back if pip rewrote them
    return code


def _decide(effects: InstallEffects, engine: UsableEngine, s: Situation) -> Outcome:
    """The core's decision, with a transaction begun only once the engine is known to be usable.

    A failure of pipguard's own after it began (an engine that misbehaves,
    an answer it cannot read) closes the transaction as failed: never left
    pending, as if something had been interrupted.
    """
    def begin(roots: Mapping[NormalizedName, Root]) -> None:
        engine.ready()  # uv found, its version readable and supported: else nothing is begun
        effects.begin(roots)

    try:
        return decide_install(s, engine, begin)
    except PipguardError as error:
        if effects.txn is not None:
            effects.record(Outcome("failed", 1, reason=redact(str(error))), effects.txn)
        raise


def run_unguarded(options: Options, pip_args: list[str]) -> int:
    """Plain pip, and a record of what it changed, marked unguarded."""
    target = locate(options)
    store = target.store
    with store.locked():
        session = open_session(target)
        for note in session.notes:
            say(note)
        ledger = session.ledger
        run = RecordedRun(target, ledger, start(ledger, pip_args[0], pip_args, session.state.pip_version, "none",
                                                now))
        result = run.run(pip_command(target.python, *pip_args))
        run.close(RunEnd(result.returncode, result.signal), succeeded="unguarded",
                  reason="run with --no-guard: pip was not checked by pipguard")
        keep_shims(target, run.ledger)  # shim: put pipguard's pip scripts back if pip rewrote them
        return result.returncode

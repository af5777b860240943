"""``pipguard uninstall``: pip uninstall, refused while something installed still needs it.

The names are taken out of the probed state and the end state is judged
like an install's: a remaining distribution's active requirement, or a
ledger root, that would lose what it needs blocks the whole command
(exit 10, nothing changed). Uninstalling a root removes it from the ledger.
``--no-guard`` skips the judgement (the change is still recorded, as
unguarded).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence

from pipguard.cli.context import Target, locate, open_session
from pipguard.cli.options import Options, say
from pipguard.commands.support import RecordedRun, known_after
from pipguard.core.constraints import Violation
from pipguard.core.decide import removal_blockers
from pipguard.core.model import Root
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.core.run_end import RunEnd
from pipguard.core.transactions import close, start
from pipguard.engines.pip.gated import PipAhead
from pipguard.engines.pip.runner import pip_command
from pipguard.errors import Rejected
from pipguard.ledger import now
from pipguard.pip.request import UninstallRequest, read_uninstall
from pipguard.system.process import replace_process

# What pipguard itself runs on: removing it leaves pipguard unable to install or roll back.
SELF_PROTECTED = frozenset({canonicalize_name("pip")})


def explain_refusal(spelled: Mapping[NormalizedName, str], blockers: Sequence[Violation],
                    args: Sequence[str]) -> str:
    needed = sorted({v.need.name for v in blockers})
    words = ", ".join(spelled.get(name, name) for name in needed)
    lines = [f"pipguard: not uninstalling {words}: earlier projects still need "
             f"{'it' if len(needed) == 1 else 'them'}."]
    for violation in blockers:
        lines.append(f"  {violation.need.required_by} needs {violation.need.describe()}")
    lines.append("Nothing was changed. Uninstall what needs it too, or remove it anyway with: "
                 f"pipguard uninstall --no-guard {' '.join(args)}")
    return "\n".join(lines)


def refuse_own_tooling(removing: set[NormalizedName], spelled: Mapping[NormalizedName, str],
                       args: Sequence[str]) -> None:
    tooling = sorted(removing & SELF_PROTECTED)
    if tooling:
        raise Rejected(
            f"pipguard: not uninstalling {', '.join(spelled.get(n, n) for n in tooling)}: pipguard runs pip "
            "in this environment to install, check and roll back; without it none of that works.\n"
            f"Nothing was changed. Remove it anyway with: pipguard uninstall --no-guard {' '.join(args)}"
        )


def refuse_shimmed_pipguard(removing: set[NormalizedName], spelled: Mapping[NormalizedName, str],
                            shim: Mapping[str, object], python: str) -> None:
    """The shims and the ``python -m pip`` hook of this environment run the pipguard
    installed in it: removing it first would leave every later pip run failing."""
    name = canonicalize_name("pipguard")
    if name in removing and shim:
        raise Rejected(
            f"pipguard: not uninstalling {spelled.get(name, name)}: this environment's pip and "
            "'python -m pip' run through the pipguard installed here (its shims); without it every later "
            f"pip command would fail.\nNothing was changed. Run 'pipguard --python {python} shim remove' "
            "first, then uninstall it."
        )


def run_uninstall(options: Options, args: list[str]) -> int:
    target = locate(options)
    request = read_uninstall(args, target.prefix)
    if request.wants_help() or not request.names:
        # pip answers --help itself, and explains what is missing (with its usage error).
        return replace_process(pip_command(target.python, "uninstall", *args))
    pip = pip_command(target.python, "uninstall", *args)
    with contextlib.ExitStack() as stack:
        # pip starts now and waits at its gate, before it looks anything up or removes it, while
        # the environment is read and the names judged: nearly all of its time is its start-up
        ahead = _start_ahead(pip, stack)
        with target.store.locked():
            return _guarded_uninstall(options, target, request, args, pip, ahead)


def _start_ahead(pip: list[str], stack: contextlib.ExitStack) -> PipAhead | None:
    if os.name != "posix":
        return None  # the gate's pipes are inherited file descriptors
    ahead = PipAhead(pip)
    stack.callback(ahead.cancel)  # refused, or pipguard stopped: it changed nothing
    return ahead if ahead.started else None


def _guarded_uninstall(options: Options, target: Target, request: UninstallRequest, args: list[str],
                       pip: list[str], ahead: PipAhead | None) -> int:
    store = target.store
    session = open_session(target)
    for note in session.notes:
        say(note)
    state, ledger = session.state, session.ledger
    spelled = {canonicalize_name(n): n for n in request.names}
    removing = {name for name in spelled if name in state.own}
    policy = ledger.policy if options.guard else "none"
    if options.guard and removing:
        try:
            refuse_own_tooling(removing, spelled, args)
            refuse_shimmed_pipguard(removing, spelled, ledger.shim, target.python)
            blockers = removal_blockers(state.distributions, ledger.roots, session.standing,
                                        state.markers, removing, ledger.outside)
            if blockers:
                raise Rejected(explain_refusal(spelled, blockers, args))
        except Rejected as refusal:
            txn = start(ledger, "uninstall", ["uninstall", *args], state.pip_version, policy, now,
                        status="rejected")
            store.finish(ledger, close(ledger, txn, "rejected", now, reason=str(refusal)))
            raise
    run = RecordedRun(target, ledger, start(ledger, "uninstall", ["uninstall", *args], state.pip_version,
                                            policy, now))
    result = run.run(pip, ahead=ahead)

    def roots_after(after: Mapping[NormalizedName, str]) -> dict[NormalizedName, Root]:
        gone = {name for name in state.own_versions if name not in after}
        return {name: root for name, root in ledger.roots.items() if name not in gone}

    end = RunEnd(result.returncode, result.signal)
    after = run.close(end, roots=roots_after, after=known_after(state, removing, end, request.flag("yes")),
                      succeeded="committed" if options.guard else "unguarded",
                      reason="" if options.guard else "run with --no-guard: not checked by pipguard")
    roots = roots_after(after)
    for name in sorted(set(ledger.roots) - set(roots)):
        say(f"pipguard: {ledger.roots[name].display_name} is no longer a root in the ledger.")
    return result.returncode

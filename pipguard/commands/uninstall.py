"""``pipguard uninstall``: pip uninstall, refused while something installed still needs it.

The names are taken out of the probed state and the end state is judged
like an install's: a remaining distribution's active requirement, or a
ledger root, that would lose what it needs blocks the whole command
(exit 10, nothing changed). Uninstalling a root removes it from the ledger.
``--no-guard`` skips the judgement (the change is still recorded, as
unguarded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from packaging.utils import NormalizedName, canonicalize_name

from pipguard.commands.options import say
from pipguard.constraints import Violation
from pipguard.context import Options, locate, open_session
from pipguard.decide import removal_blockers
from pipguard.errors import Rejected
from pipguard.pip_runner import pip_command, run_process
from pipguard.request import read_uninstall
from pipguard.transactions import begin, finish

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


def run_uninstall(options: Options, args: list[str]) -> int:
    target = locate(options)
    request = read_uninstall(args, target.prefix)
    if request.wants_help() or not request.names:
        # pip answers --help itself, and explains what is missing (with its usage error).
        return run_process(pip_command(target.python, "uninstall", *args)).returncode
    names = list(request.names)
    with target.store.locked():
        session = open_session(target)
        for note in session.notes:
            say(note)
        state, ledger = session.state, session.ledger
        if session.created:
            target.store.save(ledger)
        spelled = {canonicalize_name(n): n for n in names}
        removing = {name for name in spelled if name in state.distributions}
        policy = ledger.policy if options.guard else "none"
        if options.guard and removing:
            try:
                refuse_own_tooling(removing, spelled, args)
                blockers = removal_blockers(state.distributions, ledger.roots, ledger.standing,
                                            state.markers, removing)
                if blockers:
                    raise Rejected(explain_refusal(spelled, blockers, args))
            except Rejected as refusal:
                ledger, txn = begin(ledger, "uninstall", ["uninstall", *args], state.pip_version, policy)
                target.store.save(finish(ledger, txn, "rejected", reason=str(refusal)))
                raise
        ledger, txn = begin(ledger, "uninstall", ["uninstall", *args], state.pip_version, policy)
        target.store.save(ledger)
        result = run_process(pip_command(target.python, "uninstall", *args))
        after = open_session(target, reconcile_drift=False).state.versions
        gone = {name for name in state.versions if name not in after}
        roots = {name: root for name, root in ledger.roots.items() if name not in gone}
        if result.returncode != 0:
            status, reason = "failed", f"pip exited with {result.returncode}"
        elif options.guard:
            status, reason = "committed", ""
        else:
            status, reason = "unguarded", "run with --no-guard: not checked by pipguard"
        target.store.save(finish(ledger, txn, status, after=after, roots=roots, reason=reason))
        for name in sorted(set(ledger.roots) - set(roots)):
            say(f"pipguard: {ledger.roots[name].display_name} is no longer a root in the ledger.")
        return result.returncode

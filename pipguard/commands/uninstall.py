"""``pipguard uninstall``: pip uninstall, refused while something installed still needs it.

The names are taken out of the probed state and the end state is judged
like an install's: a remaining distribution's active requirement, or a
ledger root, that would lose what it needs blocks the whole command
(exit 10, nothing changed). Uninstalling a root removes it from the ledger.
``--no-guard`` skips the judgement (the change is still recorded, as
unguarded).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from pipguard.constraints import Distribution, MarkerEnvironment, Violation
from pipguard.context import Options, locate, open_session, probe
from pipguard.errors import Rejected, UsageError
from pipguard.ledger import now
from pipguard.model import Root, StandingConstraint, Status
from pipguard.pip_args import _split_option, read_requirement_file
from pipguard.pip_runner import pip_command, run_process
from pipguard.planner import judge
from pipguard.transactions import close, start


def say(message: str) -> None:
    print(message, file=sys.stderr)


@dataclass
class UninstallRequest:
    """A pip uninstall command line, read."""

    args: list[str]
    names: list[str] = field(default_factory=list)  # as the user spelled them
    requirement_files: list[str] = field(default_factory=list)
    help: bool = False


def parse_uninstall_args(args: Sequence[str]) -> UninstallRequest:
    request = UninstallRequest(list(args))
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            request.names += [_name(a) for a in args[i + 1 :]]
            break
        if not arg.startswith("-") or arg == "-":
            request.names.append(_name(arg))
            i += 1
            continue
        opt, value, i = _split_option(list(args), i)
        if opt in ("-r", "--requirement") and value is not None:
            request.requirement_files.append(value)
        elif opt in ("-h", "--help"):
            request.help = True
    return request


def _name(arg: str) -> str:
    try:
        return Requirement(arg).name
    except InvalidRequirement:
        raise UsageError(
            f"cannot uninstall {arg!r}: it is not a package name. Give the names pip list shows."
        ) from None


def names_to_remove(request: UninstallRequest) -> list[str]:
    names = list(request.names)
    for path in request.requirement_files:
        names += [req.name for req in read_requirement_file(path).requirements]
    return names


def removal_blockers(
    dists: Mapping[NormalizedName, Distribution],
    roots: Mapping[NormalizedName, Root],
    standing: Sequence[StandingConstraint],
    markers: MarkerEnvironment,
    removed: set[NormalizedName],
) -> tuple[Violation, ...]:
    """What would lose something it needs if *removed* were uninstalled (pure)."""
    after = {name: dist for name, dist in dists.items() if name not in removed}
    roots_after = {name: root for name, root in roots.items() if name not in removed}
    return judge(dists, after, roots, roots_after, standing, markers).blocking


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


def run_uninstall(options: Options, args: list[str]) -> int:
    request = parse_uninstall_args(args)
    if request.help:
        return run_process(pip_command(locate(options).python, "uninstall", *args)).returncode
    names = names_to_remove(request)
    target = locate(options)
    if not names:
        # pip explains what is missing (and exits with its usage error).
        return run_process(pip_command(target.python, "uninstall", *args)).returncode
    store = target.store
    with store.locked():
        session = open_session(target)
        for note in session.notes:
            say(note)
        state, ledger = session.state, session.ledger
        spelled = {canonicalize_name(n): n for n in names}
        removing = {name for name in spelled if name in state.distributions}
        policy = ledger.policy if options.guard else "none"
        if options.guard and removing:
            blockers = removal_blockers(state.distributions, ledger.roots, session.standing,
                                        state.markers, removing)
            if blockers:
                message = explain_refusal(spelled, blockers, args)
                txn = start(ledger, "uninstall", ["uninstall", *args], state.pip_version, policy, now,
                            status="rejected")
                store.finish(ledger, close(ledger, txn, "rejected", now, reason=message))
                raise Rejected(message)
        txn = start(ledger, "uninstall", ["uninstall", *args], state.pip_version, policy, now)
        ledger = store.begin(ledger, txn)
        result = run_process(pip_command(target.python, "uninstall", *args))
        after = probe(target).versions
        gone = {name for name in state.versions if name not in after}
        roots = {name: root for name, root in ledger.roots.items() if name not in gone}
        status: Status
        if result.returncode != 0:
            status, reason = "failed", f"pip exited with {result.returncode}"
        elif options.guard:
            status, reason = "committed", ""
        else:
            status, reason = "unguarded", "run with --no-guard: not checked by pipguard"
        store.finish(ledger, close(ledger, txn, status, now, after=after, roots=roots, reason=reason))
        for name in sorted(set(ledger.roots) - set(roots)):
            say(f"pipguard: {ledger.roots[name].display_name} is no longer a root in the ledger.")
        return result.returncode

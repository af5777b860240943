"""What pipguard tells the user about an install: verdicts and their reasons (pure).

Every message says what happened, the one requirement that decided it (with
both specifiers, and the earlier project and transaction it protects), and
what the user can do next, in pip's vocabulary. Nothing here claims what did
not happen: "instead of" is always against plain pip's own plan here.
"""

from __future__ import annotations

import shlex
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from pipguard.core.constraints import Violation, active_requirements, version_satisfies
from pipguard.core.model import Distribution, MarkerEnvironment, PlannedInstall, Root, StandingConstraint
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.core.redaction import redact
from pipguard.pip.request import ConstraintLine, InstallRequest

if TYPE_CHECKING:
    from pipguard.core.decide import Difference
    from pipguard.engines.base import Failure

ALLOW_OLDER_MAJOR = "--allow-older-major"


# -- who needs what, and who brings it --------------------------------------------------------


class Explainer(NamedTuple):
    """Names the parties of a verdict: earlier projects, roots, constraints, the request."""

    request: InstallRequest
    distributions: Mapping[NormalizedName, Distribution]
    roots: Mapping[NormalizedName, Root]
    markers: MarkerEnvironment
    constraints: Sequence[ConstraintLine] = ()  # the command's own (and pip.conf's) constraint lines
    pipguard_here: str = ""  # the target interpreter, when pipguard itself is installed in its environment

    def root_label(self, root: Root) -> str:
        if root.kind == "baseline":
            return f"{root.display_name} (root, there before pipguard)"
        if root.added_by:
            return f"{root.display_name} (root, transaction {root.added_by})"
        return f"{root.display_name} (root)"

    def roots_reaching(self, name: NormalizedName) -> list[Root]:
        """The roots whose installed requirements lead to *name*."""
        found = []
        for root in sorted(self.roots.values(), key=lambda r: r.name):
            if root.name == name or name in self._closure(root.name):
                found.append(root)
        return found

    def _closure(self, start: NormalizedName) -> set[NormalizedName]:
        seen: set[NormalizedName] = set()
        queue = deque([start])
        while queue:
            dist = self.distributions.get(queue.popleft())
            if dist is None:
                continue
            for req in active_requirements(dist, self.markers):
                name = canonicalize_name(req.name)
                if name not in seen:
                    seen.add(name)
                    queue.append(name)
        return seen

    def who(self, violation: Violation) -> str:
        """The earlier party a violated need belongs to, named as the user knows it."""
        need = violation.need
        if need.kind == "root":
            root = self.roots.get(need.name)
            return self.root_label(root) if root else need.required_by
        if need.kind == "standing":
            return f"the standing constraint from {redact(need.source)}"
        if need.kind == "strict":
            return "the strict policy"
        source = canonicalize_name(need.source)
        dist = self.distributions.get(source)
        label = dist.label if dist else need.required_by
        if dist is not None and dist.outside:
            label += " (outside the environment)"
        root = self.roots.get(source)
        if root is not None:
            return label + self.root_label(root)[len(root.display_name):]
        reaching = [r for r in self.roots_reaching(source) if r.name != source]
        if reaching:
            first = reaching[0]
            more = f" and {len(reaching) - 1} more" if len(reaching) > 1 else ""
            return f"{label} (needed by {self.root_label(first)}{more})"
        return label

    def brings(self, name: NormalizedName, plan: Iterable[PlannedInstall],
               by: NormalizedName | None = None) -> list[str]:
        """Who, in a plan and in the command itself, asks for *name* at other versions.

        Only the requirements that exclude the installed version (the one the
        earlier project is content with) are reasons: "Nova needs utils>=3.33"
        is no reason to leave utils 3.40 when the command's ``-c`` pins 10.1.
        When none excludes it (nothing installed, a URL), every one is given.
        *by*: the project a message is about; its own requirement comes first.
        """
        found: list[tuple[str, SpecifierSet]] = []
        # the project the message is about, then what the user asked for: its own requirement is the
        # reason a user recognises, and the engines list their plans in different orders (the same
        # words under pip and uv)
        for item in sorted(plan, key=lambda planned: (planned.name != by, not planned.requested)):
            dist = item.as_distribution()
            for req in active_requirements(dist, self.markers, item.requested_extras):
                if canonicalize_name(req.name) == name:
                    found.append((f"{item.display_name} {item.version} needs {req.name}{req.specifier}",
                                  req.specifier))
        for line in self.constraints:
            if line.name == name and str(line.requirement.specifier):
                found.append((f"the command's constraints file {line.where} pins {line.requirement}",
                              line.requirement.specifier))
        for requested in self.request.requested:
            if requested.name == name and requested.requirement is not None:
                found.append((f"you asked for {requested.requirement}", requested.requirement.specifier))
        now = self.distributions.get(name)
        excluding = [text for text, specifier in found
                     if now is not None and not version_satisfies(now.version, specifier)]
        return excluding or [text for text, _ in found]

    def how_to_lift(self, violation: Violation) -> list[str]:
        """For a root's own range that blocks: how the user lifts it (asking again records the new one)."""
        need = violation.need
        root = self.roots.get(need.name) if need.kind == "root" else None
        if root is None or not root.specifier:
            return []
        when = f" in transaction {root.added_by}" if root.added_by else ""
        return [f"  {root.display_name}{root.specifier} is a root you asked for{when}; to lift its range, ask "
                f"for it again without one ('pipguard install {root.display_name}', which changes nothing "
                "installed), then run this command again."]

    def describe(self, violation: Violation, plan: Sequence[PlannedInstall]) -> str:
        """One line: who needs what, and what this install would bring instead (and why)."""
        need = violation.need
        if need.kind == "strict":
            now = self.distributions.get(need.name)
            kept = now.version if now else "as it is"
            change = f"bring {need.name} {violation.installed}" if violation.installed else f"remove {need.name}"
            return f"the strict policy keeps installed versions ({need.name} stays {kept}); this install " \
                   f"would {change}"
        brought = "remove it" if violation.installed is None else f"bring {need.name} {violation.installed}"
        why = self.brings(need.name, plan)
        because = f" ({'; '.join(why)})" if why else ""
        wanted = f"{need.name}{need.specifier}" if need.specifier else need.name
        verb = "allows only" if need.kind == "standing" else "needs"
        return f"{self.who(violation)} {verb} {wanted}; this install would {brought}{because}"

    def clash(self, violation: Violation, plan: Sequence[PlannedInstall], by: NormalizedName | None = None) -> str:
        """"X needs R, but P needs N": what plain pip's plan asks for, against the earlier need
        (*by*'s own requirement first, when it has one)."""
        need = violation.need
        wanted = f"{need.name}{need.specifier}" if need.specifier else need.name
        verb = "allows only" if need.kind == "standing" else "needs"
        earlier = f"{self.who(violation)} {verb} {wanted}"
        if need.kind == "strict":
            return f"the strict policy keeps installed versions ({need.name} stays as it is)"
        why = self.brings(need.name, plan, by)
        if not why:
            moved = f"take {need.name} {violation.installed}" if violation.installed else f"remove {need.name}"
            return f"plain pip would {moved}, but {earlier}"
        return f"{why[0]}, but {earlier}"

    def own_requirements_note(self, blocking: Sequence[Violation]) -> list[str]:
        if not self.pipguard_here or not any(canonicalize_name(v.need.source) == "pipguard" for v in blocking):
            return []
        return ["  pipguard itself is installed in this environment, so its own requirements are protected "
                "here. Install pipguard in its own virtual environment (or with pipx) and guard this one "
                f"with: pipguard --python {shlex.quote(self.pipguard_here)} (see the README); then only your "
                "projects are protected."]

    def moved_roots(self, plan: Sequence[PlannedInstall]) -> list[str]:
        """Earlier roots the plan moves (the replan policy may, within their specifiers).

        Not what the request itself names: by name, or by path or URL (``-e
        DIR``, whose name only the plan tells: the engine reports it as
        requested, from a path or URL). That is what was asked for, not a
        re-plan. (The roots the replan policy resolves again with the request
        are requested too, but by name: those are re-plans.)
        """
        messages = []
        for item in plan:
            root = self.roots.get(item.name)
            before = self.distributions.get(item.name)
            asked = item.name in self.request.names or (item.requested and bool(item.editable or item.url))
            if root and before and not asked and before.version != item.version:
                within = f" (still within {root.specifier})" if root.specifier else ""
                messages.append(f"pipguard: re-planned the earlier root {root.display_name}: "
                                f"{before.version} -> {item.version}{within}.")
        return messages

    def blame_conflict(self, failure: Failure, standing: Sequence[StandingConstraint]) -> str:
        """Plain pip finds no plan either: when a standing constraint takes part, say so."""
        from pipguard.core.conflicts import parse_conflict

        causes = parse_conflict(failure.conflict)
        pinned = [c for c in causes if c.constraint]
        lines = []
        for cause in pinned:
            for item in standing:
                parsed = _requirement(item.requirement)
                if parsed is None:
                    continue
                req_name = canonicalize_name(parsed.name)
                if req_name == cause.name:
                    origin = "given on the command line" if item.source == "command line" else \
                        f"from {redact(item.source)}"
                    lines.append(f"  the standing constraint {redact(item.requirement)} ({origin}, transaction "
                                 f"{item.added_by}) allows only {cause.requirement}")
        if not lines:
            return ""
        others = [c.text for c in causes if not c.constraint]
        head = f"pipguard: not installing {self.request.describe()}: no version fits the standing constraints."
        tail = ["  " + text for text in others]
        return "\n".join([head, *lines, *tail,
                          "Nothing was changed. To lift a standing constraint: pipguard constraints remove NAME "
                          "(or FILE)."])


# -- verdicts -----------------------------------------------------------------------------------


def _requirement(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def rejection(explainer: Explainer, blocking: Sequence[Violation], plan: Sequence[PlannedInstall],
              failure: Failure | None = None) -> str:
    """One paragraph: what would break, who needs what, and that nothing changed.

    *failure*: why the resolution within the protections found no plan. Only
    pip's ResolutionImpossible says that no versions fit; any other failure
    (nothing matched, a file missing, an old release that would not build)
    says only that pip found no plan there, and the head says so.
    """
    head = "it would break earlier projects."
    if failure is not None and failure.kind != "impossible" and not (failure.kind == "build" and failure.candidate):
        head = "plain pip's plan would break earlier projects, and pip found no plan within the protections."
    lines = [f"pipguard: not installing {explainer.request.describe()}: {head}"]
    for violation in blocking:
        lines.append(f"  {explainer.describe(violation, plan)}.")
    for violation in blocking:
        lines += explainer.how_to_lift(violation)
    if failure is not None and failure.kind == "build" and failure.candidate:
        lines.append(f"  (Looking for versions that keep them working, pip tried {failure.candidate}, an older "
                     "release, and could not build it.)")
    elif failure is not None and failure.kind != "impossible":
        said = f": {redact(failure.summary)}" if failure.summary else f" (it exited with {failure.returncode})"
        lines.append(f"  (Looking for versions that keep them working, pip reported{said})")
    lines += explainer.own_requirements_note(blocking)
    lines.append("Nothing was changed.")
    return "\n".join(lines)


def _how_far(chosen: str, plain: str) -> str:
    try:
        new, old = Version(plain).release, Version(chosen).release
    except InvalidVersion:
        return ""
    if old[0] != new[0]:
        count = new[0] - old[0]
        return f"{count} major version{'s' if count != 1 else ''} back"
    if len(old) > 1 and len(new) > 1 and old[1] != new[1]:
        count = new[1] - old[1]
        return f"{count} minor version{'s' if count != 1 else ''} back"
    return "an older release of the same series"


def _dates(dates: Mapping[str, str] | None, *versions: str) -> str:
    """"; released 2.0 2024-05-01, 1.0 2020-01-02" from the days known (version -> day)."""
    if not dates:
        return ""
    known = [f"{version} {dates[version]}" for version in versions if dates.get(version)]
    return f"; released {', '.join(known)}" if known else ""


def _from_source(difference: Difference) -> str:
    """Building an old release from source can take long (and fail): say so."""
    return "; built from source" if difference.from_source else ""


def _requires(item: PlannedInstall, name: NormalizedName, markers: MarkerEnvironment) -> bool:
    return any(canonicalize_name(req.name) == name
               for req in active_requirements(item.as_distribution(), markers, item.requested_extras))


def _chain(explainer: Explainer, start: NormalizedName, target: NormalizedName,
           plan: Sequence[PlannedInstall]) -> list[PlannedInstall]:
    """The shortest path through *plan*'s requirements from *start* to the item that requires
    *target* (both included), or [] when *start* does not lead there."""
    items = {item.name: item for item in plan}
    first = items.get(start)
    if first is None:
        return []
    paths: deque[list[PlannedInstall]] = deque([[first]])
    seen = {start}
    while paths:
        path = paths.popleft()
        last = path[-1]
        if _requires(last, target, explainer.markers):
            return path
        wanted = {canonicalize_name(req.name) for req in
                  active_requirements(last.as_distribution(), explainer.markers, last.requested_extras)}
        for name in sorted(wanted - seen):
            if name in items:
                seen.add(name)
                paths.append([*path, items[name]])
    return []


def _step(explainer: Explainer, item: PlannedInstall, then: PlannedInstall) -> str:
    """"A 3.6 needs B>=9": *item*'s requirement that brings *then*."""
    for req in active_requirements(item.as_distribution(), explainer.markers, item.requested_extras):
        if canonicalize_name(req.name) == then.name:
            return f"{item.display_name} {item.version} needs {req.name}{req.specifier}"
    return f"{item.display_name} {item.version} needs {then.display_name}"


def _clashes(explainer: Explainer, name: NormalizedName, plain_blocking: Sequence[Violation],
             plain_plan: Sequence[PlannedInstall]) -> list[str]:
    """Why plain pip's plan for *name* breaks an earlier project: for each clash it leads to, the
    chain of requirements from *name* to it (its own reason, never another project's)."""
    found = []
    for violation in plain_blocking:
        if violation.need.name == name:
            found.append(explainer.clash(violation, plain_plan))
            continue
        chain = _chain(explainer, name, violation.need.name, plain_plan)
        if chain:
            steps = [_step(explainer, item, then) for item, then in zip(chain, chain[1:])]
            found.append(", and ".join([*steps, explainer.clash(violation, plain_plan, chain[-1].name)]))
    return found or [explainer.clash(v, plain_plan) for v in plain_blocking]


def replan_message(explainer: Explainer, difference: Difference, plain_blocking: Sequence[Violation],
                   plain_plan: Sequence[PlannedInstall], dates: Mapping[str, str] | None = None) -> str:
    """*dates*: version -> release day of the project, where known."""
    chosen = difference.chosen or ""
    far = _how_far(chosen, difference.plain)
    when = _dates(dates, difference.plain, chosen)
    reasons = _clashes(explainer, difference.name, plain_blocking, plain_plan)
    return (f"pipguard: installed {difference.display_name} {chosen} instead of {difference.plain}, plain pip's "
            f"choice here ({far}{when}{_from_source(difference)}): " + "; ".join(reasons) + ".")


def _holds(explainer: Explainer, violation: Violation) -> str:
    need = violation.need
    if need.kind == "strict":
        return "the strict policy keeps installed versions"
    verb = "allows only" if need.kind == "standing" else "needs"
    return f"{explainer.who(violation)} {verb} {need.name}{need.specifier}"


def held_back_message(explainer: Explainer, difference: Difference, plain_blocking: Sequence[Violation],
                      plain_plan: Sequence[PlannedInstall]) -> str:
    reasons = [_holds(explainer, v) for v in plain_blocking if v.need.name == difference.name] or \
        _clashes(explainer, difference.name, plain_blocking, plain_plan)
    kept = difference.installed or "as it is"
    return (f"pipguard: kept {difference.display_name} at {kept} instead of upgrading to {difference.plain}: "
            + "; ".join(reasons) + ".")


def major_rejection(explainer: Explainer, majors: Sequence[Difference], plain_blocking: Sequence[Violation],
                    plain_plan: Sequence[PlannedInstall],
                    dates: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """*dates*: name -> version -> release day, where known."""
    lines = [f"pipguard: not installing {explainer.request.describe()}: plain pip's plan would break earlier "
             "projects, and the versions that keep them working are of an older major version."]
    for difference in majors:
        chosen = difference.chosen or ""
        when = _dates((dates or {}).get(difference.name), difference.plain, chosen)
        lines.append(f"  {difference.display_name} {chosen} would fit, where plain pip would install "
                     f"{difference.plain} ({_how_far(chosen, difference.plain)}{when}{_from_source(difference)}); "
                     "another major version may have another API.")
        for reason in _clashes(explainer, difference.name, plain_blocking, plain_plan):
            lines.append(f"  {reason}.")
    pins = " ".join(f"'{d.display_name}=={d.chosen}'" for d in majors)
    lines.append(f"Nothing was changed. To take it anyway, run the same command with {ALLOW_OLDER_MAJOR}, "
                 f"or ask for {pins}.")
    return "\n".join(lines)


def shadow_notes(before: Mapping[NormalizedName, Distribution], plan: Sequence[PlannedInstall]) -> list[str]:
    """One line for each distribution seen from outside that the plan now shadows inside."""
    notes = []
    for item in plan:
        old = before.get(item.name)
        if old is not None and old.outside:
            notes.append(f"pipguard: note: {item.display_name} {item.version} is now installed inside the "
                         f"environment and shadows {old.label} seen from outside it.")
    return notes

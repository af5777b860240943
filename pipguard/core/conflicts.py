"""Can these projects live together? Reading pip's answer (pure).

``pipguard check --plan`` asks pip for a dry run of several requirement
sources at once. When pip finds no plan it says why on stdout ("The
conflict is caused by:"), hidden by ``--quiet``; this module reads those
lines, attributes each to the requirement source (file or argument) that
brings its requirer in, and groups them into clashes over one package.
When pip does find a plan that would break an earlier project of the
environment, the clash is built from the planner's verdict instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from packaging.requirements import InvalidRequirement, Requirement

from pipguard.core.constraints import MarkerEnvironment, Violation, active_requirements
from pipguard.core.health import Problem
from pipguard.core.model import Change, Distribution, PlannedInstall
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.core.redaction import redact

_DEPENDS = re.compile(r"^(?P<name>[^\s\[]+)(?:\[[^\]]*\])? (?P<version>\S+) depends on (?P<req>.+)$")
_CONSTRAINT = "The user requested (constraint) "
_REQUESTED = "The user requested "
_CANNOT = re.compile(
    r"Cannot install (?P<what>.+?) because these package versions have conflicting dependencies"
)


class Source(NamedTuple):
    """One thing the user wants installed: a requirements file, or one argument."""

    label: str  # the file's path, or the argument as given
    args: tuple[str, ...]  # pip arguments that ask for it alone
    names: tuple[NormalizedName, ...] = ()  # named requirements in it (known before pip runs)
    requirements: tuple[str, ...] = ()  # those requirements, as written


class Cause(NamedTuple):
    """One line of pip's "The conflict is caused by:"."""

    text: str  # as pip printed it
    name: NormalizedName  # the package required
    specifier: str  # normalised (commas, as in a requirements file)
    requirer: NormalizedName | None = None  # None: the user asked (a requirement or a constraint)
    requirer_version: str | None = None
    constraint: bool = False

    @property
    def requirement(self) -> str:
        return f"{self.name}{self.specifier}"


def _pip_requirement(text: str) -> tuple[NormalizedName, str]:
    """Read pip's human spelling of a requirement ("B<2.0 and >1.0") back."""
    head = text.split(";", 1)[0].strip()
    normal = head.replace(" and ", ",").replace(", ", ",")
    try:
        req = Requirement(normal)
    except InvalidRequirement:
        match = re.match(r"[A-Za-z0-9._-]+", head)
        name = match.group(0) if match else head
        return canonicalize_name(name), redact(head[len(name):].strip())
    return canonicalize_name(req.name), str(req.specifier)


def parse_conflict(stdout: str) -> list[Cause]:
    """The causes pip lists after "The conflict is caused by:" (empty if none)."""
    causes: list[Cause] = []
    lines = stdout.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "The conflict is caused by:")
    except StopIteration:
        return causes
    for raw in lines[start + 1 :]:
        line = raw.strip()
        if not line:
            break
        if line.startswith(_CONSTRAINT):
            name, spec = _pip_requirement(line[len(_CONSTRAINT) :])
            causes.append(Cause(line, name, spec, constraint=True))
        elif line.startswith(_REQUESTED):
            name, spec = _pip_requirement(line[len(_REQUESTED) :])
            causes.append(Cause(line, name, spec))
        else:
            match = _DEPENDS.match(line)
            if match is None:
                continue
            name, spec = _pip_requirement(match.group("req"))
            causes.append(
                Cause(line, name, spec, canonicalize_name(match.group("name")), match.group("version"))
            )
    return causes


def pip_summary(stderr: str) -> str:
    """pip's own one-line account ("Cannot install X and Y because ..."), if it gave one."""
    match = _CANNOT.search(stderr)
    return redact(match.group(0)) + "." if match else ""


class Side(NamedTuple):
    """One party to a clash: who needs the package, at which versions, and from where."""

    kind: str  # "dependency", "request", "constraint", "earlier" or "plan"
    who: str  # "a 1.0", "A (root, transaction 2)", a constraints file; "" for a request
    requirement: str  # "b>1.0,<2.0"
    sources: tuple[str, ...] = ()  # the requirement sources that bring *who* in

    def describe(self) -> str:
        origin = ", ".join(self.sources)
        if self.kind == "request":
            if self.sources == (self.requirement,) or not origin:
                return f"{self.requirement} is asked for"
            return f"{origin} asks for {self.requirement}"
        if self.kind == "constraint":
            return f"{self.who} allows only {self.requirement}"
        if self.kind == "earlier":
            return f"{self.who}, already installed, needs {self.requirement}"
        if self.kind == "plan":
            return f"the plan would bring {self.requirement}"
        return f"{self.who}{f' (from {origin})' if origin else ''} needs {self.requirement}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "who": self.who, "requirement": self.requirement,
                "sources": list(self.sources), "text": self.describe()}


class Clash(NamedTuple):
    """Requirements on one package that no version meets together."""

    name: NormalizedName
    sides: tuple[Side, ...]

    @property
    def earlier(self) -> bool:
        """One side is an earlier project of the environment."""
        return any(side.kind == "earlier" for side in self.sides)

    @property
    def sources(self) -> tuple[str, ...]:
        """The requirement sources (and constraints files) taking part, in order."""
        seen: list[str] = []
        for side in self.sides:
            for source in side.sources:
                if source not in seen:
                    seen.append(source)
        return tuple(seen)

    @property
    def key(self) -> tuple[str, frozenset[str]]:
        return (self.name, frozenset(side.requirement for side in self.sides))

    @property
    def subject(self) -> str:
        parties = self.sources or tuple(side.who for side in self.sides)
        return f"{' and '.join(parties)}: {self.name}"

    def sides_text(self) -> str:
        return "; ".join(side.describe() for side in self.sides)

    def describe(self) -> str:
        parties = self.sources
        if self.earlier:
            new = [p for p in parties if p != EARLIER]
            head = f"{' and '.join(new) or 'the request'} would break an earlier project ({self.name})"
        elif len(parties) >= 2:
            head = f"{', '.join(parties[:-1])} and {parties[-1]} clash ({self.name})"
        else:
            head = f"{parties[0] if parties else 'the request'} cannot be installed ({self.name})"
        return f"{head}: {self.sides_text()}."

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "earlier": self.earlier,
            "sources": list(self.sources),
            "sides": [side.to_dict() for side in self.sides],
            "message": self.describe(),
        }


# The source label of an earlier project's side.
EARLIER = "this environment"


def _sources_with(name: NormalizedName, closures: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    return tuple(label for label, names in closures.items() if name in set(names))


def _requested_by(cause: Cause, sources: Sequence[Source]) -> tuple[str, ...]:
    by_name = [s for s in sources if cause.name in s.names]
    exact = []
    for source in by_name:
        for text in source.requirements:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if canonicalize_name(req.name) == cause.name and str(req.specifier) == cause.specifier:
                exact.append(source.label)
                break
    return tuple(exact or [s.label for s in by_name])


def clashes_from_causes(
    causes: Sequence[Cause],
    sources: Sequence[Source],
    closures: Mapping[str, Iterable[str]],
    constraint_files: Mapping[str, Mapping[NormalizedName, str]] | None = None,
) -> list[Clash]:
    """pip's causes, grouped per package and attributed to the sources that bring them.

    *closures* maps a source's label to every name its own plan installs
    (from a dry run of that source alone); *constraint_files* maps each
    ``-c`` file to the specifier it gives each name.
    """
    files = constraint_files or {}
    grouped: dict[NormalizedName, list[Side]] = {}
    for cause in causes:
        if cause.constraint:
            origins = [(label, spec) for label, specs in files.items() for n, spec in specs.items()
                       if n == cause.name]
            if origins:
                for label, spec in origins:
                    side = Side("constraint", f"constraints file {label}", f"{cause.name}{spec}", (label,))
                    grouped.setdefault(cause.name, []).append(side)
            else:
                who = "a constraint from pip's configuration or PIP_CONSTRAINT"
                side = Side("constraint", who, cause.requirement)
                grouped.setdefault(cause.name, []).append(side)
        elif cause.requirer is None:
            grouped.setdefault(cause.name, []).append(
                Side("request", "", cause.requirement, _requested_by(cause, sources))
            )
        else:
            who = f"{cause.requirer} {cause.requirer_version}"
            grouped.setdefault(cause.name, []).append(
                Side("dependency", who, cause.requirement, _sources_with(cause.requirer, closures))
            )
    return [Clash(name, tuple(sides)) for name, sides in sorted(grouped.items())]


def clashes_with_earlier(
    blocking: Sequence[Violation],
    plan: Sequence[PlannedInstall],
    sources: Sequence[Source],
    closures: Mapping[str, Iterable[str]],
    markers: MarkerEnvironment,
) -> list[Clash]:
    """Clashes between earlier projects and a plan pip found for the new request."""
    clashes = []
    for violation in blocking:
        need = violation.need
        earlier = Side("earlier", need.required_by, need.describe(), (EARLIER,))
        new_sides = []
        for item in plan:
            dist = Distribution(item.name, item.version, item.requires, item.display_name)
            for req in active_requirements(dist, markers, item.requested_extras):
                if canonicalize_name(req.name) == need.name:
                    new_sides.append(
                        Side("dependency", f"{item.display_name} {item.version}",
                             f"{need.name}{req.specifier}", _sources_with(item.name, closures))
                    )
        direct = [s for s in sources if need.name in s.names]
        for source in direct:
            for text in source.requirements:
                try:
                    req = Requirement(text)
                except InvalidRequirement:
                    continue
                if canonicalize_name(req.name) == need.name:
                    new_sides.append(Side("request", "", f"{need.name}{req.specifier}", (source.label,)))
        if not new_sides:
            brought = f"{need.name} {violation.installed}" if violation.installed else f"no {need.name}"
            new_sides.append(Side("plan", "", brought))
        clashes.append(Clash(need.name, (earlier, *new_sides)))
    return clashes


class PlanResult(NamedTuple):
    """``pipguard check --plan``: can the sources be installed together (and here)?"""

    with_ledger: bool
    sources: tuple[Source, ...]
    constraint_files: tuple[str, ...] = ()
    install: tuple[tuple[NormalizedName, str], ...] = ()  # what the plan installs
    changes: tuple[Change, ...] = ()  # against what is installed (with the ledger)
    clashes: tuple[Clash, ...] = ()
    alone: tuple[tuple[str, tuple[Clash, ...]], ...] = ()  # sources that fail even on their own
    warnings: tuple[str, ...] = ()
    pip_summary: str = ""
    ledger_path: str = ""
    has_ledger: bool = False
    unexplained: str = ""  # pip found no plan but gave no reason we could read
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.clashes or self.alone or self.unexplained)

    def findings(self) -> list[Problem]:
        found = []
        for label, clashes in self.alone:
            for clash in clashes:
                found.append(Problem("unsatisfiable", f"{label} alone: {clash.name}",
                                     f"{label} cannot be installed even on its own ({clash.name}): "
                                     f"{clash.sides_text()}.", clash.name))
            if not clashes:
                found.append(Problem("unsatisfiable", f"{label} alone",
                                     f"{label} cannot be installed even on its own."))
        for clash in self.clashes:
            kind = "breaks-earlier" if clash.earlier else "conflict"
            found.append(Problem(kind, clash.subject, clash.describe(), clash.name))
        if self.unexplained:
            found.append(Problem("conflict", "no plan", self.unexplained))
        return found

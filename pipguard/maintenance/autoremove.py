"""What no root needs any more (pure): ``pipguard autoremove``'s plan.

A distribution is needed when a root reaches it: the roots' requirements
followed transitively, markers evaluated for the target interpreter, and
extras expanded where a root or a needed distribution asks for them. Kept
whatever reaches them: pip's own tooling (``model.TOOLING``), pipguard and
what it needs when it is installed in the environment, and everything
seen from outside the environment (never removed; under the ``protect``
outside policy, what outside distributions need is kept too). The rest of
the environment's own distributions is unneeded, each with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipguard.core.constraints import active_requirements
from pipguard.core.model import TOOLING, Distribution, MarkerEnvironment, OutsidePolicy, Root
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.maintenance.upgrade import closure

PIPGUARD = canonicalize_name("pipguard")


@dataclass(frozen=True)
class Unneeded:
    """One distribution autoremove would remove, and why nothing needs it."""

    name: NormalizedName
    display_name: str
    version: str
    reason: str


@dataclass(frozen=True)
class AutoremovePlan:
    remove: tuple[Unneeded, ...]
    kept_tooling: tuple[NormalizedName, ...]  # unneeded by roots, kept as tooling or pipguard's own

    @property
    def names(self) -> tuple[NormalizedName, ...]:
        return tuple(item.name for item in self.remove)


def needed(
    own: Mapping[NormalizedName, Distribution],
    roots: Mapping[NormalizedName, Root],
    markers: MarkerEnvironment,
    outside: Mapping[NormalizedName, Distribution] | None = None,
) -> set[NormalizedName]:
    """What the roots reach (and, given *outside*, what those distributions reach)."""
    visible = {**(outside or {}), **own}
    start = [(name, root.extras) for name, root in roots.items()]
    start += [(name, ()) for name in (outside or {})]
    return set(closure(start, visible, markers))


def kept_for_tooling(own: Mapping[NormalizedName, Distribution], markers: MarkerEnvironment) -> set[NormalizedName]:
    """pip's tooling, and pipguard with what it needs where it is installed here."""
    start = [(name, ()) for name in own if name in TOOLING or name == PIPGUARD]
    return set(closure(start, own, markers))


def _requirers(own: Mapping[NormalizedName, Distribution], outside: Mapping[NormalizedName, Distribution],
               markers: MarkerEnvironment, name: NormalizedName) -> list[Distribution]:
    found = []
    for dist in (*own.values(), *outside.values()):
        if any(canonicalize_name(req.name) == name for req in active_requirements(dist, markers)):
            found.append(dist)
    return sorted(found, key=lambda d: d.name)


def _reason(name: NormalizedName, requirers: list[Distribution]) -> str:
    if not requirers:
        return "not a root, and nothing installed requires it"
    inside = [d for d in requirers if not d.outside]
    beyond = [d for d in requirers if d.outside]
    parts = []
    if inside:
        parts.append("required only by " + ", ".join(d.label for d in inside) + " (unneeded too)")
    if beyond:
        parts.append("required by " + ", ".join(d.label for d in beyond)
                     + " outside the environment (not protected here: pipguard outside protect)")
    return "not a root; " + "; ".join(parts)


def plan_autoremove(
    own: Mapping[NormalizedName, Distribution],
    outside: Mapping[NormalizedName, Distribution],
    roots: Mapping[NormalizedName, Root],
    markers: MarkerEnvironment,
    policy: OutsidePolicy = "ignore",
) -> AutoremovePlan:
    """The environment's own distributions no root needs, with why each is unneeded."""
    reached = needed(own, roots, markers, outside if policy == "protect" else None)
    tooling = kept_for_tooling(own, markers)
    remove = []
    for name, dist in sorted(own.items()):
        if name in reached or name in tooling:
            continue
        remove.append(Unneeded(name, dist.display_name or name, dist.version,
                               _reason(name, _requirers(own, outside, markers, name))))
    kept = tuple(sorted(name for name in tooling if name not in reached))
    return AutoremovePlan(tuple(remove), kept)

"""The unit tests' shared builders and fake engine: one definition each.

``dist``, ``root`` and ``planned`` build the core's values with the user's
spelling as display name and the canonical name as key; ``FakeEngine``
answers the core's runs from a function, as pip-tools' ``FakeRepository``
answers its resolver. Only the pure core's tests use the fake: the real
engines are tested over recorded output (tests/unit) and end
to end on real pip and uv (tests/integration).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import pytest
from packaging.utils import NormalizedName
from packaging.utils import canonicalize_name as cn

from pipguard.core.model import Distribution, PlannedInstall, Root
from pipguard.engines.base import Approval, Approver, Failure, Invocation, Resolution

Named = TypeVar("Named", Distribution, Root, PlannedInstall)


def dist(name: str, version: str, *requires: str, outside: bool = False, editable: str | None = None,
         url: str | None = None) -> Distribution:
    """An installed distribution *name* *version* needing *requires*."""
    return Distribution(cn(name), version, tuple(requires), display_name=name, editable=editable, url=url,
                        outside=outside)


def root(name: str, specifier: str = "", *, extras: Iterable[str] = (), added_by: int = 2, **kw: object) -> Root:
    """A root the user asked for (by transaction 2 unless *added_by* says otherwise)."""
    return Root(cn(name), name, specifier, tuple(extras), added_by=added_by, **kw)  # type: ignore[arg-type]


def planned(name: str, version: str, *requires: str, requested: bool = False,
            editable: str | None = None, extras: tuple[str, ...] = ()) -> PlannedInstall:
    """One item of an engine's plan."""
    return PlannedInstall(cn(name), name, version, tuple(requires), requested, extras, editable)


def by_name(*items: Named) -> dict[NormalizedName, Named]:
    """Values keyed by their canonical name, as the core takes them."""
    return {item.name: item for item in items}


def ok(*plan: PlannedInstall, **kw: object) -> Resolution:
    """An engine's answer with a plan."""
    return Resolution(tuple(plan), **kw)  # type: ignore[arg-type]


def fails(kind: str, **kw: object) -> Resolution:
    """An engine's answer without a plan, with pip-like words for the log."""
    return Resolution(failure=Failure(kind, 1, **kw), output=f"pip says: {kind}\n",  # type: ignore[arg-type]
                      held=f"ERROR: pip says {kind}\n")


@dataclass
class FakeEngine:
    """Answers runs from *answer*; records them; applies the core's approval like a real engine."""

    answer: Callable[[Invocation], Resolution]
    calls: list[tuple[str, Invocation]] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    name: str = "fake"

    def resolve(self, invocation: Invocation) -> Resolution:
        self.calls.append(("resolve", invocation))
        return self.answer(invocation)

    def install(self, invocation: Invocation, approve: Approver) -> Resolution:
        self.calls.append(("install", invocation))
        found = self.answer(invocation)
        if not found.ok:
            return found
        approval = approve(found)
        self.approvals.append(approval)
        if not approval.proceed:
            return Resolution(found.plan, Failure("stopped", 0, approval.reason), found.output)
        return found

    def supports_build_constraints(self) -> bool:
        return True

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.calls]


class Recorder:
    """The core's ``begin`` callback: remembers the roots each begun transaction would record."""

    def __init__(self) -> None:
        self.begun: list[Mapping[NormalizedName, Root]] = []

    def __call__(self, roots: Mapping[NormalizedName, Root]) -> None:
        self.begun.append(roots)


def count_requirement_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every requirement text the core parses from now on (``constraints._requirement``), in order."""
    from pipguard.core import constraints

    parsed: list[str] = []
    real = constraints._requirement

    def counted(text: str):  # type: ignore[no-untyped-def]
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(constraints, "_requirement", counted)
    return parsed


def count_file_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every requirements or constraints file read as pip reads it from now on
    (``request.read_requirements_file``), in this process, in order."""
    from pipguard.pip import request

    found: list[str] = []
    real = request.read_requirements_file

    def counted(path: str, **kwargs: object) -> request.FileContent:
        found.append(path)
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(request, "read_requirements_file", counted)
    return found

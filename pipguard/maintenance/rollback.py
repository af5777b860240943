"""Turning the environment back into a recorded point (pure): ``pipguard rollback N``'s plan.

The point after transaction N (``transactions.rewind``) holds every
distribution's version and every root as it was. The plan says how to get
there from what is installed now:

* a distribution at another version, or missing, is installed at its
  recorded version by name (``name==version``, without dependencies: the
  point is complete);
* an editable root is installed again as editable from its recorded path
  (``-e PATH[extras]``) when it is not installed that way now; a path that
  no longer exists is named, and the rollback does not start;
* a root installed from a URL is installed from that URL again (when its
  recorded URL still has its credentials: a redacted one is pinned by
  version instead);
* a distribution the point did not have is uninstalled, except pip and
  pipguard themselves (what runs the rollback).

Roots (specifiers, extras, editables, URLs) become the point's: they are
recorded with the rollback's transaction.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from pipguard.core.model import Distribution, Root
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.core.transactions import changes_between
from pipguard.engines.base import Engine, Invocation
from pipguard.pip.request import InstallRequest

# How many dry runs are spent naming every version that can no longer be had.
LOOKUPS = 10

# What runs the rollback itself: never uninstalled by it.
KEPT = frozenset({canonicalize_name("pip"), canonicalize_name("pipguard")})


@dataclass(frozen=True)
class Reinstall:
    """An editable or URL root to install again as it was recorded."""

    name: NormalizedName
    display_name: str
    version: str | None  # recorded after transaction N
    argument: tuple[str, ...]  # pip's arguments for it: ("-e", "PATH[x]") or ("name @ URL",)


@dataclass(frozen=True)
class RollbackPlan:
    pins: tuple[str, ...]  # name==version, installed by name with --no-deps
    reinstall: tuple[Reinstall, ...]
    remove: tuple[NormalizedName, ...]
    kept: tuple[NormalizedName, ...]  # not removed: pip and pipguard run the rollback
    missing_paths: tuple[tuple[NormalizedName, str], ...]  # editable roots whose path is gone

    @property
    def empty(self) -> bool:
        return not (self.pins or self.reinstall or self.remove)

    def install_arguments(self) -> list[str]:
        arguments = list(self.pins)
        for item in self.reinstall:
            arguments += item.argument
        return arguments


def pin(name: str, version: str) -> str:
    try:
        Version(version)
    except InvalidVersion:
        return f"{name}==={version}"
    return f"{name}=={version}"


def local_path(url: str) -> str | None:
    """The directory of a ``file://`` URL (None for any other URL)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "file":
        return None
    return urllib.parse.unquote(parts.path)  # url2pathname on POSIX, without urllib.request's imports


def _extras(root: Root) -> str:
    return f"[{','.join(root.extras)}]" if root.extras else ""


def _editable_argument(root: Root) -> tuple[str, str | None]:
    """pip's ``-e`` value for an editable root, and its local path (None: a VCS URL)."""
    assert root.editable is not None
    path = local_path(root.editable)
    if path is not None:
        return path + _extras(root), path
    return root.editable, None


def _installed_as(root: Root, dist: Distribution | None, version: str | None) -> bool:
    """Is the root installed now as the point recorded it?"""
    if dist is None or dist.version != version:
        return False
    if root.editable:
        return dist.editable == root.editable
    return dist.url == root.url


def plan_rollback(
    own: Mapping[NormalizedName, Distribution],
    wanted: Mapping[NormalizedName, str],
    wanted_roots: Mapping[NormalizedName, Root],
    path_exists: Callable[[str], bool],
) -> RollbackPlan:
    """The steps from the environment's own distributions *own* to the point (*wanted*, *wanted_roots*)."""
    current = {name: dist.version for name, dist in own.items()}
    pins: list[str] = []
    reinstall: list[Reinstall] = []
    remove: list[NormalizedName] = []
    kept: list[NormalizedName] = []
    missing: list[tuple[NormalizedName, str]] = []
    special: set[NormalizedName] = set()
    for name, root in sorted(wanted_roots.items()):
        if not (root.editable or root.url) or name not in wanted:
            continue
        special.add(name)
        if _installed_as(root, own.get(name), wanted.get(name)):
            continue
        if root.editable:
            argument, path = _editable_argument(root)
            if path is not None and not path_exists(path):
                missing.append((name, path))
                continue
            reinstall.append(Reinstall(name, root.display_name, wanted.get(name), ("-e", argument)))
        elif root.url and "****" not in root.url:
            reinstall.append(Reinstall(name, root.display_name, wanted.get(name),
                                       (f"{root.display_name}{_extras(root)} @ {root.url}",)))
        else:
            special.discard(name)  # a redacted URL: by version, like any other
    for change in changes_between(current, wanted):
        if change.name in special:
            continue
        if change.after is None:
            (kept if change.name in KEPT else remove).append(change.name)
        else:
            pins.append(pin(change.name, change.after))
    return RollbackPlan(tuple(pins), tuple(reinstall), tuple(remove), tuple(kept), tuple(missing))


def pins_missing(pins: tuple[str, ...], engine_words: str) -> list[str]:
    """The pins an engine's failure names (pip and uv both quote the requirement as given)."""
    return [item for item in pins
            if re.search(rf"(?<![\w.-]){re.escape(item)}(?![\w.+-])", engine_words, re.IGNORECASE)]


class LookupFailed(Exception):
    """The engine could not check the pins, for a reason other than a missing version."""

    def __init__(self, detail: str, returncode: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.returncode = returncode


def unavailable(engine: Engine, pins: Sequence[str], request_for: Callable[[Sequence[str]], InstallRequest]
                ) -> list[str]:
    """The pins no index, find-links directory or cache can provide any more.

    A dry run of all of them; when the engine names one it cannot find, again
    without it, until the rest resolves (at most ``LOOKUPS`` runs), so that
    every missing version is named at once.
    """
    left = list(pins)
    missing: list[str] = []
    for _ in range(LOOKUPS):
        if not left:
            break
        found = engine.resolve(Invocation(request_for(left), show_output=False))
        if found.ok:
            break
        assert found.failure is not None
        named = pins_missing(tuple(left), found.output + found.held + found.failure.summary)
        if found.failure.kind not in ("no-match", "not-found", "impossible") or not named:
            detail = found.failure.summary or f"{engine.name} exited with {found.failure.returncode}"
            raise LookupFailed(detail, found.failure.returncode or 1)
        missing += named
        left = [item for item in left if item not in named]
    return missing

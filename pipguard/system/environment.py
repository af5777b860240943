"""Probe of the target interpreter's installed state (an I/O edge).

``probe.py`` runs inside the target and says, for every distribution,
whether it is the environment's own or seen only from outside (see
"What an environment is" in the design). Its answer is cached next to the
ledger: the probe sends a signature of everything the installed set
depends on, and an unchanged environment is answered from the cache. The
cache is pipguard's file, written and read here, never by the target:
created with O_EXCL under a random name and renamed into place, read
without following a symlink, and only when this user owns it and nobody
else could have written it.

Starting the target interpreter only to hear "unchanged" costs a whole
interpreter start-up on every command, so pipguard first checks the
signature itself (``_probe.signature_of`` over the cached sys.path: the
installed set, keyed on every distribution's metadata stat, never on
mtimes alone) together with what else decides the interpreter's sys.path
(``interpreter_inputs``: the interpreter binary and standard library,
pyvenv.cfg, the user site directory, the ``PYTHON*`` variables and HOME,
the kernel). Only when all of them are as they were is the cache used
without running the probe; an interpreter whose start-up runs code no
stat can vouch for (sitecustomize, usercustomize, a distribution finder
of its own) is always asked.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from pipguard.core.constraints import (
    Need,
    known_export_markers,
    known_needs,
    known_readable,
    remember_export_markers,
    remember_needs,
    remember_readable,
)
from pipguard.core.model import EMPTY, Distribution
from pipguard.core.names import NormalizedName, canonicalize_name
from pipguard.errors import EnvironmentUnusable
from pipguard.system import probe as _probe
from pipguard.system.files import write_atomically
from pipguard.system.interpreter import run_in_target

_PROBE_SOURCE = (Path(__file__).parent / "probe.py").read_text()

# A cache larger than this is not a cache pipguard wrote.
_CACHE_LIMIT = 64 * 1024 * 1024


class EnvironmentState(NamedTuple):
    """What is installed in the target, and the target's marker environment.

    Views: ``distributions`` is everything visible, as imports see it (the
    first of each name on sys.path, its ``outside`` flag set); ``own`` the
    environment's own distributions (in its own site-packages), including
    one that something outside hides; ``outside`` the visible ones from
    outside; ``shadowed`` the versions of outside distributions hidden
    behind an own one of the same name.
    """

    executable: str
    python_version: str
    prefix: str
    base_prefix: str
    markers: dict[str, str]
    distributions: dict[NormalizedName, Distribution]
    # name -> version of an outside distribution an own one hides.
    shadowed: Mapping[NormalizedName, str] = EMPTY
    # Own distributions hidden behind an outside one (e.g. on PYTHONPATH).
    hidden: Mapping[NormalizedName, Distribution] = EMPTY
    # The environment's own site-packages directories.
    own_paths: tuple[str, ...] = ()
    # name -> the sys.path directory the visible distribution lives in.
    locations: Mapping[NormalizedName, str] = EMPTY
    # The probe's signature of what it read ("" when unknown): the key of the caches.
    signature: str = ""

    @property
    def visible(self) -> dict[NormalizedName, Distribution]:
        return self.distributions

    @property
    def own(self) -> dict[NormalizedName, Distribution]:
        found = {name: dist for name, dist in self.distributions.items() if not dist.outside}
        found.update(self.hidden)
        return dict(sorted(found.items()))

    @property
    def outside(self) -> dict[NormalizedName, Distribution]:
        return {name: dist for name, dist in self.distributions.items() if dist.outside}

    @property
    def versions(self) -> dict[NormalizedName, str]:
        """Every visible distribution's version."""
        return {name: dist.version for name, dist in self.distributions.items()}

    @property
    def own_versions(self) -> dict[NormalizedName, str]:
        return {name: dist.version for name, dist in self.own.items()}

    @property
    def pip_version(self) -> str | None:
        pip = self.distributions.get(canonicalize_name("pip"))
        return pip.version if pip else None


# -- reading the probe's answer ---------------------------------------------------


def _distribution(item: Mapping[str, Any]) -> Distribution:
    return Distribution(
        name=canonicalize_name(item["name"]),
        # A broken METADATA header may hide the Version (it is None then): no version, not None.
        version=str(item.get("version") or ""),
        requires=tuple(item.get("requires") or ()),
        display_name=item["name"],
        editable=item.get("editable"),
        url=item.get("url"),
        outside=bool(item.get("outside", False)),
    )


def state_from_dict(data: Mapping[str, Any]) -> EnvironmentState:
    dists: dict[NormalizedName, Distribution] = {}
    locations: dict[NormalizedName, str] = {}
    for item in data["distributions"]:
        dist = _distribution(item)
        dists[dist.name] = dist
        if item.get("location"):
            locations[dist.name] = str(item["location"])
    hidden = {dist.name: dist for dist in map(_distribution, data.get("hidden") or ())}
    return EnvironmentState(
        executable=data["executable"],
        python_version=data["python_version"],
        prefix=data["prefix"],
        base_prefix=data["base_prefix"],
        markers=dict(data["markers"]),
        distributions=dists,
        shadowed={canonicalize_name(name): str(version) for name, version in (data.get("shadowed") or {}).items()},
        hidden=hidden,
        own_paths=tuple(data.get("own_paths") or ()),
        locations=locations,
        signature=str(data.get("signature") or ""),
    )


# -- the cache --------------------------------------------------------------------


def read_cache(path: Path) -> dict[str, Any] | None:
    """The cached probe answer, or None when there is none pipguard can trust.

    Never follows a symlink (O_NOFOLLOW), never blocks on a FIFO planted in
    its place, and only takes a regular file this user owns that nobody
    else can write.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o022 or info.st_size > _CACHE_LIMIT:
            return None
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = json.loads(handle.read(_CACHE_LIMIT + 1))
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)
    if not isinstance(data, dict) or not isinstance(data.get("signature"), str):
        return None
    return data


def _directory_is_safe(info: os.stat_result) -> bool:
    """A directory nobody else can replace entries in (a sticky one only lets them add)."""
    if not stat.S_ISDIR(info.st_mode):
        return False
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX:
        return False
    return not hasattr(os, "geteuid") or info.st_uid in (os.geteuid(), 0)


def write_cache(path: Path, text: str) -> bool:
    """Store the probe's answer at *path*, safely; False when it could not be.

    The file is created under a random name with O_CREAT|O_EXCL|O_NOFOLLOW,
    mode 0600, in the directory opened once (every later step is relative to
    that descriptor, so the path cannot be switched underneath), then renamed
    over *path*: a symlink planted there is replaced, never followed. A
    cache is only a cache: any failure leaves things as they were.
    """
    try:
        write_atomically(path, text.encode("utf-8"), 0o600, prefix=f".{path.name}.", sync=False,
                         directory_check=_directory_is_safe)
    except OSError:
        return False
    return True


# -- the needs, kept beside the probe's cache -----------------------------------------


def needs_cache_path(cache: Path) -> Path:
    return cache.with_name(cache.name + "-needs")


# How much of what commands derive a needs cache held when this process read or wrote it (by
# path): a command that derived more (export's markers) keeps it (``derived_more``).
_HELD: dict[Path, int] = {}


def _derived(state: EnvironmentState) -> int:
    dists = [*state.distributions.values(), *state.hidden.values()]
    return len(known_export_markers(dists, state.markers)) + len(known_readable(dists, state.markers))


def derived_more(path: Path, state: EnvironmentState) -> bool:
    """Has this process derived more for *state* than the needs cache at *path* holds?"""
    return bool(state.signature) and _derived(state) > _HELD.get(path, -1)


def read_needs_cache(path: Path, state: EnvironmentState) -> bool:
    """Take the needs derived in an earlier run for this very state (same probe signature,
    same markers) as derived; False when there are none to take."""
    data = read_cache(path)
    if not state.signature or data is None or data["signature"] != state.signature:
        return False
    if data.get("markers") != state.markers:
        return False
    dists = {**state.distributions, **state.hidden}
    known = []
    try:
        for name, version, extras, needs in data["needs"]:
            dist = dists.get(name)
            if dist is None or dist.version != version:
                return False  # not this state after all: derive again
            known.append((dist, tuple(extras), tuple(
                Need(canonicalize_name(n), spec, dist.label, "dependency", dist.name, tuple(e)) for n, spec, e in needs
            )))
        readable = [dists[name] for name, version in data.get("readable", [])
                    if name in dists and dists[name].version == version]
        exported = [(dists[name], tuple(extras), tuple((canonicalize_name(n), m) for n, m in found))
                    for name, version, extras, found in data.get("export", [])
                    if name in dists and dists[name].version == version
                    and all(isinstance(n, str) and (m is None or isinstance(m, str)) for n, m in found)]
    except (KeyError, TypeError, ValueError):
        return False
    remember_needs(known, state.markers)
    remember_readable(readable, state.markers)
    remember_export_markers(exported, state.markers)
    _HELD[path] = _derived(state)
    return True


def write_needs_cache(path: Path, state: EnvironmentState) -> bool:
    """Keep what is derived for *state* beside its probe cache (only a cache: failures are silent)."""
    if not state.signature:
        return False
    known = known_needs([*state.distributions.values(), *state.hidden.values()], state.markers)
    data = {
        "signature": state.signature,
        "markers": state.markers,
        "needs": [[dist.name, dist.version, list(extras), [[n.name, n.specifier, list(n.extras)] for n in needs]]
                  for dist, extras, needs in known],
        # distributions whose every requirement is readable here ('check' reports the others)
        "readable": [[dist.name, dist.version] for dist in known_readable(
            [*state.distributions.values(), *state.hidden.values()], state.markers)],
        # what 'export' takes from each distribution's requirements (their markers, simplified)
        "export": [[dist.name, dist.version, list(extras), [list(pair) for pair in found]]
                   for dist, extras, found in known_export_markers(
                       [*state.distributions.values(), *state.hidden.values()], state.markers)],
    }
    written = write_cache(path, json.dumps(data, separators=(",", ":")))
    if written:
        _HELD[path] = _derived(state)
    return written


# -- running it -------------------------------------------------------------------


def _run_probe(python: str, signature: str) -> dict[str, Any]:
    # No -I: the probe must see what pip in that interpreter sees (user
    # site, PYTHONPATH), to tell them apart from the environment's own.
    result = run_in_target([python, "-", signature], stdin_text=_PROBE_SOURCE)
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise EnvironmentUnusable(
            f"cannot read the environment of {python}: the interpreter failed "
            f"({detail[0]}). Check that it is a working Python 3.9 or newer."
        )
    try:
        data = json.loads(result.stdout)
    except ValueError as exc:
        raise EnvironmentUnusable(
            f"cannot read the environment of {python}: unexpected probe output ({exc})."
        ) from None
    if not isinstance(data, dict):
        raise EnvironmentUnusable(f"cannot read the environment of {python}: unexpected probe output.")
    return data


def _describes(cached: Mapping[str, Any], answer: Mapping[str, Any]) -> bool:
    """The cache is of this interpreter as it is now: same signature, same description."""
    return all(cached.get(key) == value for key, value in answer.items() if key != "unchanged")


def _file_stat(path: str) -> list[int]:
    try:
        info = os.stat(path)
    except OSError:
        return []
    return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


def interpreter_inputs(python: str, described: Mapping[str, Any]) -> str | None:
    """A digest of what decides the target's sys.path besides the files its signature
    covers; None when only running the interpreter can tell (then the probe always runs).

    *described* is the probe's description of the interpreter (a cached answer).
    """
    if described.get("customized") is not False:
        return None  # start-up code of its own, or a description from before this check
    executable = str(described.get("executable") or "")
    # The path itself, not where it leads: every venv's bin/python leads to the same
    # binary (a copied or moved venv carries its ledger's cache along), and a wrapper
    # (a pyenv shim, a script) may pick another interpreter each time.
    if not executable or os.path.abspath(python) != executable:
        return None
    real = os.path.realpath(python)
    files = [real, os.path.join(str(described.get("prefix") or ""), "pyvenv.cfg"),
             *(str(item) for item in described.get("stdlib") or ())]
    if described.get("user_site"):
        files.append(str(described["user_site"]))  # added to sys.path once it exists
    variables = sorted((key, value) for key, value in os.environ.items() if key.startswith("PYTHON") or key == "HOME")
    # relative PYTHONPATH entries are taken from the current directory
    here = os.getcwd() if os.environ.get("PYTHONPATH") else ""
    system = os.uname() if hasattr(os, "uname") else None
    kernel = [system.release, system.version] if system is not None else []
    return _probe.digest([[[path, *_file_stat(path)] for path in files], variables, here, kernel])


def _still_current(python: str, cached: Mapping[str, Any]) -> bool:
    """Would the probe answer "unchanged"? Checked here, without starting the interpreter."""
    recorded = cached.get("inputs")
    if not isinstance(recorded, str) or interpreter_inputs(python, cached) != recorded:
        return False
    try:
        header = {key: cached[key] for key in _probe.HEADER_KEYS}
        return bool(_probe.signature_of(header) == cached["signature"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return False


def _with_inputs(python: str, data: dict[str, Any]) -> dict[str, Any]:
    """The probe's answer, with the inputs pipguard checks itself next time: recorded only when
    the signature, computed here now, is still the one the probe computed (nothing changed since)."""
    inputs = interpreter_inputs(python, data)
    try:
        current = inputs is not None and _probe.signature_of(
            {key: data[key] for key in _probe.HEADER_KEYS}) == data.get("signature")
    except (KeyError, TypeError, ValueError, AttributeError):
        current = False
    return {**data, "inputs": inputs} if current else data


def probe_environment(python: str, cache: Path | None = None) -> EnvironmentState:
    """Run the probe in *python* and read its answer (from *cache* when nothing changed)."""
    cached = read_cache(cache) if cache is not None else None
    if cached is not None and _still_current(python, cached):
        try:
            return state_from_dict(cached)
        except (ValueError, KeyError, TypeError, AttributeError):
            pass  # a cache of another shape: ask the interpreter
    data = _run_probe(python, cached["signature"] if cached else "")
    if data.get("unchanged"):
        try:
            if cached is not None and _describes(cached, data):
                state = state_from_dict(cached)
                refreshed = _with_inputs(python, cached)
                if cache is not None and refreshed.get("inputs") != cached.get("inputs"):
                    write_cache(cache, json.dumps(refreshed))  # checked here next time
                return state
        except (ValueError, KeyError, TypeError, AttributeError):
            pass  # a cache of another shape: read the environment itself
        data = _run_probe(python, "")
    try:
        state = state_from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EnvironmentUnusable(
            f"cannot read the environment of {python}: unexpected probe output ({exc})."
        ) from None
    if cache is not None:
        write_cache(cache, json.dumps(_with_inputs(python, data)))
    return state

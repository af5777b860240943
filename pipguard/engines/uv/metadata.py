"""The metadata of what uv plans to install: name, version, ``Requires-Dist``.

uv's JSON plan names each distribution, and nothing more; the decision core
also needs each one's requirements. They are read, without a second
resolution, from the first of:

* the wheel file uv chose, when it lies in a local ``--find-links``
  directory (uv's ``-v`` log names the file): its ``METADATA``;
* a local project directory (a path or an editable) whose ``pyproject.toml``
  declares its name, version and dependencies statically (uv reads the same
  table rather than building);
* otherwise, when the decision needs them (a refused plan's explanation,
  ``--no-deps``, a dry run, a direct reference's version), uv itself: the
  planned distributions, exactly pinned and without dependencies, listed in
  a requirements file, are installed into a scratch ``--target`` directory
  and their ``*.dist-info/METADATA`` read (once per call each). uv fetches
  (and builds) the same files the install needs and keeps them in its
  cache, so the runs that follow reuse them.

Reading files only; the engine runs uv.
"""

from __future__ import annotations

import importlib
import os
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from pipguard.core.names import NormalizedName, canonicalize_name


@dataclass(frozen=True)
class Metadata:
    name: str  # as the project spells it
    version: str
    requires: tuple[str, ...] = ()

    @property
    def key(self) -> NormalizedName:
        return canonicalize_name(self.name)


def file_url_path(url: str) -> str:
    """The local path of a ``file:`` URL (urllib.request's ``url2pathname`` on POSIX, without
    importing urllib.request and http.client, ~20 ms, on every uv install)."""
    path = urllib.parse.urlsplit(url).path
    if os.name != "posix":  # pragma: no cover - drive letters and backslashes
        from urllib.request import url2pathname

        return url2pathname(path)
    return urllib.parse.unquote(path)


def parse_metadata(text: str) -> Metadata | None:
    """A METADATA (or PKG-INFO) file's name, version and Requires-Dist.

    Its header is read as ``email.parser`` reads it (a folded line goes on
    the field before it; the body after the first empty line is not read),
    without importing the email package on the install's path.
    """
    fields: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            break
        if line[:1] in (" ", "\t") and fields:
            key, value = fields[-1]
            fields[-1] = (key, f"{value} {line.strip()}")
            continue
        key, sep, value = line.partition(":")
        if sep:
            fields.append((key.strip().lower(), value.strip()))
    first = {key: value for key, value in reversed(fields)}
    name, version = first.get("name"), first.get("version")
    if not name or not version:
        return None
    return Metadata(name, version, tuple(value for key, value in fields if key == "requires-dist"))


def from_wheel(path: Path) -> Metadata | None:
    """The METADATA of a wheel file (None when it is not a readable wheel)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as wheel:
            names = [n for n in wheel.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            if len(names) != 1:
                return None
            return parse_metadata(wheel.read(names[0]).decode("utf-8", errors="replace"))
    except (OSError, zipfile.BadZipFile, KeyError):
        return None


def local_directory(location: str) -> Path | None:
    """A find-links entry or a URL as a local directory, when it is one."""
    if location.startswith("file:"):
        location = file_url_path(location)
    elif "://" in location:
        return None
    path = Path(location)
    return path if path.is_dir() else None


def find_wheel(filename: str, find_links: Iterable[str]) -> Path | None:
    """The wheel *filename* in one of the local find-links directories."""
    if not filename.endswith(".whl") or os.sep in filename:
        return None
    for link in find_links:
        directory = local_directory(link)
        if directory is not None and (directory / filename).is_file():
            return directory / filename
    return None


def _toml(path: Path) -> Mapping[str, Any] | None:
    try:
        tomllib = importlib.import_module("tomllib")
    except ImportError:
        return None  # Python < 3.11: uv is asked instead
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _with_extra(requirement: str, extra: str) -> str | None:
    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        return None
    marker = f'extra == "{extra}"'
    if parsed.marker is not None:
        marker = f"({parsed.marker}) and {marker}"
    parsed.marker = None
    return f"{parsed}; {marker}"


def from_pyproject(directory: Path) -> Metadata | None:
    """A project's metadata from its static ``[project]`` table (None when anything is dynamic)."""
    data = _toml(directory / "pyproject.toml")
    project = data.get("project") if data else None
    if not isinstance(project, dict):
        return None
    dynamic = project.get("dynamic") or []
    name, version = project.get("name"), project.get("version")
    if (not isinstance(name, str) or not isinstance(version, str)
            or {"version", "dependencies", "optional-dependencies"} & set(dynamic)):
        return None
    requires = [str(r) for r in project.get("dependencies") or []]
    optional = project.get("optional-dependencies") or {}
    if not isinstance(optional, dict):
        return None
    for extra, items in optional.items():
        for item in items or []:
            merged = _with_extra(str(item), str(extra))
            if merged is None:
                return None
            requires.append(merged)
    return Metadata(name, version, tuple(requires))


def from_url(url: str) -> Metadata | None:
    """A direct reference's metadata, when it is a local wheel or a static local project."""
    location = url.split("#", 1)[0]
    if not location.startswith("file:"):
        return None
    path = Path(file_url_path(location))
    if path.is_dir():
        return from_pyproject(path)
    if path.suffix == ".whl" and path.is_file():
        return from_wheel(path)
    return None


def from_target(directory: Path) -> dict[NormalizedName, Metadata]:
    """Every ``*.dist-info/METADATA`` in a ``--target`` directory, by name."""
    found: dict[NormalizedName, Metadata] = {}
    for info in sorted(directory.glob("*.dist-info")):
        try:
            text = (info / "METADATA").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        metadata = parse_metadata(text)
        if metadata is not None:
            found[metadata.key] = metadata
    return found

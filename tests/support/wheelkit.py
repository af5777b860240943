"""Build tiny, real wheels without a network or a build backend.

Used by the test suite, the demo and the benchmark: each wheel holds one
importable module and a METADATA file with the requirements we ask for, so
pip resolves and installs it exactly as it would a wheel from an index.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.utils import canonicalize_name


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def module_name(name: str) -> str:
    """The importable module a wheel built here provides."""
    return canonicalize_name(name).replace("-", "_")


def metadata_text(
    name: str,
    version: str,
    requires: Iterable[str] = (),
    extras: Mapping[str, Iterable[str]] | None = None,
    requires_python: str | None = None,
) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines.extend(f"Requires-Dist: {req}" for req in requires)
    for extra, extra_requires in (extras or {}).items():
        lines.append(f"Provides-Extra: {extra}")
        for req in extra_requires:
            marker = f'extra == "{extra}"'
            joiner = " and " if ";" in req else "; "
            if ";" in req:
                req, existing = req.split(";", 1)
                lines.append(f"Requires-Dist: {req.strip()}; ({existing.strip()}) and {marker}")
            else:
                lines.append(f"Requires-Dist: {req}{joiner}{marker}")
    return "\n".join(lines) + "\n\n"


def build_wheel(
    directory: Path,
    name: str,
    version: str,
    requires: Iterable[str] = (),
    extras: Mapping[str, Iterable[str]] | None = None,
    requires_python: str | None = None,
) -> Path:
    """Write ``name-version-py3-none-any.whl`` into *directory* and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    module = module_name(name)
    dist_name = module
    dist_info = f"{dist_name}-{version}.dist-info"
    files: dict[str, bytes] = {
        f"{module}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{dist_info}/METADATA": metadata_text(
            name, version, requires, extras, requires_python
        ).encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: pipguard-wheelkit\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record_lines = [f"{path},{_record_hash(data)},{len(data)}" for path, data in files.items()]
    record_lines.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    target = directory / f"{dist_name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return target


def write_source_project(
    directory: Path,
    name: str,
    version: str,
    requires: Iterable[str] = (),
    extras: Mapping[str, Iterable[str]] | None = None,
) -> Path:
    """A minimal setuptools project (for editable and path installs)."""
    directory.mkdir(parents=True, exist_ok=True)
    module = module_name(name)
    (directory / module).mkdir(exist_ok=True)
    (directory / module / "__init__.py").write_text(f'__version__ = "{version}"\n')
    extras_toml = "".join(
        f"{extra} = {list(reqs)!r}\n".replace("'", '"') for extra, reqs in (extras or {}).items()
    )
    deps = ", ".join(f'"{req}"' for req in requires)
    (directory / "pyproject.toml").write_text(
        "[build-system]\n"
        'requires = ["setuptools>=64"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        "[project]\n"
        f'name = "{name}"\n'
        f'version = "{version}"\n'
        f"dependencies = [{deps}]\n\n"
        "[project.optional-dependencies]\n"
        f"{extras_toml}\n"
        "[tool.setuptools]\n"
        f'packages = ["{module}"]\n'
    )
    return directory

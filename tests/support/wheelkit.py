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


# A build backend kept inside the sdist itself (PEP 517 ``backend-path``): it needs nothing from
# an index, so an isolated build works offline, and it appends one line to a log file each time
# it builds a wheel, an editable wheel (PEP 660) or prepares metadata, so that a test can count
# the builds.
_BACKEND = '''\
import base64, hashlib, os, zipfile

NAME, VERSION, MODULE, DIST = {name!r}, {version!r}, {module!r}, {dist!r}
METADATA = {metadata!r}
LOG = {log!r}


def _log(what):
    if LOG:
        with open(LOG, "a") as handle:
            handle.write(what + " " + NAME + " " + VERSION + "\\n")


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def _info(directory):
    info = os.path.join(directory, DIST + "-" + VERSION + ".dist-info")
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "w") as handle:
        handle.write(METADATA)
    return os.path.basename(info)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _log("metadata")
    return _info(metadata_directory)


def _hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    _log("metadata")
    return _info(metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 660: a wheel whose .pth file puts this source directory on sys.path."""
    return _wheel(wheel_directory, "editable", {{"__editable__." + DIST + ".pth": (os.getcwd() + "\\n").encode()}})


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    module = ("__version__ = " + repr(VERSION) + "\\n").encode()
    return _wheel(wheel_directory, "wheel", {{MODULE + "/__init__.py": module}})


def _wheel(wheel_directory, kind, own):
    _log(kind)
    info = DIST + "-" + VERSION + ".dist-info"
    files = {{
        **own,
        info + "/METADATA": METADATA.encode(),
        info + "/WHEEL": (b"Wheel-Version: 1.0\\nGenerator: pipguard-wheelkit\\n"
                          b"Root-Is-Purelib: true\\nTag: py3-none-any\\n"),
    }}
    lines = [path + "," + _hash(data) + "," + str(len(data)) for path, data in files.items()]
    files[info + "/RECORD"] = ("\\n".join(lines + [info + "/RECORD,,"]) + "\\n").encode()
    name = DIST + "-" + VERSION + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return name
'''


def _backend_files(name: str, version: str, requires: Iterable[str], log: Path | None) -> dict[str, str]:
    module = module_name(name)
    metadata = metadata_text(name, version, requires)
    return {
        "PKG-INFO": metadata,
        "pyproject.toml": ('[build-system]\nrequires = []\nbuild-backend = "wheelkit_backend"\n'
                           'backend-path = ["."]\n'),
        "wheelkit_backend.py": _BACKEND.format(name=name, version=version, module=module, dist=module,
                                               metadata=metadata, log=str(log) if log else ""),
    }


def write_logging_project(
    directory: Path,
    name: str,
    version: str,
    requires: Iterable[str] = (),
    log: Path | None = None,
) -> Path:
    """A source project whose metadata is not static (uv and pip must ask its backend), built offline.

    Its build backend appends ``wheel NAME VERSION`` (``editable NAME VERSION``, ``metadata NAME
    VERSION``) to *log* each time it builds a wheel (an editable wheel, prepares metadata).
    """
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in _backend_files(name, version, requires, log).items():
        if path != "PKG-INFO":
            (directory / path).write_text(text)
    return directory


def build_sdist(
    directory: Path,
    name: str,
    version: str,
    requires: Iterable[str] = (),
    log: Path | None = None,
) -> Path:
    """Write ``name-version.tar.gz``, a source distribution that builds offline, into *directory*.

    Its build backend lives in the archive (``backend-path``, no build
    requirements), and appends ``wheel NAME VERSION`` (or ``metadata NAME
    VERSION``) to *log* each time a wheel is built from it (or its metadata
    prepared).
    """
    import io
    import tarfile

    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{module_name(name)}-{version}"
    target = directory / f"{stem}.tar.gz"
    with tarfile.open(target, "w:gz") as archive:
        for path, text in _backend_files(name, version, requires, log).items():
            data = text.encode()
            info = tarfile.TarInfo(f"{stem}/{path}")
            info.size = len(data)
            info.mtime = 1_700_000_000  # the same bytes every time it is written
            archive.addfile(info, io.BytesIO(data))
    return target

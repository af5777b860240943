"""devstack's real ``inc/python``, driven from bash: what the suite and the replay share.

* ``Devstack``: runs one devstack call (``pip_install_gr nova``,
  ``setup_develop /opt/stack/nova compute``, ``pip_uninstall x``...) in bash,
  with ``devstack_stubs.sh`` and devstack's unchanged ``inc/python`` sourced and
  devstack's globals in the environment: ``GLOBAL_VENV=True`` calls
  ``$DEVSTACK_VENV/bin/pip``, ``GLOBAL_VENV=False`` calls ``sudo -H ...
  python3.X -m pip`` (``sudo`` stubbed), ``pip_uninstall`` always the latter.
* ``write_edit_constraints``: a stand-in for openstack/requirements'
  ``edit-constraints FILE -- NAME`` (deletes NAME's lines in place, names
  compared after PEP 503 normalisation), where devstack looks for it.
* ``copy_interpreter``: a base interpreter the caller controls: the running
  Python's prefix, hard-linked (copied where links are impossible), with an
  empty site-packages of its own.
* ``pipguard_home``: pipguard installed outside the environment it guards, as
  docs/devstack.md tells an operator to: its own venv, pipguard installed
  there from a wheel of this checkout.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
STUBS = HERE / "devstack_stubs.sh"
PY_VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"
# devstack's inc/python, unchanged: a copy in the test data (see its README), so that a clean
# clone runs the devstack suite; the project's shared data beside the checkout is the fallback.
INC_PYTHON_CANDIDATES = [REPO / "tests" / "data" / "devstack" / "inc" / "python"] + [
    base / "shared" / "data" / "devstack" / "inc" / "python" for base in (REPO.parent, REPO.parent.parent)]


def inc_python() -> Path:
    for candidate in INC_PYTHON_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("devstack's inc/python not found in " + ", ".join(map(str, INC_PYTHON_CANDIDATES)))


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ without the machine's pip and pipguard settings (as the suite's scrubbed_env)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PIPGUARD_", "VIRTUAL_ENV")) and k != "PYTHONPATH"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"})
    env.update(extra or {})
    return env


# -- edit-constraints -----------------------------------------------------------------

EDIT_CONSTRAINTS = '''\
"""Stand-in for openstack/requirements' edit-constraints: edit-constraints FILE -- NAME.

Deletes NAME's lines from the constraints FILE in place (names compared after
PEP 503 normalisation), as devstack's setup_develop does before installing a
project from its git checkout.
"""
import sys

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

path, separator, name = sys.argv[1], sys.argv[2], sys.argv[3]
assert separator == "--", "usage: edit-constraints FILE -- NAME"
wanted = canonicalize_name(name)
kept = []
with open(path) as handle:
    for line in handle:
        text = line.split("#", 1)[0].strip()
        try:
            drop = bool(text) and canonicalize_name(Requirement(text).name) == wanted
        except InvalidRequirement:
            drop = False
        if not drop:
            kept.append(line)
with open(path, "w") as handle:
    handle.writelines(kept)
'''


def write_edit_constraints(requirements_dir: Path, python: str = sys.executable) -> Path:
    """``$REQUIREMENTS_DIR/.venv/bin/edit-constraints``, run by *python* (which has packaging)."""
    script = requirements_dir / ".venv" / "bin" / "edit-constraints"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(f"#!{python}\n{EDIT_CONSTRAINTS}")
    script.chmod(0o755)
    return script


# -- running devstack's functions --------------------------------------------------------


@dataclass(frozen=True)
class CallResult:
    call: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return f"$ {self.call}\n{self.stdout}{self.stderr}[exit {self.returncode}]\n"


@dataclass
class Devstack:
    """devstack's globals for one run; ``call`` runs one of inc/python's functions in bash."""

    dest: Path  # /opt/stack: the git checkouts
    requirements_dir: Path  # /opt/stack/requirements: upper-constraints.txt, global-requirements.txt
    venv: Path  # DEVSTACK_VENV
    global_venv: bool = True
    python_bin: Path | None = None  # put first on PATH (python3.X for GLOBAL_VENV=False)
    find_links: Iterable[Path] = ()
    offline_index: bool = True  # PIP_NO_INDEX=1 (the suite); the replay uses the real index
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        path = [str(self.venv / "bin")] if self.global_venv else []
        if self.python_bin is not None:
            path.insert(0, str(self.python_bin))
        env = clean_env({
            "DEST": str(self.dest),
            "REQUIREMENTS_DIR": str(self.requirements_dir),
            "DEVSTACK_VENV": str(self.venv),
            "GLOBAL_VENV": "True" if self.global_venv else "False",
            "PYTHON3_VERSION": PY_VERSION,
            "OFFLINE": "False",
            "PIP_UPGRADE": "False",
            "LIBS_FROM_GIT": "",
            "PIP_FIND_LINKS": " ".join(str(p) for p in self.find_links),
            "PATH": os.pathsep.join([*path, os.environ.get("PATH", "")]),
        })
        if self.offline_index:
            env["PIP_NO_INDEX"] = "1"
        env.update(self.extra_env)
        return env

    def call(self, snippet: str, timeout: float = 900) -> CallResult:
        """Run *snippet* (e.g. ``setup_develop $DEST/nova compute``) as stack.sh would."""
        # stack.sh runs with errexit: a call that fails stops it (devstack's functions return 0
        # from their last line otherwise, hiding a failed pip_install inside setup_develop).
        script = f"set -o errexit\nsource {_quote(STUBS)}\nsource {_quote(inc_python())}\n{snippet}\n"
        start = time.monotonic()
        result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=self.env(),
                                cwd=self.dest, check=False, timeout=timeout)
        return CallResult(snippet, result.returncode, result.stdout, result.stderr, time.monotonic() - start)


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "'\\''") + "'"


# -- a base interpreter the caller controls ------------------------------------------------

_SKIPPED = {"site-packages", "test", "idlelib", "tkinter", "turtledemo", "lib2to3"}


def copy_interpreter(destination: Path, source: Path | None = None) -> Path:
    """A copy of *source* (default: the running Python's base prefix), hard-linked where it can be,
    with an empty site-packages of its own. Returns its ``bin/python3.X``."""
    source = Path(source or sys.base_prefix)
    stdlib = source / "lib" / f"python{PY_VERSION}"
    for root, dirs, files in os.walk(source):
        here = Path(root)
        if here == source:
            dirs[:] = [d for d in dirs if d in ("bin", "lib")]
        elif here == source / "lib":
            dirs[:] = [d for d in dirs if d == stdlib.name]
            files = [f for f in files if f.startswith("libpython")]
        elif here == stdlib:
            dirs[:] = [d for d in dirs if d not in _SKIPPED]
        if here == source / "bin":
            files = [f for f in files if f.startswith("python")]
        out = destination / here.relative_to(source)
        out.mkdir(parents=True, exist_ok=True)
        for name in files:
            _link_or_copy(here / name, out / name)
    (destination / "lib" / stdlib.name / "site-packages").mkdir(exist_ok=True)
    return destination / "bin" / f"python{PY_VERSION}"


def _link_or_copy(source: Path, target: Path) -> None:
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def install_pip(python: Path) -> None:
    """pip (with its scripts) into a copied interpreter, from the wheel virtualenv ships."""
    wheel = embedded_wheel("pip")
    subprocess.run([str(python), f"{wheel}/pip", "install", "--quiet", "--no-index", "--no-compile",
                    "--root-user-action=ignore", str(wheel)], check=True, env=clean_env())


def embedded_wheel(project: str) -> Path:
    import virtualenv.seed.wheels.embed as embed

    return sorted(Path(embed.__file__).parent.glob(f"{project}-*.whl"))[-1]


def make_venv(path: Path, python: Path | str, system_site_packages: bool = False) -> Path:
    """A venv (virtualenv, as the suite makes them) with pip; returns its bin/python."""
    from virtualenv import cli_run

    args = [str(path), "-p", str(python), "--no-setuptools", "--no-wheel", "--no-periodic-update", "-q"]
    cli_run([*args, "--system-site-packages"] if system_site_packages else args)
    return path / "bin" / "python"


# -- pipguard outside the environment it guards --------------------------------------------


def wheel_of_installed(name: str, directory: Path) -> Path:
    """A wheel of a pure-Python distribution installed here (packaging, filelock): offline."""
    dist = metadata.distribution(name)
    installer_files = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
    files: dict[str, bytes] = {}
    info = ""
    for entry in dist.files or []:
        parts = Path(str(entry)).parts
        if parts[0] == ".." or "__pycache__" in parts:
            continue  # scripts outside site-packages; compiled files
        if parts[0].endswith(".dist-info"):
            info = parts[0]
            if parts[-1] in installer_files:
                continue
        files[str(entry)] = Path(str(entry.locate())).read_bytes()
    rows = [[path, "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode(),
             str(len(data))] for path, data in files.items()]
    record = io.StringIO()
    csv.writer(record, lineterminator="\n").writerows([*rows, [f"{info}/RECORD", "", ""]])
    files[f"{info}/RECORD"] = record.getvalue().encode()
    target = directory / f"{info.removesuffix('.dist-info')}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return target


def pipguard_wheel(directory: Path) -> Path:
    """A wheel of this checkout (built from a copy, so the checkout gets no build files)."""
    source = directory / "pipguard-source"
    shutil.copytree(REPO / "pipguard", source / "pipguard",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("setup.cfg", "setup.py", "pyproject.toml", "README.md"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(directory), str(source)], check=True, env=clean_env())
    shutil.rmtree(source)
    return next(directory.glob("pipguard-*.whl"))


def pipguard_home(path: Path, wheels: Path) -> Path:
    """pipguard in a venv of its own (the outside install); returns its bin/pipguard."""
    wheels.mkdir(parents=True, exist_ok=True)
    pipguard_wheel(wheels)
    for dependency in ("packaging", "filelock"):
        wheel_of_installed(dependency, wheels)
    python = make_venv(path, sys.executable)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index", "-f", str(wheels), "pipguard"],
                   check=True, env=clean_env())
    return path / "bin" / "pipguard"

"""The devstack suite's world: OpenStack-shaped projects, built offline.

Libraries are wheels (wheelkit); services and a library "from git" are source
checkouts under ``$DEST`` with a ``setup.cfg`` naming the project (devstack
reads the name from there before ``edit-constraints``) and a tiny in-tree
build backend, so an editable install builds in a fraction of a second
without setuptools or an index. ``upper-constraints.txt`` is OpenStack's real
file (when the shared data is there) plus pins for these names, and
``global-requirements.txt`` gives the specifiers ``pip_install_gr`` uses.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO
from tests.support.wheelkit import build_wheel, metadata_text, module_name

# (name, version, requires, extras): wheels in the wheelhouse.
LIBRARIES: list[tuple[str, str, list[str], dict[str, list[str]]]] = [
    ("ds-oslo-config", "1.0", [], {}),
    ("ds-oslo-config", "2.0", [], {}),
    ("ds-oslo-config", "3.0", [], {}),
    ("ds-oslo-db", "1.0", ["ds-oslo-config>=1.0"], {}),
    ("ds-oslo-messaging", "1.0", ["ds-oslo-config>=1.0"], {"amqp": ["ds-amqp>=1.0"]}),
    ("ds-amqp", "1.0", [], {}),
    ("ds-libvirt", "1.0", [], {}),
    ("ds-legacy", "1.0", [], {}),  # not in upper-constraints
    ("ds-legacy", "2.0", [], {}),
    ("ds-rogue-plugin", "1.0", ["ds-legacy>=2.0"], {}),  # breaks ds-cinder (ds-legacy<2.0)
    ("ds-debug-tool", "1.0", [], {}),  # in the image before devstack; pip_uninstall removes it
    ("ds-crypto", "1.0", [], {}),
    ("ds-crypto", "2.0", [], {}),
    ("ds-glanceclient", "1.0", ["ds-crypto<2.0"], {}),  # as glanceclient needed an older cryptography
    ("ds-distro-tool", "1.0", ["ds-crypto>=2.0"], {}),  # as the distro's joserfc needed a newer one
    ("ds-libguestfs", "1.0", [], {}),  # why devstack's venv sees the system site-packages
    ("ds-oauthlib", "1.0", [], {}),
    ("ds-keystoneauth1", "5.15.0", [], {"oauth1": ["ds-oauthlib>=1.0"]}),  # the release u-c pins
]
# What the base interpreter (the "distro" Python) holds in its own site-packages.
BASE_DISTRIBUTIONS = ["ds-distro-tool==1.0", "ds-crypto==2.0", "ds-libguestfs==1.0"]
# (directory under $DEST, name, version, requires, extras): git checkouts.
CHECKOUTS: list[tuple[str, str, str, list[str], dict[str, list[str]]]] = [
    ("nova", "ds-nova", "2.1.dev7", ["ds-oslo-config>=2.0", "ds-oslo-db", "ds-oslo-messaging[amqp]"],
     {"compute": ["ds-libvirt>=1.0"]}),
    ("cinder", "ds-cinder", "1.2.dev1", ["ds-oslo-db", "ds-legacy<2.0"], {}),
    ("oslo-config", "ds-oslo-config", "3.0.1.dev3", [], {}),  # a library from git (LIBS_FROM_GIT)
    # a library from git with an extra, later asked for by name with it (pip_install_gr_extras)
    ("keystoneauth", "ds-keystoneauth1", "5.14.1.dev11", [], {"oauth1": ["ds-oauthlib>=1.0"]}),
]
UPPER_PINS = ["ds-oslo-config===2.0", "ds-oslo-db===1.0", "ds-oslo-messaging===1.0", "ds-amqp===1.0",
              "ds-libvirt===1.0", "ds-crypto===1.0", "ds-glanceclient===1.0",
              "ds-debug-tool===1.0", "ds-keystoneauth1===5.15.0", "ds-oauthlib===1.0"]
GLOBAL_REQUIREMENTS = ["ds-oslo-config>=1.0", "ds-oslo-messaging>=1.0", "ds-glanceclient>=1.0",
                       "ds-debug-tool>=1.0", "ds-rogue-plugin>=1.0", "ds-keystoneauth1>=5.0.0"]
REAL_UPPER_CONSTRAINTS = [base / "shared" / "data" / "upper-constraints.txt"
                          for base in (REPO.parent, REPO.parent.parent)]

# A PEP 517/660 backend in the checkout itself: the wheel holds the module, the editable
# wheel a .pth naming the checkout; METADATA is written beside it when the world is built.
BACKEND = '''\
import base64, hashlib, json, os, zipfile

with open("ds-project.json") as handle:
    PROJECT = json.load(handle)
INFO = PROJECT["dist"] + "-" + PROJECT["version"] + ".dist-info"


def _metadata():
    with open("ds-METADATA", "rb") as handle:
        return handle.read()


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_editable = get_requires_for_build_wheel


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    os.makedirs(os.path.join(metadata_directory, INFO))
    with open(os.path.join(metadata_directory, INFO, "METADATA"), "wb") as handle:
        handle.write(_metadata())
    return INFO


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def _wheel(directory, files):
    files[INFO + "/METADATA"] = _metadata()
    files[INFO + "/WHEEL"] = (b"Wheel-Version: 1.0\\nGenerator: ds-backend\\n"
                              b"Root-Is-Purelib: true\\nTag: py3-none-any\\n")
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(path + ",sha256=" + digest + "," + str(len(data)))
    files[INFO + "/RECORD"] = ("\\n".join(record + [INFO + "/RECORD,,"]) + "\\n").encode()
    name = PROJECT["dist"] + "-" + PROJECT["version"] + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, name), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    module = PROJECT["module"]
    with open(os.path.join(module, "__init__.py"), "rb") as handle:
        return _wheel(wheel_directory, {module + "/__init__.py": handle.read()})


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    pth = "__editable__." + PROJECT["dist"] + ".pth"
    return _wheel(wheel_directory, {pth: (os.getcwd() + "\\n").encode()})
'''


def write_checkout(directory: Path, name: str, version: str, requires: list[str],
                   extras: dict[str, list[str]]) -> Path:
    """A git checkout as devstack finds it under $DEST (without the .git)."""
    module = module_name(name)
    (directory / module).mkdir(parents=True, exist_ok=True)
    (directory / module / "__init__.py").write_text(f'__version__ = "{version}"\n')
    (directory / "setup.cfg").write_text(f"[metadata]\nname = {name}\n")
    (directory / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "ds_backend"\nbackend-path = ["."]\n')
    (directory / "ds_backend.py").write_text(BACKEND)
    (directory / "ds-METADATA").write_text(metadata_text(name, version, requires, extras))
    (directory / "ds-project.json").write_text(json.dumps({"dist": module, "version": version, "module": module}))
    return directory


@dataclass(frozen=True)
class World:
    wheelhouse: Path
    dest: Path  # /opt/stack
    requirements: Path  # the pristine requirements checkout; each run gets a copy

    def requirements_copy(self, where: Path) -> Path:
        """$REQUIREMENTS_DIR for one run (edit-constraints changes it in place)."""
        from tests.support.devstack_kit import write_edit_constraints

        shutil.copytree(self.requirements, where)
        write_edit_constraints(where)
        return where


def build_world(root: Path) -> World:
    wheelhouse = root / "wheelhouse"
    for name, version, requires, extras in LIBRARIES:
        build_wheel(wheelhouse, name, version, requires, extras)
    dest = root / "opt" / "stack"
    for directory, name, version, requires, extras in CHECKOUTS:
        write_checkout(dest / directory, name, version, requires, extras)
    requirements = root / "requirements"
    requirements.mkdir()
    real = next((p.read_text() for p in REAL_UPPER_CONSTRAINTS if p.is_file()), "")
    (requirements / "upper-constraints.txt").write_text(real.rstrip("\n") + "\n" + "\n".join(UPPER_PINS) + "\n")
    (requirements / "global-requirements.txt").write_text("\n".join(GLOBAL_REQUIREMENTS) + "\n")
    return World(wheelhouse, dest, requirements)

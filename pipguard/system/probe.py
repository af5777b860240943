"""Run inside the *target* interpreter: print its installed state as JSON.

Standard library only, Python 3.9+: the target may not have packaging (or
pipguard) installed. ``environment.probe_environment`` sends this file's
source to the interpreter on stdin, without -I: the probe sees what pip in
that interpreter sees (user site, PYTHONPATH), less the current directory.

For every distribution it says whether it is the environment's own (in
its own site-packages, or a directory a .pth file there adds) or seen only
from outside (a --system-site-packages venv's base interpreter, the user
site, PYTHONPATH, anything else on sys.path), and which same-named
distributions are hidden behind the one imports see.

argv[1], when given, is the signature of a state pipguard has cached: a
digest of sys.path, the marker environment and, for every sys.path entry,
its *.dist-info / *.egg-info names with their metadata files' stat, and
its *.pth files' stat. When it matches, the probe answers with the
interpreter's description and ``"unchanged": true``, and reads no metadata
at all. pipguard computes the same signature itself (``signature_of``, this
module imported) to answer from its cache without starting the interpreter,
when nothing else that decides sys.path has changed (``environment.py``).
"""

import sys

# "python -" puts the current directory first on sys.path: a json.py or a
# *.egg-info there is not the environment's (pip's own view aside). Drop
# it before anything else is imported.
if __name__ == "__main__" and sys.path and sys.path[0] == "":
    del sys.path[0]

import json
import os
import stat

TYPE_CHECKING = False  # typing is not imported at run time: the probe runs on every command
if TYPE_CHECKING:
    from typing import Any

try:  # the built-in module: hashlib would load OpenSSL, a cost paid on every probe
    from _sha2 import sha256  # type: ignore[import-not-found]  # Python 3.12+
except ImportError:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found]  # Python 3.9-3.11
    except ImportError:
        from hashlib import sha256

_META_SUFFIXES = (".dist-info", ".egg-info")
# What the signature covers in each sys.path directory: metadata, and the
# .pth files that add directories to sys.path (an in-place edit changes no
# directory's stat).
_SIGNED_SUFFIXES = (*_META_SUFFIXES, ".pth")
# The keys of the interpreter's description, hashed with the path signature.
HEADER_KEYS = ("executable", "python_version", "prefix", "base_prefix", "markers", "own_paths", "path",
               "user_site", "stdlib", "customized")


def marker_environment() -> dict[str, str]:
    import platform  # here: pipguard imports this module for its signature, and needs no platform

    impl = sys.implementation
    version = f"{impl.version.major}.{impl.version.minor}.{impl.version.micro}"
    if impl.version.releaselevel != "final":
        version += impl.version.releaselevel[0] + str(impl.version.serial)
    return {
        "implementation_name": impl.name,
        "implementation_version": version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def same_path(path: str) -> str:
    """A path in the form two spellings of one place share."""
    return os.path.normcase(os.path.realpath(path))


def is_within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


# -- what is the environment's own ------------------------------------------------


def own_site_packages() -> list[str]:
    """The site-packages this environment installs into (as given, not resolved).

    A virtual environment: its purelib and platlib, under its own prefix
    (never the base interpreter's, which a --system-site-packages venv also
    sees). A system interpreter: its own site-packages directories.
    """
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    found = [paths.get("purelib", ""), paths.get("platlib", "")]
    base_prefix = getattr(sys, "base_prefix", sys.prefix)
    in_venv = same_path(sys.prefix) != same_path(base_prefix)
    getsitepackages = getattr(site, "getsitepackages", None)  # absent in old virtualenv's site.py
    if getsitepackages is not None:
        try:
            found += getsitepackages([sys.prefix]) if in_venv else getsitepackages()
        except Exception:
            pass
    if in_venv:
        prefix = same_path(sys.prefix)
        found = [path for path in found if path and is_within(same_path(path), prefix)]
    return list(dict.fromkeys(path for path in found if path))


def pth_directories(site_dir: str) -> list[str]:
    """Directories a site directory's .pth files add to sys.path (as site.addpackage reads them)."""
    try:
        names = sorted(name for name in os.listdir(site_dir) if name.endswith(".pth") and not name.startswith("."))
    except OSError:
        return []
    found = []
    for name in names:
        try:
            with open(os.path.join(site_dir, name), "rb") as handle:
                raw = handle.read()
        except OSError:
            continue
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#") or line.startswith(("import ", "import\t")):
                continue
            path = os.path.abspath(os.path.join(site_dir, line))
            if os.path.exists(path):
                found.append(path)
    return found


def own_locations(site_dirs: list[str]) -> set[str]:
    """Every place whose distributions are the environment's own, resolved."""
    own = set()
    for site_dir in site_dirs:
        own.add(same_path(site_dir))
        own.update(same_path(path) for path in pth_directories(site_dir))
    return own


# -- the cache key ----------------------------------------------------------------


def _metadata_stat(path: str) -> list[int]:
    """stat of a distribution's metadata file: a change of content changes it (ctime cannot be set back)."""
    candidates = [path]
    if path.endswith(".dist-info"):
        candidates = [os.path.join(path, "METADATA")]
    elif os.path.isdir(path):
        candidates = [os.path.join(path, "PKG-INFO")]
    for candidate in candidates:
        try:
            info = os.stat(candidate)
        except OSError:
            continue
        return [info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]
    return []


def path_signature(paths: list[str]) -> "list[list[Any]]":
    """What the installed set depends on, for every sys.path entry.

    A directory's own stat (mtime can be set back by tar, rsync -a, cp -a;
    ctime cannot), and the name and metadata stat of every *.dist-info and
    *.egg-info in it: installing, removing or upgrading a distribution
    changes it whatever happened to the mtimes.
    """
    signature: list[list[Any]] = []
    for entry in paths:
        try:
            info = os.stat(entry)
        except OSError:
            signature.append([entry])
            continue
        item: list[Any] = [entry, info.st_dev, info.st_ino, info.st_mtime_ns, info.st_ctime_ns]
        if stat.S_ISDIR(info.st_mode):
            try:
                names = sorted(name for name in os.listdir(entry) if name.endswith(_SIGNED_SUFFIXES))
            except OSError:
                names = []
            for name in names:
                item.append([name, *_metadata_stat(os.path.join(entry, name))])
        signature.append(item)
    return signature


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of *data*, by the interpreter's built-in module (no OpenSSL to load)."""
    return str(sha256(data).hexdigest())


def digest(value: object) -> str:
    return sha256_hex(json.dumps(value, sort_keys=True).encode("utf-8", "surrogateescape"))


def signature_of(header: "dict[str, Any]") -> str:
    """The signature of an interpreter described by *header*, as its files are now."""
    return digest([header, path_signature(list(header["path"]))])


def user_site() -> "str | None":
    """The user site directory when this interpreter would add it (it does once it exists)."""
    import site

    if not getattr(site, "ENABLE_USER_SITE", False):
        return None
    try:
        return str(site.getusersitepackages())
    except Exception:
        return None


def customized() -> bool:
    """Could sys.path, or where distributions are found, be computed at start-up by code
    no stat can vouch for (sitecustomize, usercustomize, a meta path finder that finds
    distributions)? Then only the interpreter itself can say what it sees."""
    if "sitecustomize" in sys.modules or "usercustomize" in sys.modules:
        return True
    standard = ("BuiltinImporter", "FrozenImporter", "PathFinder")
    for finder in sys.meta_path:
        name = getattr(finder, "__name__", type(finder).__name__)
        if name not in standard and hasattr(finder, "find_distributions"):
            return True
    return False


# -- the distributions ------------------------------------------------------------


def canonical(name: str) -> str:
    key = name.lower().replace("_", "-").replace(".", "-")
    while "--" in key:
        key = key.replace("--", "-")
    return key


def sort_out(
    found: "list[dict[str, Any]]",
) -> "tuple[dict[str, dict[str, Any]], dict[str, str], dict[str, dict[str, Any]]]":
    """Split distributions (in sys.path order) into what imports see and what is hidden.

    Each item is a dict with "key" and "outside". The first of a name is the
    one imports see. A later one on the other side is recorded as hidden:
    an outside distribution behind an own one is *shadowed* (name ->
    version); an own one behind an outside one is *hidden* (the whole
    record: it is still installed in the environment). Later ones on the
    same side are duplicates nobody sees, as for imports.
    """
    visible: dict[str, dict[str, Any]] = {}
    shadowed: dict[str, str] = {}
    hidden: dict[str, dict[str, Any]] = {}
    for item in found:
        key = item["key"]
        first = visible.get(key)
        if first is None:
            visible[key] = item
        elif first["outside"] == item["outside"]:
            continue
        elif item["outside"]:
            shadowed.setdefault(key, item["version"])
        else:
            hidden.setdefault(key, item)
    return visible, shadowed, hidden


def _direct_url(dist: "Any") -> "tuple[Any, Any]":
    editable = url = None
    try:
        direct = dist.read_text("direct_url.json")
    except Exception:
        direct = None
    if direct:
        try:
            info = json.loads(direct)
            if info.get("dir_info", {}).get("editable"):
                editable = info.get("url")
            else:
                url = info.get("url")
        except (ValueError, AttributeError):
            pass
    return editable, url


def requirements_of(dist: "Any", meta: "Any") -> "list[str]":
    """What ``dist.requires`` says, from metadata already parsed: Requires-Dist, or for an
    egg-info without it, its requires.txt (then importlib.metadata reads it as usual)."""
    found = meta.get_all("Requires-Dist")
    if found:
        return list(found)
    if dist.read_text("requires.txt") is None:
        return []
    return list(dist.requires or [])


def read_distributions(own: set[str]) -> "list[dict[str, Any]]":
    """Every distribution on sys.path, in sys.path order, each marked own or outside."""
    from importlib import metadata

    found = []
    resolved: dict[str, str] = {}
    for dist in metadata.distributions():
        # Each use of dist.metadata (dist.version and dist.requires too) reads and
        # parses the file again: parse it once (3x fewer parses on a cold read).
        meta = dist.metadata
        name = meta["Name"]
        if not name:
            continue
        try:
            location = str(dist.locate_file(""))
        except Exception:
            location = ""
        if location not in resolved:
            resolved[location] = same_path(location) if location else ""
        editable, url = _direct_url(dist)
        found.append({
            "key": canonical(name),
            "name": name,
            "version": meta["Version"],
            "requires": requirements_of(dist, meta),
            "editable": editable,
            "url": url,
            "location": location,
            "outside": resolved[location] not in own,
        })
    return found


def public(item: "dict[str, Any]") -> "dict[str, Any]":
    return {key: value for key, value in item.items() if key != "key"}


def main() -> None:
    import platform

    cached_signature = sys.argv[1] if len(sys.argv) > 1 else ""
    site_dirs = own_site_packages()
    header = {
        "executable": sys.executable,
        "python_version": platform.python_version(),
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "markers": marker_environment(),
        "own_paths": site_dirs,
        "path": list(sys.path),
        "user_site": user_site(),
        # the standard library's own files: an interpreter upgraded in place changes them
        "stdlib": [os.__file__, getattr(sys.modules.get("site"), "__file__", None) or ""],
        "customized": customized(),
    }
    signature = signature_of(header)
    if cached_signature and cached_signature == signature:
        # The header too, so that pipguard can tell the cache describes this interpreter.
        sys.stdout.write(json.dumps({**header, "signature": signature, "unchanged": True}))
        return
    visible, shadowed, hidden = sort_out(read_distributions(own_locations(site_dirs)))
    state = dict(header)
    state.update({
        "signature": signature,
        "distributions": [public(visible[key]) for key in sorted(visible)],
        "shadowed": {key: shadowed[key] for key in sorted(shadowed)},
        "hidden": [public(hidden[key]) for key in sorted(hidden)],
    })
    sys.stdout.write(json.dumps(state))


if __name__ == "__main__":
    main()

"""Run inside the *target* interpreter: print its installed state as JSON.

Standard library only, Python 3.9+: the target may not have packaging (or
pipguard) installed. ``environment.probe_environment`` sends this file's
source to the interpreter on stdin. An optional cache file (argv[1]) is
reused when no directory on sys.path changed since it was written, so an
unchanged environment of hundreds of distributions is not re-read.
"""

import json
import os
import platform
import sys


def marker_environment() -> dict:  # type: ignore[type-arg]
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


def path_signature() -> list:  # type: ignore[type-arg]
    signature = []
    for entry in sys.path:
        try:
            signature.append([entry, os.stat(entry).st_mtime_ns])
        except OSError:
            signature.append([entry, None])
    return signature


def read_distributions() -> list:  # type: ignore[type-arg]
    from importlib import metadata

    seen = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        key = name.lower().replace("_", "-").replace(".", "-")
        while "--" in key:
            key = key.replace("--", "-")
        if key in seen:
            continue  # the first on sys.path wins, as for imports
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
            except ValueError:
                pass
        seen[key] = {
            "name": name,
            "version": dist.version,
            "requires": list(dist.requires or []),
            "editable": editable,
            "url": url,
        }
    return [seen[key] for key in sorted(seen)]


def trusted(path: str) -> bool:
    """Only a cache nobody else could have written stands in for the real state."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    return not info.st_mode & 0o022 and (not hasattr(os, "geteuid") or info.st_uid == os.geteuid())


def main() -> None:
    cache_path = sys.argv[1] if len(sys.argv) > 1 else ""
    signature = path_signature()
    markers = marker_environment()
    if cache_path and trusted(cache_path):
        try:
            with open(cache_path) as handle:
                cached = json.load(handle)
            if (cached.get("signature") == signature and cached.get("executable") == sys.executable
                    and cached.get("markers") == markers):
                sys.stdout.write(json.dumps(cached))
                return
        except (OSError, ValueError):
            pass
    state = {
        "executable": sys.executable,
        "python_version": platform.python_version(),
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "markers": markers,
        "signature": signature,
        "distributions": read_distributions(),
    }
    text = json.dumps(state)
    if cache_path:
        try:
            tmp = f"{cache_path}.tmp{os.getpid()}"
            with open(tmp, "w") as handle:
                handle.write(text)
            os.replace(tmp, cache_path)
        except OSError:
            pass
    sys.stdout.write(text)


main()

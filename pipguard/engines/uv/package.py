"""The uv binary of the ``uv`` package (what ``pipguard[uv]`` installs), from the package's record.

The package records its binary, with its size, in
``uv-VERSION.dist-info/RECORD`` (``../../../bin/uv``, relative to
site-packages). Read from there, uv is found and its version known without a
process and without what ``uv.find_uv_bin()`` costs (~13 ms: it loads
sysconfig's configuration to look in several scripts directories). A binary
that is not where the record says, or not of the recorded size (replaced
since), is not taken: the caller falls back to ``find_uv_bin`` and
``uv --version``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

_BINARIES = ("uv", "uv.exe")


def packaged_uv() -> tuple[str, str] | None:
    """(the binary's path, the package's version) of the uv package importable here, or None."""
    try:
        spec = importlib.util.find_spec("uv")
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    if not locations:
        return None
    site = Path(locations[0]).parent
    for info in sorted(site.glob("uv-*.dist-info")):
        version = info.name[len("uv-"):-len(".dist-info")]
        try:
            lines = (info / "RECORD").read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            path, _, rest = line.partition(",")
            if os.path.basename(path) not in _BINARIES:
                continue
            binary = os.path.normpath(site / path)
            try:
                if str(os.stat(binary).st_size) == rest.rpartition(",")[2]:
                    return binary, version
            except OSError:
                continue
    return None

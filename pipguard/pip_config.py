"""What pip's own configuration adds to an install (read, never changed).

pipguard passes the user's configuration through to pip untouched; it only
reads the constraint files pip will apply, so that its fast path (proving
an install would change nothing, without running pip) sees what pip sees.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Iterable, Mapping
from pathlib import Path


def config_files(prefix: str, environ: Mapping[str, str]) -> list[Path]:
    """pip's configuration files, in the order pip loads them."""
    chosen = environ.get("PIP_CONFIG_FILE")
    if chosen == os.devnull:
        return []
    xdg_dirs = environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
    files = [Path(d) / "pip" / "pip.conf" for d in reversed(xdg_dirs) if d]
    files.append(Path("/etc/pip.conf"))
    home = Path(environ.get("HOME", str(Path.home())))
    files.append(home / ".pip" / "pip.conf")
    files.append(Path(environ.get("XDG_CONFIG_HOME", str(home / ".config"))) / "pip" / "pip.conf")
    files.append(Path(prefix) / "pip.conf")
    if chosen:
        files.append(Path(chosen))
    return files


def install_settings(
    prefix: str, environ: Mapping[str, str], keys: Iterable[str]
) -> list[tuple[Path, str, str]]:
    """(file, key, value) for each of *keys* set for ``pip install`` in pip.conf."""
    wanted = list(keys)
    found = []
    for path in config_files(prefix, environ):
        parser = configparser.RawConfigParser()
        try:
            parser.read(path)
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        for section in ("global", "install"):
            for key in wanted:
                if parser.has_option(section, key):
                    found.append((path, key, parser.get(section, key)))
    return found


def configured_constraints(prefix: str, environ: Mapping[str, str]) -> list[str]:
    """Constraint files from pip.conf ([global] or [install]) and PIP_CONSTRAINT."""
    found: list[str] = []
    for _path, _key, value in install_settings(prefix, environ, ("constraint", "constraints")):
        found.extend(value.split())
    found.extend(environ.get("PIP_CONSTRAINT", "").split())
    return found

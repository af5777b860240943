"""pip's own configuration, read the way pip reads it (files and ``PIP_*``).

pipguard passes the user's configuration through to pip untouched; it reads
it so that its own decisions (the fast path, the locations it refuses, the
constraint files it must honour, what the uv engine is told) see what pip
will see. The rules follow pip's ``Configuration`` and ``ConfigOptionParser``:

* files, lowest first: global (``$XDG_CONFIG_DIRS``/pip/pip.conf, then
  ``/etc/pip.conf``), user (``~/.pip/pip.conf``, then
  ``$XDG_CONFIG_HOME/pip/pip.conf``; skipped with ``--isolated`` or when
  ``PIP_CONFIG_FILE`` names an existing file), site (``<prefix>/pip.conf`` of
  the target), then ``PIP_CONFIG_FILE``; ``PIP_CONFIG_FILE=/dev/null`` loads
  no file at all;
* sections: ``[global]``, then the command's own (``[install]``), then the
  environment (``PIP_FIND_LINKS`` -> ``find-links``; ignored with
  ``--isolated``); a later one replaces an earlier value, empty values are
  dropped.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

_IGNORED_ENV = {"version", "help"}


class ConfigValue(NamedTuple):
    """One configuration value pip will use, and where it comes from."""

    key: str  # normalised: lower case, dashes ("find-links")
    value: str
    source: str  # "PIP_FIND_LINKS" or "/etc/pip.conf [install]"


def normalise_key(name: str) -> str:
    return name.lower().replace("_", "-").removeprefix("--")


def config_files(prefix: str, environ: Mapping[str, str], isolated: bool = False) -> list[Path]:
    """pip's configuration files for an interpreter with *prefix*, lowest priority first."""
    chosen = environ.get("PIP_CONFIG_FILE")
    if chosen == os.devnull:
        return []
    xdg_dirs = environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    files = [Path(d) / "pip" / "pip.conf" for d in xdg_dirs.split(os.pathsep) if d]
    files.append(Path("/etc/pip.conf"))
    if not isolated and not (chosen and os.path.exists(chosen)):
        home = Path(environ.get("HOME") or str(Path.home()))
        files.append(home / ".pip" / "pip.conf")
        files.append(Path(environ.get("XDG_CONFIG_HOME") or str(home / ".config")) / "pip" / "pip.conf")
    files.append(Path(prefix) / "pip.conf")
    if chosen:
        files.append(Path(chosen))
    return files


def _file_values(path: Path) -> Iterator[tuple[str, str, str]]:
    """(section, key, value) of one file; a file pip could not read either is skipped."""
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return
    for section in parser.sections():
        for key, value in parser.items(section):
            yield section, normalise_key(key), value


def read_configuration(
    command: str, prefix: str, environ: Mapping[str, str], isolated: bool = False
) -> dict[str, ConfigValue]:
    """The value pip's *command* takes from configuration for each key (last one wins)."""
    by_section: dict[str, dict[str, ConfigValue]] = {"global": {}, command: {}, ":env:": {}}
    for path in config_files(prefix, environ, isolated):
        for section, key, value in _file_values(path):
            if section in by_section:
                by_section[section][key] = ConfigValue(key, value, f"{path} [{section}]")
    if not isolated:
        for name, value in environ.items():
            if name.startswith("PIP_") and name[4:].lower() not in _IGNORED_ENV:
                key = normalise_key(name[4:])
                by_section[":env:"][key] = ConfigValue(key, value, name)
    result: dict[str, ConfigValue] = {}
    for section in ("global", command, ":env:"):
        for key, item in by_section[section].items():
            if item.value:
                result[key] = item
    return result

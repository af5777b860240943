"""Install options that send pip outside the guarded environment (read, never changed).

``--user``, ``--target``, ``--prefix``, ``--root`` and pip's own ``--python``
make pip install somewhere other than the environment whose ledger pipguard
keeps. They can come from the command line, from ``PIP_*`` environment
variables or from pip's configuration files: every source is read, so such
an install is refused rather than silently unguarded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pipguard.pip_config import install_settings

# option -> its key in pip's configuration and environment (PIP_<KEY>)
_KEYS = {"--user": "user", "--target": "target", "--prefix": "prefix", "--root": "root", "--python": "python"}
_FLAGS = {"user"}
_FALSE = {"0", "false", "no", "off", ""}


def command_line_locations(options: Sequence[str], locations: Sequence[str]) -> list[str]:
    found = list(dict.fromkeys(locations))
    if any(opt == "--python" or opt.startswith("--python=") for opt in options):
        found.append("--python")
    return found


def configured_locations(prefix: str, environ: Mapping[str, str]) -> list[str]:
    """Location settings from ``PIP_USER``-style variables and pip.conf ([global]/[install])."""
    found = []
    for key in _KEYS.values():
        value = environ.get(f"PIP_{key.upper()}")
        if value is not None and (key not in _FLAGS or value.strip().lower() not in _FALSE) and value.strip():
            found.append(f"PIP_{key.upper()}={value}")
    for path, key, raw in install_settings(prefix, environ, _KEYS.values()):
        value = raw.strip()
        if value and (key not in _FLAGS or value.lower() not in _FALSE):
            found.append(f"{key} = {value} in {path}")
    return found


def install_locations(options: Sequence[str], locations: Sequence[str], prefix: str,
                      environ: Mapping[str, str]) -> list[str]:
    """Every setting that would make this install leave the guarded environment."""
    return command_line_locations(options, locations) + configured_locations(prefix, environ)

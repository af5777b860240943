"""Canonical project names (PEP 503), without importing ``packaging.utils``.

``packaging.utils`` imports ``packaging.tags`` at load time, and with it
``logging``, ``platform``, ``subprocess`` and ``sysconfig``: about 15 ms
of every pipguard start, for commands (``ledger``, ``why``, ``history``,
``export``, ``check``) that only ever need to spell a name. This module is
the one place pipguard normalises names; its function is
``packaging.utils.canonicalize_name`` (without ``validate``), rule for rule,
and a property test (tests/unit/test_names.py) holds them equal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NewType, cast

if TYPE_CHECKING:
    # the type checker sees packaging's own NewType: names flow freely between the two
    from packaging.utils import NormalizedName as NormalizedName
else:
    NormalizedName = NewType("NormalizedName", str)  # a str at run time, as packaging's


def canonicalize_name(name: str) -> NormalizedName:
    """PEP 503: lower case, every run of ``-``, ``_`` and ``.`` made one ``-``."""
    # packaging's own method (faster than re.sub(r"[-_.]+", "-", name).lower())
    value = name.lower().replace("_", "-").replace(".", "-")
    while "--" in value:
        value = value.replace("--", "-")
    return cast("NormalizedName", value)

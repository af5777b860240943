"""Where pip's own scripts are kept beside the ledger, and which names are pip's scripts.

Here, apart from ``shim.record`` (dataclasses) and ``shim.scripts`` (hashlib,
shutil): the shim's pass-through asks for pip's kept script on every ``pip
list``, ``pip show`` and ``pip freeze``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ORIGINALS_DIRNAME = "shim-originals"
PIP_SCRIPT = re.compile(r"^pip(\d+(\.\d+)?)?$|^pip-\d+(\.\d+)?$")


def originals_beside(ledger: Path) -> Path:
    """Where pip's own scripts are kept: beside the ledger."""
    return ledger.parent / ORIGINALS_DIRNAME


def original_script(ledger: Path, invoked_as: str) -> Path | None:
    """pip's own script kept beside *ledger* for the name the shim was run as, if there is one."""
    name = os.path.basename(invoked_as)
    if not PIP_SCRIPT.match(name):
        return None
    kept = originals_beside(ledger) / name
    return kept if kept.is_file() else None

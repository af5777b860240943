"""The engines behind the guard (pip, uv), and choosing one.

``--engine pip|uv|auto`` (or the ledger's remembered choice, ``pipguard
engine``): pip is the default; ``uv`` needs a uv binary; ``auto`` takes uv
where one is found, and pip otherwise. uv is looked for first as
the ``uv`` package importable by pipguard's own interpreter (what
``pipguard[uv]`` installs), then on PATH.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pipguard.errors import EnvironmentUnusable, UsageError

if TYPE_CHECKING:  # types only: the pip runner (and `check`, for its note) loads no engine through here
    from pipguard.engines.base import UsableEngine
    from pipguard.pip.request import InstallRequest

ENGINE_NAMES = ("pip", "uv", "auto")


def find_uv() -> list[str] | None:
    """The command that runs uv: the uv package's binary, ``python -m uv``, or uv on PATH."""
    # imported here: `check` loads this package for the pip runner's note, and needs none of them
    import importlib
    import importlib.util
    import shutil

    from pipguard.engines.uv.package import packaged_uv

    packaged = packaged_uv()  # where the package's record says (no sysconfig, no import of uv)
    if packaged is not None:
        return [packaged[0]]
    if importlib.util.find_spec("uv") is not None:
        try:
            return [os.fspath(importlib.import_module("uv").find_uv_bin())]
        except (ImportError, AttributeError, FileNotFoundError, OSError):
            return [sys.executable, "-m", "uv"]
    found = shutil.which("uv")
    return [found] if found else None


def make_engine(name: str, python: str, pip_version: str | None, workdir: Path,
                request: InstallRequest | None = None) -> UsableEngine:
    """The engine called *name* for the environment of *python*.

    Given the *request*, uv refuses here, before anything is recorded, what
    it cannot do as pip would.
    """
    if name not in ENGINE_NAMES:
        raise UsageError(f"unknown engine {name!r}: use {', '.join(ENGINE_NAMES)}.")
    if name in ("uv", "auto"):
        from pipguard.engines.uv.engine import UvEngine

        command = find_uv()
        if command is None and name == "uv":
            raise EnvironmentUnusable(
                "the uv engine was chosen, but no uv was found (neither the uv package for "
                f"{sys.executable} nor uv on PATH). Install it (pip install 'pipguard[uv]'), "
                "or use --engine pip."
            )
        if command is not None:
            if request is not None:
                from pipguard.engines.uv.options import translate

                translate(request)
            # uv's version is checked when it first runs (the fast path never runs it)
            return UvEngine(python, command, workdir)
    from pipguard.engines.pip.engine import PipEngine

    return PipEngine(python, pip_version, workdir)

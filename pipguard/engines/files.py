"""The constraints files pipguard hands an engine (``-c``, build constraints): written once per content.

A file's name is its content's hash: the same constraints in one pipguard
run are one file, at one path, however many engine runs read it. uv keys
the wheels it builds from source on the build constraints it was given, so
a re-plan's dry run, metadata run and install then share one build of each
source distribution instead of building it again for every run.
"""

from __future__ import annotations

from pathlib import Path

from pipguard.core.constraints import render_constraints
from pipguard.engines.base import Constraints

# the probe's built-in sha256: hashlib would load OpenSSL (~3 ms) on every install, before its
# engine starts
from pipguard.system.probe import sha256_hex

HEADER = "written by pipguard (do not edit)"


def constraints_file(workdir: Path, stem: str, constraints: Constraints) -> Path:
    """*constraints* as a pip constraints file in *workdir*, named by its content."""
    return text_file(workdir, stem, render_constraints(constraints, header=HEADER))


def text_file(workdir: Path, stem: str, text: str) -> Path:
    """*text* as a file in *workdir*, named by its content (written once)."""
    digest = sha256_hex(text.encode("utf-8"))[:16]
    path = workdir / f"{stem}-{digest}.txt"
    if not path.exists():
        path.write_text(text, encoding="utf-8")
    return path

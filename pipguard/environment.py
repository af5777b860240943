"""Probe of the target interpreter's installed state (an I/O edge)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name

from pipguard.constraints import Distribution
from pipguard.errors import EnvironmentError_
from pipguard.pip_runner import run_process

_PROBE_SOURCE = (Path(__file__).parent / "_probe.py").read_text()


@dataclass(frozen=True)
class EnvironmentState:
    """What is installed in the target, and the target's marker environment."""

    executable: str
    python_version: str
    prefix: str
    base_prefix: str
    markers: dict[str, str]
    distributions: dict[NormalizedName, Distribution]

    @property
    def is_virtualenv(self) -> bool:
        return os.path.realpath(self.prefix) != os.path.realpath(self.base_prefix)

    @property
    def versions(self) -> dict[NormalizedName, str]:
        return {name: dist.version for name, dist in self.distributions.items()}

    @property
    def pip_version(self) -> str | None:
        pip = self.distributions.get(canonicalize_name("pip"))
        return pip.version if pip else None


def resolve_python(python: str | None) -> str:
    """The interpreter to guard: --python, or the one pipguard runs in."""
    if not python:
        return sys.executable
    candidate = Path(python)
    if candidate.is_dir():
        # pip's --python accepts an environment directory too.
        for sub in ("bin/python", "Scripts/python.exe"):
            if (candidate / sub).exists():
                return str(candidate / sub)
        raise EnvironmentError_(
            f"no Python interpreter in {python}: it is a directory without bin/python. Give "
            "--python the path of an existing Python interpreter or virtual environment."
        )
    if candidate.exists() or os.sep in python:
        if not candidate.exists():
            raise EnvironmentError_(
                f"interpreter not found: {python}. Give --python the path of an existing "
                "Python interpreter or virtual environment."
            )
        return str(candidate)
    found = shutil.which(python)
    if not found:
        raise EnvironmentError_(
            f"interpreter not found: {python}. Give --python the path of an existing "
            "Python interpreter or virtual environment."
        )
    return found


def state_from_json(text: str) -> EnvironmentState:
    data = json.loads(text)
    dists = {}
    for item in data["distributions"]:
        name = canonicalize_name(item["name"])
        dists[name] = Distribution(
            name=name,
            version=item["version"],
            requires=tuple(item.get("requires") or ()),
            display_name=item["name"],
            editable=item.get("editable"),
            url=item.get("url"),
        )
    return EnvironmentState(
        executable=data["executable"],
        python_version=data["python_version"],
        prefix=data["prefix"],
        base_prefix=data["base_prefix"],
        markers=dict(data["markers"]),
        distributions=dists,
    )


def probe_environment(python: str, cache: Path | None = None) -> EnvironmentState:
    """Run the probe in *python* and read its answer."""
    cmd = [python, "-I", "-", str(cache) if cache else ""]
    result = run_process(cmd, capture=True, stdin_text=_PROBE_SOURCE)
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise EnvironmentError_(
            f"cannot read the environment of {python}: the interpreter failed "
            f"({detail[0]}). Check that it is a working Python 3.9 or newer."
        )
    try:
        return state_from_json(result.stdout)
    except (ValueError, KeyError) as exc:
        raise EnvironmentError_(
            f"cannot read the environment of {python}: unexpected probe output ({exc})."
        ) from None

"""``pipguard ci-guard``: the ready CI job (``ci-guard.sh``, shipped in the package).

A CI job that did ``pip install pipguard`` (or ``pipx install pipguard``) has
no checkout to run ``pipguard/commands/ci-guard.sh`` from; the same script is installed
with pipguard and run from here, with this pipguard as its ``pipguard``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipguard.cli.options import Options
from pipguard.errors import EnvironmentUnusable, UsageError

SCRIPT = Path(__file__).resolve().parent / "ci-guard.sh"


def run_ci_guard(options: Options, args: list[str]) -> int:
    if options.python is not None:
        raise UsageError("ci-guard makes and guards its own environment: give it --venv DIR, not --python.")
    if not SCRIPT.is_file():
        raise EnvironmentUnusable(f"this pipguard was installed without its CI job ({SCRIPT} is missing); "
                                "reinstall pipguard.")
    env = dict(os.environ)
    # The job's pipguard is this one, whatever is on PATH (unless the job names another). The
    # script splits the variable on blanks: an interpreter path with one is left to PATH.
    if not any(blank in sys.executable for blank in " \t\n"):
        env.setdefault("PIPGUARD_CI_PIPGUARD", f"{sys.executable} -m pipguard")
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe("bash", ["bash", str(SCRIPT), *args], env)
    except OSError as exc:
        raise EnvironmentUnusable(f"ci-guard needs bash to run: {exc.strerror}.") from None
    return 0  # not reached: bash took the process over

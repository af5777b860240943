"""A test hook: stop pipguard at a named step, so a test can kill it there.

Not for users. With ``PIPGUARD_TEST_PAUSE_AT=<step>`` set, pipguard writes
a marker file (``PIPGUARD_TEST_PAUSE_MARKER``, "<pid> <step>") when it
reaches that step and then sleeps (``PIPGUARD_TEST_PAUSE_SECONDS``, default
60) before going on. The crash tests wait for the marker and SIGKILL the
process, which is how they prove that no step leaves a broken ledger.
``<step>#N`` stops at the N-th time the step is reached (``ledger-write#2``:
the second save of the state in the run; ``journal-append#2``: the second
journal line). The steps are listed in ``STEPS`` and in
docs/reliability.md. Without the variable the hook does nothing.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

PAUSE_ENV = "PIPGUARD_TEST_PAUSE_AT"
MARKER_ENV = "PIPGUARD_TEST_PAUSE_MARKER"
SECONDS_ENV = "PIPGUARD_TEST_PAUSE_SECONDS"

STEPS = {
    "pending": "an install (or another recorded run: uninstall, rollback...) has saved its pending "
               "transaction; pip has not started, or waits at its gate",
    "commit": "pip has finished; the transaction is not yet committed",
    "ledger-write": "inside a save of the state: half the new text is in the temporary file",
    "journal-append": "inside a journal append: half the new line is in the journal, without its newline",
}

_reached: Counter[str] = Counter()


def _wanted(step: str, count: int) -> bool:
    for item in os.environ.get(PAUSE_ENV, "").split(","):
        name, _, nth = item.strip().partition("#")
        if name == step and count == (int(nth) if nth.isdigit() else 1):
            return True
    return False


def pause_at(step: str) -> None:
    """Stop here if a test asked for *step* (see the module docstring)."""
    if PAUSE_ENV not in os.environ:
        return
    _reached[step] += 1
    if not _wanted(step, _reached[step]):
        return
    marker = os.environ.get(MARKER_ENV)
    if marker:
        from pipguard.system.files import write_atomically

        write_atomically(Path(marker), f"{os.getpid()} {step}\n".encode())
    deadline = time.monotonic() + float(os.environ.get(SECONDS_ENV, "60"))
    while time.monotonic() < deadline:
        time.sleep(0.02)

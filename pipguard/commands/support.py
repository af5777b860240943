"""What several commands share (commands never import each other: they import this)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipguard.cli.context import Options, Session, Target, locate, open_session
from pipguard.errors import UsageError

if TYPE_CHECKING:
    from pipguard.pip.request import InstallRequest



@contextlib.contextmanager
def reading(options: Options) -> Iterator[tuple[Target, Session]]:
    """The target and its session, the lock held shared while the caller reads."""
    target = locate(options)
    with target.store.locked(shared=True):
        yield target, open_session(target, reconcile_drift=False)



def read_state(options: Options) -> tuple[Target, Session]:
    """Probe the target and read its ledger's state under the lock; write nothing."""
    with reading(options) as (target, session):
        return target, session



def outside_note(count: int, policy: str) -> str:
    """One line about the distributions seen only from outside the environment."""
    plural = "s" if count != 1 else ""
    if policy == "protect":
        return (f"pipguard: {count} distribution{plural} seen from outside the environment (base interpreter, "
                "user site, PYTHONPATH) are protected too ('pipguard outside ignore' stops that).")
    return (f"pipguard: {count} distribution{plural} seen from outside the environment (base interpreter, user "
            "site, PYTHONPATH) are not guarded: their requirements do not block installs ('pipguard outside "
            "protect' guards them too).")



def refuse_locations(request: InstallRequest) -> None:
    locations = request.locations()
    if locations:
        raise UsageError(
            f"pipguard does not guard installs with {', '.join(locations)}: they go outside the "
            "environment whose ledger it keeps. Run them with --no-guard (recorded as unguarded) or plain pip."
        )

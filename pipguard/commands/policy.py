"""``pipguard policy [NAME]``: show or remember the ledger's default policy."""

from __future__ import annotations

import sys
from dataclasses import replace

from pipguard.context import Options, locate, open_session
from pipguard.errors import UsageError
from pipguard.model import POLICIES


def run_policy(options: Options, args: list[str]) -> int:
    if len(args) > 1 or (args and args[0] not in POLICIES):
        raise UsageError(f"usage: pipguard policy [{'|'.join(POLICIES)}] (got {' '.join(args)!r}).")
    target = locate(options)
    if not args:
        with target.store.locked(shared=True):
            session = open_session(target, reconcile_drift=False)
        print(session.ledger.policy)
        return 0
    with target.store.locked():
        session = open_session(target, reconcile_drift=False)
        target.store.save(replace(session.ledger, policy=args[0]))  # type: ignore[arg-type]  # one of POLICIES
    print(f"pipguard: installs into {session.state.prefix} now use the {args[0]} policy "
          "(override per call with --policy).", file=sys.stderr)
    return 0

"""``pipguard adopt``: start a ledger for an environment that already has packages.

With a ledger already there, changes made outside pipguard are recorded
(as a drift transaction) and become the known state. ``--moved`` says that
the environment was moved (or copied) to where it is now: the ledger,
which records its environment's prefix and refuses to serve another one,
is taken over for the new place.
"""

from __future__ import annotations

import argparse

from pipguard.cli.context import locate, open_session
from pipguard.cli.options import Options, say


def run_adopt(options: Options, args: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="pipguard adopt",
        description="Take what is installed as the protected baseline (a new ledger), or, "
        "with a ledger, accept changes made outside pipguard as the new known state.",
    )
    parser.add_argument("--moved", action="store_true",
                        help="the environment was moved or copied here: take over its ledger for this place")
    ns = parser.parse_args(args)
    target = locate(options)
    with target.store.locked():
        session = open_session(target, policy=options.policy or "compatible", moved=ns.moved)
    ledger = session.ledger
    if session.created:
        say(f"pipguard: adopted {len(ledger.distributions)} installed distributions as the baseline; "
            f"{len(ledger.roots)} top-level projects are now protected roots. Ledger: {target.store.path}")
        return 0
    if session.moved_from:
        say(f"pipguard: the ledger {target.store.path} was recorded for {session.moved_from}; it now "
            f"belongs to {session.state.prefix}.")
    for note in session.notes:
        say(note)
    if not session.notes and not session.moved_from:
        say(f"pipguard: the ledger {target.store.path} already matches the environment.")
    return 0

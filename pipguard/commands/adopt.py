"""``pipguard adopt``: start a ledger for an environment that already has packages."""

from __future__ import annotations

import argparse
import sys

from pipguard.context import Options, locate, open_session


def run_adopt(options: Options, args: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="pipguard adopt",
        description="Take what is installed as the protected baseline (a new ledger), or, "
        "with a ledger, accept changes made outside pipguard as the new known state.",
    )
    parser.parse_args(args)
    target = locate(options)
    with target.store.locked():
        session = open_session(target, policy=options.policy or "compatible")
        target.store.save(session.ledger)
    ledger = session.ledger
    if session.created:
        print(
            f"pipguard: adopted {len(ledger.distributions)} installed distributions as the baseline; "
            f"{len(ledger.roots)} top-level projects are now protected roots. Ledger: {target.store.path}",
            file=sys.stderr,
        )
    elif session.notes:
        for note in session.notes:
            print(note, file=sys.stderr)
    else:
        print(f"pipguard: the ledger {target.store.path} already matches the environment.", file=sys.stderr)
    return 0

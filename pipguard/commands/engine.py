"""``pipguard engine [pip|uv|auto]``: show or remember who resolves and installs for this ledger."""

from __future__ import annotations

import sys
from dataclasses import replace

from pipguard.context import Options, locate, open_session
from pipguard.engines import find_uv
from pipguard.errors import UsageError
from pipguard.ledger import ENGINES

_WHAT = {
    "pip": "pip",
    "uv": "uv's pip interface",
    "auto": "uv where it is found, pip otherwise",
}


def run_engine(options: Options, args: list[str]) -> int:
    if len(args) > 1 or (args and args[0] not in ENGINES):
        raise UsageError(f"usage: pipguard engine [{'|'.join(ENGINES)}] (got {' '.join(args)!r}).")
    target = locate(options)
    with target.store.locked():
        session = open_session(target, reconcile_drift=False)
        if not args:
            print(session.ledger.engine)
            return 0
        target.store.save(replace(session.ledger, engine=args[0]))
    print(f"pipguard: installs into {session.state.prefix} now use {_WHAT[args[0]]} "
          "(override per call with --engine).", file=sys.stderr)
    if args[0] == "uv" and find_uv() is None:
        print("pipguard: note: no uv is found yet (neither the uv package for this pipguard nor uv on PATH): "
              "installs will fail until it is (pip install 'pipguard[uv]').", file=sys.stderr)
    return 0

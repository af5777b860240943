"""The ledger: an environment's current state and its journal, and their store.

* ``state``   the state document (schema 2): ``LedgerState`` <-> JSON (pure);
* ``journal`` the journal: one JSON line per transaction record, read from
  the end or by bisection, appended and fsynced;
* ``codec``   the records both files are made of, strictly validated (pure);
* ``legacy``  the schema-1 single-document ledger, for migration (pure);
* ``store``   ``LedgerStore``: loading, begin and finish of transactions,
  compaction; the API is in its docstring;
* ``recovery`` what loading repairs (a torn last line, a state behind or
  missing) and the journal's integrity mark (damaged lines found cheaply);
* ``migration`` a schema-1 ledger to state + journal, with a backup;
* ``lock``    the lock: exclusive for writers, shared for readers;
* ``compaction`` the summary that stands for the journal's oldest records;
* ``safety``  ownership and permission checks;
* ``paths``   where the files are.

The values themselves (``LedgerState``, ``Transaction``, ``Root``...) are
in ``pipguard.core.model``; the rules that build and apply transactions in
``pipguard.core.transactions``.

Each name is imported from the module that defines it: this package imports
none of them, so that a command that only asks where the ledger is
(``ledger.paths``: the shim's ``pip list``) does not load the store.
"""

from __future__ import annotations


def now() -> str:
    """The clock the commands pass to ``pipguard.core.transactions`` (UTC, to the second)."""
    from datetime import datetime, timezone  # only where something is recorded: readers never ask

    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


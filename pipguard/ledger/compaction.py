"""Compaction: the summary that stands for the journal's oldest records.

``pipguard history --compact N`` replaces the transactions before N by one
summary line, the state after N-1 (distributions, roots, standing
constraints), so that rollback to N-1 or any later transaction still works
and a journal of a million lines shrinks to what is kept.

The summary is computed from the records *kept*, not the ones dropped: the
current state rewound over the transactions after N-1 gives the
distributions and roots (each outcome records its changes and root changes
against the state it was applied to); the standing constraints are the
latest set at or before the cut, found by reading backwards from it and
parsing only the lines that set them. The bytes after the cut are copied,
not parsed. So compaction costs what is kept, whatever was before.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from pipguard.core.model import LedgerState, StandingConstraint, StandingFile, Transaction
from pipguard.core.transactions import Clock, rewind
from pipguard.errors import UsageError
from pipguard.ledger.journal import Journal, Summary, decode_line, lines_backwards
from pipguard.system.files import open_regular


def summarise(journal: Journal, state: LedgerState, first_kept: int, now: Clock,
              first: int | None = None) -> tuple[Summary, int] | None:
    """The summary replacing the transactions before *first_kept*, and the byte offset
    of the first line kept; None when there is nothing to trim. Raises ``UsageError``
    when the newest (or the pending) transaction would go. *first*: the first
    transaction the journal ever held, when its head cannot be read (damaged)."""
    upto = first_kept - 1
    current = journal.summary()
    if upto < 1 or (current is not None and upto <= current.id):
        return None
    if upto >= state.last_id or (state.pending is not None and state.pending.id <= upto):
        newest = state.pending.id - 1 if state.pending else state.last_id - 1
        raise UsageError(
            f"pipguard history --compact: cannot trim up to transaction {upto}: the journal must "
            f"keep at least its newest transaction{' and the pending one' if state.pending else ''} "
            f"(give --compact {newest + 1} at most)."
        )
    cut = journal.offset_of(first_kept)
    later = list(journal.since(upto))
    point = rewind(state, later)
    standing, standing_files = standing_at(journal, cut, state, later, current)
    if first is None:
        first = current.first if current is not None else (journal.first_id() or 1)
    summary = Summary(id=upto, first=first, replaced=upto - first + 1, compacted_at=now(),
                      distributions=point.distributions, roots=point.roots,
                      standing=standing, standing_files=standing_files)
    return summary, cut


def standing_at(
    journal: Journal, cut: int, state: LedgerState, later: Sequence[Transaction], current: Summary | None
) -> tuple[tuple[StandingConstraint, ...], tuple[StandingFile, ...]]:
    """The standing constraints at the cut: the latest set at or before it."""
    standing: tuple[StandingConstraint, ...] | None = None
    files: tuple[StandingFile, ...] | None = None
    if not any(t.standing is not None for t in later):
        standing = state.standing
    if not any(t.standing_files is not None for t in later):
        files = state.standing_files
    if standing is None or files is None:
        with os.fdopen(open_regular(journal.path), "rb") as handle:
            for offset, line in lines_backwards(handle, cut):
                if offset < journal.start:
                    break  # damaged lines before it are not read
                if b'"standing":null' in line and b'"standing_files":null' in line:
                    continue  # sets neither: no need to parse it
                entry = decode_line(line, offset)
                if isinstance(entry, Summary):
                    break
                if standing is None and entry.standing is not None:
                    standing = entry.standing
                if files is None and entry.standing_files is not None:
                    files = entry.standing_files
                if standing is not None and files is not None:
                    break
    if standing is None:
        standing = current.standing if current else ()
    if files is None:
        files = current.standing_files if current else ()
    return standing, files

"""Text from outside made safe for a terminal or a constraints file (pure).

Names, versions, paths and messages come from distributions' metadata,
files and other programs: any of them can hold terminal escapes (``ESC ]0;``
retitles the window, ``ESC [31m`` colours what follows, ``\\r`` overwrites
the line, a bidi override reorders it) or a newline that forges a line of
output. Before such text is printed or written into a constraints file,
every control character becomes a visible backslash escape (``\\x1b``), as
``repr`` spells it; the JSON output escapes them itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pipguard.core.redaction import printable, redact

if TYPE_CHECKING:  # an annotation only: every command imports this module at start
    from pipguard.core.model import Root

# C0 and C1 controls and DEL; the formatting characters that reorder text (bidi
# embeddings, overrides and isolates, and the marks) or end a line (U+2028/9).
_UNSAFE_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# The same, but a message of several lines keeps its newlines and tabs.
_UNSAFE_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_line(text: str) -> str:
    """*text* as one printable line: every control character (newlines too) escaped."""
    return _UNSAFE_IN_LINE.sub(_escape, printable(text))


def safe_text(text: str) -> str:
    """*text* (a message of one or more lines) printable: controls escaped, newlines and tabs kept."""
    return _UNSAFE_IN_TEXT.sub(_escape, printable(text))


def table(header: Sequence[str], rows: Sequence[Sequence[str | None]]) -> list[str]:
    """Aligned columns, two spaces apart; the last column is not padded. Each cell is
    made one printable line (a name or version from metadata may hold escapes or newlines);
    a missing one (None) is shown as ``-``."""
    shown = [[safe_line(cell) if cell is not None else "-" for cell in row] for row in rows]
    widths = [len(h) for h in header]
    for row in shown:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in (list(header), *shown):
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return lines


def root_dict(root: Root) -> dict[str, Any]:
    return {
        "name": root.name,
        "display_name": root.display_name,
        "requirement": root.requirement,
        "specifier": root.specifier,
        "extras": list(root.extras),
        "editable": redact(root.editable) if root.editable else None,
        "url": redact(root.url) if root.url else None,
        "added_by": root.added_by,
        "added_at": root.added_at,
        "kind": root.kind,
    }

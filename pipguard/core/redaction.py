"""Keep credentials in index URLs out of everything pipguard writes or prints.

Redaction works on text, never on an encoded form of it: the ledger's
documents are redacted string by string *before* they are turned into
JSON, so a password holding ``É``, ``"`` or ``\\`` (which JSON would escape)
is caught like any other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# scheme://user:password@host or scheme://token@host: the userinfo is
# everything between "//" and the *last* "@" of the authority (which ends at
# "/", "?", "#" or whitespace), as pip's own redact_auth_from_url splits it:
# "http://u:p@SECRET@host" hides "u:p@SECRET", not just "u:p".
# Matching from the literal "://" lets the regex engine skip ahead quickly.
_AUTH = re.compile(r"://[^/?#\s]*@")


def redact(text: str) -> str:
    """Replace URL credentials with ``****`` (pip's spelling)."""
    return _AUTH.sub("://****@", text) if "://" in text else text


def redact_all(items: Iterable[str]) -> list[str]:
    return [redact(item) for item in items]


def printable(text: str) -> str:
    """*text* as valid Unicode: lone surrogates (a non-UTF-8 byte in an argument,
    as Python decodes it) become backslash escapes (``\\x80``), so the text can
    be written as UTF-8 and printed on a strict terminal."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # surrogates that did not come from undecodable bytes
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def clean(value: Any) -> Any:
    """*value* (JSON-ready data) with every string printable and redacted, keys included."""
    if isinstance(value, str):
        return redact(printable(value))
    if isinstance(value, dict):
        return {clean(key) if isinstance(key, str) else key: clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(item) for item in value]
    return value

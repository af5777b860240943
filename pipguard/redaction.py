"""Keep credentials in index URLs out of everything pipguard writes or prints."""

from __future__ import annotations

import re
from collections.abc import Iterable

# scheme://user:password@host or scheme://token@host: everything between
# "//" and "@" in the authority is a secret, as pip's own redact_auth_from_url
# treats it.
_AUTH = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<auth>[^/@\s]+)@")


def redact(text: str) -> str:
    """Replace URL credentials with ``****`` (pip's spelling)."""
    return _AUTH.sub(lambda m: f"{m.group('scheme')}****@", text)


def redact_all(items: Iterable[str]) -> list[str]:
    return [redact(item) for item in items]

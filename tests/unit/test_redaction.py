"""redaction.py: credentials in URLs become ``****``; nothing else changes."""

from __future__ import annotations

import pytest

from pipguard.core.redaction import redact, redact_all


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://user:token@host/simple", "https://****@host/simple"),
        ("https://token@host/simple", "https://****@host/simple"),
        ("http://user:p%40ss@127.0.0.1:9/x", "http://****@127.0.0.1:9/x"),
        ("git+https://user:tok@github.com/o/r.git@v1#egg=r", "git+https://****@github.com/o/r.git@v1#egg=r"),
        (
            "name @ https://u:t@host/x.whl ; python_version > '3'",
            "name @ https://****@host/x.whl ; python_version > '3'",
        ),
        (
            "-i https://a:b@one/simple --extra-index-url https://c:d@two/simple",
            "-i https://****@one/simple --extra-index-url https://****@two/simple",
        ),
        ("https://host/simple", "https://host/simple"),
        ("git+ssh://git@github.com/o/r.git", "git+ssh://****@github.com/o/r.git"),
        ("user@example.com wrote", "user@example.com wrote"),
        ("name @ file:///tmp/x.whl", "name @ file:///tmp/x.whl"),
        ("/path/with @ sign/and://no-auth", "/path/with @ sign/and://no-auth"),
        ("", ""),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert redact(redact(text)) == expected  # idempotent


def test_redact_all_keeps_order_and_length() -> None:
    assert redact_all(["install", "-i", "https://u:t@h/s", "G"]) == ["install", "-i", "https://****@h/s", "G"]

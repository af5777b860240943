"""``check --plan`` never shows a password: not in its text, its --json, or its --junit.

The requirement URLs point at a local HTTP server that serves the test
wheels and ignores the credentials, so pip really plans with them. Each
password is tried on the success path (OK) and on the failure path (NOT OK,
a clash with another source), in every output. On the success path the
passwords pip can read share one plan (each in the URL of a wheel of its
own), as a user's requirements file would carry several.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

from tests.conftest import Pipguard, combined

pytestmark = pytest.mark.integration

PASSWORDS = {
    "ascii": "SEKRIT43",
    "non-ascii": "S\u00c9KRIT30",
    "quote": 'SE"KRIT31',
    "backslash": "SE\\KRIT32",
    "percent-encoded": "SEKRIT%40%C3%8933",
    "at sign": "p@SEKRIT08",
}
# What must never be seen, for each: the password, and its secret part.
SECRETS = {"at sign": "SEKRIT08", "percent-encoded": "SEKRIT"}
# pip itself cannot read a URL with a backslash in it: the error path.
PIP_REFUSES = {"backslash"}


@pytest.fixture
def server(wheelhouse: Path) -> Iterator[str]:
    """127.0.0.1:PORT serving the wheelhouse (any credentials accepted)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(wheelhouse))
    handler.log_message = lambda *args: None  # type: ignore[assignment]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


# The success path: the wheel each password's URL points at, all in one plan.
CARRIERS = {"ascii": "g", "non-ascii": "c", "quote": "d", "percent-encoded": "m", "at sign": "h"}
assert set(CARRIERS) == set(PASSWORDS) - PIP_REFUSES


def _cases(kinds: Collection[str] = tuple(PASSWORDS)) -> list[object]:
    return [pytest.param(kind, id=kind) for kind in PASSWORDS if kind in kinds]


def plan_outputs(guard: Pipguard, tmp_path: Path, *requirements: str) -> tuple[int, str]:
    """Text, JSON and JUnit of one ``check --plan`` (and its stderr), as one string to search."""
    junit = tmp_path / "plan.xml"
    text = guard.run("check", "--plan", "--no-index", *requirements)
    as_json = guard.run("check", "--plan", "--json", "--junit", str(junit), "--no-index", *requirements)
    assert text.returncode == as_json.returncode, combined(text) + combined(as_json)
    report = junit.read_text(encoding="utf-8") if junit.exists() else ""
    return text.returncode, "\n".join([combined(text), combined(as_json), report])


def assert_outcome(kind: str, code: int, out: str, ok: bool, label: str) -> None:
    if kind in PIP_REFUSES:
        assert code == 1 and "pip could not plan the install" in out, out
    else:
        assert code == (0 if ok else 1), out
        assert label in out
        assert ("OK: " if ok else "NOT OK: ") in out


def test_passwords_in_requirement_urls_are_not_shown_when_the_plan_is_ok(
    guard: Pipguard, server: str, tmp_path: Path
) -> None:
    requirements = [f"{name} @ http://u:{PASSWORDS[kind]}@{server}/{name}-1.0-py3-none-any.whl"
                    for kind, name in CARRIERS.items()]
    code, out = plan_outputs(guard, tmp_path, *guard.index_args()[1:], *requirements)
    assert code == 0 and "OK: " in out, out
    for kind, name in CARRIERS.items():
        assert f"{name} @ http://****@{server}/{name}-1.0-py3-none-any.whl" in out, (kind, out)
        assert PASSWORDS[kind] not in out, kind
        assert SECRETS.get(kind, PASSWORDS[kind]) not in out, kind


@pytest.mark.parametrize("kind", _cases(PIP_REFUSES))
def test_a_password_in_a_requirement_url_is_not_shown_when_the_plan_is_ok(
    guard: Pipguard, server: str, tmp_path: Path, kind: str
) -> None:
    """A URL pip cannot read: pip's error, without the password."""
    password = PASSWORDS[kind]
    url = f"http://u:{password}@{server}/g-1.0-py3-none-any.whl"
    code, out = plan_outputs(guard, tmp_path, *guard.index_args()[1:], f"g @ {url}")
    assert_outcome(kind, code, out, True, "OK: g @ http://****@")
    assert password not in out
    assert SECRETS.get(kind, password) not in out


@pytest.mark.parametrize("kind", _cases())
def test_a_password_in_a_requirement_url_is_not_shown_when_the_plan_clashes(
    guard: Pipguard, server: str, tmp_path: Path, kind: str
) -> None:
    """A needs B>1.0,<2.0; the URL brings B 2.0: both sides are named, the password is not."""
    password = PASSWORDS[kind]
    url = f"http://u:{password}@{server}/b-2.0-py3-none-any.whl"
    code, out = plan_outputs(guard, tmp_path, *guard.index_args()[1:], "A", f"b @ {url}")
    assert_outcome(kind, code, out, False, "b @ http://****@")
    assert password not in out
    assert SECRETS.get(kind, password) not in out

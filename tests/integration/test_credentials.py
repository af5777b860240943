"""Credentials in index and requirement URLs never reach the ledger, the
output, or an error message.

Unreachable URLs point at 127.0.0.1:9 (nothing listens: pip fails fast with
``--retries 0``); reachable ones at a local HTTP server that serves the test
wheels and ignores the credentials. After each run, everything pipguard
wrote or printed (and everything in the environment) is searched for the
secret.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Pipguard, combined

pytestmark = pytest.mark.integration

SECRET = "s3cr3t-t0ken-42"
DEAD = f"http://user:{SECRET}@127.0.0.1:9"  # nothing listens on the discard port
FAST_FAIL = ["--retries", "0", "--timeout", "2"]


@pytest.fixture
def server(wheelhouse: Path) -> Iterator[str]:
    """http://127.0.0.1:PORT serving the wheelhouse (any credentials accepted)."""
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


def assert_no_secret_anywhere(guard: Pipguard, *outputs: str) -> None:
    for text in outputs:
        assert SECRET not in text
    check = guard.run("check")
    assert SECRET not in combined(check)
    for root, _dirs, files in os.walk(guard.venv.path):
        for name in files:
            path = Path(root) / name
            assert SECRET.encode() not in path.read_bytes(), f"the secret was written to {path}"


def run(guard: Pipguard, *args: str, env: dict[str, str] | None = None) -> str:
    result = guard.run("install", *args, env={"PIPGUARD_DEBUG": "1", **(env or {})})
    return combined(result) + f"\n(exit {result.returncode})"


def test_index_url_credentials_stay_out_of_a_failed_install(guard: Pipguard) -> None:
    out = run(guard, "--index-url", f"{DEAD}/simple", *FAST_FAIL, "G")
    assert "(exit 1)" in out
    assert "user:****@127.0.0.1:9" in out or "****@127.0.0.1:9" in out  # shown, redacted
    last = guard.venv.transactions()[-1]
    assert last["status"] == "failed"
    assert "http://****@127.0.0.1:9/simple" in last["argv"]
    assert_no_secret_anywhere(guard, out)


def test_extra_index_url_credentials_stay_out_of_a_committed_install(guard: Pipguard) -> None:
    out = run(
        guard,
        "--extra-index-url",
        f"{DEAD}/simple",
        *FAST_FAIL,
        *[arg for link in guard.find_links for arg in ("-f", str(link))],
        "G",
    )
    assert "(exit 0)" in out, out
    last = guard.venv.transactions()[-1]
    assert last["status"] == "committed"
    assert "http://****@127.0.0.1:9/simple" in last["argv"]
    assert_no_secret_anywhere(guard, out)


def test_pip_index_url_from_the_environment_stays_out(guard: Pipguard) -> None:
    out = run(guard, *FAST_FAIL, "G", env={"PIP_INDEX_URL": f"{DEAD}/simple"})
    assert "(exit 1)" in out
    assert_no_secret_anywhere(guard, out)


def test_requirement_url_credentials_stay_out_of_the_root_recorded(guard: Pipguard, server: str) -> None:
    url = f"http://user:{SECRET}@{server}/g-1.0-py3-none-any.whl"
    out = run(guard, "--no-index", "-f", str(guard.find_links[0]), f"G @ {url}")
    assert "(exit 0)" in out, out
    ledger = guard.venv.ledger()
    # recorded without the credentials (redacted, or as pip reports it: stripped)
    assert ledger["roots"]["g"]["url"] in (
        f"http://****@{server}/g-1.0-py3-none-any.whl",
        f"http://{server}/g-1.0-py3-none-any.whl",
    )
    assert guard.venv.versions()["g"] == "1.0"
    assert_no_secret_anywhere(guard, out)


def test_token_only_requirement_url_stays_out_of_a_failed_install(guard: Pipguard) -> None:
    out = run(guard, "--no-index", *FAST_FAIL, f"G @ http://{SECRET}@127.0.0.1:9/g-1.0-py3-none-any.whl")
    assert "(exit 0)" not in out
    assert_no_secret_anywhere(guard, out)


def test_credentials_stay_out_of_a_rejection_message_and_record(guard: Pipguard, server: str) -> None:
    assert guard.install("A").returncode == 0  # A needs B>1.0,<2.0; E needs B>=2.0
    url = f"http://user:{SECRET}@{server}/e-1.0-py3-none-any.whl"
    out = run(guard, "--no-index", "-f", str(guard.find_links[0]), f"E @ {url}")
    assert "(exit 10)" in out, out
    assert f"not installing E @ http://****@{server}/e-1.0-py3-none-any.whl" in out
    last = guard.venv.transactions()[-1]
    assert last["status"] == "rejected" and "****@" in last["reason"]
    assert_no_secret_anywhere(guard, out)


def test_credentials_stay_out_of_a_usage_error(guard: Pipguard, tmp_path: Path) -> None:
    reqs = tmp_path / "reqs.txt"
    reqs.write_text(f"G @ http://user:{SECRET}@127.0.0.1:9/g.whl ; os_name ==\n")
    out = run(guard, "-r", str(reqs))
    assert "(exit 2)" in out and "invalid requirement 'G @ http://****@127.0.0.1:9/g.whl" in out
    assert_no_secret_anywhere(guard, out)


def test_credentials_in_a_requirements_file_stay_out(guard: Pipguard, tmp_path: Path) -> None:
    reqs = tmp_path / "reqs.txt"
    reqs.write_text(f"--extra-index-url {DEAD}/simple\nG\n")
    out = run(
        guard, *FAST_FAIL, *[a for link in guard.find_links for a in ("-f", str(link))], "-r", str(reqs)
    )
    assert "(exit 0)" in out, out
    assert_no_secret_anywhere(guard, out)

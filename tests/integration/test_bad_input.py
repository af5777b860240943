"""Bad input: a one-paragraph message naming the input, the right exit code,
never a traceback, and never a changed (or half-written) ledger.

The bad input that never reaches pip is run in-process (``in_process``:
pipguard's ``main(argv)``, as ``python -m pipguard`` runs it); the first test
here shows the same from a real process, and the tests whose failure needs a
process of its own (a file-size limit, a full disk, a target's pip) run one.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipguard.cli.main import EXIT_ENVIRONMENT, EXIT_LEDGER, EXIT_USAGE
from pipguard.core.model import Transaction
from pipguard.engines.pip.runner import MINIMUM_PIP
from pipguard.ledger.store import LedgerStore
from tests.conftest import Pipguard, Venv, combined, journal_transactions, make_venv, scrubbed_env
from tests.reliability_support import start_pipguard, wait_for

pytestmark = pytest.mark.integration


def run_pipguard(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, preexec_fn=None
) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "pipguard", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=scrubbed_env(env),
        check=False,
        timeout=300,
        preexec_fn=preexec_fn,
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int, *phrases: str) -> None:
    assert result.returncode == code, combined(result)
    assert "Traceback" not in combined(result)
    for phrase in phrases:
        assert phrase in result.stderr, (phrase, result.stderr)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Pipguard:
    """One environment with a ledger (A installed) for the tests that change nothing."""
    guard = Pipguard(make_venv(tmp_path_factory.mktemp("bad-input") / "venv"), [wheelhouse])
    result = guard.install("A")
    assert result.returncode == 0, combined(result)
    return guard


InProcess = Callable[..., subprocess.CompletedProcess[str]]


# -- the command line and input files -------------------------------------------


def test_bad_input_exits_with_its_code_from_a_real_process(shared: Pipguard, tmp_path: Path) -> None:
    """What the in-process runs below stand for: the exit code and words of ``python -m pipguard``."""
    before = shared.venv.ledger_path.read_bytes()
    usage = run_pipguard("--python", shared.venv.python, "install", "A>>1")
    assert_clean_failure(usage, EXIT_USAGE, "invalid requirement 'A>>1' (command line)")
    ledger = tmp_path / "ledger.json"
    ledger.write_text("{}")
    unusable = run_pipguard("--python", shared.venv.python, "--ledger", str(ledger), "check")
    assert_clean_failure(unusable, EXIT_LEDGER, str(ledger), "it has no schema version")
    missing = run_pipguard("--python", str(tmp_path / "nowhere" / "python"), "install", "G")
    assert_clean_failure(missing, EXIT_ENVIRONMENT, "interpreter not found")
    assert shared.venv.ledger_path.read_bytes() == before and ledger.read_text() == "{}"


@pytest.mark.parametrize(
    ("args", "files", "code", "phrases"),
    [
        pytest.param(
            ["install", "A>>1"],
            {},
            EXIT_USAGE,
            ["invalid requirement 'A>>1' (command line)", "PEP 508"],
            id="malformed requirement",
        ),
        pytest.param(
            ["install", "-r", "reqs.txt"],
            {"reqs.txt": "G\nA>>1  # oops\n"},
            EXIT_USAGE,
            ["invalid requirement 'A>>1' (reqs.txt, line 2)"],
            id="malformed line in -r file",
        ),
        pytest.param(
            ["install", "-r", "missing.txt"],
            {},
            EXIT_USAGE,
            ["requirements file not found: missing.txt", "-r"],
            id="requirements file missing",
        ),
        pytest.param(
            ["install", "-r", "reqs.txt"],
            {"reqs.txt": "-r nested-missing.txt\n"},
            EXIT_USAGE,
            ["requirements file not found: nested-missing.txt"],
            id="nested -r file missing",
        ),
        pytest.param(
            ["install", "-c", "missing.txt", "G"],
            {},
            EXIT_USAGE,
            ["constraints file not found: missing.txt"],
            id="constraints file missing",
        ),
        pytest.param(
            ["--frobnicate", "install", "G"],
            {},
            EXIT_USAGE,
            ["unrecognized arguments: --frobnicate", "pipguard --help"],
            id="unknown pipguard option",
        ),
        pytest.param(
            ["--policy", "sideways", "install", "G"],
            {},
            EXIT_USAGE,
            ["invalid choice: 'sideways'"],
            id="unknown policy",
        ),
        pytest.param(
            ["install", "G", "--policy"],
            {},
            EXIT_USAGE,
            ["option --policy needs a value"],
            id="pipguard option without its value",
        ),
        pytest.param([], {}, EXIT_USAGE, ["usage: pipguard"], id="no command"),
    ],
)
def test_bad_command_lines_are_usage_errors_that_change_nothing(
    shared: Pipguard, in_process: InProcess, tmp_path: Path, args: list[str], files: dict[str, str], code: int,
    phrases: list[str]
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    before = shared.venv.ledger_path.read_bytes()
    result = in_process("--python", shared.venv.python, *args, cwd=tmp_path)
    assert_clean_failure(result, code, *phrases)
    assert shared.venv.ledger_path.read_bytes() == before
    assert "g" not in shared.venv.versions()


@pytest.mark.parametrize(
    ("python", "phrases"),
    [
        ("/nonexistent/bin/python", ["interpreter not found: /nonexistent/bin/python", "--python"]),
        ("no-such-python-anywhere", ["interpreter not found: no-such-python-anywhere"]),
        ("{tmp}", ["no Python interpreter in {tmp}", "virtual environment"]),
        ("{tmp}/notes.txt", ["cannot run {tmp}/notes.txt", "--python"]),
        ("{tmp}/script", ["cannot run {tmp}/script: Exec format error"]),
        ("/bin/false", ["cannot run the interpreter /bin/false"]),
    ],
    ids=["missing path", "missing on PATH", "directory", "not executable", "not a program", "fails"],
)
def test_a_missing_or_unusable_interpreter_exits_12(in_process: InProcess, tmp_path: Path, python: str,
                                                    phrases: list[str]) -> None:
    (tmp_path / "notes.txt").write_text("not python\n")
    (tmp_path / "script").write_text("not a program\n")
    (tmp_path / "script").chmod(0o755)
    python = python.format(tmp=tmp_path)
    result = in_process("--python", python, "install", "G", cwd=tmp_path)
    assert_clean_failure(result, EXIT_ENVIRONMENT, *(p.format(tmp=tmp_path) for p in phrases))


def test_an_unknown_pip_option_gets_pips_own_error_and_exit_code(guard: Pipguard) -> None:
    result = guard.install("--frobnicate", "A")
    plain = guard.pip_install("--frobnicate", "A")
    assert plain.returncode == 2
    assert result.returncode == plain.returncode, combined(result)
    assert "no such option: --frobnicate" in result.stderr
    assert "Traceback" not in combined(result)
    assert "a" not in guard.venv.versions()
    last = guard.venv.transactions()[-1]
    assert (last["status"], last["reason"]) == ("failed", "pip exited with 2")


def test_an_unknown_pip_option_is_not_hidden_by_an_already_satisfied_request(guard: Pipguard) -> None:
    assert guard.install("A").returncode == 0
    result = guard.install("--frobnicate", "A")  # A is installed: pip must still see the typo
    assert result.returncode == 2, combined(result)
    assert "no such option: --frobnicate" in result.stderr


# -- the ledger ---------------------------------------------------------------------


def _valid(**overrides: object) -> str:
    """A state document (schema 2) with *overrides*."""
    document: dict[str, object] = {"schema": 2, "roots": {}, "distributions": {}, "last_id": 0}
    document.update(overrides)
    return json.dumps(document)


def _schema1(**overrides: object) -> str:
    """A single-document ledger of earlier versions, which pipguard migrates (or refuses)."""
    document: dict[str, object] = {"schema": 1, "roots": {}, "distributions": {}, "transactions": []}
    document.update(overrides)
    return json.dumps(document)


def _txns(*ids: int) -> list[dict[str, object]]:
    return [{"id": i, "command": "install", "status": "committed"} for i in ids]


LEDGERS = [
    pytest.param("TRUNCATE", ["ends too early (truncated?)"], id="truncated"),
    pytest.param("", ["it is empty"], id="empty"),
    pytest.param("this is not json\n", ["it is not valid JSON"], id="not JSON"),
    pytest.param("\x00\x01garbage", ["it is not valid JSON"], id="binary"),
    pytest.param(b"\xff\xfe{}".decode("latin-1"), ["cannot read the ledger"], id="not UTF-8"),
    pytest.param("[" * 100000 + "]" * 100000, ["nested too deeply"], id="deeply nested"),
    pytest.param('["a list"]', ["the document has the wrong type (list)"], id="not an object"),
    pytest.param("{}", ["it has no schema version"], id="no schema"),
    pytest.param(_valid(schema=True), ["it has no schema version"], id="schema true"),
    pytest.param(
        _valid(schema=99),
        ["schema version 99, newer than this pipguard understands (2)", "upgrade pipguard"],
        id="newer schema",
    ),
    pytest.param(_valid(schema=0), ["schema version 0 is not valid"], id="schema zero"),
    pytest.param(_valid(roots=[]), ["roots has the wrong type (list)"], id="roots list"),
    pytest.param(
        _valid(roots={"a": {"name": 1, "display_name": "a"}}),
        ["roots.a.name has the wrong type (int)"],
        id="root name int",
    ),
    pytest.param(
        _valid(roots={"a": {"name": "a", "display_name": "a", "specifier": ">=>1"}}),
        ["roots.a.specifier is not a valid version specifier ('>=>1')"],
        id="root specifier unparseable",
    ),
    pytest.param(
        _valid(standing=[{"requirement": "b<<2", "source": "command line"}]),
        ["standing[0].requirement is not a valid requirement"],
        id="standing constraint unparseable",
    ),
    # A shim record of the wrong shape is not a corrupt ledger: the shim refuses it with a warning
    # and installs go on (tests/integration/test_shim.py, tests/unit/test_shim_record.py).
    pytest.param(_valid(shim=[]), ["shim has the wrong type (list)"], id="shim not an object"),
    pytest.param(_valid(shim={"format": 1, "x": "NAN"}).replace('"NAN"', "NaN"), ["NaN, which is not JSON"],
                 id="NaN"),
    pytest.param(_valid(last_id=-3), ["last_id is -3"], id="negative last id"),
    pytest.param(
        _valid(distributions={"a": 1.0}), ["distributions.a has the wrong type (float)"], id="version float"
    ),
    pytest.param(_valid(policy="yolo"), ["policy 'yolo' is unknown"], id="unknown policy"),
    # schema 1: validated as strictly before it is migrated
    pytest.param(_schema1(transactions={}), ["transactions has the wrong type (dict)"], id="transactions dict"),
    pytest.param(
        _schema1(transactions=[{"id": "1", "command": "install", "status": "committed"}]),
        ["transactions[0].id has the wrong type (str)"],
        id="id string",
    ),
    pytest.param(
        _schema1(transactions=[{"id": True, "command": "install", "status": "committed"}]),
        ["transactions[0].id has the wrong type (bool)"],
        id="id bool",
    ),
    pytest.param(_schema1(transactions=_txns(1, 3, 2)), ["not strictly increasing"], id="ids 1 3 2"),
    pytest.param(_schema1(transactions=_txns(-1, -2)), ["transaction ids are positive"], id="ids negative"),
    pytest.param(
        _schema1(transactions=[{"id": 1, "command": "install", "status": "exploded"}]),
        ["transactions[0].status is unknown ('exploded')"],
        id="unknown status",
    ),
    pytest.param(
        _schema1(transactions=[{"id": 1, "status": "committed"}]),
        ["a required key is missing ('command')"],
        id="missing key",
    ),
    pytest.param(
        _schema1(transactions=[{"id": 1, "command": "x", "status": "committed", "changes": ["a"]}]),
        ["unusable"],
        id="change not an object",
    ),
]


READERS = ["ledger", "export", "why", "history"]
CRASHED_LATER = {"root specifier unparseable", "standing constraint unparseable", "shim not an object",
                 "NaN", "ids 1 3 2"}


@pytest.mark.parametrize(
    ("command", "content", "phrases"),
    [pytest.param(command, *case.values, id=f"{command}-{case.id}") for case in LEDGERS
     for command in ["install", "check", *(READERS if case.id in CRASHED_LATER else [])]],
)
def test_an_unusable_ledger_exits_11_and_is_left_byte_for_byte(
    shared: Pipguard, in_process: InProcess, tmp_path: Path, command: str, content: str, phrases: list[str]
) -> None:
    ledger = tmp_path / "ledger.json"
    if content == "TRUNCATE":
        whole = shared.venv.ledger_path.read_bytes()
        ledger.write_bytes(whole[: len(whole) // 2])
    else:
        ledger.write_bytes(content.encode("latin-1" if "\xff" in content else "utf-8"))
    before = ledger.read_bytes()
    args = {"install": ["install", "--no-index", "-f", str(shared.find_links[0]), "G"], "why": ["why", "b"]}.get(
        command, [command])
    result = in_process("--python", shared.venv.python, "--ledger", str(ledger), *args, cwd=tmp_path)
    assert_clean_failure(result, EXIT_LEDGER, str(ledger), *phrases)
    if "cannot read" not in phrases[0]:
        assert "It was left as it is" in result.stderr and "pipguard adopt" in result.stderr
    assert ledger.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "ledger.json.lock") == ["ledger.json"]
    assert "g" not in shared.venv.versions()


# -- disk full ------------------------------------------------------------------------


def _grow_journal(venv: Venv, transactions: int) -> bytes:
    """Pad the journal with committed no-op transactions (the ledger stays valid and consistent)."""
    store = LedgerStore(venv.ledger_path)
    with store.locked():
        state = store.load()
        assert state is not None
        store.record_many(state, [Transaction(state.last_id + 1 + i, "install", ("install", "x"), "committed")
                                  for i in range(transactions)])
    return venv.journal_path.read_bytes()


def test_a_write_that_fails_with_efbig_leaves_the_old_ledger_and_says_so(guard: Pipguard) -> None:
    """RLIMIT_FSIZE: the kernel refuses to grow any file past the limit (EFBIG)."""
    assert guard.install("A").returncode == 0
    before = _grow_journal(guard.venv, 100)
    state = guard.venv.ledger_path.read_bytes()
    limit = len(before) + 64  # a pending record adds more than this

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = run_pipguard(
        "--python", guard.venv.python, "install", *guard.index_args(), "G", preexec_fn=limit_file_size
    )
    assert_clean_failure(
        result,
        EXIT_LEDGER,
        f"cannot write the ledger {guard.venv.ledger_path} (its journal {guard.venv.journal_path})",
        "File too large",
        "The previous ledger was left as it was",
    )
    assert guard.venv.journal_path.read_bytes() == before, "no part of a line is left behind"
    assert guard.venv.ledger_path.read_bytes() == state
    assert not list(guard.venv.ledger_path.parent.glob(".ledger.*.tmp"))
    assert "g" not in guard.venv.versions(), "pip must not run when the pending record cannot be saved"


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root and mount(8); the RLIMIT_FSIZE test covers a failing write")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); the RLIMIT_FSIZE test covers it")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_leaves_the_old_ledger_and_says_so(guard: Pipguard, tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "small", "256k") as disk:
        ledger = disk / "ledger.json"
        first = guard.run("--ledger", str(ledger), "install", *guard.index_args(), "A")
        assert first.returncode == 0, combined(first)
        before = ledger.read_bytes()
        fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)  # fill every last block
        try:
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)
        journal = disk / "ledger.journal.jsonl"
        journal_before = journal.read_bytes()
        result = guard.run("--ledger", str(ledger), "install", *guard.index_args(), "G")
        assert_clean_failure(
            result,
            EXIT_LEDGER,
            f"cannot write the ledger {ledger}",
            "No space left on device",
            "The previous ledger was left as it was",
        )
        assert ledger.read_bytes() == before and journal.read_bytes() == journal_before
        assert not list(disk.glob(".ledger.*.tmp"))
        assert "g" not in guard.venv.versions()


def test_a_full_disk_at_commit_says_pip_already_installed_and_the_next_run_records_it(
    guard: Pipguard, tmp_path: Path
) -> None:
    """pip has run; then the disk fills before the commit can be written."""
    with small_tmpfs(tmp_path / "small", "256k") as disk:
        ledger = disk / "ledger.json"
        assert guard.run("--ledger", str(ledger), "install", *guard.index_args(), "A").returncode == 0
        marker = tmp_path / "paused"
        started = start_pipguard(
            guard.venv, ["--ledger", str(ledger), "install", *guard.index_args(), "G"], tmp_path / "run",
            env={"PIPGUARD_TEST_PAUSE_AT": "commit", "PIPGUARD_TEST_PAUSE_MARKER": str(marker),
                 "PIPGUARD_TEST_PAUSE_SECONDS": "3"},
        )
        wait_for(marker.exists, "pipguard to reach the commit", watch=started.proc)
        filler = disk / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)
        assert started.finish() == EXIT_LEDGER, started.err()
        err = started.err()
        assert "Traceback" not in err and "No space left on device" in err
        assert "pip has already done its part" in err and "the next pipguard run records what changed" in err
        assert guard.venv.versions()["g"] == "1.2"
        filler.unlink()
        # The commit's journal line may have fitted in the journal's last page (then the
        # next run brings the state up to date with it) or not (then the next run closes
        # the pending record with what pip changed): either way it is recorded.
        again = guard.run("--ledger", str(ledger), "install", *guard.index_args(), "C==1.0")
        assert again.returncode == 0, combined(again)
        assert "was behind its journal" in again.stderr or "was interrupted" in again.stderr
        recorded = journal_transactions(disk / "ledger.journal.jsonl")
        txn = recorded[-2]
        assert txn["status"] in ("committed", "interrupted") and "G" in txn["argv"]
        assert {c["name"]: c["after"] for c in txn["changes"]} == {"g": "1.2"}
        assert "drift" not in [t["status"] for t in recorded]
        check = guard.run("--ledger", str(ledger), "check")
        assert check.returncode == 0, combined(check)


# -- pip missing or too old ------------------------------------------------------------


def test_a_target_without_pip_exits_12_and_says_how_to_get_it(tmp_path: Path, wheelhouse: Path) -> None:
    from virtualenv import cli_run

    cli_run(
        [str(tmp_path / "nopip"), "--no-pip", "--no-setuptools", "--no-wheel", "--no-periodic-update", "-q"]
    )
    venv = Venv(tmp_path / "nopip")
    result = run_pipguard("--python", venv.python, "install", "--no-index", "-f", str(wheelhouse), "G")
    assert_clean_failure(
        result,
        EXIT_ENVIRONMENT,
        "pip is not installed in the target environment",
        f"{venv.python} -m ensurepip",
    )
    assert not venv.ledger_path.exists()


def _fake_old_pip(venv: Venv, version: str) -> None:
    """Fallback only: an installed-pip record claiming *version*."""
    site = next((venv.path / "lib").glob("python3*/site-packages"))
    dist_info = site / f"pip-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: pip\nVersion: {version}\n")
    (dist_info / "RECORD").write_text("")


def test_a_pip_older_than_needed_exits_12_and_names_the_version_needed(
    tmp_path: Path, wheelhouse: Path, old_pip_wheel: Path | None
) -> None:
    from virtualenv import cli_run

    seed = ["--no-setuptools", "--no-wheel", "--no-periodic-update", "-q"]
    if old_pip_wheel is not None:  # a real old pip, seeded by virtualenv from the session's copy of its wheel
        old = old_pip_wheel.name.split("-")[1]
        cli_run([str(tmp_path / "oldpip"), "--pip", old, "--extra-search-dir", str(old_pip_wheel.parent), *seed])
        venv = Venv(tmp_path / "oldpip")
    else:
        cli_run([str(tmp_path / "oldpip"), "--no-pip", *seed])
        venv = Venv(tmp_path / "oldpip")
        old = "22.3"
        _fake_old_pip(venv, old)
    assert venv.versions()["pip"] == old
    result = run_pipguard("--python", venv.python, "install", "--no-index", "-f", str(wheelhouse), "G")
    assert_clean_failure(
        result,
        EXIT_ENVIRONMENT,
        f"the target's pip is {old}",
        f"pipguard needs pip {MINIMUM_PIP} or newer",
        "--upgrade 'pip>=23.0'",
    )
    assert not venv.ledger_path.exists()
    assert "g" not in venv.versions()

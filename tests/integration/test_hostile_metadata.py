"""Hostile or broken metadata in the target environment (issue 19 items 3, 10, 11).

A distribution's METADATA is written by hand into the venv's site-packages
(pip would not install these): terminal escapes in its Version, a marker
packaging cannot evaluate, a header that hides the Version. Each command runs
in-process through ``main(argv)`` (no pip involved), and once end to end
through the ``guard`` fixture (real pip, real venv).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import Pipguard, Venv, combined

HOSTILE = "1.0\x1b]0;PWNTITLE\x07\x1b[31mRED"
BAD_MARKER = "K; python_version ~= 'zzz'"


def site_packages(venv: Venv) -> Path:
    return next((venv.path / "lib").glob("python*/site-packages"))


def plant(venv: Venv, name: str, metadata: str) -> None:
    """A dist-info written by hand, as a hostile or broken package leaves it."""
    info = site_packages(venv) / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(metadata, encoding="utf-8")
    (info / "INSTALLER").write_text("pip\n")


def hostile_version(venv: Venv) -> None:
    plant(venv, "esc", f"Metadata-Version: 2.1\nName: esc\nVersion: {HOSTILE}\n")


def unevaluable_marker(venv: Venv) -> None:
    plant(venv, "mk", f"Metadata-Version: 2.1\nName: mk\nVersion: 1.0\nRequires-Dist: {BAD_MARKER}\n"
                      "Requires-Dist: B>=1.0\n")


def broken_header(venv: Venv) -> None:
    plant(venv, "evil", "Metadata-Version: 2.1\nName: evil\nB\nVersion: 1.0\n")


def no_escapes(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text, text


# -- item 3: terminal escapes ------------------------------------------------------------------


def test_a_version_with_terminal_escapes_is_never_printed_raw(venv: Venv, run) -> None:  # type: ignore[no-untyped-def]
    assert run("adopt")[0] == 0
    hostile_version(venv)
    # autoremove records the drift (transaction 2), which history then shows
    for args in (["autoremove", "--dry-run"], ["history"], ["history", "2"], ["ledger"], ["check"],
                 ["why", "esc"], ["diff", "1"]):
        _, out, err = run(*args)
        no_escapes(out + err)
        if args not in (["ledger"], ["check"]):  # esc is no root, its change recorded: neither names it
            assert "1.0\\x1b]0;PWNTITLE\\x07\\x1b[31mRED" in out + err, (args, out, err)


def test_export_reports_an_invalid_version_and_never_writes_it(venv: Venv, run) -> None:  # type: ignore[no-untyped-def]
    hostile_version(venv)
    code, out, err = run("export")
    assert code == 0
    no_escapes(out + err)
    assert not any(line.startswith("esc") for line in out.splitlines())  # no constraint line for it
    assert "# NOT EXPORTED: esc 1.0\\x1b]0;PWNTITLE\\x07\\x1b[31mRED: its version is not a valid (PEP 440) " \
           "version." in out
    assert "pipguard: warning: esc 1.0\\x1b]0;PWNTITLE" in err
    code, out, err = run("export", "--json")
    document = json.loads(out)
    assert "esc" not in [pin["name"] for pin in document["constraints"]]
    assert document["not_exported"] == [{"name": "esc", "version": HOSTILE,
                                         "reason": "its version is not a valid (PEP 440) version"}]
    no_escapes(out)  # JSON escapes it


# -- item 10: a marker packaging cannot evaluate -------------------------------------------------


def test_an_unevaluable_marker_is_reported_as_unreadable_and_nothing_crashes(venv: Venv, run,  # type: ignore[no-untyped-def]
                                                                            tmp_path: Path) -> None:
    unevaluable_marker(venv)
    code, out, _ = run("check")
    assert code == 1
    assert ("unreadable requirement: mk 1.0 requires \"K; python_version ~= 'zzz'\", which cannot be "
            "evaluated on this interpreter") in out
    code, out, _ = run("check", "--json")
    assert code == 1
    [problem] = [p for p in json.loads(out)["problems"] if p["kind"] == "unreadable-requirement"]
    assert problem["name"] == "mk"
    assert run("check", "--junit", str(tmp_path / "junit.xml"))[0] == 1
    assert "unreadable requirement: mk 1.0" in (tmp_path / "junit.xml").read_text()
    code, out, _ = run("why", "b")
    assert code == 0 and "mk 1.0" in out  # its readable requirement still counts
    assert run("export")[0] == 0
    assert run("ledger")[0] == 0
    assert run("autoremove", "--dry-run")[0] == 0


def test_guarded_install_and_check_with_an_unevaluable_marker_installed(guard: Pipguard) -> None:
    """End to end: real pip installs beside it, check names it, nothing ends in a traceback."""
    assert guard.install("B==1.5").returncode == 0
    unevaluable_marker(guard.venv)
    done = guard.install("G")
    assert done.returncode == 0, combined(done)
    assert "Traceback" not in combined(done)
    assert guard.venv.versions()["g"] == "1.2"
    for args in (["why", "b"], ["export"], ["autoremove", "--dry-run"], ["upgrade", "--dry-run", *guard.index_args()]):
        result = guard.run(*args)
        assert result.returncode == 0 and "Traceback" not in combined(result), (args, combined(result))
    checked = guard.run("check")
    assert checked.returncode == 1
    assert "unreadable requirement: mk 1.0 requires" in checked.stdout


# -- item 11: a header that hides the Version ------------------------------------------------------


def test_a_broken_metadata_header_is_shown_without_a_version_and_nothing_crashes(venv: Venv, run) -> None:  # type: ignore[no-untyped-def]
    assert run("adopt")[0] == 0
    broken_header(venv)
    code, out, err = run("autoremove", "--dry-run")
    assert code == 0, err
    assert "evil: (none) -> (no version)" in err
    assert any(line.split() == ["evil", "not", "a", "root,", "and", "nothing", "installed", "requires", "it"]
               for line in out.splitlines()), out
    for args in (["check"], ["ledger"], ["history"], ["export"], ["why", "evil"]):
        code, out, err = run(*args)
        assert "None" not in out + err, (args, out, err)
    code, out, err = run("export")
    assert "# NOT EXPORTED: evil (no version): its metadata gives no version." in out


def test_end_to_end_a_hostile_version_reaches_no_terminal(guard: Pipguard) -> None:
    assert guard.install("B==1.5").returncode == 0
    hostile_version(guard.venv)
    broken_header(guard.venv)
    for args in (["history"], ["export"], ["ledger"], ["autoremove", "--dry-run"]):
        result = guard.run(*args)
        assert "Traceback" not in combined(result), combined(result)
        no_escapes(combined(result))
    installed = guard.install("G")
    assert installed.returncode == 0, combined(installed)
    no_escapes(combined(installed))
    assert "esc" not in [line.split("==")[0] for line in guard.run("export").stdout.splitlines()]


if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip("POSIX venv layout")

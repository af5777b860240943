"""Text and metadata from outside, read or printed without harm (issue 19 items 3, 10, 11)."""

from __future__ import annotations

import pytest
from packaging.utils import NormalizedName, canonicalize_name

from pipguard.cli.render import export_text, history_text, ledger_text, table
from pipguard.core.constraints import active_requirements, all_needs, marker_applies, unreadable_requirements
from pipguard.core.health import assess
from pipguard.core.model import Change, Distribution, LedgerState, Root, Transaction
from pipguard.core.printable import safe_line, safe_text
from pipguard.core.views import export_pins, history_view, ledger_view, not_exported

MARKERS = {"python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux",
           "platform_system": "Linux", "os_name": "posix", "implementation_name": "cpython",
           "platform_machine": "x86_64", "platform_python_implementation": "CPython",
           "platform_release": "", "platform_version": "", "implementation_version": "3.11.7"}
HOSTILE = "1.0\x1b]0;PWNTITLE\x07\x1b[31mRED"
BAD_MARKER = "K; python_version ~= 'zzz'"


def n(name: str) -> NormalizedName:
    return canonicalize_name(name)


def dist(name: str, version: str, *requires: str) -> Distribution:
    return Distribution(n(name), version, tuple(requires), name)


@pytest.mark.parametrize(("text", "shown"), [
    (HOSTILE, "1.0\\x1b]0;PWNTITLE\\x07\\x1b[31mRED"),
    ("a\rb", "a\\x0db"),
    ("a\nb\tc", "a\\x0ab\\x09c"),
    ("\x9b31m", "\\x9b31m"),  # C1 CSI
    ("abc\u202edcb", "abc\\u202edcb"),  # a bidi override reorders what follows
    ("caf\u00e9 1.0", "caf\u00e9 1.0"),  # printable text is left alone
    ("x\udc80", "x\\x80"),  # a lone surrogate (an undecodable byte)
])
def test_safe_line_escapes_every_control_character(text: str, shown: str) -> None:
    assert safe_line(text) == shown
    assert safe_line(safe_line(text)) == shown  # escaping twice changes nothing


def test_safe_text_keeps_the_lines_of_a_message_and_escapes_the_rest() -> None:
    assert safe_text(f"pipguard: one\n  two {HOSTILE}\n") == (
        "pipguard: one\n  two 1.0\\x1b]0;PWNTITLE\\x07\\x1b[31mRED\n")


def test_tables_show_each_cell_as_one_printable_line_and_a_missing_one_as_a_dash() -> None:
    lines = table(["NAME", "VERSION", "WHY"], [["evil", None, "x"], ["esc", HOSTILE, "y\nforged line"]])
    assert lines == ["NAME  VERSION                            WHY",
                     "evil  -                                  x",
                     "esc   1.0\\x1b]0;PWNTITLE\\x07\\x1b[31mRED  y\\x0aforged line"]


def test_ledger_history_and_export_text_hold_no_escape() -> None:
    installed = {n("esc"): dist("esc", HOSTILE), n("ok"): dist("ok", "2.0")}
    roots = {n("esc"): Root(n("esc"), "esc", added_by=1)}
    ledger = LedgerState(roots=roots, distributions={n("esc"): HOSTILE}, last_id=1)
    own = {name: d.version for name, d in installed.items()}
    texts = [ledger_text(ledger_view(ledger, own, "/l", True, ()))]
    txn = Transaction(1, "install", ("install", "esc\x1b[2J"), "committed", changes=(Change(n("esc"), None, HOSTILE),),
                      reason="pip said \x1b[31mno")
    texts.append(history_text(history_view([txn], ledger, own, "/l", True)))
    texts.append(history_text(history_view([txn], ledger, own, "/l", True, detail=True)))
    pins = export_pins(installed, roots, MARKERS)
    texts.append(export_text(pins, [f"Known-good set of /venv{HOSTILE}"]))
    for text in texts:
        assert "\x1b" not in text and "\x07" not in text, text
    assert "1.0\\x1b]0;PWNTITLE" in texts[0] and "1.0\\x1b]0;PWNTITLE" in texts[1]


def test_a_version_that_is_not_pep_440_is_reported_never_exported() -> None:
    installed = {n("esc"): dist("esc", HOSTILE), n("none"): dist("none", ""), n("ok"): dist("ok", "2.0"),
                 n("sp"): dist("sp", " 1.0")}
    assert [pin.line for pin in export_pins(installed, {}, MARKERS)] == ["ok==2.0"]
    assert [(d.name, reason) for d, reason in not_exported(installed)] == [
        ("esc", "its version is not a valid (PEP 440) version"),
        ("none", "its metadata gives no version"),
        ("sp", "its version is not a valid (PEP 440) version"),
    ]


def test_a_marker_that_cannot_be_evaluated_does_not_apply_and_is_reported() -> None:
    from packaging.markers import Marker

    assert marker_applies(Marker("python_version ~= 'zzz'"), MARKERS) is False
    mk = dist("mk", "1.0", BAD_MARKER, "ok>=1", "not a requirement !!")
    installed = {n("mk"): mk, n("ok"): dist("ok", "2.0")}
    assert [str(r) for r in active_requirements(mk, MARKERS)] == ["ok>=1"]
    found = unreadable_requirements(installed, MARKERS)
    assert [(u.source, u.requirement) for u in found] == [("mk", BAD_MARKER), ("mk", "not a requirement !!")]
    assert "cannot be evaluated on this interpreter" in found[0].reason
    assert [need.name for need in all_needs(installed, {}, (), MARKERS)] == ["ok"]


def test_check_reports_an_unreadable_requirement_naming_its_distribution() -> None:
    installed = {n("mk"): dist("mk", "1.0", BAD_MARKER)}
    result = assess(installed, LedgerState(distributions={n("mk"): "1.0"}), MARKERS, ledger_path="/l",
                    has_ledger=True)
    assert not result.ok
    [problem] = result.findings()
    assert problem.kind == "unreadable-requirement" and problem.name == "mk"
    assert problem.message.startswith("unreadable requirement: mk 1.0 requires \"K; python_version ~= 'zzz'\"")


def test_outside_distributions_unreadable_requirements_are_not_the_environments_problem() -> None:
    outside = Distribution(n("mk"), "1.0", (BAD_MARKER,), "mk", outside=True)
    result = assess({n("mk"): outside}, LedgerState(), MARKERS, ledger_path="/l", has_ledger=True)
    assert result.ok

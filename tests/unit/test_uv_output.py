"""Reading uv's answers: recorded outputs of uv 0.13.9 (tests/unit/uv_outputs), and malformed ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from pipguard.engines.pip.runner import ProcessResult
from pipguard.engines.uv.output import (
    UvChange,
    UvUnreadable,
    classify_failure,
    direct_references,
    installed,
    pip_style_conflict,
    read_changes,
    read_selections,
    split_output,
    uv_version,
)
from pipguard.errors import EnvironmentUnusable

RECORDED = Path(__file__).parent / "uv_outputs"


def recorded(name: str) -> str:
    return (RECORDED / name).read_text()


def test_dry_run_plan_is_read_with_uninstalls_and_direct_references() -> None:
    changes = read_changes(recorded("plan-upgrade.json"), "0.13.9")
    assert changes == (
        UvChange("b", "1.8", "uninstalled"),
        UvChange("b", "2.0", "installed"),
        UvChange("c", "2.0", "installed"),
        UvChange("svc", None, "installed"),
    )
    assert [c.name for c in installed(changes)] == ["b", "c", "svc"]


def test_reinstall_plan_lists_each_distribution_once() -> None:
    changes = installed(read_changes(recorded("plan-reinstall.json"), "0.13.9"))
    assert [(c.name, c.version) for c in changes] == [("a", "1.0"), ("b", "1.8")]


def test_plan_with_nothing_to_do_is_empty() -> None:
    assert read_changes(recorded("plan-nothing.json"), "0.13.9") == ()


def test_install_answer_is_read_like_a_plan() -> None:
    assert installed(read_changes(recorded("install.json"), "0.13.9")) == (UvChange("d", "1.0", "installed"),)


def _document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"schema": {"version": "preview"}, "changes": [], "dry_run": True}
    document.update(changes)
    return document


MALFORMED = [
    ("not JSON", "Resolved 3 packages", "is not JSON"),
    ("a list", "[]", "a JSON list, not an object"),
    ("no schema", json.dumps({"changes": []}), "has no 'schema'"),
    ("schema as text", json.dumps(_document(schema="preview")), "'schema' is a str, not a dict"),
    ("unknown schema", json.dumps(_document(schema={"version": "2"})), "its schema is '2'"),
    ("no changes", json.dumps({"schema": {"version": "preview"}}), "has no 'changes'"),
    ("changes as object", json.dumps(_document(changes={})), "'changes' is a dict, not a list"),
    ("change as text", json.dumps(_document(changes=["b==1.0"])), "change 0 is a str, not an object"),
    ("change without name", json.dumps(_document(changes=[{"action": "installed"}])), "has no 'name'"),
    ("name as number", json.dumps(_document(changes=[{"name": 1, "action": "installed"}])),
     "'name' is a int, not a str"),
    ("version as number", json.dumps(_document(changes=[{"name": "b", "version": 1.0, "action": "installed"}])),
     "'version' is a float, not a str"),
    ("unknown action", json.dumps(_document(changes=[{"name": "b", "version": "1", "action": "upgraded"}])),
     "unknown action 'upgraded'"),
]


@pytest.mark.parametrize(("case", "text", "says"), MALFORMED, ids=[case for case, _, _ in MALFORMED])
def test_malformed_plan_is_a_clear_error_naming_the_uv_version(case: str, text: str, says: str) -> None:
    with pytest.raises(UvUnreadable) as caught:
        read_changes(text, "0.99.0")
    message = str(caught.value)
    assert says in message
    assert "uv 0.99.0" in message and "--engine pip" in message
    assert isinstance(caught.value, EnvironmentUnusable)  # exit 12: the engine is unusable


def test_unknown_keys_are_ignored() -> None:
    text = json.dumps(_document(changes=[{"name": "B", "version": "1.0", "action": "installed", "hash": "x"}],
                                future={"anything": 1}))
    assert read_changes(text, "0.13.9") == (UvChange("b", "1.0", "installed"),)


def test_selections_name_the_files_uv_chose() -> None:
    selections = read_selections(recorded("plan-upgrade.stderr"))
    assert selections.files == {("c", "2.0"): "c-2.0-py3-none-any.whl", ("b", "2.0"): "b-2.0-py3-none-any.whl"}
    assert set(selections.considered) == {("c", "2.0"), ("b", "2.0")}
    assert not selections.backtracked


def test_several_versions_of_one_project_mean_uv_backtracked() -> None:
    log = ("DEBUG Selecting: c==2.0 [compatible] (c-2.0-py3-none-any.whl)\n"
           "DEBUG Selecting: d[x]==1.0 [compatible] (d-1.0-py3-none-any.whl)\n"
           "DEBUG Selecting: c==1.0 [compatible] (c-1.0-py3-none-any.whl)\n")
    selections = read_selections(log)
    assert selections.backtracked
    assert selections.considered == (("c", "1.0"), ("c", "2.0"), ("d", "1.0"))


def test_direct_references_are_read_from_the_plan_lines() -> None:
    assert direct_references(recorded("plan-upgrade.stderr")) == {"svc": "file:///tmp/example/src-Svc"}
    assert direct_references(" + svc==1.0 (from file:///src/svc)\n + b==1.0\n") == {"svc": "file:///src/svc"}


def test_debug_lines_are_dropped_and_errors_held() -> None:
    shown, held, kept = split_output(recorded("plan-upgrade.stderr") + recorded("fail-build.stderr"))
    assert "DEBUG" not in kept and "InstalledDist" not in kept
    assert " + c==2.0\n" in shown and "Would install 3 packages" in shown
    assert held.startswith("error: Failed to build `bad @ file:///tmp/example/bad`")
    assert "bad = [\"nope\"]" in held  # uv's unindented hint text stays with its error
    assert "error:" not in shown


def test_warnings_are_held() -> None:
    shown, held, _ = split_output("warning: Ignoring unsupported option\nResolved 1 package in 1ms\n")
    assert held == "warning: Ignoring unsupported option\n"
    assert shown == "Resolved 1 package in 1ms\n"


FAILURES = [
    ("fail-impossible.stderr", 1, "impossible", "error: No solution found when resolving dependencies"),
    ("fail-not-registered.stderr", 1, "no-match", "error: No solution found when resolving dependencies"),
    ("fail-no-version.stderr", 1, "no-match", "error: No solution found when resolving dependencies"),
    ("fail-missing-file.stderr", 2, "not-found", "error: Distribution not found at: "
                                                 "file:///tmp/example/nowhere/x-1.0-py3-none-any.whl"),
    ("fail-build.stderr", 1, "build", "error: Failed to build `bad @ file:///tmp/example/bad`"),
]


@pytest.mark.parametrize(("name", "code", "kind", "summary"), FAILURES, ids=[f[0] for f in FAILURES])
def test_failures_are_classified_in_the_ports_kinds(name: str, code: int, kind: str, summary: str) -> None:
    failure = classify_failure(ProcessResult(code, "", recorded(name)))
    assert (failure.kind, failure.returncode, failure.summary) == (kind, code, summary)


def test_build_failure_names_the_distribution() -> None:
    failure = classify_failure(ProcessResult(1, "", "error: Failed to build `pyyaml==5.4.1`\n  cause: x\n"))
    assert failure.candidate == "pyyaml 5.4.1"


def test_killed_uv_and_unknown_failures() -> None:
    assert classify_failure(ProcessResult(-9, "", "")).kind == "killed"
    assert classify_failure(ProcessResult(2, "", "error: unexpected argument '--frob'\n")).kind == "other"


@pytest.mark.parametrize(("text", "version"), [
    ("uv 0.13.9 (x86_64-unknown-linux-gnu)\n", Version("0.13.9")),
    ("uv 0.14.0\n", Version("0.14.0")),
    ("uv-something 1.0", None),
    ("", None),
])
def test_uv_version_is_read_from_its_answer(text: str, version: Version | None) -> None:
    assert uv_version(text) == version


def test_conflict_is_told_as_pip_tells_it_naming_each_side() -> None:
    stderr = recorded("fail-impossible.stderr")  # you require a and e; a and e disagree on b
    block = pip_style_conflict(stderr, [("a", "A"), ("e", "E"), ("g", "G")], [("b", "b<3"), ("x", "x==1")])
    assert block.splitlines() == [
        "The conflict is caused by:",
        "    e depends on b>=2.0",
        "    a depends on b>1.0,<2.0",
        "    The user requested A",
        "    The user requested E",
        "    The user requested (constraint) b<3",
    ]


def test_conflict_with_a_constraint_is_read_by_the_cores_reader() -> None:
    from pipguard.core.conflicts import parse_conflict

    stderr = ("error: No solution found when resolving dependencies\n"
              "  cause: Because you require b==2.0 and b==1.5, we can conclude that your\n"
              "         requirements are unsatisfiable.\n")
    causes = parse_conflict(pip_style_conflict(stderr, [("b", "B==2.0")], [("b", "b===1.5")]))
    assert [(c.name, c.specifier, c.constraint) for c in causes] == [("b", "==2.0", False), ("b", "===1.5", True)]


def test_no_conflict_block_without_ones_account() -> None:
    assert pip_style_conflict(recorded("fail-build.stderr"), [("bad", "bad")], []) == ""


def test_versions_approved_unknown_are_taken_from_uvs_account_of_the_install() -> None:
    from pipguard.core.model import PlannedInstall
    from pipguard.core.names import canonicalize_name
    from pipguard.engines.uv.engine import _with_told_versions

    leaf, b = canonicalize_name("leaf"), canonicalize_name("b")
    plan = (PlannedInstall(leaf, "leaf", "", editable="file:///src/leaf"), PlannedInstall(b, "B", "1.8"))
    told = json.dumps({"schema": {"version": "preview"}, "changes": [
        {"name": "leaf", "version": "1.0", "action": "installed"},
        {"name": "b", "version": "1.8", "action": "installed"}], "dry_run": False})
    done = installed(read_changes(told, "0.13.9"))
    assert [(i.name, i.version) for i in _with_told_versions(plan, done)] == [(leaf, "1.0"), (b, "1.8")]
    assert _with_told_versions(plan, None) == plan  # an unreadable account: said by the install's warning


def test_what_uv_installed_beyond_the_approved_plan_is_warned_of() -> None:
    from pipguard.core.model import PlannedInstall
    from pipguard.core.names import canonicalize_name
    from pipguard.engines.uv.engine import _unplanned

    b = canonicalize_name("b")
    plan = (PlannedInstall(b, "B", "1.8"),)
    assert _unplanned((UvChange(b, "1.8", "installed"),), plan) == ""
    warning = _unplanned((UvChange(b, "1.8", "installed"), UvChange(canonicalize_name("c"), "2.0", "installed")), plan)
    assert warning.startswith("pipguard: warning: uv installed c 2.0, which the approved plan did not hold")
    assert _unplanned(None, plan) == ""  # an unreadable account: warned of where it is read

"""``pipguard rollback N``: versions and roots (specifiers, editables) as they were; refusals."""

from __future__ import annotations

import json
import shutil

from tests.conftest import Pipguard, combined


def test_rollback_restores_a_roots_specifier_and_an_editable(guard: Pipguard, make_project, make_wheel) -> None:  # type: ignore[no-untyped-def]
    project = make_project("P", "1.0")
    make_wheel("P", "2.0")
    assert guard.install("-e", str(project)).returncode == 0  # 2: P editable
    assert guard.install("G>=1.1,<1.2").returncode == 0  # 3: G 1.1, recorded as G<1.2,>=1.1
    assert guard.install("G==1.2", "P==2.0").returncode == 0  # 4: both roots change
    roots = guard.venv.ledger()["roots"]
    assert (roots["g"]["specifier"], roots["p"]["editable"]) == ("==1.2", None)

    dry = guard.run("rollback", "3", "--dry-run", *guard.index_args())
    assert dry.returncode == 0, combined(dry)
    lines = dry.stdout.splitlines()
    assert lines[:4] == ["name  now  after 3", "g     1.2  1.1", "p     2.0  1.0", ""]
    assert lines[4:6] == ["roots:", "  ~ G==1.2  ->  G<1.2,>=1.1"]
    assert lines[6].startswith("  ~ P==2.0  ->  -e file://") and lines[6].endswith("src-P (P)")
    assert "nothing was changed (--dry-run)" in dry.stderr
    assert guard.venv.versions()["p"] == "2.0" and guard.venv.transactions()[-1]["id"] == 4

    rolled = guard.run("rollback", "3", *guard.index_args())
    assert rolled.returncode == 0, combined(rolled)
    versions = guard.venv.versions()
    assert (versions["g"], versions["p"]) == ("1.1", "1.0")
    roots = guard.venv.ledger()["roots"]
    assert roots["g"]["specifier"] == "<1.2,>=1.1"
    assert roots["p"]["editable"] is not None and roots["p"]["editable"].endswith("src-P")
    editables = json.loads(guard.venv.pip("list", "--editable", "--format", "json").stdout)
    assert [item["name"].lower() for item in editables] == ["p"]
    assert guard.venv.transactions()[-1]["command"] == "rollback"
    assert guard.run("check").returncode == 0

    # back to 4, then to 3 again with the project's directory gone: named, nothing changes
    assert guard.run("rollback", "4", *guard.index_args()).returncode == 0
    shutil.rmtree(project)
    refused = guard.run("rollback", "3", *guard.index_args())
    assert refused.returncode == 10, combined(refused)
    assert f"the editable root p was installed from {project}, which no longer exists" in refused.stderr
    assert "Nothing was changed." in refused.stderr
    assert guard.venv.versions()["p"] == "2.0" and guard.venv.ledger()["roots"]["p"]["specifier"] == "==2.0"


def test_rollback_is_refused_when_a_version_can_no_longer_be_found(guard: Pipguard, make_wheel) -> None:  # type: ignore[no-untyped-def]
    old = make_wheel("R", "1.0")
    make_wheel("R", "2.0")
    make_wheel("T", "1.0")
    make_wheel("T", "2.0")
    assert guard.install("R==1.0", "T==1.0").returncode == 0  # 2
    assert guard.install("R==2.0", "T==2.0").returncode == 0  # 3
    old.unlink()
    before = guard.venv.versions()

    refused = guard.run("rollback", "2", *guard.index_args())
    assert refused.returncode == 10, combined(refused)
    assert "r==1.0 can no longer be found" in refused.stderr and "t==1.0" not in refused.stderr
    assert "Nothing was changed." in refused.stderr
    assert guard.venv.versions() == before and guard.venv.transactions()[-1]["id"] == 3

    # 14.9: a location option would install elsewhere and drop roots here: refused before anything
    for option in (["--target", str(guard.venv.path / "elsewhere")], ["--user"], ["--prefix", "/tmp/p"]):
        located = guard.run("rollback", "2", *option, *guard.index_args())
        assert located.returncode == 2 and "does not guard installs with" in located.stderr, combined(located)
    assert not (guard.venv.path / "elsewhere").exists()
    assert guard.venv.transactions()[-1]["id"] == 3

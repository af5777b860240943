"""``pipguard diff N [M]``: one environment's history, built once and only read by each test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Pipguard, combined, make_venv

# the module's history is made once, on one worker
pytestmark = pytest.mark.xdist_group("diff")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Pipguard:
    """Transactions 2-5: install A; install G==1.0; a standing constraint; install -U G and C."""
    guard = Pipguard(make_venv(tmp_path_factory.mktemp("diff") / "venv"), [wheelhouse])
    assert guard.install("A").returncode == 0
    assert guard.install("G==1.0").returncode == 0
    assert guard.run("constraints", "add", "B<2.5").returncode == 0
    assert guard.install("-U", "G", "C").returncode == 0
    assert [t["id"] for t in guard.venv.transactions()] == [1, 2, 3, 4, 5]
    return guard


def test_diff_across_several_transactions_names_versions_roots_and_standing_constraints(history: Pipguard) -> None:
    result = history.run("diff", "2", "5")
    assert result.returncode == 0, combined(result)
    assert result.stdout.splitlines() == [
        "name  after 2  after 5",
        "c     -        1.0",
        "g     -        1.2",
        "",
        "roots:",
        "  + C",
        "  + G",
        "",
        "standing constraints:",
        "  + B<2.5 (command line)",
    ]
    assert "from transaction 2 to transaction 5: 2 versions, 2 roots, 1 standing constraint changed" in result.stderr


def test_diff_the_other_way_round_and_to_now(history: Pipguard) -> None:
    back = history.run("diff", "5", "3")
    assert back.returncode == 0
    assert back.stdout.splitlines()[:4] == ["name  after 5  after 3", "c     1.0      -", "g     1.2      1.0", ""]
    assert "  ~ G  ->  G==1.0" in back.stdout and "  - B<2.5 (command line)" in back.stdout
    now = history.run("diff", "5")
    assert now.returncode == 0 and now.stdout == "" and "no difference from transaction 5 to now" in now.stderr


def test_diff_json_is_for_scripts(history: Pipguard) -> None:
    result = history.run("diff", "3", "--json")
    assert result.returncode == 0, combined(result)
    doc = json.loads(result.stdout)
    assert (doc["schema"], doc["kind"], doc["from"], doc["to"]) == (1, "diff", "3", "now")
    assert doc["versions"] == [{"name": "c", "before": None, "after": "1.0"},
                               {"name": "g", "before": "1.0", "after": "1.2"}]
    assert [(r["name"], r["before"]["specifier"] if r["before"] else None, r["after"]["specifier"])
            for r in doc["roots"]] == [("c", None, ""), ("g", "==1.0", "")]
    assert doc["standing"]["added"] == [{"requirement": "B<2.5", "source": "command line"}]
    assert doc["unrecorded"] == []


@pytest.mark.parametrize(("args", "words"), [
    (["99"], "there is no transaction 99"),
    (["x"], "diff needs a transaction number"),
    (["0"], "diff needs a transaction number from 'pipguard history' (1 or more)"),
    ([], "the following arguments are required: N"),
])
def test_diff_refuses_points_that_are_not_in_the_history(history: Pipguard, args: list[str], words: str) -> None:
    result = history.run("diff", *args)
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr

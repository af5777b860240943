"""The decision core's scenarios, end to end under pip and under uv: the same verdicts, the same
messages, the same ledger, the same versions (uv's own output aside)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Pipguard, combined, make_venv

# Lib at four versions; App (the earlier project) needs Lib>1.0,<2.0.
WHEELS: list[tuple[str, str, list[str]]] = [
    ("Lib", "1.0", []), ("Lib", "1.5", []), ("Lib", "2.0", []), ("Lib", "2.5", []),
    ("App", "1.0", ["Lib>1.0,<2.0"]),
    ("Fit", "1.0", ["Lib>=1.0"]),
    ("Tool", "1.0", ["Lib>=1.0"]), ("Tool", "1.1", ["Lib>=2.0"]),  # a re-plan within 1.x
    ("Big", "1.0", ["Lib>=1.0"]), ("Big", "2.0", ["Lib>=2.0"]),  # a re-plan across a major version
    ("Breaker", "1.0", ["Lib>=2.0"]),
    ("R", "1.0", ["X==1.0"]), ("R", "2.0", ["X==2.0"]), ("X", "1.0", ["Lib<2.0"]), ("X", "2.0", ["Lib>=2.0"]),
]
SEED = [["App", "Lib==1.5"]]

# scenario -> (installs before, the install judged)
SCENARIOS: dict[str, tuple[list[list[str]], list[str]]] = {
    "fits": (SEED, ["Fit"]),
    "re-plan within a major version": (SEED, ["Tool"]),
    "re-plan across a major version refused": (SEED, ["Big"]),
    "re-plan across a major version allowed": (SEED, ["--allow-older-major", "Big"]),
    "rejection": (SEED, ["Breaker"]),
    "plain pip's plan taken": ([["R==1.0"]], ["R>=2", "Lib>=2"]),
    "held-back upgrade": (SEED, ["-U", "Lib"]),
    "dry run": (SEED, ["--dry-run", "Tool"]),
    "dry run rejected": (SEED, ["--dry-run", "Breaker"]),
    "already satisfied": (SEED, ["App"]),
}


def pipguard_words(result: Any, venv: Path) -> list[str]:
    """pipguard's own lines (its messages on stderr, its 'Would install' and 'already satisfied'),
    with the environment's path (each engine has its own venv here) written <venv>."""
    lines: list[str] = []
    inside = False
    for line in result.stderr.splitlines():
        if line.startswith("pipguard:"):
            inside = True
        elif not (inside and (line.startswith("  ") or line.startswith("Nothing was changed"))):
            inside = False
        if inside:
            # the one line that names the engine: whose own output the log keeps
            line = re.sub(r"^pipguard: (pip|uv)'s own output", "pipguard: <engine>'s own output", line)
            lines.append(line.replace(str(venv), "<venv>"))
    # pipguard's own fast-path answer is "Requirement already satisfied: NAME (VERSION)"; pip's
    # (a line of the pip engine's own output) names the site-packages directory it looked in
    lines += [line for line in result.stdout.splitlines()
              if line.startswith("Would install ") or re.match(r"^Requirement already satisfied: \S+ \([^)]*\)$", line)]
    return lines


def ledger_view(guard: Pipguard) -> dict[str, Any]:
    ledger = guard.venv.ledger()
    roots = {name: {k: v for k, v in root.items() if k != "added_at"} for name, root in ledger["roots"].items()}
    transactions = [(t["command"], t["status"], sorted((c["name"], c["before"], c["after"]) for c in t["changes"]),
                     re.sub(r"\s+", " ", t["reason"])) for t in guard.venv.transactions()]
    return {"roots": roots, "transactions": transactions, "distributions": ledger["distributions"]}


@pytest.fixture(scope="module")
def parity_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.wheelkit import build_wheel

    directory = tmp_path_factory.mktemp("parity-wheels")
    for name, version, requires in WHEELS:
        build_wheel(directory, name, version, requires)
    return directory


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_same_verdict_messages_and_ledger_under_both_engines(
        scenario: str, parity_wheels: Path, tmp_path: Path, uv_ready: str) -> None:
    before, judged = SCENARIOS[scenario]
    seen: dict[str, Any] = {}
    for engine in ("pip", "uv"):
        guard = Pipguard(make_venv(tmp_path / engine), [parity_wheels], engine=engine)
        for step in before:
            assert guard.install(*step).returncode == 0
        result = guard.install(*judged)
        seen[engine] = {
            "returncode": result.returncode,
            "words": pipguard_words(result, guard.venv.path),
            "versions": guard.venv.versions(),
            "ledger": ledger_view(guard),
            "output": combined(result),
        }
    pip, uv = seen["pip"], seen["uv"]
    assert pip["words"] or scenario in ("fits", "plain pip's plan taken"), pip["output"]
    for key in ("returncode", "words", "versions", "ledger"):
        assert pip[key] == uv[key], f"{key}:\n--- pip\n{pip['output']}\n--- uv\n{uv['output']}"

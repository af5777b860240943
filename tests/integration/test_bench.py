"""Smoke test of the benchmark harness (bench/bench) on a tiny shape.

No timing is asserted: only that one quick run measures every scenario and
writes its results. The full benchmark is ``tox -e bench`` (docs/benchmark.md).
The shape is as small as still shows every row: 8 pins (one left out by its
marker), no warm-up run, ledgers of 2 and 20 transactions (~16 s of CPU,
against ~40 s at 30 pins, a warm-up and 30 and 300 transactions).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, scrubbed_env

# Real-looking pins: dotted and mixed-case names, a post and a pre-release, a
# line whose marker never applies (left out) and one that always does.
PINS = [
    "oslo.config===9.6.0", "PyYAML===6.0.2", "zope.interface===7.0.1", "funcparserlib===2.0.0a0",
    "chardet===5.2.0.post1", 'legacy-only===1.0; python_version < "3"',
    'modern-only===2.1; python_version >= "3.9"',
] + [f"pkg-{i:02d}===1.{i}.0" for i in range(30)]
DISTS = 8  # the first 8 pins that apply: the seven above but one, and pkg-00 and pkg-01
SIZES = (2, 20)  # ledger sizes, in transactions


@pytest.mark.integration
@pytest.mark.bench
def test_quick_bench_writes_every_row_with_numeric_ratios(tmp_path: Path) -> None:
    constraints = tmp_path / "upper-constraints.txt"
    constraints.write_text("# a tiny shape\n" + "\n".join(PINS) + "\n")
    out = tmp_path / "results"
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench"), "--quick", "--warmup", "0", "--dists", str(DISTS),
         "--transactions", ",".join(map(str, reversed(SIZES))), "--constraints", str(constraints),
         "--out", str(out), "--no-uv"],
        capture_output=True, text=True, env=scrubbed_env(), timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    data = json.loads((out / "results.json").read_text())
    assert data["shape"]["dists"] == DISTS
    assert [ledger["transactions"] for ledger in data["shape"]["ledger"]] == list(SIZES)
    assert data["shape"]["warmup"] == 0
    assert data["meta"]["pip"] and data["meta"]["python"] and data["meta"]["machine"]["cores"]
    rows = {row["key"]: row for row in data["rows"]}
    small, large = SIZES
    keys = ("a", "b-leaf", "b-top", "c", "e", f"d-check-{small}", f"d-check-{large}")
    assert set(keys) <= set(rows)
    for key in keys:
        ratio = rows[key]["ratio"]
        assert isinstance(ratio, float) and math.isfinite(ratio) and ratio > 0, (key, ratio)
        for tool in ("pip", "pipguard"):
            stats = rows[key]["tools"][tool]
            assert stats["runs"] == 1
            assert 0 < stats["min_s"] <= stats["median_s"] <= stats["max_s"]
            assert stats["peak_rss_mb"] > 0
    for row in data["rows"]:
        assert row["meets_target"] in (True, False)
    # Every ledger command is either measured or named as skipped.
    measured = {key[2:].rsplit("-", 1)[0] for key in rows if key.startswith("d-")}
    skipped = {item["what"].split()[-1] for item in data["skipped"] if item["what"].startswith("(d)")}
    assert measured | skipped == {"check", "ledger", "history", "history-id", "why", "export", "install"}
    assert not measured & skipped
    assert {"what": "uv", "reason": "--no-uv given"} in data["skipped"]

    table = (out / "results.md").read_text()
    assert "| scenario | pip | pipguard | uv | pipguard / pip | pipguard / uv | target | met |" in table
    assert table.count("| (") >= 2 * len(rows)  # each row in the wall-time and CPU tables
    assert f"{rows['a']['ratio']:.2f}x" in table
    assert f"| command | {small} txns | {large} txns | {large} / {small} | flat |" in table  # (d) side by side
    assert "| install a new package (overhead: pipguard - pip) |" in table
    assert "Peak RSS of any pipguard command:" in table
    # The pin whose marker does not apply to this Python was left out.
    assert data["shape"]["left_out_by_markers"] == 1

"""What pipguard check finds (pure)."""

from __future__ import annotations

from packaging.utils import NormalizedName, canonicalize_name

from pipguard.core.health import CheckResult, assess
from pipguard.core.model import Distribution, LedgerState, Root, Transaction

MARKERS = {"python_version": "3.11", "sys_platform": "linux", "os_name": "posix"}


def n(name: str) -> NormalizedName:
    return canonicalize_name(name)


def state(**versions: str) -> dict[NormalizedName, Distribution]:
    requires = {"a": ("B>1.0,<2.0",), "c": ("B>=1.0",), "top": ("A",)}
    return {n(k): Distribution(n(k), v, requires.get(k, ()), k.upper()) for k, v in versions.items()}


PENDING = Transaction(5, "install", ("install", "F", "--index-url", "https://u:secret@h/s"), status="pending")
LEDGER = LedgerState(
    roots={n("top"): Root(n("top"), "Top", added_by=2), n("c"): Root(n("c"), "C", ">=1", added_by=3)},
    distributions={n("top"): "1.0", n("a"): "1.0", n("b"): "1.5", n("c"): "1.0"},
    last_id=5,
    pending=PENDING,
)
JOURNAL = (
    Transaction(1, "baseline", status="committed"),
    Transaction(2, "install", ("install", "Top"), status="committed"),
    Transaction(3, "install", ("install", "C"), status="committed"),
    Transaction(4, "install", ("install", "E"), status="rejected", reason="would break A"),
    PENDING,
)


def check(dists: dict[NormalizedName, Distribution], ledger: LedgerState = LEDGER,
          since: int | None = None) -> CheckResult:
    later = [t for t in JOURNAL if since is not None and t.id > since]
    return assess(dists, ledger, MARKERS, ledger_path="l", has_ledger=True, since=since, later=later)


def test_a_consistent_environment_is_ok() -> None:
    healthy = LedgerState(roots=LEDGER.roots, distributions=LEDGER.distributions, last_id=4)
    result = check(state(top="1.0", a="1.0", b="1.5", c="1.0"), healthy)
    assert result.ok and result.findings() == []
    assert [(s.name, s.ok) for s in result.root_status] == [("c", True), ("top", True)]


def test_drift_broken_requirements_and_interrupted_transactions_are_problems() -> None:
    result = check(state(top="1.0", a="1.0", b="2.0", c="1.0"))
    kinds = [(p.kind, p.name, p.transaction) for p in result.findings()]
    assert kinds == [
        ("unsatisfied-requirement", "b", None),
        ("drift", "b", None),
        ("interrupted", None, 5),
    ]
    assert not result.ok
    assert "secret" not in " ".join(result.problems())


def test_a_root_fails_when_anything_it_pulls_in_is_broken() -> None:
    result = check(state(top="1.0", a="1.0", b="2.0", c="1.0"))
    by_name = {s.name: s for s in result.root_status}
    assert by_name["top"].problems == ("A 1.0 needs b<2.0,>1.0, but b 2.0 is installed",)  # two hops down
    assert by_name["c"].ok


def test_a_missing_root_is_an_unsatisfied_root() -> None:
    result = check(state(top="1.0", a="1.0", b="1.5"))
    assert ("unsatisfied-root", "c") in [(p.kind, p.name) for p in result.findings()]
    assert {s.name: s.installed for s in result.root_status}["c"] is None


def test_since_reports_later_rejections_and_failures() -> None:
    current = state(top="1.0", a="1.0", b="1.5", c="1.0")
    later = check(current, since=3)
    assert [(p.kind, p.transaction) for p in later.findings() if p.transaction] == [
        ("interrupted", 5), ("rejected", 4)]
    assert later.findings()[-1].detail == "would break A"
    none = check(current, since=4)
    assert [p.kind for p in none.findings()] == ["interrupted"]


def test_without_a_ledger_only_the_environment_is_checked() -> None:
    result = assess(state(a="1.0", b="2.0"), LEDGER, MARKERS, ledger_path="l", has_ledger=False)
    assert [p.kind for p in result.findings()] == ["unsatisfied-requirement"]
    assert result.root_status == ()

"""The uv engine installs exactly the approved plan, and builds a source distribution once (issue 18 item 2).

uv has no hook between resolving and installing: pipguard's uv engine asks
for a dry run, judges its plan, then installs that plan. The install is the
plan's items, pinned (or their exact URL or editable checkout), from a
requirements file, with ``--no-deps``: uv neither resolves again nor builds
what its dry run prepared (a local directory on uv's command line is always
built again; from a file, uv reuses its build). Counted on real uv with a
local wheelhouse (``--no-index -f``), and source projects whose build
backend logs every wheel it builds and every metadata it prepares.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Pipguard, combined
from tests.integration.test_engine_runs import logging_uv, run_with_uv, uv_runs
from tests.support.wheelkit import build_sdist, build_wheel, write_logging_project

pytestmark = pytest.mark.integration


def builds(log: Path) -> list[str]:
    """What the logging build backends did ("wheel NAME VERSION", "metadata NAME VERSION")."""
    return log.read_text().splitlines() if log.exists() else []


def _cache(tmp_path: Path) -> dict[str, str]:
    """A uv cache of the test's own: what an earlier test built is not this one's."""
    return {"UV_CACHE_DIR": str(tmp_path / "uv-cache")}


def test_the_approved_plan_is_installed_pinned_without_deps_and_without_the_request(
        guard: Pipguard, tmp_path: Path, uv_ready: str) -> None:
    """uv resolves once: the install is the plan's pins with --no-deps, not the request again."""
    uv_dir, log = logging_uv(tmp_path)
    # keep each plan file's lines as uv read them (the work directory goes when pipguard ends)
    wrapper = uv_dir / "uv"
    wrapper.write_text(wrapper.read_text().replace(
        'exec ', 'for word in "$@"; do case "$word" in */plan-*.txt) cat "$word" >> '
        f'"{tmp_path}/plans.txt"; echo "--" >> "{tmp_path}/plans.txt";; esac; done\nexec ', 1))

    result = run_with_uv(guard, tmp_path, uv_dir, "install", *guard.index_args(), "A")
    assert result.returncode == 0, combined(result)
    dry, install = uv_runs(log)
    assert "--dry-run" in dry and dry.rstrip().endswith(" A")
    assert "--dry-run" not in install and "--no-deps" in install.split()
    assert not install.rstrip().endswith(" A") and " -c " not in install  # no request, no constraints
    plans = [block.strip().splitlines() for block in (tmp_path / "plans.txt").read_text().split("--\n")
             if block.strip()]
    assert plans == [["a==1.0", "b==1.8"]]
    assert guard.venv.versions()["a"] == "1.0" and guard.venv.versions()["b"] == "1.8"
    assert " + a==1.0" in result.stderr and " + b==1.8" in result.stderr  # uv's own account, shown


def test_a_local_project_is_prepared_once_and_built_once(guard: Pipguard, tmp_path: Path, uv_ready: str) -> None:
    """A directory on the request (dynamic metadata): what plain uv does, no more.

    Before: the dry run prepared its metadata, a --target run built it to
    read its version, and the install (the request again, on uv's command
    line) prepared and built it once more: 3 metadata, 2 wheels.
    """
    log = tmp_path / "builds.log"
    project = write_logging_project(tmp_path / "leaf", "Leaf", "1.0", ["B>1.0,<2.0"], log)
    guard.engine = "uv"
    result = guard.run("install", *guard.index_args(), str(project), env=_cache(tmp_path))
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["leaf"] == "1.0" and guard.venv.versions()["b"] == "1.8"
    assert sorted(builds(log)) == ["metadata Leaf 1.0", "wheel Leaf 1.0"]
    roots = guard.venv.ledger()["roots"]
    assert any(root.get("url", "").endswith("/leaf") for root in roots.values()), roots

    log.unlink()
    again = guard.run("install", *guard.index_args(), str(project), env=_cache(tmp_path))
    assert again.returncode == 0, combined(again)
    assert "~ leaf==1.0" in again.stderr  # asked for again by path: reinstalled, as pip and uv do
    assert builds(log).count("wheel Leaf 1.0") <= 2


def test_an_editable_local_project_is_prepared_once_built_once_and_recorded_at_its_version(
        guard: Pipguard, tmp_path: Path, uv_ready: str) -> None:
    """devstack's setup_develop under the uv engine: ``-e DIR``, its metadata dynamic.

    Nothing earlier needs the project at a version, so its plan is approved without the version
    (uv's dry run does not say it, and only a build could): no --target run to learn it (which
    prepared its metadata again and built a wheel of it besides the editable one); the install says
    the version, and the ledger has it.
    """
    log = tmp_path / "builds.log"
    project = write_logging_project(tmp_path / "leaf", "Leaf", "1.0", ["B>1.0,<2.0"], log)
    uv_dir, runs_log = logging_uv(tmp_path)
    result = run_with_uv(guard, tmp_path, uv_dir, "install", *guard.index_args(), "-e", str(project))
    assert result.returncode == 0, combined(result)
    assert sorted(builds(log)) == ["editable Leaf 1.0", "metadata Leaf 1.0"]
    done = uv_runs(runs_log)
    assert len(done) == 2 and "--dry-run" in done[0] and not any("--target" in line for line in done), done
    assert guard.venv.versions()["leaf"] == "1.0" and guard.venv.versions()["b"] == "1.8"
    changes = {change["name"]: change["after"] for change in guard.venv.transactions()[-1]["changes"]}
    assert changes == {"b": "1.8", "leaf": "1.0"}  # leaf's version as the install said it
    check = guard.run("check")
    assert check.returncode == 0 and "environment consistent" in combined(check), combined(check)


def test_a_local_projects_version_is_read_before_approval_where_an_earlier_project_needs_it(
        guard: Pipguard, make_wheel, tmp_path: Path, uv_ready: str) -> None:  # type: ignore[no-untyped-def]
    """Uses needs Leaf<1.0: the version of ``-e DIR`` (1.0, dynamic metadata) decides the verdict, so
    it is read before anything changes, and the refusal names it."""
    make_wheel("Leaf", "0.9")
    make_wheel("Uses", "1.0", ["Leaf<1.0"])
    assert guard.install("Uses").returncode == 0
    project = write_logging_project(tmp_path / "leaf", "Leaf", "1.0")
    guard.engine = "uv"
    refused = guard.install("-e", str(project), env=_cache(tmp_path))
    assert refused.returncode == 10, combined(refused)
    assert "Leaf 1.0" in refused.stderr or "leaf 1.0" in refused.stderr, refused.stderr
    assert "Uses 1.0" in refused.stderr
    assert guard.venv.versions()["leaf"] == "0.9"


def test_a_replan_to_a_source_distribution_builds_it_once(guard: Pipguard, tmp_path: Path, uv_ready: str) -> None:
    """T 1.1 (a wheel) needs B>=2.0, which breaks A; T 1.0 is an sdist: the re-plan builds it once."""
    log = tmp_path / "builds.log"
    wheels = guard.find_links[-1]
    build_wheel(wheels, "T", "1.1", ["B>=2.0"])
    build_sdist(wheels, "T", "1.0", ["B>=1.0"], log)
    guard.engine = "uv"
    first = guard.run("install", *guard.index_args(), "A", env=_cache(tmp_path))
    assert first.returncode == 0, combined(first)

    result = guard.run("install", *guard.index_args(), "T", env=_cache(tmp_path))
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["t"] == "1.0" and guard.venv.versions()["b"] == "1.8"
    assert "installed T 1.0 instead of 1.1" in result.stderr and "built from source" in result.stderr
    assert builds(log).count("wheel T 1.0") == 1
    assert builds(log).count("metadata T 1.0") <= 1  # the guarded dry run's; the install takes uv's cache


def test_an_upgrade_from_an_index_is_installed_exactly_as_planned(guard: Pipguard, tmp_path: Path,
                                                                  uv_ready: str) -> None:
    """-U: the pins move B, and nothing else, as the dry run planned (no --upgrade on the install)."""
    uv_dir, log = logging_uv(tmp_path)
    first = run_with_uv(guard, tmp_path, uv_dir, "install", *guard.index_args(), "G==1.0", "B==1.5")
    assert first.returncode == 0, combined(first)
    log.unlink()
    result = run_with_uv(guard, tmp_path, uv_dir, "install", *guard.index_args(), "-U", "G")
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["g"] == "1.2" and guard.venv.versions()["b"] == "1.5"
    install = uv_runs(log)[-1]
    assert "--upgrade" not in install and "--no-deps" in install.split()


def test_hashes_keep_the_request_and_the_pins_as_constraints(guard: Pipguard, tmp_path: Path,
                                                             uv_ready: str) -> None:
    """--require-hashes: pins carry no hashes, so the request itself is installed, the plan pinned by -c."""
    import hashlib

    wheel = next(guard.find_links[0].glob("b-1.8-*.whl"))
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"B==1.8 --hash=sha256:{digest}\n")
    uv_dir, log = logging_uv(tmp_path)
    result = run_with_uv(guard, tmp_path, uv_dir, "install", *guard.index_args(), "--require-hashes",
                         "-r", str(requirements))
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["b"] == "1.8"
    install = uv_runs(log)[-1]
    assert "--no-deps" not in install.split() and "constraints-" in install and str(requirements) in install


def test_no_deps_from_an_index_reads_the_metadata_and_passes_the_flag_once(
        guard: Pipguard, tmp_path: Path, uv_ready: str) -> None:
    """--no-deps: the plan's requirements are read (nothing says they are met) from uv's scratch
    install, which got --no-deps twice before (uv refuses a flag given twice: exit 2)."""
    from tests.integration.test_uv_engine import simple_index

    index = simple_index(tmp_path / "simple", guard.find_links[0])  # no local wheel to read A's metadata from
    uv_dir, log = logging_uv(tmp_path)
    result = run_with_uv(guard, tmp_path, uv_dir, "install", "--index-url", index, "--no-deps", "A")
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["a"] == "1.0" and "b" not in guard.venv.versions()
    assert "A 1.0 needs b<2.0,>1.0, but b is not installed" in result.stderr  # A's Requires-Dist, read
    assert all(run.split().count("--no-deps") == 1 for run in uv_runs(log))


def test_a_plan_with_nothing_to_install_runs_uv_once(guard: Pipguard, tmp_path: Path, uv_ready: str) -> None:
    """-U of what is newest already (not provable without uv): the dry run's empty plan is the answer."""
    uv_dir, log = logging_uv(tmp_path)
    first = run_with_uv(guard, tmp_path, uv_dir, "install", *guard.index_args(), "G")
    assert first.returncode == 0, combined(first)
    log.unlink()
    again = run_with_uv(guard, tmp_path, uv_dir, "install", *guard.index_args(), "-U", "G")
    assert again.returncode == 0, combined(again)
    assert len(uv_runs(log)) == 1 and "--dry-run" in uv_runs(log)[0]
    assert "Resolved 2 packages" in again.stderr and "Would " not in again.stderr  # uv's words, as an install's
    assert guard.venv.transactions()[-1]["status"] == "committed"


def test_a_hash_in_a_nested_requirements_file_is_still_checked(guard: Pipguard, tmp_path: Path,
                                                               uv_ready: str) -> None:
    """A --hash line turns checking on without --require-hashes: the pins carry no hash, so the
    request itself is installed (uv checks, and refuses a wrong hash), never the bare pins."""
    inner = tmp_path / "hashed.txt"
    inner.write_text(f"B==1.8 --hash=sha256:{'0' * 64}\n")  # not B 1.8's hash
    outer = tmp_path / "requirements.txt"
    outer.write_text(f"-r {inner}\n")
    guard.engine = "uv"
    result = guard.run("install", *guard.index_args(), "-r", str(outer))
    assert result.returncode != 0, combined(result)
    assert "hash" in result.stderr.lower() and "b" not in guard.venv.versions()

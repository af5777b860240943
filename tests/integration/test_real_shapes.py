"""The real conflicts of issue 10, offline: a wheelhouse shaped like each one, real pip (and uv).

Each shape is named after the real case it stands for (fastapi 0.99 then
pydantic-settings; requests 2.29 then selenium; ...). Every test asserts the
exact words a user acts on and the exit code, under both engines where the
engines can agree.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import Pipguard, Venv, combined, engine_words, make_ensurepip_venv, make_venv
from tests.support.wheelkit import build_wheel, write_source_project

# (name, version, requires, extras)
SHAPES: list[tuple[str, str, list[str], dict[str, list[str]]]] = [
    # (a) fastapi 0.99.1 needs pydantic<2; pydantic-settings 2.x needs pydantic>=2, and the old
    # pydantic-settings 0.2 needs pyyaml<6, whose only such release is an sdist that no longer builds.
    ("Api", "0.99", ["Model<2"], {}),
    ("Model", "1.10", [], {}), ("Model", "2.5", [], {}),
    ("Settings", "2.0", ["Model>=2"], {}), ("Settings", "0.2", ["Model", "Yaml<6"], {}),
    ("Yaml", "6.0", [], {}),  # Yaml 5.4 is a failing sdist (see shapes_wheels)
    # (b) Flask 1.1.4 then ansible-core: the only release that fits is of an older major version.
    ("Orm", "1.0", ["Db<2"], {}),
    ("Db", "1.0", [], {}), ("Db", "1.5", [], {}), ("Db", "2.0", [], {}),
    ("Admin", "1.4", ["Db>=1.0"], {}), ("Admin", "2.0", ["Db>=2.0"], {}), ("Admin", "2.1", ["Db>=2.0"], {}),
    # (c) requests 2.29 then selenium: a lower-bound-only requirement on the earlier side
    # (certifi>=2017) next to the one that really clashes (urllib3<1.27).
    ("Req", "2.29", ["Cert>=2017", "Url3<2"], {}),
    ("Cert", "2017.4", [], {}), ("Cert", "2024.1", [], {}),
    ("Url3", "1.26", [], {}), ("Url3", "2.0", [], {}),
    ("Sel", "4.51", ["Cert>=2017", "Url3>=2"], {}),
    ("Sel", "4.9", ["Cert>=2017", "Url3>=1.26"], {}),
    # (d) selenium 4.52.0 needs a certifi that does not exist: plain pip installs 4.51 here.
    ("Sel", "4.52", ["Cert>=2026.10", "Url3>=2"], {}),
    # (e) an extra asked for in the same command that clashes with an earlier root
    ("Ext", "1.0", [], {"x": ["Url3>=1.0"]}), ("Ext", "1.1", [], {"x": ["Url3>=2"]}),
    ("Strict", "1.0", [], {"x": ["Url3>=2"]}),
    # (f) oslo.utils<4 installed as a one-off, then an install with -c oslo-utils===10
    ("Utils", "3.40", [], {}), ("Utils", "10.1", [], {}),
    ("Nova", "1.0", ["Utils>=3.33"], {}),
    # (g) every Breaker needs Db>=2 (Orm needs Db<2): pip's ResolutionImpossible under the guard
    ("Breaker", "1.0", ["Db>=2"], {}),
    # (i) safety 2.3.5 needs packaging<22; a pipguard installed in the environment needs packaging>=22
    ("pipguard", "0.1.0", ["Pkg>=22"], {}),
    ("Pkg", "21.3", [], {}), ("Pkg", "23.0", [], {}),
    ("Safety", "2.3.5", ["Pkg<22"], {}),
]


def failing_sdist(directory: Path, name: str, version: str) -> Path:
    """``name-version.tar.gz`` whose setup.py raises: an old release that no longer builds."""
    base = f"{name}-{version}"
    files = {
        f"{base}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{base}/setup.py": "raise RuntimeError('this old release no longer builds: "
                            "build_ext has no attribute cython_sources')\n",
    }
    target = directory / f"{base}.tar.gz"
    with tarfile.open(target, "w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return target


@pytest.fixture(scope="module")
def shapes_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("shapes-wheels")
    for name, version, requires, extras in SHAPES:
        build_wheel(directory, name, version, requires, extras)
    failing_sdist(directory, "Yaml", "5.4")
    import virtualenv.seed.wheels.embed as embed  # setuptools, to try building the sdist offline

    for wheel in Path(embed.__file__).parent.glob("setuptools-*.whl"):
        (directory / wheel.name).write_bytes(wheel.read_bytes())
    return directory


@pytest.fixture
def guard(venv: Venv, shapes_wheels: Path, engine: str) -> Pipguard:
    """Every shape under both engines: the verdicts and messages are pipguard's, not the engine's."""
    return Pipguard(venv, [shapes_wheels], engine=engine)


@pytest.fixture
def pip_only(venv: Venv, shapes_wheels: Path) -> Pipguard:
    return Pipguard(venv, [shapes_wheels])


def verdict(result: subprocess.CompletedProcess[str]) -> list[str]:
    """pipguard's own lines on stderr (its verdict and notes), in order."""
    lines, inside = [], False
    for line in result.stderr.splitlines():
        if line.startswith("pipguard:"):
            inside = True
        elif not (inside and (line.startswith("  ") or line.startswith("Nothing was changed"))):
            inside = False
        if inside:
            lines.append(line)
    return lines


def without_log_line(lines: list[str]) -> list[str]:
    """The verdict without the line that says where the engine's own output was kept."""
    return [line for line in lines if "own output is in" not in line]


# -- (a) an old sdist that fails to build ------------------------------------------------------


def test_replan_that_would_build_a_broken_old_sdist_is_a_rejection_naming_the_earlier_project(
        guard: Pipguard) -> None:
    assert guard.install("Api").returncode == 0
    before = guard.venv.versions()
    result = guard.install("Settings")
    assert result.returncode == 10, combined(result)
    yaml = engine_words(guard.engine or "pip", "Yaml", "yaml")  # as the engine names the file it tried
    assert without_log_line(verdict(result)) == [
        "pipguard: not installing Settings: it would break earlier projects.",
        "  Api 0.99 (root, transaction 2) needs model<2; this install would bring model 2.5 "
        "(Settings 2.0 needs Model>=2).",
        f"  (Looking for versions that keep them working, pip tried {yaml} 5.4, an older release, and could "
        "not build it.)",
        "Nothing was changed.",
    ]
    assert "cython_sources" not in combined(result)  # the build's log is not shown...
    assert "subprocess-exited-with-error" not in combined(result)
    assert guard.venv.versions() == before
    assert guard.venv.transactions()[-1]["status"] == "rejected"


# -- (b) a re-plan onto another major version --------------------------------------------------


@pytest.mark.engines("pip")  # uv: test_engine_parity.py [re-plan across a major version refused], [... allowed]
def test_replan_onto_an_older_major_version_is_refused_and_names_the_version_and_the_option(
        guard: Pipguard) -> None:
    assert guard.install("Orm").returncode == 0
    refused = guard.install("Admin")
    assert refused.returncode == 10, combined(refused)
    assert without_log_line(verdict(refused)) == [
        "pipguard: not installing Admin: plain pip's plan would break earlier projects, and the versions that "
        "keep them working are of an older major version.",
        "  Admin 1.4 would fit, where plain pip would install 2.1 (1 major version back); another major "
        "version may have another API.",
        "  Admin 2.1 needs Db>=2.0, but Orm 1.0 (root, transaction 2) needs db<2.",
        "Nothing was changed. To take it anyway, run the same command with --allow-older-major, or ask for "
        "'Admin==1.4'.",
    ]
    assert "admin" not in guard.venv.versions()

    allowed = guard.install("--allow-older-major", "Admin")
    assert allowed.returncode == 0, combined(allowed)
    assert verdict(allowed) == [
        "pipguard: installed Admin 1.4 instead of 2.1, plain pip's choice here (1 major version back): "
        "Admin 2.1 needs Db>=2.0, but Orm 1.0 (root, transaction 2) needs db<2.",
    ]
    assert guard.venv.versions()["admin"] == "1.4"
    assert guard.venv.pip_check().returncode == 0


# -- (c) a lower-bound-only requirement on the earlier side ------------------------------------


@pytest.mark.engines("pip")  # uv: the explanation is the core's; uv's plans: test_engine_parity.py
def test_explanation_cites_only_the_requirement_that_clashes(guard: Pipguard) -> None:
    assert guard.install("Req").returncode == 0
    assert guard.venv.versions()["cert"] == "2024.1"
    result = guard.install("Sel")
    assert result.returncode == 0, combined(result)
    assert verdict(result) == [
        "pipguard: installed Sel 4.9 instead of 4.51, plain pip's choice here (42 minor versions back): "
        "Sel 4.51 needs Url3>=2, but Req 2.29 (root, transaction 2) needs url3<2.",
    ]
    assert guard.venv.versions()["sel"] == "4.9"


# -- (d) a candidate needing a dependency that does not exist ----------------------------------


def test_instead_of_is_what_plain_pip_installs_when_the_newest_needs_a_missing_dependency(
        guard: Pipguard, tmp_path: Path) -> None:
    assert guard.install("Req").returncode == 0
    result = guard.install("Sel")
    assert result.returncode == 0, combined(result)
    assert verdict(result) == [
        "pipguard: installed Sel 4.9 instead of 4.51, plain pip's choice here (42 minor versions back): "
        "Sel 4.51 needs Url3>=2, but Req 2.29 (root, transaction 2) needs url3<2.",
    ]
    control = Pipguard(make_venv(tmp_path / "control"), guard.find_links)  # plain pip, the same steps
    assert control.pip_install("Req").returncode == 0
    planned = control.pip_install("--dry-run", "Sel")
    assert "Would install Sel-4.51 Url3-2.0" in planned.stdout, combined(planned)


# -- (e) an extra asked for in the same command ------------------------------------------------


def test_extra_in_the_same_command_is_the_reason_given(guard: Pipguard) -> None:
    assert guard.install("Req").returncode == 0
    replanned = guard.install("Ext[x]")
    assert replanned.returncode == 0, combined(replanned)
    assert verdict(replanned) == [
        "pipguard: installed Ext 1.0 instead of 1.1, plain pip's choice here (1 minor version back): "
        "Ext 1.1 needs Url3>=2, but Req 2.29 (root, transaction 2) needs url3<2.",
    ]
    rejected = guard.install("Strict[x]")
    assert rejected.returncode == 10, combined(rejected)
    assert without_log_line(verdict(rejected)) == [
        "pipguard: not installing Strict[x]: it would break earlier projects.",
        "  Req 2.29 (root, transaction 2) needs url3<2; this install would bring url3 2.0 "
        "(Strict 1.0 needs Url3>=2).",
        "Nothing was changed.",
    ]


# -- (f) a root against the command's own -c pin -----------------------------------------------


# uv: the explanation is the core's; a user -c file under uv:
# test_guarded_install.py::test_user_constraints_combine_with_the_ledger[uv]
@pytest.mark.engines("pip")
def test_root_against_the_commands_constraint_pin_names_the_root_and_how_to_lift_it(
        guard: Pipguard, tmp_path: Path) -> None:
    assert guard.install("Utils<4").returncode == 0
    upper = tmp_path / "upper-constraints.txt"
    upper.write_text("Utils===10.1\n")
    result = guard.install("-c", str(upper), "Nova")
    assert result.returncode == 10, combined(result)
    assert without_log_line(verdict(result)) == [
        "pipguard: not installing Nova: it would break earlier projects.",
        f"  Utils (root, transaction 2) needs utils<4; this install would bring utils 10.1 (the command's "
        f"constraints file {upper}, line 1 pins Utils===10.1).",
        "  Utils<4 is a root you asked for in transaction 2; to lift its range, ask for it again without one "
        "('pipguard install Utils', which changes nothing installed), then run this command again.",
        "Nothing was changed.",
    ]
    lifted = guard.install("Utils")
    assert lifted.returncode == 0 and guard.venv.versions()["utils"] == "3.40", combined(lifted)
    again = guard.install("-c", str(upper), "Nova")
    assert again.returncode == 0, combined(again)
    assert guard.venv.versions()["utils"] == "10.1"


# -- (g) the verdict first ---------------------------------------------------------------------


def test_pips_resolution_impossible_text_is_not_shown_before_the_verdict(guard: Pipguard) -> None:
    assert guard.install("Orm").returncode == 0
    result = guard.install("Breaker")
    assert result.returncode == 10, combined(result)
    assert result.stderr.startswith("pipguard: not installing Breaker: it would break earlier projects.\n"), \
        combined(result)
    for pips_words in ("ResolutionImpossible", "The conflict is caused by", "ERROR:", "loosen the range"):
        assert pips_words not in combined(result)
    where = [line for line in verdict(result) if "own output is in" in line]
    assert len(where) == 1, verdict(result)
    log = Path(where[0].split(" is in ")[1].split(" (or run")[0])
    assert engine_words(guard.engine or "pip", "ResolutionImpossible", "No solution found") in log.read_text()

    loud = guard.install("-v", "Breaker")
    assert loud.returncode == 10
    verdict_at = loud.stderr.index("pipguard: not installing Breaker")
    engine_at = loud.stderr.index("own output follows")
    assert verdict_at < engine_at, loud.stderr


def test_pips_error_lines_appear_once_with_a_constraints_file(pip_only: Pipguard, tmp_path: Path) -> None:
    """pip's failure passed on (plain pip fails too): its text is shown once."""
    upper = tmp_path / "c.txt"
    upper.write_text("Db===1.0\n")
    result = pip_only.install("-c", str(upper), "Breaker")
    assert result.returncode == 1, combined(result)
    errors = [line for line in combined(result).splitlines() if line.startswith("ERROR: ")]
    assert errors and len(errors) == len(set(errors)), combined(result)


# -- (h) the old-pip note, once ----------------------------------------------------------------


def test_old_pip_build_note_is_given_once_per_environment_and_in_check(tmp_path: Path, shapes_wheels: Path) -> None:
    path = tmp_path / "old-pip"
    venv = make_ensurepip_venv(path)
    version = venv.pip("--version").stdout.split()[1]
    if tuple(int(p) for p in version.split(".")[:2]) >= (25, 3):
        pytest.skip(f"ensurepip's pip {version} already supports --build-constraint")
    guard = Pipguard(venv, [shapes_wheels])
    first = guard.install("-e", str(write_source_project(tmp_path / "one", "One", "1.0")))
    second = guard.install("-e", str(write_source_project(tmp_path / "two", "Two", "1.0")))
    assert first.returncode == 0 and second.returncode == 0, combined(first) + combined(second)
    note = f"pipguard: note: pip {version} is older than 25.3"
    assert [line for line in first.stderr.splitlines() if line.startswith(note)] != []
    assert note not in second.stderr
    check = guard.run("check")
    assert note in combined(check), combined(check)


# -- (i) pipguard's own requirements -----------------------------------------------------------


def test_pipguards_own_requirements_blocking_say_so_and_how_to_guard_from_outside(
        pip_only: Pipguard) -> None:
    assert pip_only.pip_install("pipguard", "Pkg==23.0").returncode == 0  # pipguard inside the venv
    result = pip_only.install("Safety")
    assert result.returncode == 10, combined(result)
    assert without_log_line(verdict(result)) == [
        "pipguard: not installing Safety: it would break earlier projects.",
        "  pipguard 0.1.0 (root, there before pipguard) needs pkg>=22; this install would bring pkg 21.3 "
        "(Safety 2.3.5 needs Pkg<22).",
        "  pipguard itself is installed in this environment, so its own requirements are protected here. "
        "Install pipguard in its own virtual environment (or with pipx) and guard this one "
        f"with: pipguard --python {pip_only.venv.python} (see the README); then only your projects are protected.",
        "Nothing was changed.",
    ]
    control = pip_only.pip_install("Safety")
    assert control.returncode == 0


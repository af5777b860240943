"""Verdicts on shapes of real conflicts (issue 19, items 22 and 24), offline, under both engines.

* 22: an earlier project pins ``marshmallow<4``; then ``install -r requirements.txt`` with
  flask-marshmallow and marshmallow-sqlalchemy, whose newest releases both need
  ``marshmallow>=4``. Both are re-planned, each for its own reason.
* 24: an earlier project needs ``docutils<0.20``; the newest sphinx-autodoc-typehints (3.6.1)
  needs ``sphinx>=9.0.4``, and Sphinx 9.0.4 needs ``docutils>=0.20,<0.23``: the only plan that
  fits is of an older major version, and the refusal names the chain from the request to the clash.

The wheelhouse is shaped like the real index (names shortened; versions as they were).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Pipguard, Venv, combined
from tests.integration.test_real_shapes import verdict, without_log_line
from tests.support.wheelkit import build_wheel

pytestmark = pytest.mark.integration

SHAPES: list[tuple[str, str, list[str]]] = [
    # (22) marshmallow 4 and the two flask-marshmallow packages
    ("Earlier", "1.0", ["marshmallow<4"]),
    ("marshmallow", "3.26.1", []), ("marshmallow", "4.0.0", []),
    ("flask-marshmallow", "1.3.0", ["marshmallow>=3.0.0"]),
    ("flask-marshmallow", "1.5.0", ["marshmallow>=4.0.0"]),
    ("marshmallow-sqlalchemy", "1.5.0", ["marshmallow>=3.18.0"]),
    ("marshmallow-sqlalchemy", "1.6.0", ["marshmallow>=4.0.0"]),
    # (24) sphinx-autodoc-typehints 3.6.1 -> Sphinx 9.0.4 -> docutils>=0.20 (the real requirements)
    ("Theme", "1.0", ["docutils<0.20"]),
    ("docutils", "0.19", []), ("docutils", "0.21.2", []),
    ("Sphinx", "7.1.2", ["docutils>=0.18.1,<0.21"]),
    ("Sphinx", "9.0.4", ["docutils>=0.20,<0.23"]),
    ("sphinx-autodoc-typehints", "1.25.3", ["Sphinx>=7.1.2"]),
    ("sphinx-autodoc-typehints", "3.6.1", ["Sphinx>=9.0.4"]),
]


@pytest.fixture(scope="module")
def shape_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("verdict-shapes")
    for name, version, requires in SHAPES:
        build_wheel(directory, name, version, requires)
    return directory


@pytest.fixture
def guard(venv: Venv, shape_wheels: Path, engine: str) -> Pipguard:
    return Pipguard(venv, [shape_wheels], engine=engine)


def test_two_replans_in_one_requirements_file_each_get_their_own_reason(guard: Pipguard, tmp_path: Path) -> None:
    assert guard.install("Earlier").returncode == 0
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("flask-marshmallow\nmarshmallow-sqlalchemy\n")
    result = guard.install("-r", str(requirements))
    assert result.returncode == 0, combined(result)
    assert sorted(verdict(result)) == [
        "pipguard: installed flask-marshmallow 1.3.0 instead of 1.5.0, plain pip's choice here (2 minor versions "
        "back): flask-marshmallow 1.5.0 needs marshmallow>=4.0.0, but Earlier 1.0 (root, transaction 2) needs "
        "marshmallow<4.",
        "pipguard: installed marshmallow-sqlalchemy 1.5.0 instead of 1.6.0, plain pip's choice here (1 minor "
        "version back): marshmallow-sqlalchemy 1.6.0 needs marshmallow>=4.0.0, but Earlier 1.0 (root, "
        "transaction 2) needs marshmallow<4.",
    ]
    versions = guard.venv.versions()
    assert (versions["flask-marshmallow"], versions["marshmallow-sqlalchemy"], versions["marshmallow"]) == (
        "1.3.0", "1.5.0", "3.26.1")


def test_an_older_major_refusal_names_the_chain_from_the_request_to_the_clash(guard: Pipguard) -> None:
    assert guard.install("Theme").returncode == 0
    result = guard.install("sphinx-autodoc-typehints")
    assert result.returncode == 10, combined(result)
    assert without_log_line(verdict(result)) == [
        "pipguard: not installing sphinx-autodoc-typehints: plain pip's plan would break earlier projects, and "
        "the versions that keep them working are of an older major version.",
        "  sphinx-autodoc-typehints 1.25.3 would fit, where plain pip would install 3.6.1 (2 major versions "
        "back); another major version may have another API.",
        "  sphinx-autodoc-typehints 3.6.1 needs Sphinx>=9.0.4, and Sphinx 9.0.4 needs docutils<0.23,>=0.20, but "
        "Theme 1.0 (root, transaction 2) needs docutils<0.20.",
        "Nothing was changed. To take it anyway, run the same command with --allow-older-major, or ask for "
        "'sphinx-autodoc-typehints==1.25.3'.",
    ]
    assert "sphinx-autodoc-typehints" not in guard.venv.versions()

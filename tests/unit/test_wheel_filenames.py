"""A wheel's file name names its project and version, read by packaging as pip reads it."""

from __future__ import annotations

import pytest

from pipguard.core.constraints import requirement_text
from pipguard.pip.request import classify


@pytest.mark.parametrize(
    ("text", "kind", "requirement"),
    [
        ("dist/a-1.0-py3-none-any.whl", "path", "a==1.0"),
        ("dist/My_Pkg-2.0-py3-none-any.whl", "path", "my-pkg==2.0"),  # pip's Wheel: the canonical name
        ("dist/a-1.0-1-py3-none-any.whl", "path", "a==1.0"),  # a build tag
        ("dist/a-1.0_rc1-py3-none-any.whl", "path", "a==1.0rc1"),  # the version as pip reads it
        ("https://host/files/Foo.Bar-3.1-py2.py3-none-any.whl", "url", "foo-bar==3.1"),
    ],
)
def test_a_wheel_file_names_its_project(text: str, kind: str, requirement: str) -> None:
    requested = classify(text, "command line")
    assert requested.kind == kind
    assert requested.requirement is not None and requirement_text(requested.requirement) == requirement


@pytest.mark.parametrize(
    "text",
    [
        "dist/a-1.0.whl",  # too few parts
        "dist/a-1.0-x-y-py3-none-any.whl",  # too many parts
        "dist/a-1.0-b1-py3-none-any.whl",  # a build tag starts with a digit
        "dist/a-notaversion-py3-none-any.whl",
        "dist/a__b-1.0-py3-none-any.whl",  # not an escaped project name
    ],
)
def test_a_file_name_that_is_not_a_wheels_names_nothing(text: str) -> None:
    requested = classify(text, "command line")
    assert (requested.kind, requested.requirement) == ("path", None)  # pip will say what is wrong with it

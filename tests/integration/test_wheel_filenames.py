"""A wheel asked for by URL is recorded under the project its file name names, as pip's Wheel reads it."""

from __future__ import annotations

from tests.conftest import Pipguard, combined


def test_a_wheel_url_is_recorded_as_its_project_at_its_version(guard: Pipguard, make_wheel) -> None:  # type: ignore[no-untyped-def]
    wheel = make_wheel("Foo.Bar", "1.0")  # written foo_bar-1.0-py3-none-any.whl, as wheels escape names
    result = guard.install(wheel.as_uri())
    assert result.returncode == 0, combined(result)
    root = guard.venv.ledger()["roots"]["foo-bar"]
    assert (root["display_name"], root["specifier"]) == ("foo-bar", "==1.0")
    assert guard.venv.versions()["foo.bar"] == "1.0"

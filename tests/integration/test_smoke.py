from tests.conftest import Pipguard, combined


def test_seed_story_rejects_and_replans(guard: Pipguard) -> None:
    assert guard.install("A").returncode == 0
    result = guard.install("C")
    assert result.returncode == 0, combined(result)
    assert guard.venv.versions()["c"] == "1.0"

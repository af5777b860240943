"""pipguard's own canonical names agree with packaging's (core/names.py says why it has its own)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name as packaging_canonicalize_name

from pipguard.core.names import canonicalize_name

# Project-name characters, weighted towards the separators PEP 503 folds.
_NAME_CHARS = st.sampled_from("abcXYZ019-_.-_.") | st.characters()


@given(st.text(_NAME_CHARS, max_size=30))
def test_canonical_name_agrees_with_packaging(name: str) -> None:
    assert canonicalize_name(name) == packaging_canonicalize_name(name)


def test_canonical_name_folds_separator_runs_and_case() -> None:
    assert canonicalize_name("Oslo._-Concurrency") == "oslo-concurrency"
    assert canonicalize_name("zope.interface") == "zope-interface"

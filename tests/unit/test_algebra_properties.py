"""The requirement algebra's laws, checked with Hypothesis (as packaging does).

* a version satisfies the merged specifier exactly when it satisfies every part;
* rendering the constraints file and parsing it back loses nothing;
* marker evaluation agrees with packaging's own ``Marker.evaluate``;
* the probe's marker environment is packaging's ``default_environment()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st
from packaging.markers import InvalidMarker, Marker, default_environment
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from pipguard.core.constraints import (
    Distribution,
    Need,
    active_requirements,
    marker_applies,
    merge_specifiers,
    parse_constraints,
    render_constraints,
    standing_needs,
    version_satisfies,
)

# -- versions and specifiers ------------------------------------------------------

small = st.integers(min_value=0, max_value=4)


@st.composite
def versions(draw: st.DrawFn, local: bool = True) -> str:
    release = ".".join(str(n) for n in draw(st.lists(small, min_size=1, max_size=3)))
    text = release
    if draw(st.integers(0, 9)) == 0:
        text = f"{draw(st.integers(1, 2))}!{text}"
    pre = draw(st.sampled_from(["", "", "", "a", "b", "rc"]))
    if pre:
        text += f"{pre}{draw(small)}"
    if draw(st.integers(0, 5)) == 0:
        text += f".post{draw(small)}"
    if draw(st.integers(0, 5)) == 0:
        text += f".dev{draw(small)}"
    if local and draw(st.integers(0, 9)) == 0:
        text += f"+local{draw(small)}"
    return text


@st.composite
def specifiers(draw: st.DrawFn) -> str:
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~=", "==.*", "!=.*", "==="]))
    if op.endswith(".*"):
        release = ".".join(str(n) for n in draw(st.lists(small, min_size=1, max_size=3)))
        return f"{op[:2]}{release}.*"
    text = f"{op}{draw(versions(local=op in ('==', '!=', '===')))}"
    try:
        Specifier(text)
    except InvalidSpecifier:
        assume(False)  # e.g. "~=1" (needs two release parts)
    return text


names = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,5}([-_.][A-Za-z0-9]{1,4}){0,2}", fullmatch=True)


@given(parts=st.lists(specifiers(), min_size=1, max_size=5), version=versions())
def test_a_version_meets_the_merged_specifier_exactly_when_it_meets_every_part(
    parts: list[str], version: str
) -> None:
    needs = [Need(canonicalize_name("pkg"), part, f"needer {i}") for i, part in enumerate(parts)]
    merged = merge_specifiers(needs)[canonicalize_name("pkg")]
    every = all(SpecifierSet(part).contains(Version(version), prereleases=True) for part in parts)
    assert merged.contains(Version(version), prereleases=True) == every
    assert version_satisfies(version, merged) == every


@given(st.lists(st.tuples(names, st.lists(specifiers(), max_size=3)), max_size=6))
def test_merging_is_per_canonical_name_and_order_free(items: list[tuple[str, list[str]]]) -> None:
    needs = [Need(canonicalize_name(name), part, name) for name, parts in items for part in parts]
    forward, backward = merge_specifiers(needs), merge_specifiers(list(reversed(needs)))
    assert forward == backward
    assert set(forward) == {need.name for need in needs}


@given(
    st.dictionaries(names.map(canonicalize_name), st.lists(specifiers(), max_size=3).map(",".join)),
    st.text(max_size=40),
)
def test_render_then_parse_constraints_is_lossless(merged_text: dict[str, str], header: str) -> None:
    merged = {name: SpecifierSet(spec) for name, spec in merged_text.items()}
    rendered = render_constraints(merged, header=header)  # type: ignore[arg-type]
    assert parse_constraints(rendered) == {name: spec for name, spec in merged.items() if str(spec)}
    for line in rendered.splitlines():  # pip's rules: no extras, no markers, one line per name
        if line and not line.startswith("#"):
            req = Requirement(line)
            assert not req.extras and req.marker is None


# -- markers ------------------------------------------------------------------------

ENV_VALUES: dict[str, list[str]] = {
    "python_version": ["3.8", "3.9", "3.11", "3.13"],
    "python_full_version": ["3.9.1", "3.11.7", "3.13.0rc1"],
    "sys_platform": ["linux", "darwin", "win32"],
    "platform_system": ["Linux", "Darwin", "Windows"],
    "os_name": ["posix", "nt"],
    "platform_machine": ["x86_64", "aarch64", "AMD64"],
    "implementation_name": ["cpython", "pypy"],
    "platform_python_implementation": ["CPython", "PyPy"],
    "implementation_version": ["3.11.7", "7.3.1"],
    "platform_release": ["6.1.0", ""],
    "platform_version": ["#1 SMP", ""],
}
EXTRAS = ["test", "Foo_Bar", "foo-bar", "db"]


@st.composite
def environments(draw: st.DrawFn) -> dict[str, str]:
    return {key: draw(st.sampled_from(values)) for key, values in ENV_VALUES.items()}


@st.composite
def comparisons(draw: st.DrawFn, with_extra: bool) -> str:
    keys = [*ENV_VALUES, *(["extra"] if with_extra else [])]
    key = draw(st.sampled_from(keys))
    pool = EXTRAS if key == "extra" else ENV_VALUES[key] + ["3.10", "linux2"]
    value = draw(st.sampled_from(pool))
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~=", "in", "not in", "==="]))
    if draw(st.booleans()):
        return f'{key} {op} "{value}"'
    return f'"{value}" {op} {key}'


def marker_texts(with_extra: bool) -> st.SearchStrategy[str]:
    return st.recursive(
        comparisons(with_extra),
        lambda inner: st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        ),
        max_leaves=4,
    )


def evaluate(marker: Marker, environment: dict[str, str]) -> Any:
    try:
        return marker.evaluate(environment)
    except ValueError:  # packaging's verdict on a nonsense comparison: it cannot apply (issue 19.10)
        return False
    except Exception as exc:
        return type(exc)


def applies(marker: Marker, environment: dict[str, str], extras: tuple[str, ...] = ()) -> Any:
    try:
        return marker_applies(marker, environment, extras)
    except Exception as exc:
        return type(exc)


def parsed(text: str) -> Marker:
    try:
        return Marker(text)
    except InvalidMarker:
        assume(False)
        raise


@given(marker_texts(with_extra=False), environments())
def test_marker_applies_is_packagings_evaluate_without_extras(text: str, environment: dict[str, str]) -> None:
    marker = parsed(text)
    assert applies(marker, environment) == evaluate(marker, environment)


@given(marker_texts(with_extra=True), environments(), st.lists(st.sampled_from(EXTRAS), max_size=2))
def test_marker_applies_with_extras_is_packagings_evaluate_for_some_extra_in_use(
    text: str, environment: dict[str, str], extras: list[str]
) -> None:
    """A requirement is active when its marker holds for the base install or for an extra in use."""
    marker = parsed(text)
    verdicts = [evaluate(marker, {**environment, "extra": extra}) for extra in ["", *extras]]
    ours = applies(marker, environment, tuple(extras))
    if any(isinstance(v, type) for v in verdicts):
        assert isinstance(ours, type) or ours is True  # an error, unless an earlier extra matched
    else:
        assert ours == any(verdicts)  # one that cannot be evaluated for an extra does not hold for it


@given(
    st.lists(st.tuples(names, st.one_of(st.none(), marker_texts(with_extra=True))), max_size=6),
    environments(),
    st.lists(st.sampled_from(EXTRAS), max_size=2),
)
def test_active_requirements_keeps_exactly_the_lines_packaging_says_apply(
    lines: list[tuple[str, str | None]], environment: dict[str, str], extras: list[str]
) -> None:
    texts = [f"{name}; {marker}" if marker else name for name, marker in lines]
    for text in texts:
        try:
            Requirement(text)
        except Exception:
            assume(False)
    dist = Distribution(canonicalize_name("dist"), "1.0", tuple(texts))
    expected = []
    for text in texts:
        req = Requirement(text)
        if req.marker is None:
            expected.append(str(req))
            continue
        verdicts = [evaluate(req.marker, {**environment, "extra": e}) for e in ["", *extras]]
        assume(not any(isinstance(v, type) for v in verdicts))
        if any(verdicts):
            expected.append(str(req))
    assert [str(r) for r in active_requirements(dist, environment, extras)] == expected


@given(st.lists(st.tuples(names, specifiers(), marker_texts(with_extra=False)), max_size=5), environments())
def test_standing_constraints_apply_where_their_marker_evaluates_true(
    items: list[tuple[str, str, str]], environment: dict[str, str]
) -> None:
    lines = [f"{name}{spec}; {marker}" for name, spec, marker in items]
    for line in lines:
        try:
            Requirement(line)
        except Exception:
            assume(False)
        assume(not isinstance(evaluate(Requirement(line).marker, environment), type))  # type: ignore[arg-type]
    needs = standing_needs(lines, "upper-constraints.txt", environment)
    expected = sorted(
        (canonicalize_name(Requirement(line).name), str(Requirement(line).specifier))
        for line in lines
        if evaluate(Requirement(line).marker, environment) is True  # type: ignore[arg-type]
    )
    assert sorted((n.name, n.specifier) for n in needs) == expected


def test_the_probe_marker_environment_is_packagings_default_environment() -> None:
    """pipguard's probe (stdlib only, runs in the target) computes what packaging would."""
    source = (Path(__file__).resolve().parents[2] / "pipguard" / "system" / "probe.py").read_text()
    namespace: dict[str, Any] = {"__name__": "probe_under_test"}
    exec(compile(source.replace("\nmain()\n", "\n"), "_probe.py", "exec"), namespace)
    assert namespace["marker_environment"]() == default_environment()

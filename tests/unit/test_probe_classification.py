"""The probe tells the environment's own distributions from those seen from outside.

The probe's pure parts (``sort_out``, the .pth reading, the signature) and
the views ``EnvironmentState`` builds on them. The real thing, a
``--system-site-packages`` venv over a base interpreter of our own, is in
tests/integration/test_probe_outside.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pipguard.system import probe as _probe
from pipguard.system.environment import state_from_dict


def found(key: str, version: str, outside: bool) -> dict[str, Any]:
    return {"key": key, "name": key, "version": version, "outside": outside}


def test_the_first_on_sys_path_is_the_one_imports_see() -> None:
    visible, shadowed, hidden = _probe.sort_out([found("a", "1", False), found("b", "2", True)])
    assert {k: (v["version"], v["outside"]) for k, v in visible.items()} == {"a": ("1", False), "b": ("2", True)}
    assert shadowed == {} and hidden == {}


def test_an_own_distribution_before_an_outside_one_shadows_it() -> None:
    visible, shadowed, hidden = _probe.sort_out([found("b", "1.5", False), found("b", "2.5", True)])
    assert visible["b"]["version"] == "1.5" and not visible["b"]["outside"]
    assert shadowed == {"b": "2.5"}
    assert hidden == {}


def test_an_outside_distribution_before_an_own_one_hides_it() -> None:
    """PYTHONPATH before site-packages: imports see the outside one; the own one is still installed."""
    visible, shadowed, hidden = _probe.sort_out([found("b", "1.8", True), found("b", "1.5", False)])
    assert visible["b"]["version"] == "1.8" and visible["b"]["outside"]
    assert shadowed == {}
    assert hidden["b"]["version"] == "1.5"


def test_later_duplicates_on_the_same_side_are_ignored_as_imports_ignore_them() -> None:
    visible, shadowed, hidden = _probe.sort_out([
        found("b", "1.5", False), found("b", "1.0", False),  # a stale dist-info in the venv
        found("b", "2.5", True), found("b", "3.0", True),  # base, then user site
    ])
    assert visible["b"]["version"] == "1.5"
    assert shadowed == {"b": "2.5"}  # the first outside one: the one that would win without the venv's
    assert hidden == {}


def test_pth_files_of_a_site_directory_add_its_own_directories(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "other").mkdir()
    (site / "easy-install.pth").write_text(f"# a comment\n{tmp_path / 'src'}\n\nimport sys; x = 1\n")
    (site / "relative.pth").write_text("../other\n/nonexistent/dir\n")
    (site / ".hidden.pth").write_text(f"{tmp_path}\n")  # site.py skips dot files
    assert _probe.pth_directories(str(site)) == [str(tmp_path / "src"), str(tmp_path / "other")]


def test_own_locations_are_resolved_so_symlinked_spellings_match(tmp_path: Path) -> None:
    real = tmp_path / "lib" / "site-packages"
    real.mkdir(parents=True)
    (tmp_path / "lib64").symlink_to(tmp_path / "lib")
    own = _probe.own_locations([str(tmp_path / "lib64" / "site-packages")])
    assert _probe.same_path(str(real)) in own


@pytest.mark.parametrize(
    ("path", "directory", "within"),
    [("/venv/lib/site", "/venv", True), ("/venv", "/venv", True), ("/venv2/lib", "/venv", False),
     ("/usr/lib", "/venv", False)],
)
def test_is_within_compares_whole_path_components(path: str, directory: str, within: bool) -> None:
    assert _probe.is_within(path, directory) is within


# -- the cache key ------------------------------------------------------------------


def _dist_info(site: Path, name: str, version: str) -> Path:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n")
    return info


def test_the_signature_changes_when_a_distribution_is_upgraded_and_the_mtime_restored(tmp_path: Path) -> None:
    """pip install B==2.0, then tar/rsync -a/cp -a put site-packages' mtime back."""
    site = tmp_path / "site-packages"
    site.mkdir()
    _dist_info(site, "a", "1.0")
    old = _dist_info(site, "b", "1.5")
    before = _probe.path_signature([str(site)])
    times = os.stat(site)
    for item in old.iterdir():
        item.unlink()
    old.rmdir()
    _dist_info(site, "b", "2.0")
    os.utime(site, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert os.stat(site).st_mtime_ns == times.st_mtime_ns
    assert _probe.path_signature([str(site)]) != before


def test_the_signature_changes_when_metadata_is_rewritten_in_place(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    info = _dist_info(site, "a", "1.0")
    before = _probe.path_signature([str(site)])
    metadata = info / "METADATA"
    times = os.stat(metadata)
    metadata.write_text("Metadata-Version: 2.1\nName: a\nVersion: 1.0\nRequires-Dist: b<2\n\n")
    os.utime(metadata, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert _probe.path_signature([str(site)]) != before


def test_the_signature_is_stable_when_nothing_changed(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    _dist_info(site, "a", "1.0")
    (site / "a").mkdir()  # a package directory: not part of the key
    paths = [str(site), str(tmp_path / "missing"), str(tmp_path / "x.zip")]
    assert _probe.path_signature(paths) == _probe.path_signature(paths)


def test_the_signature_covers_egg_info_files_and_directories(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    before = _probe.path_signature([str(site)])
    (site / "legacy-1.0-py3.11.egg-info").write_text("Metadata-Version: 1.1\nName: legacy\nVersion: 1.0\n")
    assert _probe.path_signature([str(site)]) != before



def test_requirements_read_from_parsed_metadata_are_what_importlib_metadata_says(tmp_path: Path) -> None:
    """The probe parses each METADATA once; its requirements must be dist.requires' own:
    Requires-Dist lines (markers and extras kept), an egg-info's requires.txt, or none."""
    from importlib import metadata

    site = tmp_path / "site-packages"
    site.mkdir()
    (site / "a-1.0.dist-info").mkdir()
    (site / "a-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: a\nVersion: 1.0\nRequires-Dist: b<2\n"
        'Requires-Dist: c[x]>=1; python_version >= "3.8"\nRequires-Dist: d; extra == "test"\n\n'
    )
    _dist_info(site, "leaf", "3.0")
    egg = site / "legacy-1.0-py3.11.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy\nVersion: 1.0\n")
    (egg / "requires.txt").write_text("six>=1.0\n\n[test]\npytest\n")
    dists = list(metadata.distributions(path=[str(site)]))
    assert len(dists) == 3
    for dist in dists:
        assert _probe.requirements_of(dist, dist.metadata) == list(dist.requires or [])
    by_name = {dist.metadata["Name"]: _probe.requirements_of(dist, dist.metadata) for dist in dists}
    assert by_name["leaf"] == []
    assert "six>=1.0" in by_name["legacy"]
    assert by_name["a"][0] == "b<2"

# -- the views ----------------------------------------------------------------------


def _state(**extra: Any) -> dict[str, Any]:
    return {
        "executable": "/venv/bin/python", "python_version": "3.11.7", "prefix": "/venv",
        "base_prefix": "/base", "markers": {"python_version": "3.11"}, **extra,
    }


def item(name: str, version: str, outside: bool, requires: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"name": name, "version": version, "requires": list(requires), "outside": outside,
            "location": "/base/site" if outside else "/venv/site"}


def test_state_views_split_own_outside_shadowed_and_hidden() -> None:
    state = state_from_dict(_state(
        distributions=[item("A", "1.0", False, ("B<2",)), item("B", "1.5", False), item("Cryptography", "43", True),
                       item("Joserfc", "1.6.5", True, ("cryptography>=45",)), item("G", "1.8", True)],
        shadowed={"B": "2.5"},
        hidden=[item("G", "1.0", False)],
        own_paths=["/venv/site"],
    ))
    assert set(state.visible) == {"a", "b", "cryptography", "joserfc", "g"}
    assert state.visible["joserfc"].outside and not state.visible["a"].outside
    assert set(state.own) == {"a", "b", "g"}
    assert state.own["g"].version == "1.0" and not state.own["g"].outside  # installed here, hidden by PYTHONPATH
    assert set(state.outside) == {"cryptography", "joserfc", "g"}
    assert state.shadowed == {"b": "2.5"}
    assert state.own_versions == {"a": "1.0", "b": "1.5", "g": "1.0"}
    assert state.versions["g"] == "1.8"  # what imports see
    assert state.locations["joserfc"] == "/base/site"
    assert state.own_paths == ("/venv/site",)


def test_an_answer_without_classification_reads_as_all_own() -> None:
    """Without "outside" keys nothing is taken for an outside distribution."""
    state = state_from_dict(_state(distributions=[{"name": "a", "version": "1", "requires": []}]))
    assert set(state.own) == {"a"} and state.outside == {} and state.shadowed == {}

"""request.py: pip's command line read once, with its files and configuration, as pip reads them."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from pipguard.core.constraints import requirement_text
from pipguard.errors import UsageError
from pipguard.pip.request import classify, read_install, read_requirements_file, read_uninstall

NO_CONFIG = {"PIP_CONFIG_FILE": "/dev/null"}


def install(*args: str, environ: dict[str, str] | None = None, prefix: str = "/nonexistent"):  # type: ignore[no-untyped-def]
    return read_install(list(args), prefix, NO_CONFIG if environ is None else environ)


@pytest.mark.parametrize(
    ("args", "kinds"),
    [
        (["A", "B>=1", "A[x,y]<2"], [("named", "A"), ("named", "B>=1"), ("named", "A[x,y]<2")]),
        (["D @ https://host/d-1.0-py3-none-any.whl"], [("url", "D @ https://host/d-1.0-py3-none-any.whl")]),
        (["p5 @ http://u:pw@h/p5-1.0-py3-none-any.whl"], [("url", "p5 @ http://u:pw@h/p5-1.0-py3-none-any.whl")]),
        (["https://host/e-2.0-py3-none-any.whl"], [("url", "e==2.0")]),
        (["git+https://host/x.git#egg=x"], [("url", "x")]),
        (["dist/a-1.0-py3-none-any.whl"], [("path", "a==1.0")]),
        (["-e", "./proj", "--editable=../other"], [("editable", None), ("editable", None)]),
        (["-e", "nova[compute] @ git+https://h/nova"], [("editable", "nova[compute] @ git+https://h/nova")]),
        (["--", "A"], [("named", "A")]),
    ],
)
def test_what_is_asked_for(args: list[str], kinds: list[tuple[str, str | None]]) -> None:
    request = install(*args)
    assert [(r.kind, r.requirement and requirement_text(r.requirement)) for r in request.requested] == kinds
    assert list(request.args) == args


def test_a_directory_is_a_path_when_it_looks_like_one(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    assert classify(str(tmp_path / "proj"), "command line").kind == "path"
    assert classify(f"{tmp_path / 'proj'}[extra]", "command line").extras == ("extra",)


def test_credentials_never_reach_a_label() -> None:
    request = install("p5 @ http://u:SEKRIT43@127.0.0.1/p5-1.0-py3-none-any.whl")
    assert "SEKRIT43" not in request.requested[0].label
    assert "SEKRIT43" not in request.describe()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["A>>1"], r"invalid requirement 'A>>1' \(command line\)"),
        (["A=1"], "= is not a valid operator"),
        (["x @ https://h/x.whl ; python_version >>> '3'"], "Fix the environment marker"),
        (["-r"], "option -r needs a value"),
        (["--index-url"], "option --index-url needs a value"),
        (["--upgr", "A"], "could be --upgrade, --upgrade-strategy"),
        (["--no-d", "A"], "could be --no-dependencies, --no-deps"),
    ],
)
def test_bad_command_lines_are_usage_errors(args: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        install(*args)


def test_long_options_may_be_abbreviated_as_pip_allows() -> None:
    request = install("--upgrade-s", "eager", "--no-ind", "--force", "A")
    assert request.value("upgrade-strategy") == "eager" and request.flag("no-index")
    assert request.flag("force-reinstall")


def test_unknown_options_are_left_for_pip_to_refuse() -> None:
    request = install("--frobnicate", "A")
    assert request.unknown_options == ("--frobnicate",)


# -- settings folded with pip's configuration ---------------------------------------------


def test_pip_variables_count_as_the_same_options() -> None:
    request = install("A", environ={**NO_CONFIG, "PIP_UPGRADE": "1", "PIP_FIND_LINKS": "/x /y",
                                    "PIP_NO_DEPS": "yes", "PIP_QUIET": "2"})
    assert request.upgrade and request.flag("no-deps") and request.quiet == 2
    assert request.values("find-links") == ("/x", "/y")
    assert request.source("upgrade") == "PIP_UPGRADE"


def test_command_line_lists_add_to_configured_ones_and_values_replace_them() -> None:
    request = install("-f", "/z", "-i", "https://mine", "A",
                      environ={**NO_CONFIG, "PIP_FIND_LINKS": "/x", "PIP_INDEX_URL": "https://theirs"})
    assert request.values("find-links") == ("/x", "/z")
    assert request.value("index-url") == "https://mine"


def test_pip_conf_sections_and_files_fold_as_pip_folds_them(tmp_path: Path) -> None:
    site = tmp_path / "venv"
    site.mkdir()
    (site / "pip.conf").write_text("[global]\nupgrade = false\nfind-links = /g\n[install]\nupgrade = true\n")
    chosen = tmp_path / "chosen.conf"
    chosen.write_text("[global]\nfind-links = /chosen\n")
    environ = {"PIP_CONFIG_FILE": str(chosen), "HOME": str(tmp_path), "XDG_CONFIG_DIRS": str(tmp_path / "none")}
    request = install("A", environ=environ, prefix=str(site))
    assert request.upgrade and request.source("upgrade") == f"{site / 'pip.conf'} [install]"
    assert request.values("find-links") == ("/chosen",)  # a later file replaces an earlier value
    environ["PIP_FIND_LINKS"] = "/env"
    assert install("A", environ=environ, prefix=str(site)).values("find-links") == ("/env",)


def test_isolated_mode_ignores_pip_variables() -> None:
    request = install("--isolated", "A", environ={**NO_CONFIG, "PIP_UPGRADE": "1"})
    assert not request.upgrade


def test_a_bad_configured_boolean_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not a valid value for upgrade"):
        install("A", environ={**NO_CONFIG, "PIP_UPGRADE": "maybe"})


def test_locations_name_where_they_come_from() -> None:
    request = install("--target", "t", "A", environ={**NO_CONFIG, "PIP_USER": "1", "PIP_PREFIX": "/p"})
    assert request.locations() == ["--user (PIP_USER)", "--target t", "--prefix /p (PIP_PREFIX)"]
    assert install("A", environ={**NO_CONFIG, "PIP_USER": "0"}).locations() == []


# -- rendering back for pip --------------------------------------------------------------------


def test_rendering_drops_options_even_from_bundles() -> None:
    request = install("-qU", "--report=-", "--no-ind", "-f", "/z", "A", "--", "B")
    assert request.pip_args(drop={"report"}) == ["-qU", "--no-ind", "-f", "/z", "A", "--", "B"]
    assert request.pip_args(drop={"quiet"}, add=["-c", "x"]) == [
        "-U", "--report=-", "--no-ind", "-f", "/z", "A", "-c", "x", "--", "B"]  # after "--": requirements only
    assert request.pip_options(drop={"find-links"}) == ["-qU", "--report=-", "--no-ind"]


# -- requirement files, read as pip reads them ----------------------------------------------------


def test_requirement_files_follow_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG_VERSION", "1.5")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.txt").write_text("C==1  # comment\n-c ../cons.txt\n")
    (tmp_path / "cons.txt").write_text("A<1.9\n")
    (tmp_path / "reqs.txt").write_text(
        "# a comment\n"
        "A>=1 \\\n  ,<2\n"
        "B==${PG_VERSION}\n"
        "--index-url https://x/simple\n"
        "-e ./local\n"
        "D @ https://host/d.whl\n"
        "E --hash=sha256:abc\n"
        "-r sub/more.txt\n"
    )
    request = install("-r", str(tmp_path / "reqs.txt"))
    seen = [(r.kind, r.requirement and requirement_text(r.requirement), r.source.rsplit("/", 1)[-1])
            for r in request.requested]
    assert seen == [
        ("named", "A<2,>=1", "reqs.txt, line 2"),
        ("named", "B==1.5", "reqs.txt, line 4"),
        ("editable", None, "reqs.txt, line 6"),
        ("url", "D @ https://host/d.whl", "reqs.txt, line 7"),
        ("named", "E", "reqs.txt, line 8"),
        ("named", "C==1", "more.txt, line 1"),
    ]
    assert [requirement_text(c.requirement) for c in request.constraints] == ["A<1.9"]
    assert request.constraint_files == (str(tmp_path / "sub" / "../cons.txt"),)
    assert {r.origin for r in request.requested} == {str(tmp_path / "reqs.txt")}


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-32"])
def test_requirement_files_with_a_byte_order_mark_are_read(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "r.txt"
    data = "A>=1\nB\n".encode(encoding)
    if encoding == "utf-16-le":
        data = codecs.BOM_UTF16_LE + data
    path.write_bytes(data)
    assert [requirement_text(r.requirement) for r in read_requirements_file(str(path)).requested] == ["A>=1", "B"]


def test_a_pep_263_line_declares_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    path.write_bytes("# -*- coding: latin-1 -*-\nA  # caf\xe9\n".encode("latin-1"))
    assert [requirement_text(r.requirement) for r in read_requirements_file(str(path)).requested] == ["A"]


def test_an_include_cycle_is_refused_as_pip_refuses_it(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r b.txt\n")
    (tmp_path / "b.txt").write_text("-r a.txt\n")
    with pytest.raises(UsageError, match="recursively references itself"):
        install("-r", str(tmp_path / "a.txt"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A\n\nB>>2\n", r"invalid requirement 'B>>2' \(.*bad.txt, line 3\)"),
        ("-U A\n", "pip does not accept '-U' in a requirements file"),
        ("A --frob\n", "pip does not accept '--frob'"),
    ],
)
def test_bad_requirement_files_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(text)
    with pytest.raises(UsageError, match=message):
        install("-r", str(bad))


def test_missing_files_say_which_flag(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"requirements file not found: nope\.txt\. Check the path given to -r"):
        install("-r", "nope.txt")
    with pytest.raises(UsageError, match=r"constraints file not found: .*Check the path given to -c"):
        install("-c", str(tmp_path / "nope.txt"), "A")


@pytest.mark.parametrize(
    ("line", "message"),
    [("A[x]<2", "constraints cannot have extras"), ("-e ./x", "editable requirements are not allowed")],
)
def test_constraint_files_follow_pips_rules(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "c.txt").write_text(line + "\n")
    with pytest.raises(UsageError, match=message):
        install("-c", str(tmp_path / "c.txt"), "A")


def test_remote_files_are_left_to_pip() -> None:
    request = install("-r", "https://host/reqs.txt")
    assert request.remote_files == ("https://host/reqs.txt",) and request.has_requests


def test_uninstall_reads_names_and_files(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("C>=1\n")
    request = read_uninstall(["-y", "A", "-r", str(tmp_path / "r.txt")], "/nonexistent", NO_CONFIG)
    assert request.names == ("A", "C") and request.flag("yes")
    with pytest.raises(UsageError, match="not a package name"):
        read_uninstall(["./x"], "/nonexistent", NO_CONFIG)

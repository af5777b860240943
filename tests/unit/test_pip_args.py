"""pip_args.py: reading pip install command lines and requirement files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipguard.errors import UsageError
from pipguard.pip_args import looks_like_path, parse_install_args, read_requirement_file


def names(request) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(r) for r in request.requirements]


@pytest.mark.parametrize(
    ("args", "field", "expected"),
    [
        (["A", "B>=1"], "requirements", ["A", "B>=1"]),
        (["A[x,y]<2"], "requirements", ["A[x,y]<2"]),
        (
            ["./proj", "dist/a-1.0-py3-none-any.whl", "/abs/path"],
            "paths",
            ["./proj", "dist/a-1.0-py3-none-any.whl", "/abs/path"],
        ),
        (["https://host/a.whl"], "paths", ["https://host/a.whl"]),
        (["-e", "./proj", "--editable=../other"], "editables", ["./proj", "../other"]),
        (["-r", "a.txt", "--requirement=b.txt", "-rc.txt"], "requirement_files", ["a.txt", "b.txt", "c.txt"]),
        (["-c", "c.txt", "--constraint", "d.txt"], "constraint_files", ["c.txt", "d.txt"]),
        (["-U", "A"], "upgrade", True),
        (["-qU", "A"], "upgrade", True),
        (["-qq", "A"], "quiet", 2),
        (["--no-deps", "A"], "no_deps", True),
        (["--dry-run", "A"], "dry_run", True),
        (["--report", "r.json", "A"], "report", "r.json"),
        (
            ["--user", "--target", "t", "--prefix=p", "--root", "r", "A"],
            "locations",
            ["--user", "--target", "--prefix", "--root"],
        ),
        (
            ["-i", "https://x/simple", "-f", "wh", "--no-index", "A"],
            "options",
            ["-i", "https://x/simple", "-f", "wh", "--no-index"],
        ),
        (["-e", "./p", "-r", "r.txt", "-q"], "options", ["-q"]),
        (["--", "A"], "requirements", ["A"]),
    ],
)
def test_parse_install_args(args: list[str], field: str, expected: object) -> None:
    request = parse_install_args(args)
    value = getattr(request, field)
    assert ([str(v) for v in value] if field == "requirements" else value) == expected
    assert request.args == args


def test_has_requests() -> None:
    assert not parse_install_args(["-r", "x.txt"]).has_requests
    assert parse_install_args(["-e", "."]).has_requests


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["A>>1"], "invalid requirement 'A>>1' (command line)"),
        (["-r"], "option -r needs a value"),
        (["--index-url"], "option --index-url needs a value"),
    ],
)
def test_bad_command_lines(args: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_install_args(args)


@pytest.mark.parametrize(
    ("arg", "is_path"),
    [
        ("A", False),
        ("A>=1", False),
        ("A[x]", False),
        ("./a", True),
        ("../a", True),
        ("a/b", True),
        ("x.whl", True),
        ("x.tar.gz", True),
        ("https://h/x", True),
        ("file:///x", True),
        (".", True),
    ],
)
def test_looks_like_path(arg: str, is_path: bool) -> None:
    assert looks_like_path(arg) is is_path


def test_read_requirement_file_follows_includes_and_skips_what_pip_handles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PG_VERSION", "1.5")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.txt").write_text("C==1  # comment\n-r ../reqs.txt\n")  # a cycle, followed once
    (tmp_path / "reqs.txt").write_text(
        "# a comment\n"
        "A>=1 \\\n  ,<2\n"
        "B==${PG_VERSION}\n"
        "--index-url https://x/simple\n"
        "-e ./local\n"
        "-c cons.txt\n"
        "./some/path\n"
        "D @ https://host/d.whl\n"
        "E --hash=sha256:abc\n"
        "-r sub/more.txt\n"
    )
    content = read_requirement_file(str(tmp_path / "reqs.txt"))
    assert [(r.name, str(r.specifier), r.url) for r in content.requirements] == [
        ("A", "<2,>=1", None),
        ("B", "==1.5", None),
        ("D", "", "https://host/d.whl"),
        ("E", "", None),
        ("C", "==1", None),
    ]
    assert content.editables == ["./local"]
    assert content.constraint_files == [str(tmp_path / "cons.txt")]


def test_read_requirement_file_errors_name_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"requirements file not found: nope\.txt"):
        read_requirement_file("nope.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("A\n\nB>>2\n")
    with pytest.raises(UsageError, match=r"invalid requirement 'B>>2' \(.*bad.txt, line 3\)"):
        read_requirement_file(str(bad))
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(UsageError, match="cannot read the requirements file"):
        read_requirement_file(str(binary))
    assert read_requirement_file("https://host/reqs.txt").requirements == []

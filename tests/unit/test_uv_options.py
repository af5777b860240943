"""pip's settings as uv flags: each setting and source, and each refusal (table-driven)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from pipguard.engines.uv.options import UvArguments, translate, uv_environment
from pipguard.errors import UsageError
from pipguard.pip.request import read_install

NO_CONFIG = {"PIP_CONFIG_FILE": "/dev/null"}


@pytest.fixture(autouse=True)
def in_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The files the table names, in the current directory (as pip reads them)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "upper.txt").write_text("b<2\n")
    (tmp_path / "build.txt").write_text("setuptools<80\n")
    (tmp_path / "local" / "project").mkdir(parents=True)
    (tmp_path / "local" / "project" / "pyproject.toml").write_text("[project]\nname = 'p'\nversion = '1'\n")


def uv_args(args: list[str], environ: Mapping[str, str] | None = None, also: tuple[str, ...] = ()) -> UvArguments:
    return translate(read_install(args, "/nonexistent-prefix", {**NO_CONFIG, **(environ or {})}), also)


def words(arguments: UvArguments) -> list[str]:
    return [*arguments.sources, *arguments.requests]


# (pip arguments, pip's environment, uv words expected, in this order, among uv's arguments)
TRANSLATED = [
    (["-i", "https://mirror/simple", "X"], {}, ["--default-index", "https://mirror/simple"]),
    (["X"], {"PIP_INDEX_URL": "https://mirror/simple"}, ["--default-index", "https://mirror/simple"]),
    (["--extra-index-url", "https://a/simple", "X"], {"PIP_EXTRA_INDEX_URL": "https://b/simple https://c/simple"},
     ["--index", "https://b/simple", "--index", "https://c/simple", "--index", "https://a/simple"]),
    (["--no-index", "-f", "/wheels", "X"], {}, ["--no-index", "--find-links", "/wheels"]),
    (["X"], {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/w1 /w2"}, ["--no-index", "--find-links", "/w1",
                                                               "--find-links", "/w2"]),
    (["--trusted-host", "mirror", "X"], {}, ["--allow-insecure-host", "mirror"]),
    (["--pre", "X"], {}, ["--prerelease", "allow"]),
    (["X"], {"PIP_PRE": "yes"}, ["--prerelease", "allow"]),
    (["--only-binary", ":all:", "--no-binary", "a,b", "X"], {}, ["--only-binary", ":all:", "--no-binary", "a,b"]),
    (["--no-deps", "X"], {}, ["--no-deps"]),
    (["--force-reinstall", "X"], {}, ["--reinstall"]),
    (["--no-build-isolation", "X"], {}, ["--no-build-isolation"]),
    (["X"], {"PIP_NO_BUILD_ISOLATION": "0"}, ["--no-build-isolation"]),  # pip's own reading of "0"
    (["--break-system-packages", "X"], {}, ["--break-system-packages"]),
    (["--require-hashes", "X"], {}, ["--require-hashes"]),
    (["--compile", "X"], {}, ["--compile-bytecode"]),
    (["-C", "key=value", "X"], {}, ["--config-setting", "key=value"]),
    (["--keyring-provider", "subprocess", "X"], {}, ["--keyring-provider", "subprocess"]),
    (["-c", "upper.txt", "X"], {}, ["-c", "upper.txt"]),
    (["X"], {"PIP_CONSTRAINT": "upper.txt"}, ["-c", "upper.txt"]),
    (["--build-constraint", "build.txt", "X"], {}, ["--build-constraints", "build.txt"]),
    (["-U", "X", "y>1"], {}, ["--upgrade-package", "x", "--upgrade-package", "y"]),
    (["-U", "--upgrade-strategy", "eager", "X"], {}, ["--upgrade"]),
    (["X"], {"PIP_UPGRADE": "1", "PIP_UPGRADE_STRATEGY": "eager"}, ["--upgrade"]),
    (["X[extra]>=1", "./local/project"], {}, ["X[extra]>=1", "./local/project"]),
]


@pytest.mark.parametrize(("args", "environ", "expected"), TRANSLATED,
                         ids=[" ".join(a) + (" " + " ".join(e) if e else "") for a, e, _ in TRANSLATED])
def test_pip_setting_becomes_uv_flags(args: list[str], environ: dict[str, str], expected: list[str]) -> None:
    found = words(uv_args(args, environ))
    start = next((i for i in range(len(found)) if found[i:i + len(expected)] == expected), None)
    assert start is not None, found


def test_unset_flags_and_false_configuration_pass_nothing() -> None:
    assert words(uv_args(["X"], {"PIP_NO_DEPS": "no", "PIP_PRE": "0"})) == ["X"]


def test_output_and_pip_only_settings_are_not_passed() -> None:
    args = ["-q", "-v", "--no-color", "--disable-pip-version-check", "--cache-dir", "/c", "--no-input",
            "--progress-bar", "off", "--root-user-action", "ignore", "--no-warn-script-location", "X"]
    assert words(uv_args(args)) == ["X"]


def test_editables_and_requirement_files_are_passed_as_uv_reads_them(tmp_path: Path) -> None:
    reqs = tmp_path / "reqs.txt"
    reqs.write_text("A\n--index-url https://mirror/simple\n-c more.txt\n")
    (tmp_path / "more.txt").write_text("b<2\n")
    project = tmp_path / "proj"
    project.mkdir()
    arguments = uv_args(["-r", str(reqs), "-e", str(project)])
    assert arguments.requests == ("-r", str(reqs), "-e", str(project))
    assert arguments.sources == ()  # uv reads the index line and the nested -c itself


def test_pre_and_trusted_host_in_a_file_go_on_uvs_command_line(tmp_path: Path) -> None:
    """uv ignores them in a requirements file (with a warning); pip applies them to the whole install."""
    reqs = tmp_path / "reqs.txt"
    reqs.write_text("--pre\n--trusted-host mirror\nA\n")
    assert uv_args(["-r", str(reqs)]).sources == ("--prerelease", "allow", "--allow-insecure-host", "mirror")


def test_replan_roots_are_requested_and_upgraded_with_the_request() -> None:
    arguments = uv_args(["-U", "C"], also=("A>=1",))
    assert arguments.requests == ("--upgrade-package", "a", "--upgrade-package", "c", "C", "A>=1")


VARIABLES = [
    (["--cert", "/etc/ca.pem", "X"], {}, {"SSL_CERT_FILE": "/etc/ca.pem"}),
    (["X"], {"PIP_CERT": "/etc/ca.pem"}, {"SSL_CERT_FILE": "/etc/ca.pem"}),
    (["--client-cert", "/etc/me.pem", "X"], {}, {"SSL_CLIENT_CERT": "/etc/me.pem"}),
    (["--timeout", "15.5", "X"], {}, {"UV_HTTP_TIMEOUT": "16"}),
    (["X"], {"PIP_DEFAULT_TIMEOUT": "180"}, {"UV_HTTP_TIMEOUT": "180"}),
    (["--retries", "3", "X"], {}, {"UV_HTTP_RETRIES": "3"}),
    (["--proxy", "http://proxy:3128", "X"], {}, {"HTTP_PROXY": "http://proxy:3128",
                                                 "HTTPS_PROXY": "http://proxy:3128"}),
]


@pytest.mark.parametrize(("args", "environ", "expected"), VARIABLES, ids=[" ".join(a) for a, _, _ in VARIABLES])
def test_pip_setting_becomes_a_uv_variable(args: list[str], environ: dict[str, str],
                                           expected: dict[str, str]) -> None:
    arguments = uv_args(args, environ)
    assert dict(arguments.variables) == expected
    assert uv_environment({}, arguments) == expected


def test_users_uv_settings_are_kept_out_of_uvs_environment() -> None:
    environ = {"UV_INDEX_URL": "https://elsewhere", "UV_CONSTRAINT": "/c.txt", "UV_PRERELEASE": "allow",
               "UV_EXCLUDE_NEWER": "2020-01-01", "UV_CACHE_DIR": "/cache", "UV_LINK_MODE": "copy",
               "PATH": "/bin", "HOME": "/root"}
    env = uv_environment(environ, uv_args(["X"]))
    assert env == {"UV_CACHE_DIR": "/cache", "UV_LINK_MODE": "copy", "PATH": "/bin", "HOME": "/root"}


def test_requests_ca_bundle_reaches_uv_as_ssl_cert_file() -> None:
    env = uv_environment({"REQUESTS_CA_BUNDLE": "/ca.pem"}, uv_args(["X"]))
    assert env["SSL_CERT_FILE"] == "/ca.pem"
    assert uv_environment({"REQUESTS_CA_BUNDLE": "/ca.pem"}, uv_args(["--cert", "/mine.pem", "X"]))[
        "SSL_CERT_FILE"] == "/mine.pem"


def test_no_proxy_env_takes_the_proxy_variables_out() -> None:
    env = uv_environment({"HTTPS_PROXY": "http://p", "https_proxy": "http://p", "PATH": "/bin"},
                         uv_args(["--no-proxy-env", "X"]))
    assert env == {"PATH": "/bin"}


# (pip arguments, pip's environment, what the refusal must say)
REFUSED = [
    (["--prefer-binary", "X"], {}, ["--prefer-binary", "on the command line"]),
    (["X"], {"PIP_PREFER_BINARY": "1"}, ["--prefer-binary", "from PIP_PREFER_BINARY"]),
    (["--ignore-installed", "X"], {}, ["--ignore-installed"]),
    (["--report", "r.json", "X"], {}, ["--report r.json", "installation report"]),
    (["--only-deps", "X"], {}, ["--only-deps"]),
    (["--platform", "linux_x86_64", "X"], {}, ["--platform linux_x86_64"]),
    (["--python-version", "3.8", "X"], {}, ["--python-version 3.8"]),
    (["--ignore-requires-python", "X"], {}, ["--ignore-requires-python"]),
    (["--global-option", "x", "X"], {}, ["--global-option x"]),
    (["--use-feature", "fast-deps", "X"], {}, ["--use-feature fast-deps"]),
    (["--all-releases", ":all:", "X"], {}, ["--all-releases :all:"]),
    (["--keyring-provider", "import", "X"], {}, ["--keyring-provider import", "disabled and subprocess"]),
    (["-U", "--upgrade-strategy", "sometimes", "X"], {}, ["--upgrade-strategy sometimes"]),
    (["--group", "dev"], {}, ["--group dev"]),
    (["--frobnicate", "X"], {}, ["pip has no option --frobnicate"]),
    (["--index-url", "https://user:secret@mirror/simple", "--prefer-binary", "X"], {}, ["--prefer-binary"]),
]


@pytest.mark.parametrize(("args", "environ", "says"), REFUSED, ids=[" ".join(a) for a, _, _ in REFUSED])
def test_what_uv_cannot_do_alike_is_refused_naming_setting_and_source(
        args: list[str], environ: dict[str, str], says: list[str]) -> None:
    with pytest.raises(UsageError) as caught:
        uv_args(args, environ)
    message = str(caught.value)
    for part in says:
        assert part in message
    if "pip has no option" not in message:
        assert "--engine pip" in message
    assert "secret" not in message


def test_setting_from_pip_conf_is_refused_naming_the_file(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[install]\nprefer-binary = true\n")
    with pytest.raises(UsageError) as caught:
        uv_args(["X"], {"PIP_CONFIG_FILE": str(conf)})
    assert f"from {conf} [install]" in str(caught.value)


@pytest.mark.parametrize("line", ["--prefer-binary", "--use-feature fast-deps", "--config-settings a=b",
                                  "--all-releases :all:"])
def test_option_line_uv_cannot_read_is_refused_naming_the_file(tmp_path: Path, line: str) -> None:
    reqs = tmp_path / "reqs.txt"
    reqs.write_text(f"{line}\nA\n")
    with pytest.raises(UsageError) as caught:
        uv_args(["-r", str(reqs)])
    assert line.split()[0] in str(caught.value) and str(reqs) in str(caught.value)
    assert "--engine pip" in str(caught.value)

"""Shared fixtures: one wheelhouse per session, a fresh real venv per test.

Tests run the real thing: wheels built here (no network), real virtual
environments, real pip, and pipguard as a real subprocess. The machine's
pip configuration is scrubbed from every subprocess unless a test is about
configuration and puts its own back.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parent.parent

# Hypothesis: a few examples per property in the everyday run (tox), many in
# `tox -e thorough` (pytest --hypothesis-profile thorough). No deadline: the
# machine is shared, and a slow example is not a wrong one.
settings.register_profile("ci", max_examples=20, deadline=None)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile("ci")

from tests.support.wheelkit import build_wheel, write_source_project  # noqa: E402

pytest_plugins = ["tests.support.cputime"]

# The seed story and a few more shapes, as (name, version, requires, extras).
STORY_WHEELS: list[tuple[str, str, list[str], dict[str, list[str]]]] = [
    ("A", "1.0", ["B>1.0,<2.0"], {}),
    ("B", "1.0", [], {}),
    ("B", "1.5", [], {}),
    ("B", "1.8", [], {}),
    ("B", "2.0", [], {}),
    ("B", "2.5", [], {}),
    ("C", "1.0", ["B>=1.0"], {}),
    ("C", "1.1", ["B>=2.0"], {}),  # the newest C: a re-plan to C 1.0 stays in its major version
    ("E", "1.0", ["B>=2.0"], {}),  # no version of E fits beside A
    ("D", "1.0", [], {"x": ["B<1.8"]}),  # an extra that narrows B
    ("F", "1.0", ["B<2.0; python_version < '3'"], {}),  # marker that never applies
    ("G", "1.0", ["B>=1.0"], {}),
    ("G", "1.1", ["B>=1.0"], {}),
    ("G", "1.2", ["B>=1.0"], {}),
    ("H", "1.0", ["B>=2.5"], {}),
    ("M", "1.0", ["B>=1.0"], {}),
    ("M", "2.0", ["B>=2.0"], {}),  # a re-plan to M 1.0 would cross a major version
]


def _without_rust(path: str) -> str:
    """*path* without the directories that hold a ``rustc`` and no Python.

    pip builds its user agent on every run, and that runs ``rustc --version``
    when a rustc is on PATH: through rustup ~30 ms, twice per install, some
    thousand times per session (a plain pip run here: ~490 against ~585 ms).
    No test needs Rust, and pip's plan does not depend on it.
    """
    def rust_only(directory: str) -> bool:
        return os.path.isfile(os.path.join(directory, "rustc")) and not any(
            os.path.exists(os.path.join(directory, name)) for name in ("python", "python3"))
    return os.pathsep.join(entry for entry in path.split(os.pathsep) if not (entry and rust_only(entry)))


# Every subprocess of the session inherits this (xdist workers import this module too).
os.environ["PATH"] = _without_rust(os.environ.get("PATH", ""))


def scrubbed_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ without the machine's pip and pipguard settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "PIPGUARD_", "VIRTUAL_ENV"))
    }
    # pip in a fresh venv compiles itself on every run when bytecode may not be
    # written (this machine sets that): let it write, and every later run is faster.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env.update(extra or {})
    return env


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All story wheels, plus setuptools for offline builds of source projects."""
    directory = tmp_path_factory.mktemp("wheelhouse")
    for name, version, requires, extras in STORY_WHEELS:
        build_wheel(directory, name, version, requires, extras)
    import virtualenv.seed.wheels.embed as embed  # the wheels virtualenv ships

    embedded = Path(embed.__file__).parent
    for wheel in embedded.glob("setuptools-*.whl"):
        shutil.copy(wheel, directory)
    return directory


@pytest.fixture(scope="session")
def old_pip_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A real pip older than pipguard needs (>= 21.0), copied from an ensurepip on this machine
    (no download), in a directory of its own; None if this machine has none."""
    import glob

    from packaging.version import Version

    from pipguard.engines.pip.runner import MINIMUM_PIP

    patterns = [
        os.path.join(sys.base_prefix, "lib", "python3*", "ensurepip", "_bundled", "pip-*.whl"),
        os.path.expanduser("~/.pyenv/versions/*/lib/python3*/ensurepip/_bundled/pip-*.whl"),
        "/usr/lib/python3*/ensurepip/_bundled/pip-*.whl",
        "/usr/share/python-wheels/pip-*.whl",
    ]
    for pattern in patterns:
        for found in sorted(glob.glob(pattern)):
            version = Version(Path(found).name.split("-")[1])
            if Version("21.0") <= version < MINIMUM_PIP:
                directory = tmp_path_factory.mktemp("old-pip")
                return Path(shutil.copy(found, directory))
    return None


def journal_transactions(path: Path) -> list[dict[str, Any]]:
    """The transactions of a journal file (one JSON line per record), oldest first."""
    records: dict[int, dict[str, Any]] = {}
    if not path.exists():
        return []
    for line in path.read_text().splitlines():
        data = json.loads(line)
        if data.get("kind") == "transaction":
            records.pop(data["id"], None)  # the outcome replaces the pending record
            records[data["id"]] = data
    return sorted(records.values(), key=lambda record: int(record["id"]))


@dataclass
class Venv:
    path: Path

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    @property
    def ledger_path(self) -> Path:
        return self.path / ".pipguard" / "ledger.json"

    @property
    def journal_path(self) -> Path:
        return self.path / ".pipguard" / "ledger.journal.jsonl"

    def ledger(self) -> dict[str, Any]:
        """The ledger's current state (the state document)."""
        data: dict[str, Any] = json.loads(self.ledger_path.read_text())
        return data

    def transactions(self) -> list[dict[str, Any]]:
        """Every transaction in the journal, oldest first: its outcome, or its pending record."""
        return journal_transactions(self.journal_path)

    def pip(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Plain pip, even in a shimmed venv (its python -m pip hook lets pipguard's own runs through)."""
        return subprocess.run(
            [self.python, "-m", "pip", *args], capture_output=True, text=True,
            env=scrubbed_env({"PIPGUARD_INNER_PIP": "1", **(env or {})}), check=False,
        )

    def versions(self) -> dict[str, str]:
        """name -> version of everything installed, as the venv's own Python sees it.

        A plain venv (no system site-packages, no .pth file that could add a
        path) sees its site-packages and the standard library, which holds no
        distribution: that directory is read here (a Python run costs ~60 ms
        of CPU, and tests ask this hundreds of times). Any other venv is asked.
        """
        site = self._plain_site_packages()
        if site is not None:
            return {dist.metadata["Name"].lower(): dist.version
                    for dist in importlib.metadata.distributions(path=[str(site)])}
        code = (
            "import json, importlib.metadata as m;"
            "print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions()}))"
        )
        out = subprocess.run([self.python, "-I", "-c", code], capture_output=True, text=True, check=True)
        result: dict[str, str] = json.loads(out.stdout)
        return result

    def _plain_site_packages(self) -> Path | None:
        config = self.path / "pyvenv.cfg"
        if not config.is_file() or "include-system-site-packages = false" not in config.read_text():
            return None
        found = _site_packages(self)
        if len(found) != 1 or any(found[0].glob("*.pth")):
            return None
        return found[0]

    def pip_check(self) -> subprocess.CompletedProcess[str]:
        return self.pip("check")


# -- fresh venvs: copies of one prepared per session ---------------------------------------
#
# A venv made by virtualenv (or venv) holds pip's sources without their bytecode:
# the first pip run in it compiles pip (about 0.6 s of CPU, twice what the run
# itself costs). Most tests start from such a venv, so each session makes it
# once, compiles it, and copies it: a copy is a fresh venv, as the test would
# have made it, with pip ready to run.

# The prepared venvs' directory name: a word no path holds by chance, replaced
# in each copy's scripts (shebangs, activate prompts) by the copy's own.
_TEMPLATE_NAME = "prepared-venv-to-copy"


@dataclass
class _Templates:
    directory: Path | None = None  # set for the session (outside pytest: None, venvs are made)
    made: dict[str, Path] = field(default_factory=dict)
    # each template's lib/ files as prepared: copies share them (hard links, see copy_venv)
    files: dict[Path, tuple[int, int, int]] = field(default_factory=dict)


_templates = _Templates()


def _file_marks(lib: Path) -> dict[Path, tuple[int, int, int]]:
    """(size, mtime, mode) of every file under *lib*: what a write through a hard link would change."""
    marks: dict[Path, tuple[int, int, int]] = {}
    for root, _, files in os.walk(lib):
        for name in files:
            stat = os.lstat(os.path.join(root, name))
            marks[Path(root, name)] = (stat.st_size, stat.st_mtime_ns, stat.st_mode)
    return marks


@pytest.fixture(scope="session", autouse=True)
def _venv_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterable[None]:
    _templates.directory = tmp_path_factory.mktemp("prepared-venvs")
    yield
    now: dict[Path, tuple[int, int, int]] = {}
    for template in _templates.made.values():
        now.update(_file_marks(template / "lib"))
    changed = [str(path) for path, mark in _templates.files.items() if now.get(path) != mark]
    _templates.directory = None
    _templates.made.clear()
    _templates.files.clear()
    assert not changed, f"a test changed a prepared venv's file in place (through a hard-linked copy): {changed[:5]}"


def _prepared(kind: str, make: Callable[[Path], Venv]) -> Path | None:
    """The session's prepared venv of *kind* (made by *make*, pip compiled), or None outside a session."""
    if _templates.directory is None:
        return None
    if kind not in _templates.made:
        template = make(_templates.directory / kind / _TEMPLATE_NAME)
        compiled = subprocess.run([template.python, "-m", "compileall", "-q", *map(str, _site_packages(template))],
                                  capture_output=True, text=True, env=scrubbed_env(), check=False)
        assert compiled.returncode == 0, compiled.stdout + compiled.stderr
        _templates.made[kind] = template.path
        _templates.files.update(_file_marks(template.path / "lib"))
    return _templates.made[kind]


def prepared_copy(kind: str, make: Callable[[Path], Venv], path: Path, link: bool = True) -> Venv:
    """A fresh venv at *path*: a copy of the session's prepared venv of *kind* (made once by
    *make*, pip compiled), or *make* itself outside a session. *link*: False for a copy whose
    files will change owner or mode (a hard link shares them with the template)."""
    template = _prepared(kind, make)
    return make(path) if template is None else copy_venv(template, path, link=link)


def _site_packages(venv: Venv) -> list[Path]:
    return sorted((venv.path / "lib").glob("python3*/site-packages"))


def copy_venv(template: Path, path: Path, link: bool = True) -> Venv:
    """A copy of the venv at *template* that works at *path* (its scripts name *path*).

    What is under lib/ (pip's sources and bytecode: nearly all of it) is
    hard-linked, not copied: copying those ~1,100 files cost ~0.3 s of CPU
    per venv. pip never writes an installed file in place (an uninstall
    moves it away, an install writes a new file), so a copy's changes never
    reach the template; ``_venv_templates`` checks that at the end of the
    session. bin/ and pyvenv.cfg are copied: they are rewritten below.
    """
    lib = template / "lib"

    def link_or_copy(source: str, destination: str) -> None:
        if link and Path(source).is_relative_to(lib):
            try:
                os.link(source, destination)
                return
            except OSError:  # another file system: a copy
                pass
        shutil.copy2(source, destination)

    shutil.copytree(template, path, symlinks=True, copy_function=link_or_copy)
    old, new = str(template).encode(), str(path).encode()
    for file in [*(path / "bin").iterdir(), path / "pyvenv.cfg"]:
        if file.is_symlink() or not file.is_file():
            continue
        text = file.read_bytes()
        if old in text or _TEMPLATE_NAME.encode() in text:
            file.write_bytes(text.replace(old, new).replace(_TEMPLATE_NAME.encode(), path.name.encode()))
    return Venv(path)


def _virtualenv(path: Path) -> Venv:
    from virtualenv import cli_run

    cli_run([str(path), "--no-setuptools", "--no-wheel", "--no-periodic-update", "-q"])
    return Venv(path)


def make_venv(path: Path) -> Venv:
    """A fresh virtual environment with pip (virtualenv's bundled, recent pip).

    A copy of the session's prepared venv; where *path* exists already,
    virtualenv itself (which then makes a copied venv work where it is).
    """
    template = None if path.exists() else _prepared("virtualenv", _virtualenv)
    return _virtualenv(path) if template is None else copy_venv(template, path)


def _ensurepip_venv(path: Path) -> Venv:
    made = subprocess.run([sys.executable, "-m", "venv", str(path)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"python -m venv (ensurepip) is not available: {made.stderr.strip()[:200]}")
    return Venv(path)


def make_ensurepip_venv(path: Path) -> Venv:
    """``python -m venv PATH``: the standard library's venv, with ensurepip's pip (older than
    virtualenv's); a copy of the session's prepared one, as ``make_venv``."""
    return prepared_copy("ensurepip", _ensurepip_venv, path)


@pytest.fixture
def venv(tmp_path: Path) -> Venv:
    """A fresh virtual environment with pip (virtualenv's bundled, recent pip)."""
    return make_venv(tmp_path / "venv")


# -- a base interpreter of our own, for --system-site-packages venvs ------------------


@dataclass
class BasePython:
    """A copy of the running Python's installation with a site-packages of its own.

    The binary is hard-linked (copied across file systems), the standard
    library is a directory of symlinks to the real one, and site-packages is
    a real, empty directory: what is installed there is the base's own, and
    the machine's Python is never touched.
    """

    prefix: Path
    python: str
    site_packages: Path

    def install(self, wheels: Path, *requirements: str) -> None:
        """Real pip, into the base's site-packages (it has no pip of its own)."""
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(wheels), "--no-deps",
             "--target", str(self.site_packages), "--python-version",
             ".".join(map(str, sys.version_info[:2])), "--only-binary=:all:", *requirements],
            capture_output=True, text=True, env=scrubbed_env(), check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def versions(self) -> dict[str, str]:
        return Venv(self.prefix).versions()


def make_base_python(path: Path) -> BasePython:
    """A base interpreter of our own under *path* (see ``BasePython``)."""
    import sysconfig

    real_python = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    short = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    (path / "bin").mkdir(parents=True)
    binary = path / "bin" / short
    try:
        os.link(real_python, binary)
    except OSError:
        shutil.copy2(real_python, binary)
    for alias in ("python", f"python{sys.version_info[0]}"):
        (path / "bin" / alias).symlink_to(short)
    lib = path / "lib" / short
    lib.mkdir(parents=True)
    for entry in stdlib.iterdir():
        if entry.name not in ("site-packages", "dist-packages"):
            (lib / entry.name).symlink_to(entry)
    for shared in stdlib.parent.glob("libpython*"):  # a shared build finds its library beside its prefix too
        (path / "lib" / shared.name).symlink_to(shared)
    where = subprocess.run(
        [str(binary), "-I", "-c", "import sys, sysconfig; print(sys.prefix); print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, env=scrubbed_env(),
    )
    prefix, purelib = where.stdout.splitlines()
    assert os.path.realpath(prefix) == os.path.realpath(path), f"the copy's prefix is {prefix}, not {path}"
    site_packages = Path(purelib)
    assert os.path.realpath(site_packages).startswith(os.path.realpath(path)), purelib
    site_packages.mkdir(parents=True, exist_ok=True)
    return BasePython(path, str(binary), site_packages)


def make_system_site_venv(base: BasePython, path: Path) -> Venv:
    """``python -m venv --system-site-packages`` from *base*, as devstack makes its venv."""
    made = subprocess.run([base.python, "-m", "venv", "--system-site-packages", str(path)],
                          capture_output=True, text=True, env=scrubbed_env(), check=False)
    assert made.returncode == 0, made.stdout + made.stderr
    return Venv(path)


# The base_python fixture's own distributions: C 2.0 needs B>=2.0, so the
# base holds requirements that clash with A (B>1.0,<2.0) in the venv.
BASE_DISTRIBUTIONS = ("B==2.5", "C==1.1")


@pytest.fixture(scope="session")
def base_python(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> BasePython:
    """A base interpreter holding B 2.5 and C 2.0 (``BASE_DISTRIBUTIONS``), shared by the session.

    Treat it as read-only: a test that changes a base's distributions makes
    its own with ``make_base_python``.
    """
    base = make_base_python(tmp_path_factory.mktemp("base-python") / "python")
    base.install(wheelhouse, *BASE_DISTRIBUTIONS)
    return base


@pytest.fixture
def system_site_venv(base_python: BasePython, tmp_path: Path) -> Venv:
    """A fresh ``--system-site-packages`` venv over ``base_python`` (with pip, from ensurepip).

    A copy of one prepared per session (see ``make_venv``).
    """
    return prepared_copy("system-site", lambda path: make_system_site_venv(base_python, path), tmp_path / "venv")


@dataclass
class Pipguard:
    """Runs ``python -m pipguard --python VENV`` as a real subprocess."""

    venv: Venv
    find_links: list[Path] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    engine: str | None = None  # --engine for every run (None: pipguard's default)

    def run(self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 300,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        chosen = ["--engine", self.engine] if self.engine else []
        cmd = [sys.executable, "-m", "pipguard", "--python", self.venv.python, *chosen, *args]
        # cwd=REPO: "python -m pipguard" finds this checkout even outside tox,
        # without a PYTHONPATH that would leak into the target's pip.
        return subprocess.run(
            cmd, capture_output=True, text=True, env=scrubbed_env({**self.env, **(env or {})}),
            check=False, timeout=timeout, input=input, cwd=REPO,
        )

    def index_args(self) -> list[str]:
        args = ["--no-index"]
        for link in self.find_links:
            args += ["--find-links", str(link)]
        return args

    def install(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.run("install", *self.index_args(), *args, env=env)

    def pip_install(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Plain pip, the control: same wheelhouse, no pipguard."""
        return self.venv.pip("install", *self.index_args(), *args)


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """pipguard's ``main(argv)`` run in this process, as ``python -m pipguard ARGS`` would run.

    For the paths that never reach pip (bad input, unusable interpreters and
    ledgers): the environment is the one a subprocess gets (``scrubbed_env``),
    output is captured at the file descriptors (what pipguard's own children
    print included), and the answer has a subprocess's shape. A real process
    costs ~0.6 s of start-up per run; the exit codes of a real process are
    tested by a few subprocess runs kept beside these.
    """
    from pipguard.cli.main import main
    from pipguard.shim.hook_runtime import INNER_VARIABLE

    def run(*args: str, cwd: Path | None = None,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        with monkeypatch.context() as patched:
            wanted = scrubbed_env(env)
            for key in list(os.environ):
                if key not in wanted:
                    patched.delenv(key)
            for key, value in wanted.items():
                patched.setenv(key, value)
            patched.delenv(INNER_VARIABLE, raising=False)  # main() sets it: undone after the run
            patched.chdir(cwd or REPO)
            capfd.readouterr()  # what came before is not this run's
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's --help and --version
                code = exc.code if isinstance(exc.code, int) else 1
            out, err = capfd.readouterr()
        return subprocess.CompletedProcess(["pipguard", *args], code, out, err)

    return run


@pytest.fixture
def extra_wheels(tmp_path: Path) -> Path:
    directory = tmp_path / "extra-wheels"
    directory.mkdir()
    return directory


@pytest.fixture
def make_wheel(extra_wheels: Path):  # type: ignore[no-untyped-def]
    """Build another wheel into this test's own find-links directory."""

    def make(name: str, version: str, requires: Iterable[str] = (),
             extras: Mapping[str, Iterable[str]] | None = None) -> Path:
        return build_wheel(extra_wheels, name, version, requires, extras)

    return make


@pytest.fixture
def make_project(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a source project (for -e and path installs) under the test's tmp dir."""

    def make(name: str, version: str, requires: Iterable[str] = (),
             extras: Mapping[str, Iterable[str]] | None = None, directory: str | None = None) -> Path:
        return write_source_project(tmp_path / (directory or f"src-{name}"), name, version, requires, extras)

    return make


@pytest.fixture
def guard(venv: Venv, wheelhouse: Path, extra_wheels: Path) -> Pipguard:
    return Pipguard(venv, [wheelhouse, extra_wheels])


@pytest.fixture(scope="session")
def uv_ready() -> str:
    """uv, as pipguard finds it: the uv package of this interpreter (tox installs it), once per session.

    Outside CI a machine without uv skips the uv half of the engine tests;
    in CI a missing uv fails them.
    """
    result = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        message = f"uv is not installed for {sys.executable} (tox installs it: see tox.ini)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return result.stdout.strip()


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist's own mark (tox runs --dist loadgroup), named here for runs without xdist
    config.addinivalue_line("markers", "xdist_group(name): tests that share a worker (and its session fixtures)")
    config.addinivalue_line(
        "markers", "engines(*names): in a module run under both engines, the engines this test runs under "
        "(its behaviour is the core's: the other engine's run of it is covered elsewhere, see the test)")


# The modules whose tests take longest one by one (10-30 s each: bench, demo, devstack's
# stacks, builds, long histories), run first: xdist (--dist loadgroup, tox.ini) hands
# tests out in collection order, so both workers then end together on short ones, the
# unit tests last. The devstack group is handed out first anyway (the largest group).
SLOWEST_FIRST = (
    "tests/integration/test_bench.py", "tests/integration/test_demo.py",
    "tests/integration/test_build_constraints.py", "tests/integration/test_upgrade.py",
    "tests/integration/test_rollback_complete.py", "tests/integration/test_autoremove.py",
    "tests/integration/test_hardening.py", "tests/integration/test_ledger_journal.py",
    "tests/integration/test_shim.py", "tests/integration/test_engine_parity.py",
    "tests/integration/test_real_shapes.py", "tests/integration/test_check_ci.py",
)


def _run_order(item: pytest.Item) -> tuple[int, int]:
    path = item.nodeid.split("::", 1)[0]
    if path in SLOWEST_FIRST:
        return 0, SLOWEST_FIRST.index(path)
    return (2 if path.startswith("tests/unit/") else 1), 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect a test's runs under the engines its ``engines`` mark leaves out; the slowest first."""
    items.sort(key=_run_order)  # stable: each module's own order is kept
    kept: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("engines")
        callspec = getattr(item, "callspec", None)
        engine = callspec.params.get("engine") if callspec is not None else None
        (left_out if marker is not None and engine is not None and engine not in marker.args else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.fixture(params=["pip", "uv"])
def engine(request: pytest.FixtureRequest) -> str:
    """The engine behind the guard, for tests whose outcome must not depend on it."""
    name: str = request.param
    if name == "uv":
        request.getfixturevalue("uv_ready")
    return name


@pytest.fixture
def pip_guard(venv: Venv, wheelhouse: Path, extra_wheels: Path) -> Pipguard:
    """``guard`` with pip's engine, for the tests of modules that run under both engines where the
    engine plays no part (refusals before any engine runs, plain pip, --no-guard)."""
    return Pipguard(venv, [wheelhouse, extra_wheels])


@pytest.fixture
def engine_guard(venv: Venv, wheelhouse: Path, extra_wheels: Path, engine: str) -> Pipguard:
    """``guard``, run once with each engine (modules opt in by overriding ``guard`` with it)."""
    return Pipguard(venv, [wheelhouse, extra_wheels], engine=engine)


def engine_words(engine: str, pip: str, uv: str) -> str:
    """The engine's own words for the same thing (pip's and uv's differ; pipguard's do not)."""
    return pip if engine == "pip" else uv


def combined(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr

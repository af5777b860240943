"""``python -m pip`` through pipguard: the ``.pth`` hook in a shimmed environment.

devstack runs ``python3.X -m pip uninstall -y NAME`` even when it installs
with ``$VENV/bin/pip``, and every call goes through ``python3.X -m pip`` where
``GLOBAL_VENV=False``; replacing the ``bin/pip`` scripts does not reach those.
So ``shim install`` also writes one file, ``pipguard-pip-hook.pth``, into the
environment's own site-packages: comments, and one line that the interpreter
runs at start-up (site.py runs ``.pth`` lines that begin with ``import``).
The line tests whether "pip" is among the arguments and, only then, reads
and runs the code of ``hook_runtime.py``, kept in the same file as ``#| ``
comment lines with this environment's settings, which hands ``python -m pip
install|uninstall ...`` to the recorded pipguard. See ``hook_runtime.py`` for
what goes on untouched.

The file is pure ASCII (site.py reads ``.pth`` files in the locale's
encoding before Python 3.13), is nobody's distribution file (pip never
rewrites or removes it, so it survives ``pip install -U pip``), and
``shim remove`` deletes it: nothing else in site-packages is touched.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from pipguard.engines.pip.runner import run_process
from pipguard.errors import EnvironmentUnusable
from pipguard.shim.hook_runtime import INNER_VARIABLE
from pipguard.system.files import open_regular, write_atomically

HOOK_NAME = "pipguard-pip-hook.pth"
HOOK_MARKER = "# pipguard-pip-hook"
_SOURCE = (Path(__file__).parent / "hook_runtime.py").read_text()

__all__ = ["HOOK_MARKER", "HOOK_NAME", "INNER_VARIABLE", "HookConfig", "hook_state", "remove_hook",
           "render_hook", "site_packages", "write_hook"]


@dataclass(frozen=True)
class HookConfig:
    """What the hook of one environment runs."""

    prefix: str  # the environment's sys.prefix, resolved: only its own interpreters are hooked
    python: str  # the guarded interpreter, as recorded
    runner: tuple[str, ...]  # the pipguard command: interpreter and pipguard's fixed arguments
    ledger_args: tuple[str, ...]  # ("--ledger", PATH) when the shim was installed with one
    pth: str  # where the hook lives (named in its own error message)

    def as_dict(self) -> dict[str, object]:
        return {"prefix": self.prefix, "python": self.python, "runner": list(self.runner),
                "ledger_args": list(self.ledger_args), "pth": self.pth}


# Compiled at every start of the environment's Python: kept short (compiling is what costs).
_CHECK = "import sys; exec({loader}) if 'pip' in str(getattr(sys, 'orig_argv', ['', 'pip'])[1:]) else None"
# Compiled only when "pip" is among the arguments (or, before Python 3.10, when it may be: the
# command line is read from /proc there). Reads the hook's code from the "#| " lines below.
_LOADER = """\
import os
a = getattr(sys, 'orig_argv', None)
if a is None and os.path.isfile('/proc/self/cmdline'):
    with open('/proc/self/cmdline', 'rb') as f:
        a = f.read().split(b'\\0')
if a is not None and 'pip' in str(a[1:]):
    try:
        with open({path}, encoding='ascii') as f:
            s = ''.join(line[3:] for line in f if line[:3] == '#| ')
    except (OSError, ValueError):
        s = ''
    exec(compile(s, {path}, 'exec'), {{'__name__': 'pipguard_pip_hook'}})
"""


def render_hook(config: HookConfig) -> bytes:
    """The ``.pth`` file's bytes: comments, the one line site.py runs, and the hook's code as comments."""
    header = (
        f"{HOOK_MARKER} 1: 'python -m pip' in this environment runs through pipguard "
        f"({' '.join(config.runner)}).\n"
        "# Every other start of Python only tests whether 'pip' is among its arguments.\n"
        f"# 'pipguard --python {config.python} shim remove' deletes this file.\n"
    )
    check = _CHECK.format(loader=ascii(_LOADER.format(path=ascii(config.pth))))
    code = f"{_SOURCE.rstrip()}\n\n\nCONFIG = {config.as_dict()!a}\nmain(CONFIG)\n"
    hook = "".join(f"#| {line}".rstrip() + "\n" for line in code.splitlines())
    return (header + check + "\n" + hook).encode("ascii", "backslashreplace")


def site_packages(python: str) -> Path:
    """The target's own site-packages (purelib), where site.py reads ``.pth`` files."""
    code = (
        "import json, site, sysconfig;"
        "print(json.dumps([sysconfig.get_paths()['purelib'], site.getsitepackages()]))"
    )
    result = run_process([python, "-I", "-c", code], capture=True)
    try:
        purelib, scanned = json.loads(result.stdout)
    except ValueError:
        purelib, scanned = None, []
    if result.returncode != 0 or not purelib:
        raise EnvironmentUnusable(f"cannot find the site-packages of {python}: the interpreter failed.")
    if os.path.realpath(purelib) not in {os.path.realpath(p) for p in scanned}:
        raise EnvironmentUnusable(
            f"the site-packages of {python} ({purelib}) is not one its site.py reads at start-up, "
            "so 'python -m pip' cannot be guarded there."
        )
    return Path(purelib)


def hook_state(path: Path, expected: bytes | None = None) -> str:
    """``absent``; ``guarded`` (pipguard's hook, as *expected* if given); ``changed`` (pipguard's,
    but not as expected); ``foreign`` (a file of that name that pipguard did not write)."""
    try:
        with os.fdopen(open_regular(path), "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return "absent"
    except OSError:
        return "foreign"
    if not data.startswith(HOOK_MARKER.encode()):
        return "foreign"
    return "guarded" if expected is None or data == expected else "changed"


def write_hook(path: Path, data: bytes) -> bool:
    """Write the hook (atomically, mode 0644); False when it was already exactly that."""
    if hook_state(path, data) == "guarded":
        return False
    write_atomically(path, data, 0o644)  # whatever the umask: every user of this Python reads it
    return True


def remove_hook(path: Path) -> bool:
    """Delete pipguard's hook (only a file that is one); True when one was removed."""
    if hook_state(path) != "guarded":
        return False  # absent, or not pipguard's to remove
    path.unlink()
    return True

"""The ``python -m pip`` hook, as it runs inside a shimmed environment's interpreter.

``pipguard shim install`` writes a ``.pth`` file into the environment's own
site-packages. Its one executable line costs every interpreter start one
cheap test (is "pip" among the command-line arguments?); only when it is
does the line run this file's code, embedded in the ``.pth`` with a
``CONFIG`` filled in. If the interpreter was started as ``python -m pip
install|uninstall ...`` (any spelling: ``python3.X -I -m pip``, ``-mpip``,
pip's general options first), this code replaces the process with the
pipguard that ``shim install`` recorded::

    RUNNER... --python <this interpreter> [--ledger L] pip ARGS

so ``python -m pip install`` is guarded exactly as ``bin/pip install`` is,
with the same exit codes. Everything else goes on untouched, in the same
process: pip's other commands (``list``, ``freeze``, ``show``: pip itself,
with nothing added), ``import pip`` by other programs, pip's own
subprocesses (pip runs ``__pip-runner__.py``, never ``-m pip``), another
environment that only sees this site-packages from outside (its
``sys.prefix`` differs), and pipguard's own ``python -m pip`` runs, which
pipguard marks with ``PIPGUARD_INNER_PIP`` in their environment.

It runs in the target interpreter (Python 3.9 or newer) before anything else
is imported: standard library only, and nothing printed unless the recorded
pipguard cannot be started (then it says so and exits 12 rather than run pip
unguarded).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # importing typing would cost every start on Python 3.9
if TYPE_CHECKING:
    from typing import Any

INNER_VARIABLE = "PIPGUARD_INNER_PIP"

# Interpreter options whose value may be the next word (besides -c and -m, which end the options).
_SHORT_VALUED = "WX"
_LONG_VALUED = ("--check-hash-based-pycs",)
# pip's commands that pipguard guards; every other one is pip's alone, and runs untouched.
GUARDED = ("install", "uninstall")
# pip's general options that take a value (pip 23 to 26): those of pipguard.pip.options.GENERAL.
GLOBAL_VALUED = frozenset({
    "--python", "--log", "--log-file", "--local-log", "--keyring-provider", "--proxy", "--retries",
    "--timeout", "--default-timeout", "--exists-action", "--trusted-host", "--cert", "--client-cert",
    "--cache-dir", "--use-feature", "--use-deprecated", "--resume-retries",
})


def command_line() -> list[str]:
    """This process's command line as it was given (``sys.orig_argv`` from Python 3.10 on)."""
    argv = getattr(sys, "orig_argv", None)
    if argv is not None:
        return list(argv)
    try:
        with open("/proc/self/cmdline", "rb") as handle:
            raw = handle.read()
    except OSError:
        return []
    return [os.fsdecode(word) for word in raw.split(b"\0")[:-1]]


def module_run(argv: list[str]) -> tuple[str, list[str]] | None:
    """``(module, args)`` when *argv* runs a module with ``-m``; None for anything else."""
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "-" or not arg.startswith("-") or arg == "--":
            return None  # a script, stdin, or the end of the options
        if arg.startswith("--"):
            i += 2 if arg in _LONG_VALUED else 1
            continue
        for j in range(1, len(arg)):
            letter, attached = arg[j], arg[j + 1 :]
            if letter in "cm":
                if letter == "c":
                    return None
                if attached:
                    return attached, list(argv[i + 1 :])
                if i + 1 < len(argv):
                    return argv[i + 1], list(argv[i + 2 :])
                return None
            if letter in _SHORT_VALUED:
                if not attached:
                    i += 1  # its value is the next word
                break
        i += 1
    return None


def pip_command_word(args: list[str]) -> str | None:
    """pip's command in ARGS, found as pip finds it: the first word that is no option or option value.

    As pip's main parser (optparse): "--" ends the options, a long option may
    be abbreviated (an abbreviation of two options pip refuses, whatever runs).
    """
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return args[i + 1] if i + 1 < len(args) else None
        if not arg.startswith("-") or arg == "-":
            return arg
        valued = arg.startswith("--") and "=" not in arg and any(name.startswith(arg) for name in GLOBAL_VALUED)
        i += 2 if valued else 1
    return None


def pipguard_command(config: dict[str, Any], executable: str, pip_args: list[str]) -> list[str]:
    """The command that replaces ``python -m pip ARGS``."""
    return [*config["runner"], "--python", executable or config["python"], *config["ledger_args"], "pip", *pip_args]


def main(config: dict[str, Any]) -> None:
    if os.environ.get(INNER_VARIABLE):
        return  # pipguard's own run of this pip: straight through
    run = module_run(command_line())
    if run is None or run[0] != "pip" or pip_command_word(run[1]) not in GUARDED:
        return  # not pip, or a pip command that changes nothing (list, freeze, show...): pip itself
    if os.path.realpath(sys.prefix) != config["prefix"]:
        return  # another environment that sees this site-packages from outside
    command = pipguard_command(config, sys.executable, run[1])
    if _runs_here(config) and not _pipguard_importable():
        _give_up(config, "this interpreter cannot import pipguard any more (it was uninstalled?)")
    try:
        os.execv(command[0], command)
    except OSError as exc:
        _give_up(config, command[0] + " cannot be started (" + str(exc.strerror or exc) + ")")


def _runs_here(config: dict[str, Any]) -> bool:
    """Does the recorded pipguard run in this very interpreter (pipguard installed inside)?"""
    runner = config["runner"]  # (its own interpreter, "-I", "-m", "pipguard") when it does
    return len(runner) > 0 and runner[0] == config["python"]


def _pipguard_importable() -> bool:
    """Can ``python -I -m pipguard`` import pipguard? Searched as -I searches: without
    PYTHONPATH, the current directory or the user's site-packages."""
    import importlib.machinery  # only on a guarded pip command: every other start stays cheap
    import site

    left_out = {os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    left_out.add(os.getcwd())
    if site.USER_SITE:
        left_out.add(os.path.abspath(site.USER_SITE))
    search = [p for p in sys.path if p and os.path.abspath(p) not in left_out]
    try:
        return importlib.machinery.PathFinder.find_spec("pipguard", search) is not None
    except (ImportError, ValueError):
        return False


def _give_up(config: dict[str, Any], why: str) -> None:
    """Say what to do and exit 12, rather than run pip unguarded (or fail with a traceback)."""
    sys.stderr.write(
        "pipguard: 'python -m pip' in " + sys.prefix + " runs through pipguard, but " + why + ". "
        "Reinstall pipguard there, or take the hook out: 'pipguard --python " + config["python"]
        + " shim remove', or delete " + config["pth"] + ".\n"
    )
    sys.stderr.flush()
    os._exit(12)

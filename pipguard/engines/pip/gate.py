"""pip with a gate between its resolution and its first change, run in the target's interpreter.

The pip engine runs this file's text with ``python -c``, as::

    python -c <this file> READY_FD GO_FD TEMP_DIR install ... --report FILE

It is pip (``python -m pip``) with one difference: pip writes its report,
and then, before it uninstalls or installs anything (``install_given_reqs``,
where every change starts), it writes ``ready`` to READY_FD and waits for a
line on GO_FD. ``uninstall`` waits the same way before its first
distribution is looked up and removed (``InstallRequirement.uninstall``):
pip's start-up, its session and the reading of its arguments, nearly all of
an uninstall's time, are done while pipguard judges. ``go`` lets it carry
on; anything else, or the end of the pipe (pipguard is gone), ends it with
exit code ``STOPPED`` having changed nothing.
pipguard reads the report and has the decision core approve the plan in
between: one pip run resolves and installs, and nothing is installed that
the core has not seen.

pip's temporary directories go in TEMP_DIR (unless it is empty), a directory of
pipguard's that pipguard removes whatever way pip ends: stopped at the gate,
pip ends with ``os._exit``, before its own clean-up could remove them.

When this pip has no ``install_given_reqs`` where the gate goes, nothing is
run and the exit code is ``NO_GATE``: the engine then resolves and installs
in two runs instead. This file runs in the target's interpreter, which may
not have pipguard: standard library only, Python 3.8 syntax, no ``from __future__``
(the text is run as it is).
"""

import os
import sys
import tempfile

STOPPED = 75  # EX_TEMPFAIL: pipguard said no
NO_GATE = 76  # this pip has no place for the gate


def _answer(go_fd: int) -> str:
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(go_fd, 64)
        if not chunk:
            break
        data += chunk
    return data.decode("ascii", "replace").strip()


def _gate_point(command: str) -> "tuple[object, str] | None":
    """Where *command*'s first change starts: (the object holding it, the attribute's name)."""
    try:
        if command == "uninstall":
            from pip._internal.req.req_install import InstallRequirement

            return InstallRequirement, "uninstall"
        import pip._internal.commands.install as install_command
    except Exception:
        return None
    return install_command, "install_given_reqs"


def _install_gate(ready_fd: int, go_fd: int, command: str) -> bool:
    point = _gate_point(command)
    original = getattr(point[0], point[1], None) if point is not None else None
    if point is None or original is None:
        return False
    opened = []  # type: list[bool]

    def gated(*args: object, **kwargs: object) -> object:
        if not opened:  # the first change waits; the next ones (uninstall's later names) follow it
            os.write(ready_fd, b"ready\n")
            os.close(ready_fd)
            if _answer(go_fd) != "go":
                sys.stdout.flush()
                os._exit(STOPPED)  # nothing changed yet; no clean-up of pip's may run on
            os.close(go_fd)
            opened.append(True)
        return original(*args, **kwargs)

    setattr(point[0], point[1], gated)
    return True


def main() -> None:
    if sys.path and sys.path[0] in ("", os.getcwd()):
        sys.path.pop(0)  # as python -m pip does: never import pip from the working directory
    ready_fd, go_fd, temp_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    del sys.argv[1:4]
    if temp_dir:
        tempfile.tempdir = temp_dir
    if not _install_gate(ready_fd, go_fd, sys.argv[1] if len(sys.argv) > 1 else ""):
        sys.exit(NO_GATE)
    import runpy

    sys.argv[0] = "pip"
    runpy.run_module("pip", run_name="__main__", alter_sys=True)


if __name__ == "__main__":  # python -c runs it as __main__; importing it runs nothing
    main()

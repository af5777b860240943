"""The one exception base pipguard raises for expected failures.

Every subclass carries a user-facing message; ``cli.main`` maps the class to
an exit code in one place (``EXIT_CODES`` in ``cli.py``) and prints the
message without a traceback.
"""

from __future__ import annotations


class PipguardError(Exception):
    """An expected failure with a message for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(PipguardError):
    """The command line or an input file is malformed."""


class LedgerError(PipguardError):
    """The ledger is unusable: corrupt, unsafe, unwritable or locked too long."""


class EnvironmentUnusable(PipguardError):
    """The target interpreter is missing or cannot be probed."""


class PipTooOld(PipguardError):
    """The target's pip lacks something pipguard relies on."""


class Rejected(PipguardError):
    """The request would break an earlier project; nothing was changed."""


class PipFailed(PipguardError):
    """pip itself failed; its exit code is passed on."""

    def __init__(self, message: str, returncode: int) -> None:
        super().__init__(message)
        self.returncode = returncode


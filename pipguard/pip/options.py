"""pip's option table (pip 23 to 26), as much of it as reading a command line needs.

pipguard never re-implements pip's option handling: it passes the command
line on unchanged. It only needs to know, for each option, whether it takes
a value (to find the requirements among the arguments) and how pip folds it
with configuration (a flag, a count, a value, a list). The names and kinds
follow pip's ``cli/cmdoptions.py`` and ``commands/install.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Kind = Literal["flag", "false-flag", "count", "value", "append"]


@dataclass(frozen=True)
class OptionSpec:
    """One pip option: its spellings, and how it takes (and folds) a value."""

    names: tuple[str, ...]  # every spelling: "--upgrade", "-U"
    kind: Kind  # "false-flag": store_false (its config value is taken as is, as pip does)

    @property
    def key(self) -> str:
        """Its name in pip.conf and ``PIP_*`` (the first long spelling, without dashes)."""
        return next(n for n in self.names if n.startswith("--"))[2:]

    @property
    def takes_value(self) -> bool:
        return self.kind in ("value", "append")


def _options(*rows: tuple[str, Kind]) -> tuple[OptionSpec, ...]:
    return tuple(OptionSpec(tuple(names.split()), kind) for names, kind in rows)


GENERAL = _options(
    ("--help -h", "flag"), ("--debug", "flag"), ("--isolated", "flag"),
    ("--require-virtualenv --require-venv", "flag"), ("--python", "value"),
    ("--verbose -v", "count"), ("--version -V", "flag"), ("--quiet -q", "count"),
    ("--log --log-file --local-log", "value"), ("--no-input", "flag"),
    ("--keyring-provider", "value"), ("--proxy", "value"), ("--no-proxy-env", "flag"),
    ("--retries", "value"), ("--resume-retries", "value"), ("--timeout --default-timeout", "value"),
    ("--exists-action", "append"), ("--trusted-host", "append"), ("--cert", "value"),
    ("--client-cert", "value"), ("--cache-dir", "value"), ("--no-cache-dir", "flag"),
    ("--disable-pip-version-check", "flag"), ("--no-color", "flag"),
    ("--no-python-version-warning", "flag"), ("--use-feature", "append"),
    ("--use-deprecated", "append"),
)

INDEX = _options(
    ("--index-url -i --pypi-url", "value"), ("--extra-index-url", "append"), ("--no-index", "flag"),
    ("--refresh-package", "append"), ("--find-links -f", "append"), ("--uploaded-prior-to", "value"),
)

SELECTION = _options(
    ("--pre", "flag"), ("--all-releases", "append"), ("--only-final", "append"),
    ("--no-binary", "append"), ("--only-binary", "append"), ("--prefer-binary", "flag"),
)

INSTALL = _options(
    ("--requirement -r", "append"), ("--constraint -c", "append"), ("--build-constraint", "append"),
    ("--requirements-from-script", "append"), ("--no-deps --no-dependencies", "flag"),
    ("--only-deps --only-dependencies", "flag"), ("--editable -e", "append"), ("--dry-run", "flag"),
    ("--target -t", "value"), ("--platform", "append"), ("--python-version", "value"),
    ("--implementation", "value"), ("--abi", "append"), ("--user", "flag"), ("--no-user", "false-flag"),
    ("--root", "value"), ("--prefix", "value"),
    ("--src --source --source-dir --source-directory", "value"), ("--upgrade -U", "flag"),
    ("--upgrade-strategy", "value"), ("--force-reinstall", "flag"), ("--ignore-installed -I", "flag"),
    ("--ignore-requires-python", "flag"), ("--no-build-isolation", "false-flag"), ("--use-pep517", "flag"),
    ("--check-build-dependencies", "flag"), ("--break-system-packages", "flag"),
    ("--config-settings -C", "append"), ("--global-option", "append"), ("--build-option", "append"),
    ("--compile", "flag"), ("--no-compile", "false-flag"), ("--no-warn-script-location", "false-flag"),
    ("--no-warn-conflicts", "false-flag"), ("--require-hashes", "flag"), ("--no-require-hashes", "flag"),
    ("--progress-bar", "value"), ("--root-user-action", "value"), ("--report", "value"),
    ("--group", "append"), ("--no-clean", "flag"),
)

UNINSTALL = _options(
    ("--requirement -r", "append"), ("--yes -y", "flag"), ("--root-user-action", "value"),
    ("--break-system-packages", "flag"),
)

# Options a line of a requirements file may carry (pip's req_file.SUPPORTED_OPTIONS*).
REQUIREMENTS_FILE = _options(
    ("--index-url -i --pypi-url", "value"), ("--extra-index-url", "append"), ("--no-index", "flag"),
    ("--constraint -c", "append"), ("--requirement -r", "append"), ("--editable -e", "append"),
    ("--find-links -f", "append"), ("--no-binary", "append"), ("--only-binary", "append"),
    ("--prefer-binary", "flag"), ("--require-hashes", "flag"), ("--no-require-hashes", "flag"),
    ("--pre", "flag"), ("--all-releases", "append"), ("--only-final", "append"),
    ("--trusted-host", "append"), ("--use-feature", "append"), ("--hash", "append"),
    ("--config-settings -C", "append"),
)


@dataclass(frozen=True)
class OptionTable:
    """The options one pip command accepts, by every spelling."""

    specs: tuple[OptionSpec, ...]

    @property
    def by_name(self) -> Mapping[str, OptionSpec]:
        return {name: spec for spec in self.specs for name in spec.names}

    def by_key(self, key: str) -> OptionSpec | None:
        """The option a configuration key names (any long spelling, as pip's get_option)."""
        return self.by_name.get("--" + key)

    def match_long(self, given: str) -> OptionSpec | list[str] | None:
        """The option a long spelling means, abbreviations included (as optparse allows).

        Returns the spec, the candidate spellings when an abbreviation is
        ambiguous, or None when nothing matches.
        """
        names = self.by_name
        if given in names:
            return names[given]
        # optparse counts spellings, not options: "--no-d" is ambiguous between
        # --no-deps and --no-dependencies although both are one option.
        candidates = sorted(n for n in names if n.startswith("--") and n.startswith(given))
        if len(candidates) == 1:
            return names[candidates[0]]
        return candidates or None


def table(*groups: Iterable[OptionSpec]) -> OptionTable:
    return OptionTable(tuple(spec for group in groups for spec in group))


INSTALL_TABLE = table(GENERAL, INDEX, SELECTION, INSTALL)
UNINSTALL_TABLE = table(GENERAL, UNINSTALL)
GENERAL_TABLE = table(GENERAL)
REQUIREMENTS_FILE_TABLE = table(REQUIREMENTS_FILE)

"""pip's option table (pip 23 to 26), and the command line read with it as pip reads it.

pipguard passes the command line on to pip unchanged. To find the
requirements among the arguments and each option's value, it reads the
arguments with stdlib ``optparse``, as pip does (pip's parsers are optparse
parsers): short options bundled (``-qU``) or with their value attached
(``-rreq.txt``), long options abbreviated (``--upg``) or with ``=value``,
``--`` ending the options, options anywhere among the arguments. The table
says, for each option, its spellings, whether it takes a value, and how pip
folds it with configuration (a flag, a count, a value, a list). The names
and kinds follow pip's ``cli/cmdoptions.py`` and ``commands/install.py``.

To add a pip option: add its row (every spelling, and its kind) to the group
pip lists it in; the parsers and the configuration folding follow from it.
"""

from __future__ import annotations

import optparse
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Literal, NamedTuple, NoReturn

from pipguard.core.redaction import redact
from pipguard.errors import UsageError

Kind = Literal["flag", "false-flag", "count", "value", "append"]


class OptionSpec(NamedTuple):
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


class ParsedOption(NamedTuple):
    """One option as written (on the command line or in a file), and its value."""

    spec: OptionSpec | None  # None: not an option pip has (pip will say so)
    written: tuple[str, ...]  # the argument(s) it was written with (a bundle such as -qU: all share it)
    value: str | None = None
    position: int = 0  # index of its first argument
    bundled: bool = False  # one of several short flags written together ("-qU")

    @property
    def key(self) -> str:
        return self.spec.key if self.spec else self.written[0]

    def respelled(self) -> list[str]:
        """This option alone, written out again (to take it out of a bundle)."""
        if not self.bundled or self.spec is None:
            return list(self.written)
        short = next((n for n in self.spec.names if len(n) == 2), self.spec.names[0])
        if self.spec.takes_value and self.value is not None:
            return [short, self.value]
        return [short]


class OptionTable:
    """The options one pip command accepts, by every spelling.

    A plain class, read-only by convention: not a NamedTuple, as ``cached_property`` needs an
    instance ``__dict__``; not a dataclass, which costs a command's start-up (docs/development.md).
    """

    def __init__(self, specs: tuple[OptionSpec, ...], interspersed: bool = True) -> None:
        self.specs = specs
        self.interspersed = interspersed  # False: the options end at the first other argument (pip's main parser)

    @cached_property
    def by_name(self) -> Mapping[str, OptionSpec]:
        return {name: spec for spec in self.specs for name in spec.names}

    def by_key(self, key: str) -> OptionSpec | None:
        """The option a configuration key names (any long spelling, as pip's get_option)."""
        return self.by_name.get("--" + key)

    @cached_property
    def _parser(self) -> _OptionReader:
        return _OptionReader(self.specs, self.interspersed)

    def parse(self, args: Sequence[str], where: str) -> tuple[list[ParsedOption], list[str]]:
        """Split *args* into options (as pip's optparse reads them) and positional arguments.

        An option pip does not have is kept (with no spec) for pip to refuse
        with its own message; an ambiguous abbreviation, a missing value or a
        value given to a flag is a ``UsageError`` (pip refuses those too, with
        exit status 2).
        """
        return self._parser.read(args, where)


class _Refused(Exception):
    """optparse's ``error()``: an option written wrong (pip prints it and exits 2)."""


class _Reading(optparse.Values):
    """One command line being read: its arguments, and the options found in them so far."""

    def __init__(self, args: Sequence[str], where: str) -> None:
        super().__init__()
        self.args = args
        self.where = where
        self.found: list[ParsedOption] = []
        self.start = 0  # the argument being read
        self.current: list[tuple[OptionSpec | None, str | None]] = []  # what it holds

    def begin(self, rargs: Sequence[str]) -> str:
        self.start = len(self.args) - len(rargs)
        self.current = []
        return rargs[0]

    def forget_inserted(self, rargs: list[str]) -> None:
        """Drop what optparse put back in front of the arguments (a ``=value`` it split off)."""
        del rargs[: len(rargs) - (len(self.args) - self.start - 1)]

    def end(self, rargs: Sequence[str]) -> None:
        written = tuple(self.args[self.start:len(self.args) - len(rargs)])
        bundled = len(self.current) > 1
        self.found += [ParsedOption(spec, written, value, self.start, bundled) for spec, value in self.current]


def _found(option: optparse.Option, opt_str: str, value: str | None, parser: optparse.OptionParser,
           spec: OptionSpec) -> None:
    """optparse's callback for every option: note it (pip's own action is folded later, with configuration)."""
    reading = parser.values
    assert isinstance(reading, _Reading)
    reading.current.append((spec, value))


class _OptionReader(optparse.OptionParser):
    """An optparse parser built from the table, as pip builds its command's parser.

    Every option only records itself, with the arguments it was written
    with, so that the request can render the command line back (less an
    option) without re-spelling the user's arguments. Reading does not stop
    at an option pip does not have: pip will refuse it with its own message.
    """

    def __init__(self, specs: Iterable[OptionSpec], interspersed: bool) -> None:
        super().__init__(add_help_option=False, usage=optparse.SUPPRESS_USAGE)
        self.allow_interspersed_args = interspersed
        for spec in specs:
            self.add_option(*spec.names, action="callback", callback=_found, callback_args=(spec,),
                            type="string" if spec.takes_value else None)

    def read(self, args: Sequence[str], where: str) -> tuple[list[ParsedOption], list[str]]:
        reading = _Reading(args, where)
        _, positional = self.parse_args(list(args), reading)
        return reading.found, positional

    def error(self, msg: str) -> NoReturn:
        raise _Refused(msg)

    def _process_long_opt(self, rargs: list[str], values: optparse.Values) -> None:
        assert isinstance(values, _Reading)
        arg = values.begin(rargs)
        given = arg.partition("=")[0]
        try:
            super()._process_long_opt(rargs, values)
        except optparse.AmbiguousOptionError as error:
            raise UsageError(
                f"ambiguous option {given} ({values.where}): pip would not know which option it means, it "
                f"could be {', '.join(error.possibilities)}. Spell it out."
            ) from None
        except optparse.BadOptionError:
            values.forget_inserted(rargs)
            values.current.append((None, None))
        except _Refused:
            if self._long_opt[self._match_long_opt(given)].takes_value():
                raise UsageError(f"option {given} needs a value ({values.where}).") from None
            raise UsageError(f"option {given} takes no value ({values.where}): pip refuses "
                             f"{redact(arg)!r}.") from None
        values.end(rargs)

    def _process_short_opts(self, rargs: list[str], values: optparse.Values) -> None:
        assert isinstance(values, _Reading)
        arg = values.begin(rargs)
        while True:
            try:
                super()._process_short_opts(rargs, values)
                break
            except optparse.BadOptionError:
                # optparse gives up on the rest of the bundle: read it on (-qXU is -q, -X, -U).
                values.current.append((None, None))
                rest = arg[1 + len(values.current):]
                if not rest:
                    break
                rargs.insert(0, "-" + rest)
            except _Refused:
                raise UsageError(f"option -{arg[len(values.current) + 1]} needs a value "
                                 f"({values.where}).") from None
        values.end(rargs)


def table(*groups: Iterable[OptionSpec]) -> OptionTable:
    return OptionTable(tuple(spec for group in groups for spec in group))


# pip's main parser: the general options before the command word, which ends them (pip's main_parser.py).
MAIN_TABLE = OptionTable(GENERAL, interspersed=False)
INSTALL_TABLE = table(GENERAL, INDEX, SELECTION, INSTALL)
UNINSTALL_TABLE = table(GENERAL, UNINSTALL)
REQUIREMENTS_FILE_TABLE = table(REQUIREMENTS_FILE)

"""pip's settings, translated for ``uv pip install`` (pure).

uv reads neither pip.conf nor ``PIP_*``: what pip would have used (the
request's settings, with configuration already folded in, and the option
lines of requirement files) is spelled out for uv here, as flags and
environment variables. What has no uv equivalent with the same meaning is
refused, naming the setting and where it came from: choosing uv changes how
fast, never what is allowed.

Requirement and constraint files are passed to uv as files (``-r``, ``-c``):
uv reads them itself, nested files included. Of the option lines inside
them, uv honours the index options, ``--only-binary``/``--no-binary``,
``--require-hashes`` and hashes, and ignores ``--pre`` and
``--trusted-host``: those two are passed on uv's command line (pip applies
them to the whole install too); any other option line is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement

from pipguard.core.model import COMMAND_LINE
from pipguard.core.names import canonicalize_name
from pipguard.core.redaction import redact
from pipguard.errors import UsageError
from pipguard.pip.request import InstallRequest, Setting

# uv's variables that change how it works but never what it may install; every
# other UV_* variable of the user's is taken out of uv's environment.
KEPT_UV_VARIABLES = frozenset({
    "UV_CACHE_DIR", "UV_NO_CACHE", "UV_LINK_MODE", "UV_CONCURRENT_DOWNLOADS", "UV_CONCURRENT_BUILDS",
    "UV_CONCURRENT_INSTALLS", "UV_NO_PROGRESS",
})
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")

# Settings with no effect on what is installed (output, pip's own cache, pip's
# prompts and checks), or that uv always does: nothing to pass on.
IGNORED = frozenset({
    "quiet", "verbose", "no-input", "disable-pip-version-check", "no-color", "cache-dir", "no-cache-dir",
    "log", "exists-action", "progress-bar", "root-user-action", "no-warn-script-location",
    "no-warn-conflicts", "no-python-version-warning", "debug", "isolated", "require-virtualenv",
    "resume-retries", "no-clean", "use-pep517", "src", "refresh-package", "help", "version",
    "dry-run",  # pipguard's own business: the core only resolves
    "upgrade-strategy",  # read with "upgrade"
    "no-compile",  # uv does not compile unless asked to
})

# Flags with the same meaning in uv.
FLAGS: Mapping[str, tuple[str, ...]] = {
    "no-index": ("--no-index",),
    "no-deps": ("--no-deps",),
    "force-reinstall": ("--reinstall",),
    "no-build-isolation": ("--no-build-isolation",),  # True: isolation off (pip's "--no-" flag)
    "break-system-packages": ("--break-system-packages",),
    "require-hashes": ("--require-hashes",),
    "pre": ("--prerelease", "allow"),
    "compile": ("--compile-bytecode",),
}

# Options taking a value (or a list of values), and uv's spelling of each.
VALUES: Mapping[str, str] = {
    "index-url": "--default-index",
    "extra-index-url": "--index",
    "find-links": "--find-links",
    "trusted-host": "--allow-insecure-host",
    "only-binary": "--only-binary",
    "no-binary": "--no-binary",
    "config-settings": "--config-setting",
    "uploaded-prior-to": "--exclude-newer",
    "requirement": "-r",
    "constraint": "-c",
    "build-constraint": "--build-constraints",
    "editable": "-e",
}

# Settings passed to uv as environment variables.
VARIABLES: Mapping[str, tuple[str, ...]] = {
    "cert": ("SSL_CERT_FILE",),
    "client-cert": ("SSL_CLIENT_CERT",),
    "timeout": ("UV_HTTP_TIMEOUT",),
    "retries": ("UV_HTTP_RETRIES",),
    "proxy": ("HTTP_PROXY", "HTTPS_PROXY"),
}

# What uv cannot do the same way, and why.
REFUSED: Mapping[str, str] = {
    "prefer-binary": "uv has no way to prefer an older wheel over a newer source distribution",
    "ignore-installed": "uv always takes what is installed into account",
    "only-deps": "uv pip install has no --only-deps",
    "report": "it writes pip's installation report, which uv does not write",
    "requirements-from-script": "uv pip install does not read a script's inline metadata",
    "group": "uv reads dependency groups differently from pip",
    "platform": "it selects wheels for another platform, which pipguard does not guard",
    "python-version": "it selects wheels for another Python, which pipguard does not guard",
    "implementation": "it selects wheels for another Python, which pipguard does not guard",
    "abi": "it selects wheels for another Python, which pipguard does not guard",
    "ignore-requires-python": "uv has no way to ignore Requires-Python",
    "global-option": "uv has no setup.py options",
    "build-option": "uv has no setup.py options",
    "use-feature": "pip's features have no uv equivalent",
    "use-deprecated": "pip's deprecated behaviours have no uv equivalent",
    "all-releases": "uv has no per-package way to allow every pre-release",
    "only-final": "uv has no per-package way to refuse pre-releases",
    "no-require-hashes": "uv has no way to turn off hash checking asked for in a file",
    "check-build-dependencies": "uv does not check the build dependencies of non-isolated builds",
    "user": "it installs outside the guarded environment",
    "target": "it installs outside the guarded environment",
    "prefix": "it installs outside the guarded environment",
    "root": "it installs outside the guarded environment",
    "python": "it installs into another environment",
}

# Option lines of requirement files: read by uv itself, passed on uv's command line, or refused.
FILE_OPTIONS_UV_READS = frozenset({
    "index-url", "extra-index-url", "no-index", "find-links", "only-binary", "no-binary", "require-hashes",
    "hash", "constraint", "requirement", "editable",
})

_KEYRING_PROVIDERS = ("disabled", "subprocess")
_ENGINE_HINT = "Run it with --engine pip (or leave the setting out)."


@dataclass(frozen=True)
class UvArguments:
    """What ``uv pip install`` needs to do what pip would have done."""

    # where to look and how to build: for every uv run of the install (the metadata run too)
    sources: tuple[str, ...] = ()
    # what to install and how: requirements, files, editables, upgrades, --no-deps
    requests: tuple[str, ...] = ()
    # environment variables to set for uv
    variables: Mapping[str, str] = field(default_factory=dict)
    # the user's proxy variables are taken out (pip's --no-proxy-env... and --isolated's kin)
    drop_proxies: bool = False
    # a dry run as if into an empty environment (pip's --ignore-installed, for check --plan):
    # uv resolves into an empty --target directory instead
    ignore_installed: bool = False


def _shown(key: str, setting: Setting) -> str:
    value = setting.value
    if value is True:
        return f"--{key}"
    if isinstance(value, tuple):
        return f"--{key} {redact(' '.join(value))}"
    return f"--{key} {redact(str(value))}"


def _where(source: str) -> str:
    return "on the command line" if source == COMMAND_LINE else f"from {redact(source)}"


def refusal(what: str, source: str, why: str) -> UsageError:
    return UsageError(
        f"the uv engine cannot honour {what} ({_where(source)}): {why}. {_ENGINE_HINT}"
    )


def _is_set(setting: Setting) -> bool:
    return setting.value not in (False, 0, "", ())


def _values(setting: Setting) -> tuple[str, ...]:
    value = setting.value
    if isinstance(value, tuple):
        return value
    return (str(value),)


def _seconds(text: str) -> str:
    """pip takes a timeout in (fractional) seconds; uv in whole seconds."""
    try:
        return str(max(1, round(float(text))))
    except ValueError:
        return text


def _upgrade(request: InstallRequest, also: Sequence[str]) -> list[str]:
    """pip's ``-U``: eager upgrades everything (uv's ``--upgrade``); only-if-needed (pip's
    default) upgrades what was asked for, and the rest only where needed."""
    if not request.flag("upgrade"):
        return []
    strategy = request.value("upgrade-strategy") or "only-if-needed"
    if strategy == "eager":
        return ["--upgrade"]
    if strategy != "only-if-needed":
        source = request.source("upgrade-strategy") or COMMAND_LINE
        raise refusal(f"--upgrade-strategy {strategy}", source, "pip knows only 'eager' and 'only-if-needed'")
    names = sorted(set(request.names) | {name for name in map(_name_of, also) if name})
    return [word for name in names for word in ("--upgrade-package", name)]


def _name_of(text: str) -> str | None:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return None


def _setting(key: str, setting: Setting, sources: list[str], variables: dict[str, str]) -> bool:
    """Translate one setting into *sources*/*variables*; False when it is not a source setting."""
    if key in FLAGS:
        sources.extend(FLAGS[key])
    elif key in VARIABLES:
        value = _seconds(str(setting.value)) if key == "timeout" else str(setting.value)
        for name in VARIABLES[key]:
            variables[name] = value
    elif key == "keyring-provider":
        value = str(setting.value)
        if value not in _KEYRING_PROVIDERS:
            raise refusal(f"--keyring-provider {value}", setting.source,
                          f"uv knows only {' and '.join(_KEYRING_PROVIDERS)}")
        sources += ["--keyring-provider", value]
    else:
        return False
    return True


def translate(request: InstallRequest, also: Sequence[str] = (), dry_run: bool = False) -> UvArguments:
    """pip's settings and requests, as uv flags; refuses what uv cannot do alike.

    A *dry_run* may ignore what is installed (uv resolves into an empty
    target instead); an install may not.
    """
    if request.unknown_options:
        raise UsageError(f"pip has no option {redact(request.unknown_options[0])} (on the command line), and "
                         "uv would not know it either. Check the spelling (pip install --help).")
    sources: list[str] = []
    requests: list[str] = []
    variables: dict[str, str] = {}
    drop_proxies = False
    ignore_installed = dry_run and request.flag("ignore-installed")
    for key, setting in request.settings.items():
        if key == "ignore-installed" and ignore_installed:
            continue
        if key in IGNORED or key in ("upgrade", "no-proxy-env") or not _is_set(setting):
            drop_proxies = drop_proxies or (key == "no-proxy-env" and _is_set(setting))
            continue
        if key in REFUSED:
            raise refusal(_shown(key, setting), setting.source, REFUSED[key])
        if _setting(key, setting, sources, variables):
            continue
        if key in VALUES:
            target = sources if key not in ("requirement", "constraint", "editable") else requests
            for value in _values(setting):
                target += [VALUES[key], value]
            continue
        raise refusal(_shown(key, setting), setting.source, "pipguard does not know how to pass it to uv")
    sources += _file_options(request)
    requests += _upgrade(request, also)
    requests += [r.text for r in request.requested if r.source == COMMAND_LINE and r.kind != "editable"]
    requests += list(also)
    return UvArguments(tuple(sources), tuple(requests), variables, drop_proxies, ignore_installed)


def _file_options(request: InstallRequest) -> list[str]:
    """Option lines of requirement files: uv reads most itself; --pre and --trusted-host it ignores."""
    passed: list[str] = []
    for file, option in request.file_options:
        key = option.key
        if key in FILE_OPTIONS_UV_READS:
            continue
        if key == "pre":
            passed += list(FLAGS["pre"])
        elif key == "trusted-host" and option.value:
            passed += [VALUES["trusted-host"], option.value]
        else:
            shown = " ".join(option.written)
            raise refusal(redact(shown), file, "uv does not read this option in a requirements file")
    return passed


def uv_environment(environ: Mapping[str, str], arguments: UvArguments) -> dict[str, str]:
    """uv's environment: the user's, less uv settings that change what uv allows, plus pip's translated."""
    env = {key: value for key, value in environ.items()
           if not key.startswith("UV_") or key in KEPT_UV_VARIABLES}
    if "SSL_CERT_FILE" not in arguments.variables:
        # pip (through requests) honours these bundles; uv reads SSL_CERT_FILE
        bundle = environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE")
        if bundle:
            env["SSL_CERT_FILE"] = bundle
    if arguments.drop_proxies:
        for name in _PROXY_VARIABLES:
            env.pop(name, None)
    env.update(arguments.variables)
    return env

"""Release dates from the package index (an I/O edge, best effort).

A re-plan message says how far back it went; where the index serves the
JSON simple API (PEP 691) with upload times (PEP 700), it also says when
each version was released. Only the first index pip would use is asked,
with pip's own certificate settings and a short timeout; any failure just
means no dates. Never used for resolving: pip does that.
"""

from __future__ import annotations

import json
import ssl
import urllib.parse
import urllib.request
from collections.abc import Mapping

from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename

from pipguard.core.names import canonicalize_name
from pipguard.pip.request import PipRequest

DEFAULT_INDEX = "https://pypi.org/simple/"
_ACCEPT = "application/vnd.pypi.simple.v1+json"
TIMEOUT = 5.0


def index_url(request: PipRequest) -> str | None:
    """The index pip would ask first, or None (``--no-index``, or not HTTP)."""
    if request.flag("no-index"):
        return None
    url = request.value("index-url") or DEFAULT_INDEX
    return url if url.startswith(("http://", "https://")) else None


def _version_of(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def upload_dates(document: Mapping[str, object]) -> dict[str, str]:
    """version -> the day its first file was uploaded, from a PEP 691 project page."""
    dates: dict[str, str] = {}
    files = document.get("files")
    if not isinstance(files, list):
        return dates
    for item in files:
        if not isinstance(item, dict):
            continue
        when, filename = item.get("upload-time"), item.get("filename")
        if not isinstance(when, str) or not isinstance(filename, str):
            continue
        version = _version_of(filename)
        if version is not None and (version not in dates or when[:10] < dates[version]):
            dates[version] = when[:10]
    return dates


def release_dates(request: PipRequest, name: str) -> dict[str, str]:
    """version -> release day for *name*, from the index pip would use (empty when unknown)."""
    base = index_url(request)
    if base is None:
        return {}
    parts = urllib.parse.urlsplit(base)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/", "", ""))
    url = urllib.parse.urljoin(url, f"{canonicalize_name(name)}/")
    headers = {"Accept": _ACCEPT}
    if parts.username:
        import base64

        token = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
    context = ssl.create_default_context(cafile=request.value("cert"))
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT,
                                    context=context) as response:
            if _ACCEPT not in response.headers.get("Content-Type", ""):
                return {}
            document = json.loads(response.read())
    except (OSError, ValueError):
        return {}
    return upload_dates(document) if isinstance(document, dict) else {}

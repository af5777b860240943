"""index.py: release dates read from a PEP 691 project page (the network part is best effort)."""

from __future__ import annotations

from pipguard.engines.index import index_url, upload_dates
from pipguard.pip.request import read_install

NO_CONFIG = {"PIP_CONFIG_FILE": "/dev/null"}


def test_upload_dates_take_the_first_upload_of_each_version() -> None:
    page = {"files": [
        {"filename": "c-1.1-py3-none-any.whl", "upload-time": "2024-05-02T10:00:00.000Z"},
        {"filename": "c-1.1.tar.gz", "upload-time": "2024-05-01T09:00:00.000Z"},
        {"filename": "c-1.0.tar.gz", "upload-time": "2020-01-01T00:00:00Z"},
        {"filename": "c-1.0.tar.gz"},  # no upload time: ignored
        {"filename": "not-a-distribution.txt", "upload-time": "2021-01-01T00:00:00Z"},
        "garbage",
    ]}
    assert upload_dates(page) == {"1.1": "2024-05-01", "1.0": "2020-01-01"}
    assert upload_dates({"files": "nope"}) == {}


def test_only_an_http_index_is_asked() -> None:
    assert index_url(read_install(["A"], "/x", NO_CONFIG)) == "https://pypi.org/simple/"
    assert index_url(read_install(["--no-index", "A"], "/x", NO_CONFIG)) is None
    assert index_url(read_install(["-i", "file:///srv/simple", "A"], "/x", NO_CONFIG)) is None
    mine = read_install(["A"], "/x", {**NO_CONFIG, "PIP_INDEX_URL": "https://mirror/simple"})
    assert index_url(mine) == "https://mirror/simple"

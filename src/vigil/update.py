"""Downloading the official lists from their public addresses and importing them.

Each source is downloaded whole into a temporary folder, then imported with
``import_path``; a download that fails or comes short is never imported.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
from rich.progress import Progress

from vigil import __version__
from vigil.sources import SourceError
from vigil.store import ImportResult, Store, import_path

_OFAC_EXPORTS = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/"

DEFAULT_URLS = {
    "un": "https://scsanctions.un.org/resources/xml/en/consolidated.xml",
    "ofac-sdn": _OFAC_EXPORTS,  # the folder holding the four CSV files
    "ofac-cons": _OFAC_EXPORTS + "CONSOLIDATED.XML",
}
ENV_VARS = {"un": "VIGIL_UN_URL", "ofac-sdn": "VIGIL_OFAC_SDN_URL", "ofac-cons": "VIGIL_OFAC_CONS_URL"}

# ofac-sdn: local file name (what the parser expects) -> remote file name.
OFAC_SDN_FILES = {
    "sdn.csv": "SDN.CSV",
    "add.csv": "ADD.CSV",
    "alt.csv": "ALT.CSV",
    "sdn_comments.csv": "SDN_COMMENTS.CSV",
}
# Single-file sources are saved under this name (ofac-cons needs "cons" in it).
FILE_NAME = "consolidated.xml"

# Seconds before the first retry; doubled for each further one.
RETRY_DELAY = 1.0

# A progress callback gets (label, bytes received, total bytes or None).
ProgressCallback = Callable[[str, int, int | None], None]
AnyProgress = Progress | ProgressCallback | None
# Reports one file's download: (bytes received, total bytes or None).
Reporter = Callable[[int, int | None], None]


@dataclass(frozen=True)
class UpdateResult:
    """The outcome for one source: the import, or the error that stopped it."""

    source: str
    url: str
    imported: ImportResult | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class DownloadError(Exception):
    """A download that failed; the message names the URL and the problem."""


class _Retryable(Exception):
    """A failure worth another attempt (connection, timeout, 5xx, cut short)."""


def source_url(source: str, urls: Mapping[str, str] | None = None) -> str:
    """Where a source is downloaded from: ``urls``, else its environment
    variable, else the official address."""
    return (urls or {}).get(source) or os.environ.get(ENV_VARS[source]) or DEFAULT_URLS[source]


def update(
    store: Store,
    sources: list[str] | None = None,
    urls: Mapping[str, str] | None = None,
    progress: AnyProgress = None,
    timeout: float = 60.0,
    retries: int = 3,
) -> list[UpdateResult]:
    """Download and import each source (all by default); one result per source.

    A source that fails is reported in its result and does not stop the others.
    Raises ``ValueError`` for an unknown source name, before downloading anything.
    """
    sources = list(DEFAULT_URLS) if sources is None else sources
    unknown = sorted((set(sources) | set(urls or {})) - set(DEFAULT_URLS))
    if unknown:
        raise ValueError(f"unknown source {', '.join(map(repr, unknown))}; known: {', '.join(DEFAULT_URLS)}")
    headers = {"User-Agent": f"vigil/{__version__}"}
    with httpx.Client(follow_redirects=True, timeout=timeout, headers=headers) as client:
        return [_update_one(store, client, source, source_url(source, urls), progress, retries) for source in sources]


def _update_one(
    store: Store, client: httpx.Client, source: str, url: str, progress: AnyProgress, retries: int
) -> UpdateResult:
    with tempfile.TemporaryDirectory(prefix="vigil-update-") as tmp:
        folder = Path(tmp)
        try:
            path = _download(client, source, url, folder, progress, retries)
            return UpdateResult(source, url, imported=import_path(store, path, source, origin=url))
        except DownloadError as error:
            return UpdateResult(source, url, error=f"{source}: {error}")
        except SourceError as error:
            detail = str(error).replace(f"{folder}{os.sep}", "")
            return UpdateResult(source, url, error=f"{source}: {url}: {detail}")


def _download(
    client: httpx.Client, source: str, url: str, folder: Path, progress: AnyProgress, retries: int
) -> Path:
    """Download a source's file(s) into ``folder``; the path to import."""
    if source != "ofac-sdn":
        path = folder / FILE_NAME
        _fetch(client, url, path, _reporter(progress, f"{source} {FILE_NAME}"), retries)
        return path
    # The parser dates the publication by its folder's name: Last-Modified of sdn.csv, else today.
    files = folder / "download"
    files.mkdir()
    published = None
    for name, remote in OFAC_SDN_FILES.items():
        report = _reporter(progress, f"{source} {name}")
        headers = _fetch(client, f"{url.rstrip('/')}/{remote}", files / name, report, retries)
        published = published or _last_modified(headers)
    return files.rename(folder / (published or datetime.now(UTC).date()).isoformat())


def _last_modified(headers: httpx.Headers) -> date | None:
    try:
        return parsedate_to_datetime(headers["Last-Modified"]).astimezone(UTC).date()
    except (KeyError, TypeError, ValueError):
        return None


def _fetch(client: httpx.Client, url: str, path: Path, report: Reporter, retries: int) -> httpx.Headers:
    """Download ``url`` to ``path``, retrying with backoff; the response headers."""
    attempt = 1
    while True:
        try:
            return _fetch_once(client, url, path, report)
        except _Retryable as error:
            if attempt >= retries:
                raise DownloadError(f"{url}: {error} after {attempt} attempt{'s' if attempt > 1 else ''}") from None
            time.sleep(RETRY_DELAY * 2 ** (attempt - 1))
            attempt += 1


def _fetch_once(client: httpx.Client, url: str, path: Path, report: Reporter) -> httpx.Headers:
    try:
        with client.stream("GET", url) as response:
            if response.status_code >= 500:
                raise _Retryable(f"HTTP {response.status_code} {response.reason_phrase}")
            if not response.is_success:
                raise DownloadError(f"{url}: HTTP {response.status_code} {response.reason_phrase}")
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            report(0, expected)
            failure = None
            with path.open("wb") as out:
                try:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                        report(response.num_bytes_downloaded, expected)
                except httpx.TransportError as error:
                    failure = error
            received = response.num_bytes_downloaded
            if expected is not None and received < expected:
                raise _Retryable(f"download truncated ({received:,} of {expected:,} bytes)")
            if failure:
                raise failure
            return response.headers
    except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.TooManyRedirects, httpx.DecodingError) as error:
        raise DownloadError(f"{url}: {_describe(error)}") from None
    except httpx.TransportError as error:
        raise _Retryable(_describe(error)) from None


def _describe(error: Exception) -> str:
    """A short lowercase description: "connection refused", "timed out", ..."""
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(error)) or type(error).__name__
    return text[0].lower() + text[1:]


def _reporter(progress: AnyProgress, label: str) -> Reporter:
    """A function (received, total) showing one file's download on ``progress``."""
    if progress is None:
        return lambda received, total: None
    if isinstance(progress, Progress):
        task = progress.add_task(label, total=None)
        return lambda received, total: progress.update(task, completed=received, total=total)
    return lambda received, total: progress(label, received, total)

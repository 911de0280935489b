"""Downloading and importing the lists, from a local HTTP server serving the real files."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rich.progress import Progress

from conftest import DATA
from vigil import update as update_module
from vigil.store import Store
from vigil.update import source_url, update

UN_2026 = DATA / "un" / "consolidated-2026-02-27.xml"
SDN_2021 = DATA / "ofac-sdn" / "2021-07"
CONS_2025 = DATA / "ofac-consolidated" / "consolidated-2025-06-30.xml"

FILES = {
    "/un/consolidated.xml": UN_2026,
    "/ofac/SDN.CSV": SDN_2021 / "sdn.csv",
    "/ofac/ADD.CSV": SDN_2021 / "add.csv",
    "/ofac/ALT.CSV": SDN_2021 / "alt.csv",
    "/ofac/SDN_COMMENTS.CSV": SDN_2021 / "sdn_comments.csv",
    "/ofac/CONSOLIDATED.XML": CONS_2025,
}


class Server(ThreadingHTTPServer):
    """Serves FILES; ``rules[path]`` can set last_modified, fail (503 the first N times),
    status (e.g. 404), delay (seconds before answering) or truncate (send only that
    many bytes of the body)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.rules: dict[str, dict] = {}
        self.hits: Counter[str] = Counter()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_port}{path}"

    def urls(self) -> dict[str, str]:
        return {"un": self.url("/un/consolidated.xml"), "ofac-sdn": self.url("/ofac"),
                "ofac-cons": self.url("/ofac/CONSOLIDATED.XML")}


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_GET(self) -> None:
        self.server.hits[self.path] += 1
        rule = self.server.rules.get(self.path, {})
        time.sleep(rule.get("delay", 0))
        if self.server.hits[self.path] <= rule.get("fail", 0):
            self.send_error(503)
            return
        if self.path not in FILES or "status" in rule:
            self.send_error(rule.get("status", 404))
            return
        body = FILES[self.path].read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if "last_modified" in rule:
            self.send_header("Last-Modified", rule["last_modified"])
        self.end_headers()
        self.wfile.write(body[: rule.get("truncate", len(body))])

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    server = Server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def store(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/v.db")
    yield store
    store.close()


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(update_module, "RETRY_DELAY", 0)


def test_un_download_imports_the_publication(server, store):
    [result] = update(store, ["un"], urls=server.urls())
    assert result.ok, result.error
    assert result.url == server.url("/un/consolidated.xml")
    assert result.imported.created
    version = result.imported.version
    assert version.published_on == date(2026, 2, 27)
    assert version.entry_count == 730 + 273
    assert version.origin == result.url


def test_second_update_finds_it_already_imported(server, store):
    first = update(store, ["un"], urls=server.urls())[0]
    second = update(store, ["un"], urls=server.urls())[0]
    assert second.ok and not second.imported.created
    assert second.imported.version == first.imported.version
    assert len(store.versions()) == 1


def test_ofac_sdn_folder_is_dated_by_last_modified(server, store):
    server.rules["/ofac/SDN.CSV"] = {"last_modified": "Tue, 13 Jul 2021 18:04:12 GMT"}
    progress = Progress()
    [result] = update(store, ["ofac-sdn"], urls=server.urls(), progress=progress)
    assert result.ok, result.error
    assert result.imported.version.published_on == date(2021, 7, 13)
    assert result.imported.version.source == "ofac-sdn"
    assert result.imported.version.entry_count == 8976
    assert all(server.hits[path] == 1 for path in FILES if path.endswith(".CSV"))
    tasks = {task.description: task for task in progress.tasks}  # one per file, total from Content-Length
    assert set(tasks) == {f"ofac-sdn {name}" for name in ("sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv")}
    assert all(task.finished for task in tasks.values())
    assert tasks["ofac-sdn sdn.csv"].total == (SDN_2021 / "sdn.csv").stat().st_size


def test_ofac_consolidated(server, store):
    [result] = update(store, ["ofac-cons"], urls=server.urls())
    assert result.ok, result.error
    assert result.imported.version.source == "ofac-cons"
    assert result.imported.version.published_on == date(2025, 6, 30)


def test_503_is_retried(server, store):
    server.rules["/un/consolidated.xml"] = {"fail": 2}
    [result] = update(store, ["un"], urls=server.urls(), retries=3)
    assert result.ok, result.error
    assert server.hits["/un/consolidated.xml"] == 3


def test_503_every_time_gives_up_after_the_retries(server, store):
    server.rules["/un/consolidated.xml"] = {"fail": 99}
    [result] = update(store, ["un"], urls=server.urls(), retries=2)
    assert result.error == f"un: {server.url('/un/consolidated.xml')}: HTTP 503 Service Unavailable after 2 attempts"
    assert server.hits["/un/consolidated.xml"] == 2
    assert store.versions() == []


def test_404_fails_at_once_naming_the_url(server, store):
    server.rules["/un/consolidated.xml"] = {"status": 404}
    [result] = update(store, ["un"], urls=server.urls())
    assert not result.ok and result.imported is None
    assert result.error == f"un: {server.url('/un/consolidated.xml')}: HTTP 404 Not Found"
    assert server.hits["/un/consolidated.xml"] == 1
    assert store.versions() == []


def test_truncated_download_is_not_imported(server, store):
    size = UN_2026.stat().st_size
    server.rules["/un/consolidated.xml"] = {"truncate": 1234}
    [result] = update(store, ["un"], urls=server.urls(), retries=1)
    assert result.error == (f"un: {server.url('/un/consolidated.xml')}: "
                            f"download truncated (1,234 of {size:,} bytes) after 1 attempt")
    assert store.versions() == []


def test_one_missing_ofac_file_fails_the_whole_folder(server, store):
    server.rules["/ofac/ALT.CSV"] = {"status": 404}
    [result] = update(store, ["ofac-sdn"], urls=server.urls())
    assert result.error == f"ofac-sdn: {server.url('/ofac/ALT.CSV')}: HTTP 404 Not Found"
    assert store.versions() == []


def test_no_answer_times_out(server, store):
    server.rules["/un/consolidated.xml"] = {"delay": 1}
    [result] = update(store, ["un"], urls=server.urls(), timeout=0.2, retries=2)
    assert result.error == f"un: {server.url('/un/consolidated.xml')}: timed out after 2 attempts"
    assert store.versions() == []


def test_connection_refused(store):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/consolidated.xml"
    [result] = update(store, ["un"], urls={"un": url}, retries=2)
    assert result.error == f"un: {url}: connection refused after 2 attempts"


def test_a_url_that_cannot_be_fetched_is_not_retried(store):
    [result] = update(store, ["un"], urls={"un": "ftp://example.org/consolidated.xml"})
    assert result.error == "un: ftp://example.org/consolidated.xml: request URL has an unsupported protocol 'ftp://'."


def test_one_source_failing_does_not_stop_the_others(server, store):
    server.rules["/ofac/CONSOLIDATED.XML"] = {"status": 500}
    results = update(store, ["ofac-cons", "un"], urls=server.urls(), retries=2)
    assert [r.source for r in results] == ["ofac-cons", "un"]
    assert "HTTP 500" in results[0].error
    assert results[1].ok and results[1].imported.created
    assert [v.source for v in store.versions()] == ["un"]


def test_not_a_list_reports_the_source_and_url(server, store):
    urls = {"un": server.url("/ofac/SDN.CSV")}  # a CSV where XML is expected
    [result] = update(store, ["un"], urls=urls)
    assert result.error.startswith(f"un: {urls['un']}: consolidated.xml: ")
    assert store.versions() == []


def test_addresses_come_from_parameter_then_environment_then_default(monkeypatch):
    monkeypatch.delenv("VIGIL_UN_URL", raising=False)
    assert source_url("un") == "https://scsanctions.un.org/resources/xml/en/consolidated.xml"
    monkeypatch.setenv("VIGIL_UN_URL", "http://mirror/un.xml")
    assert source_url("un") == "http://mirror/un.xml"
    assert source_url("un", {"un": "http://other/un.xml"}) == "http://other/un.xml"


def test_unknown_source_is_refused_before_downloading(store):
    with pytest.raises(ValueError, match="unknown source 'eu'"):
        update(store, ["eu"])


def test_progress_callback_gets_bytes_received_and_total(server, store):
    calls = []
    update(store, ["un"], urls=server.urls(), progress=lambda *args: calls.append(args))
    size = UN_2026.stat().st_size
    assert calls[0] == ("un consolidated.xml", 0, size)
    assert calls[-1] == ("un consolidated.xml", size, size)

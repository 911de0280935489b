"""The `vigil` command, run as a user runs it: a real process on a real store."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import DATA, UN_FILES
from vigil.store import Store

VIGIL = str(Path(sys.executable).parent / "vigil")
UN_2017, UN_2026 = UN_FILES[0], UN_FILES[-1]
ACCEPTANCE = DATA.parent / "acceptance"
PROJECT = Path(__file__).resolve().parents[1]


def vigil(db: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [VIGIL, "--db", str(db), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"vigil {' '.join(args)} failed: {result.stderr}")
    return result


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "vigil.db"


def test_import_lists_diff_show_history(db):
    assert "imported un version" in vigil(db, "import", str(UN_2017)).stdout
    vigil(db, "import", str(UN_2026))
    again = vigil(db, "import", str(UN_2026))
    assert "already imported" in again.stdout

    lists = vigil(db, "lists").stdout
    assert "2017-07-03" in lists and "2026-02-27" in lists and "1003" in lists

    diff = vigil(db, "diff", "un").stdout
    assert "QDe.161" in diff and "added" in diff

    diff_json = json.loads(vigil(db, "diff", "un", "--json").stdout)
    assert "un:QDe.161" in [row["id"] for row in diff_json["added"]]
    assert diff_json["from"]["published_on"] == "2017-07-03"

    shown = vigil(db, "show", "QDe.161").stdout
    assert "2019-05-14" in shown and "un:QDe.161" in shown

    not_yet = vigil(db, "show", "QDe.161", "--as-of", "2018-01-01", check=False)
    assert not_yet.returncode == 1 and "was not listed on 2018-01-01" in not_yet.stderr

    history = json.loads(vigil(db, "history", "un:QDe.161", "--json").stdout)
    assert [step["status"] for step in history] == ["listed"]


def test_bundled_list_imports_offline(db):
    out = vigil(db, "import", "--bundled").stdout
    assert "published 2026-02-27" in out and "1003 entries" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><CONSOLIDATED_LIST "
         b"dateGenerated='2030-01-01T00:00:00Z'><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>&e;</FIRST_NAME>"
         b"</INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>", "DOCTYPE"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "not a recognised sanctions list"),
        (b'{"not": "a list"}', "not a recognised sanctions list"),
    ],
    ids=["external-entity", "binary", "json"],
)
def test_hostile_or_wrong_files_are_refused_and_store_nothing(db, tmp_path, content, message):
    vigil(db, "import", str(UN_2017))
    bad = tmp_path / "bad.xml"
    bad.write_bytes(content)
    result = vigil(db, "import", str(bad), check=False)
    assert result.returncode != 0
    assert message in result.stderr and str(bad) in result.stderr
    assert "Traceback" not in result.stderr
    assert len(json.loads(vigil(db, "lists", "--json").stdout)) == 1


def test_truncated_download_is_refused_with_its_line(db, tmp_path):
    truncated = tmp_path / "consolidated.xml"
    data = UN_2026.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    result = vigil(db, "import", str(truncated), check=False)
    assert result.returncode == 1
    assert "malformed XML" in result.stderr and "line" in result.stderr
    assert json.loads(vigil(db, "lists", "--json").stdout) == []


def test_unknown_source_and_entry_are_named(db):
    vigil(db, "import", str(UN_2017))
    wrong = vigil(db, "import", str(UN_2026), "--source", "eu-fsf", check=False)
    assert wrong.returncode == 1 and "unknown source 'eu-fsf'" in wrong.stderr
    missing = vigil(db, "show", "QDi.999999", check=False)
    assert missing.returncode == 1 and "no entry 'QDi.999999'" in missing.stderr


def test_killed_import_leaves_the_store_readable(tmp_path):
    """SIGKILL an import at several moments: each time the store holds whole versions only."""
    db = tmp_path / "killed.db"
    vigil(db, "import", str(UN_2017))
    for delay in (0.3, 0.6, 0.9, 1.2, 1.5):
        process = subprocess.Popen([VIGIL, "--db", str(db), "import", str(UN_2026)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        store = Store(f"sqlite:///{db}")
        versions = store.versions()
        for version in versions:
            assert sum(1 for _ in store.entries(version.id)) == version.entry_count
        store.close()
        if len(versions) == 2:
            break
    lists = json.loads(vigil(db, "lists", "--json").stdout)
    assert lists[0]["published_on"] == "2017-07-03"


@pytest.mark.skipif(not (ACCEPTANCE / "lists.sh").exists(), reason="shared acceptance checks not present")
@pytest.mark.parametrize("check", ["lists.sh", "api.sh", "exchange.sh", "cooperation.sh"])
def test_acceptance(check):
    result = subprocess.run(
        ["bash", str(ACCEPTANCE / check)],
        cwd=PROJECT,
        env={**os.environ, "VIGIL": VIGIL, "DATA": str(DATA)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok:")


def test_help_lists_every_command():
    result = subprocess.run([VIGIL, "--help"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    for command in ("import", "lists", "diff", "show", "history", "update"):
        assert command in result.stdout
    assert shutil.which(VIGIL)


def test_match_screen_and_rescreen(db, tmp_path):
    vigil(db, "import", str(UN_FILES[1]))
    vigil(db, "import", str(UN_2026))
    shown = vigil(db, "match", "ISIL Khorasan").stdout
    assert "un:QDe.161" in shown and "un version 2" in shown
    hits = json.loads(vigil(db, "match", "Aiman Zawahiri", "--dob", "1951", "--country", "EG", "--json").stdout)
    [top, *_] = hits["hits"]
    assert top["entry_id"] == "un:QDi.006" and "born 1951, as listed" in top["explanation"]
    bad = vigil(db, "match", "Ayman", "--dob", "soon", check=False)
    assert bad.returncode == 2 and "date of birth 'soon'" in bad.stderr

    customers = tmp_path / "customers.csv"
    customers.write_text("id,name,dob\nc1,ISLAMIC STATE IN IRAQ AND THE LEVANT - KHORASAN,\nc2,Jane Q. Nobody,1980\nc3,,\n")
    result = vigil(db, "screen", str(customers), "--out", str(tmp_path / "hits.jsonl"), "--workers", "1")
    assert "screened 2 rows" in result.stdout and "skipped 1 rows" in result.stderr
    rows = [json.loads(line) for line in (tmp_path / "hits.jsonl").read_text().splitlines()]
    assert {r["query_id"] for r in rows} == {"c1"} and rows[0]["list_version"] == "un:2"

    delta = vigil(db, "rescreen", str(customers), "--out", str(tmp_path / "delta.csv"), "--workers", "1")
    assert "un: version 1 → version 2" in delta.stdout
    assert "un:QDe.161" in (tmp_path / "delta.csv").read_text()


def test_update_downloads_from_a_configured_address(db, tmp_path):
    import functools
    import http.server
    import threading

    served = tmp_path / "served"
    served.mkdir()
    (served / "consolidated.xml").write_bytes(UN_2026.read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/consolidated.xml"
        first = vigil(db, "update", "un", "--url", f"un={url}", "--retries", "1")
        assert "imported un version 1 published 2026-02-27" in first.stdout
        again = vigil(db, "update", "un", "--url", f"un={url}", "--retries", "1")
        assert "already up to date" in again.stdout
        missing = vigil(db, "update", "un", "--url", f"un={url}.gone", "--retries", "1", check=False)
        assert missing.returncode == 1 and "HTTP 404" in missing.stderr
        wrong = vigil(db, "update", "eu", check=False)
        assert wrong.returncode == 2 and "unknown source 'eu'" in wrong.stderr
    finally:
        server.shutdown()

"""Screening customer files against real UN releases: every format, bad rows, workers, delta screening."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import UN_FILES
from vigil.screening import Screener
from vigil.screening import batch
from vigil.screening.batch import HIT_COLUMNS, InputError, screen_file
from vigil.screening.rescreen import rescreen_file
from vigil.store import Store, import_path

UN_2018, UN_2026 = UN_FILES[1], UN_FILES[-1]
LISTED = "SYLVESTRE MUDACUMURA"  # un:CDi.012, the same in the 2018 and 2026 releases
ISIL_K = "ISLAMIC STATE IN IRAQ AND THE LEVANT - KHORASAN"  # un:QDe.161, listed after 2018
AMENDED = "ERIC BADEGE"  # un:CDi.001, its remarks amended between 2018 and 2026
DELISTED = "RAFIDAIN BANK"  # un:IQe.003, de-listed between 2018 and 2026
MADE_UP = "Johnathan Quixwell Pemberton"
CUSTOMERS = [
    {"id": "c1", "name": LISTED, "kind": "person"},
    {"id": "c2", "name": MADE_UP, "kind": "person"},
    {"id": "c3", "name": ISIL_K, "kind": "organisation"},
]


@pytest.fixture(scope="module")
def un_2026(tmp_path_factory):
    """A store holding the 2026 UN release, and a screener over it."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.db'}")
    version = import_path(store, UN_2026).version
    yield store, version, Screener.from_store(store)
    store.close()


@pytest.fixture
def screener(un_2026):
    return un_2026[2]


def write_input(path: Path, rows: list[dict]) -> Path:
    """A customer file in the format its extension names (CSV with a BOM, as Excel writes it)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            writer.writerows(rows)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows]), path)
    return path


def read_output(path: Path) -> list[dict]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return pq.read_table(path).to_pylist()


def sidecar(output: Path) -> dict:
    return json.loads(output.with_name(output.name + ".summary.json").read_text(encoding="utf-8"))


def by_query(rows: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for row in rows:
        found.setdefault(row["query_id"], []).append(row)
    return found


@pytest.mark.parametrize("out_ext", [".jsonl", ".csv", ".parquet"])
@pytest.mark.parametrize("in_ext", [".csv", ".jsonl", ".parquet"])
def test_screens_each_input_format_into_each_output_format(un_2026, tmp_path, in_ext, out_ext):
    _, version, screener = un_2026
    source = write_input(tmp_path / f"customers{in_ext}", CUSTOMERS)
    output = tmp_path / f"hits{out_ext}"
    summary = screen_file(screener, source, output, workers=1)

    rows = read_output(output)
    if out_ext == ".csv":
        with output.open(encoding="utf-8") as handle:
            assert next(csv.reader(handle)) == list(HIT_COLUMNS)
    else:
        assert all(list(row) == list(HIT_COLUMNS) for row in rows)
    hits = by_query(rows)
    assert "c2" not in hits
    listed = hits["c1"][0]
    assert (listed["entry_id"], listed["matched_name"], listed["source"], listed["reference"]) == (
        "un:CDi.012", LISTED, "un", "CDi.012"
    )
    assert float(listed["score"]) >= 0.7 and listed["explanation"]
    assert json.loads(listed["features"])[0]["name"] == "name"
    assert hits["c3"][0]["entry_id"] == "un:QDe.161"
    assert {row["list_version"] for row in rows} == {f"un:{version.id}"}

    recorded = [{"source": "un", "id": version.id, "published_on": "2026-02-27"}]
    assert summary.versions == recorded and summary.queries == 3 and summary.hits == len(rows)
    assert summary.complete and not summary.skipped
    on_disk = sidecar(output)
    assert on_disk["versions"] == recorded and on_disk["hits"] == len(rows) and on_disk["complete"]


def test_bad_csv_rows_are_reported_with_their_line_and_skipped(screener, tmp_path):
    lines = [
        "id,name,kind",
        f"ok1,{LISTED},person",
        "e1,,person",
        "e2,12345,",
        "broken,only two fields",
        "big," + "X" * 10_000_000 + ",person",
        "long," + "A" * 5000 + ",",
        "k1,Somebody Else,spaceship",
        f"ok2,{ISIL_K},organisation",
    ]
    source = tmp_path / "customers.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path / "hits.jsonl"
    summary = screen_file(screener, source, output, workers=1)

    reasons = {e.row: e.reason for e in summary.skipped_rows}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8]
    assert reasons[3] == "name is empty"
    assert "no letters" in reasons[4]
    assert "2 fields where the header has 3" in reasons[5]
    assert "field larger than field limit" in reasons[6]
    assert "5,000 characters" in reasons[7]
    assert "spaceship" in reasons[8]
    assert summary.skipped == 6 and summary.queries == 2 and summary.complete
    hits = by_query(read_output(output))
    assert hits["ok1"][0]["entry_id"] == "un:CDi.012"
    assert hits["ok2"][0]["entry_id"] == "un:QDe.161"
    assert [row["row"] for row in sidecar(output)["skipped_rows"]] == [3, 4, 5, 6, 7, 8]


def test_bad_json_lines_are_reported_and_unknown_fields_warned_once(screener, tmp_path):
    lines = [
        json.dumps({"id": "ok1", "name": LISTED, "segment": "retail"}),
        '{"id": "x1", "name": ',
        "[1, 2]",
        json.dumps({"id": "x2", "name": {"first": "Eric"}}),
        json.dumps({"id": "x3", "name": "Y" * 10_000_000}),
        json.dumps({"id": "ok2", "name": ISIL_K, "segment": "corporate"}),
    ]
    source = tmp_path / "customers.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path / "hits.csv"
    summary = screen_file(screener, source, output, workers=1)

    reasons = {e.row: e.reason for e in summary.skipped_rows}
    assert sorted(reasons) == [2, 3, 4, 5]
    assert reasons[2].startswith("not JSON")
    assert "not a JSON object" in reasons[3]
    assert "name is not text but dict" in reasons[4]
    assert "10,000,000 characters" in reasons[5]
    assert summary.warnings == [f"{source}: ignoring unknown columns: segment"]
    assert set(by_query(read_output(output))) == {"ok1", "ok2"}


def test_bad_parquet_rows_are_reported_by_row_number(screener, tmp_path):
    source = write_input(tmp_path / "customers.parquet", [
        {"id": "ok1", "name": LISTED},
        {"id": "e1", "name": None},
        {"id": "big", "name": "Z" * 10_000_000},
        {"id": "ok2", "name": ISIL_K},
    ])
    output = tmp_path / "hits.parquet"
    summary = screen_file(screener, source, output, workers=1)

    assert [(e.row, e.id) for e in summary.skipped_rows] == [(2, "e1"), (3, "big")]
    assert set(by_query(read_output(output))) == {"ok1", "ok2"}


@pytest.mark.parametrize("out_ext", [".jsonl", ".csv", ".parquet"])
def test_a_file_not_in_utf8_stops_at_its_line_and_keeps_the_hits_before(screener, tmp_path, out_ext):
    source = tmp_path / "customers.csv"
    source.write_bytes(
        f"id,name\nok1,{LISTED}\nok2,{ISIL_K}\nlatin,Jos\xe9 Pe\xf1a\nok3,{LISTED}\n".encode("latin-1")
    )
    output = tmp_path / f"hits{out_ext}"
    with pytest.raises(InputError, match=r"customers\.csv: line 4 is not UTF-8"):
        screen_file(screener, source, output, workers=2)

    assert set(by_query(read_output(output))) == {"ok1", "ok2"}
    written = sidecar(output)
    assert not written["complete"] and "line 4" in written["error"] and written["queries"] == 2


def test_a_file_in_another_encoding_fails_before_writing_anything(screener, tmp_path):
    source = tmp_path / "customers.csv"
    source.write_text(f"id,name\nok1,{LISTED}\n", encoding="utf-16")
    output = tmp_path / "hits.jsonl"
    with pytest.raises(InputError, match=r"line 1 is not UTF-8"):
        screen_file(screener, source, output, workers=1)
    assert not output.exists()


@pytest.mark.parametrize("ext", [".csv", ".jsonl", ".parquet"])
def test_a_missing_column_is_an_error_naming_the_columns_found(screener, tmp_path, ext):
    source = write_input(tmp_path / f"customers{ext}", [{"customer_id": "c1", "full_name": LISTED}])
    output = tmp_path / "hits.jsonl"
    with pytest.raises(InputError, match=r"no column id or name; the columns are: customer_id, full_name"):
        screen_file(screener, source, output, workers=1)
    assert not output.exists()


def test_two_workers_write_the_same_output_as_one(un_2026, tmp_path, monkeypatch):
    store, version, screener = un_2026
    monkeypatch.setattr(batch, "CHUNK", 3)  # many small chunks, so that order across workers matters
    names = [entry.names[0].full for entry in list(store.entries(version.id))[::40]]
    rows = []
    for name in names:  # listed names between made-up ones
        rows += [{"id": f"q{len(rows)}", "name": name}, {"id": f"q{len(rows) + 1}", "name": MADE_UP}]
    source = write_input(tmp_path / "customers.csv", rows)

    one = screen_file(screener, source, tmp_path / "one.jsonl", workers=1)
    two = screen_file(screener, source, tmp_path / "two.jsonl", workers=2)

    written = (tmp_path / "one.jsonl").read_bytes()
    assert written == (tmp_path / "two.jsonl").read_bytes()
    order = [int(row["query_id"][1:]) for row in read_output(tmp_path / "one.jsonl")]
    assert order == sorted(order) and len(set(order)) >= len(names) * 0.9
    assert (one.queries, one.hits) == (two.queries, two.hits) == (len(rows), len(order))


@pytest.mark.parametrize("previous_ext", [".jsonl", ".csv", ".parquet"])
def test_rescreen_screens_only_what_changed_and_reports_delisted_hits(store_url, tmp_path, previous_ext):
    store = Store(store_url)
    customers = write_input(tmp_path / "customers.csv", [
        {"id": "new", "name": ISIL_K},
        {"id": "same", "name": LISTED},
        {"id": "amended", "name": AMENDED},
        {"id": "bank", "name": DELISTED},
        {"id": "nobody", "name": MADE_UP},
    ])
    old = import_path(store, UN_2018).version
    previous = tmp_path / f"previous{previous_ext}"
    screen_file(Screener.from_store(store), customers, previous, workers=1)
    before = {(r["query_id"], r["entry_id"]) for r in read_output(previous)}
    assert {("same", "un:CDi.012"), ("bank", "un:IQe.003")} <= before
    new = import_path(store, UN_2026).version
    screen_file(Screener.from_store(store), customers, tmp_path / "full.jsonl", workers=1)
    full = {(r["query_id"], r["entry_id"]) for r in read_output(tmp_path / "full.jsonl")}
    assert ("same", "un:CDi.012") in full  # a full screen finds it; the delta screen must not

    output = tmp_path / "rescreen.jsonl"
    summary = rescreen_file(store, customers, output, previous_hits=previous, workers=1)
    rows = read_output(output)
    diff = store.diff("un")
    changed = {i for i, _ in diff.added} | {a.entry_id for a in diff.amended}
    found = {(r["query_id"], r["entry_id"]): r["status"] for r in rows}

    assert found[("new", "un:QDe.161")] == "new"
    assert found[("amended", "un:CDi.001")] == "amended"
    assert found[("bank", "un:IQe.003")] == "delisted"
    assert not {q for q, _ in found} & {"same", "nobody"}
    assert all(e in changed for (_, e), status in found.items() if status != "delisted")
    assert all(row["list_version"] == f"un:{new.id}" for row in rows)
    assert [(d["query_id"], d["entry_id"]) for d in summary.delisted] == [("bank", "un:IQe.003")]
    change = summary.changes[0]
    assert (change["from"]["id"], change["to"]["id"]) == (old.id, new.id)
    assert (change["added"], change["amended"], change["removed"]) == (len(diff.added), len(diff.amended), len(diff.removed))
    assert sidecar(output)["delisted"] == summary.delisted
    store.close()

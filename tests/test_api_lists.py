"""The list endpoints of the real `vigil serve`: lists and versions, diffs, entries
and their history, search, and (admin keys) imports of uploaded files and
downloads of new versions."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from conftest import DATA, STORE_KINDS, empty_store
from serving import RunningServer, running_server
from vigil.store import Store, import_path

UN = {path.stem.removeprefix("consolidated-"): path for path in (DATA / "un").glob("consolidated-*.xml")}
SDN_2021 = DATA / "ofac-sdn" / "2021-07"
CONS_2025 = DATA / "ofac-consolidated" / "consolidated-2025-06-30.xml"
ISIL_K = "ISLAMIC STATE IN IRAQ AND THE LEVANT - KHORASAN"
# Polling an hour apart: a new version seen at once can only come from the
# import's own refresh of the screener.
NO_POLLING = {"VIGIL_POLL_SECONDS": "3600"}

ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<CONSOLIDATED_LIST dateGenerated="2026-03-01T00:00:00Z"><INDIVIDUALS><INDIVIDUAL>
<FIRST_NAME>&lol9;</FIRST_NAME></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>
"""


def error_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["status"] == status
    return error


def field_of(response: httpx.Response, status: int) -> str:
    """The one field an error names."""
    [problem] = error_of(response, status)["fields"]
    return problem["field"]


def server_with(request, tmp_path_factory, files: list, env: dict[str, str] | None = None) -> Iterator[RunningServer]:
    """A server of its own over a store holding ``files``."""
    folder = tmp_path_factory.mktemp("lists")
    with empty_store(request.param, folder) as url:
        store = Store(url)
        for path in files:
            import_path(store, path)
        store.close()
        with running_server(url, folder, env=env) as server:
            yield server


def version_count(server: RunningServer, source: str = "un") -> int:
    lists = server.client("screener").get("/lists").json()["lists"]
    return next((item["version_count"] for item in lists if item["source"] == source), 0)


# -- reading: the shared server with the UN list of 2026-02-27 ----------------


def test_lists_name_each_stored_list_with_its_newest_version(api):
    response = api.client("screener").get("/lists")
    assert response.status_code == 200
    [un] = response.json()["lists"]
    assert un["source"] == "un" and un["version_count"] == 1
    newest = un["newest"]
    assert newest["published_on"] == "2026-02-27"
    assert newest["entry_count"] == 1003
    assert newest["counts"] == {"organisation": 273, "person": 730}
    versions = api.client("screener").get("/lists/un/versions").json()
    assert versions["source"] == "un" and versions["versions"] == [newest]


def test_versions_of_an_unknown_list_are_404_naming_it(api):
    response = api.client("screener").get("/lists/eu/versions")
    assert field_of(response, 404) == "source"
    assert "'eu'" in response.json()["error"]["message"]


@pytest.mark.parametrize("given", ["QDe.161", "un:QDe.161", "qde.161"])
def test_entry_by_id_or_reference(api, given):
    response = api.client("screener").get(f"/entries/{given}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == "un:QDe.161" and body["as_of"] is None
    [listing] = body["listings"]
    assert listing["version"]["published_on"] == "2026-02-27"
    entry = listing["entry"]
    assert entry["id"] == "un:QDe.161" and entry["reference"] == "QDe.161" and entry["kind"] == "organisation"
    assert entry["names"][0]["full"].startswith(ISIL_K)
    assert entry["listed_on"] == "2019-05-14"


@pytest.mark.parametrize("path", ["/entries/un:QDx.999", "/entries/un:QDx.999/history"])
def test_unknown_entry_is_404_naming_it(api, path):
    response = api.client("screener").get(path)
    assert field_of(response, 404) == "id"
    assert "'un:QDx.999'" in response.json()["error"]["message"]


def raw_get(server: RunningServer, target: str) -> tuple[int, dict]:
    """GET ``target`` exactly as written (httpx would tidy dot segments away)."""
    url = httpx.URL(server.url)
    connection = http.client.HTTPConnection(url.host, url.port, timeout=30)
    try:
        connection.request("GET", target, headers={"Authorization": f"Bearer {server.keys['screener']}"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("target", [
    "/entries/..%2F..%2Fetc%2Fpasswd",
    "/entries/..%2F..%2Fkeys/history",
    "/entries/../keys",
    "/entries/un:QDe.161/../../keys",
    "/entries/%2e%2e/history",
    "/entries/..%5C..%5Ckeys",
    "/entries/un:QDe.161%00",
    "/entries/un:QDe.161%0d%0aSet-Cookie:%20x=1",
    "/entries/%25",
    "/entries/_",
    "/entries/" + "Q" * 1000,
    "/entries/" + "Q" * 1000 + "/history",
])
def test_entry_ids_with_path_tricks_are_refused_as_json(api, target):
    status, body = raw_get(api, target)
    assert 400 <= status < 500
    assert body["error"]["status"] == status


@pytest.mark.parametrize("target", ["/entries/un:QDe.161%00", "/entries/" + "Q" * 1000, "/entries/..%5Ckeys"])
def test_malformed_entry_ids_name_the_id(api, target):
    status, body = raw_get(api, target)
    assert status == 422
    [problem] = body["error"]["fields"]
    assert problem["field"] == "id"
    assert "control characters or backslashes" in problem["message"] or "at most 200 characters" in problem["message"]


@pytest.mark.parametrize("as_of", ["2026-13-01", "yesterday", "20260227", "2026-02-27T00:00"])
def test_as_of_must_be_a_date(api, as_of):
    response = api.client("screener").get("/entries/QDe.161", params={"as_of": as_of})
    assert field_of(response, 422) == "as_of"


def test_search_finds_a_name_in_latin_and_arabic_script(api):
    [listing] = api.client("screener").get("/entries/un:QDi.006").json()["listings"]
    names = [name["full"] for name in listing["entry"]["names"]]
    for q in ("Zawahiri", "الظواهري"):
        response = api.client("screener").get("/search", params={"q": q})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["q"] == q and [v["published_on"] for v in body["versions"]] == ["2026-02-27"]
        first = body["items"][0]
        assert first["entry"]["id"] == "un:QDi.006"
        assert first["entry"]["name"] == "AIMAN MUHAMMED RABI AL-ZAWAHIRI"
        [why] = first["matched"]
        assert why["field"] == "name" and why["value"] in names
        assert why["score"] == first["score"] >= 0.5 and why["explanation"]


@pytest.mark.parametrize(("q", "field", "value"), [
    ("QDe.161", "reference", "QDe.161"),
    ("qde 161", "reference", "QDe.161"),
    ("un:QDe.161", "id", "un:QDe.161"),
])
def test_search_finds_references_and_ids_exactly(api, q, field, value):
    body = api.client("screener").get("/search", params={"q": q}).json()
    assert body["total"] == 1
    [item] = body["items"]
    assert item["entry"]["id"] == "un:QDe.161" and item["score"] == 1.0
    assert [(m["field"], m["value"]) for m in item["matched"]] == [(field, value)]


def test_search_finds_a_document_number(api):
    body = api.client("screener").get("/search", params={"q": "1084010"}).json()
    item = body["items"][0]
    assert item["entry"]["id"] == "un:QDi.006"
    assert item["matched"][0]["field"] == "document" and item["matched"][0]["value"] == "1084010"
    assert "passport" in item["matched"][0]["explanation"]


def test_search_filters(api):
    client = api.client("screener")
    organisations = client.get("/search", params={"q": "Zawahiri", "kind": "organisation"}).json()
    assert "un:QDi.006" not in [i["entry"]["id"] for i in organisations["items"]]
    assert all(i["entry"]["kind"] == "organisation" for i in organisations["items"])
    taliban = client.get("/search", params={"q": "Haqqani", "programme": "1988"}).json()
    assert taliban["total"] >= 1 and all(i["entry"]["programmes"] == ["1988"] for i in taliban["items"])
    ofac = client.get("/search", params={"q": "Zawahiri", "source": "ofac-sdn"}).json()
    assert ofac["total"] == 0 and ofac["items"] == [] and ofac["versions"] == []


def test_search_pages(api):
    client = api.client("screener")
    everything = client.get("/search", params={"q": "Al Qaida", "limit": 100}).json()
    assert everything["total"] == len(everything["items"]) >= 4
    page = client.get("/search", params={"q": "Al Qaida", "offset": 1, "limit": 2}).json()
    assert (page["total"], page["offset"], page["limit"]) == (everything["total"], 1, 2)
    assert page["items"] == everything["items"][1:3]
    past = client.get("/search", params={"q": "Al Qaida", "offset": 500}).json()
    assert past["total"] == everything["total"] and past["items"] == []


@pytest.mark.parametrize(("params", "field"), [
    ({}, "q"),
    ({"q": "---"}, "q"),
    ({"q": "Zawa\x00hiri"}, "q"),
    ({"q": "Zawahiri\r\nX-Injected: 1"}, "q"),
    ({"q": "x" * 201}, "q"),
    ({"q": "Zawahiri", "limit": 101}, "limit"),
    ({"q": "Zawahiri", "limit": 0}, "limit"),
    ({"q": "Zawahiri", "offset": -1}, "offset"),
    ({"q": "Zawahiri", "kind": "ship"}, "kind"),
    ({"q": "Zawahiri", "source": "eu"}, "source"),
])
def test_search_refuses_bad_parameters_naming_them(api, params, field):
    assert field_of(api.client("screener").get("/search", params=params), 422) == field


def test_a_name_search_is_recorded_in_the_audit_trail(api):
    api.client("screener").get("/search", params={"q": "Aiman al-Zawahiri"})
    records = api.client("auditor").get("/audit", params={"limit": 1000}).json()["records"]
    searches = [r["record"] for r in records if r["record"].get("endpoint") == "/search"]
    assert any(r["queries"] == [{"id": "search", "name": "Aiman al-Zawahiri"}] and
               "un:QDi.006" in [h["entry_id"] for h in r["hits"]] for r in searches)


def test_who_may_read_search_and_import(api):
    assert error_of(api.client(None).get("/lists"), 401)
    auditor = api.client("auditor")
    assert auditor.get("/lists").status_code == 200
    assert auditor.get("/entries/QDe.161/history").status_code == 200
    screener = api.client("screener")
    for path in ("/lists", "/lists/un/versions", "/diff?source=un", "/entries/QDe.161", "/search?q=Zawahiri"):
        assert screener.get(path).status_code == 200, path
    upload = {"file": ("consolidated.xml", UN["2017-07-03"].read_bytes(), "application/xml")}
    assert error_of(screener.post("/lists/un/import", files=upload), 403)
    assert error_of(screener.post("/lists/update", json={"sources": ["un"]}), 403)
    assert version_count(api) == 1


# -- versions, diffs and history: UN lists of 2017, 2024 and 2026 ----------------


@pytest.fixture(scope="module", params=STORE_KINDS)
def history_api(request, tmp_path_factory) -> Iterator[RunningServer]:
    yield from server_with(request, tmp_path_factory, [UN["2017-07-03"], UN["2024-09-26"], UN["2026-02-27"]])


def test_versions_oldest_first(history_api):
    client = history_api.client("screener")
    [un] = client.get("/lists").json()["lists"]
    assert un["version_count"] == 3 and un["newest"]["published_on"] == "2026-02-27"
    versions = client.get("/lists/un/versions").json()["versions"]
    assert [(v["published_on"], v["entry_count"]) for v in versions] == [
        ("2017-07-03", 1021), ("2024-09-26", 875), ("2026-02-27", 1003)
    ]
    assert versions[-1] == un["newest"]


def test_diff_by_default_compares_the_newest_with_the_one_before(history_api):
    response = history_api.client("screener").get("/diff", params={"source": "un"})
    assert response.status_code == 200, response.text
    diff = response.json()
    assert diff["source"] == "un"
    assert (diff["from"]["published_on"], diff["to"]["published_on"]) == ("2024-09-26", "2026-02-27")
    assert (len(diff["added"]), len(diff["removed"]), len(diff["amended"])) == (134, 6, 112)
    assert {"id": "un:IQi.074", "name": "MUNIR AL QUBAYSI"} in diff["removed"]
    assert {"id": "un:CDi.003", "name": "GASTON IYAMUREMYE", "fields": ["places_of_birth"]} in diff["amended"]


def test_diff_between_versions_given_by_date_and_id(history_api):
    client = history_api.client("screener")
    versions = client.get("/lists/un/versions").json()["versions"]
    diff = client.get("/diff", params={"source": "un", "from": "2018-01-01", "to": str(versions[1]["id"])}).json()
    assert (diff["from"]["id"], diff["to"]["id"]) == (versions[0]["id"], versions[1]["id"])
    assert (len(diff["added"]), len(diff["removed"]), len(diff["amended"])) == (156, 302, 591)
    assert "un:QDe.161" in [a["id"] for a in diff["added"]]
    first = client.get("/diff", params={"source": "un", "to": "2017-07-03"}).json()
    assert first["from"] is None and len(first["added"]) == 1021


@pytest.mark.parametrize(("params", "status", "field"), [
    ({}, 422, "source"),
    ({"source": "eu"}, 404, "source"),
    ({"source": "un", "from": "last week"}, 422, "from"),
    ({"source": "un", "from": "2026-13-01"}, 422, "from"),
    ({"source": "un", "from": "²"}, 422, "from"),
    ({"source": "un", "from": "99999"}, 404, "from"),
    ({"source": "un", "to": "2010-01-01"}, 404, "to"),
    ({"source": "un", "to": "x" * 21}, 422, "to"),
])
def test_diff_errors_name_the_parameter(history_api, params, status, field):
    assert field_of(history_api.client("screener").get("/diff", params=params), status) == field


def test_entry_as_of_a_date(history_api):
    client = history_api.client("screener")
    then = client.get("/entries/QDe.161", params={"as_of": "2025-01-01"}).json()
    assert then["as_of"] == "2025-01-01"
    assert [listing["version"]["published_on"] for listing in then["listings"]] == ["2024-09-26"]
    assert then["listings"][0]["entry"]["id"] == "un:QDe.161"
    before = client.get("/entries/QDe.161", params={"as_of": "2018-01-01"})
    assert field_of(before, 404) == "id"
    assert "un:QDe.161 was not listed on 2018-01-01" in before.json()["error"]["message"]


def test_entry_history(history_api):
    client = history_api.client("screener")
    history = client.get("/entries/QDe.161/history").json()
    assert history["id"] == "un:QDe.161"
    assert [(s["version"]["published_on"], s["status"], s["fields"]) for s in history["history"]] == [
        ("2024-09-26", "listed", []), ("2026-02-27", "unchanged", []),
    ]
    zawahiri = client.get("/entries/un:QDi.006/history").json()["history"]
    assert [(s["status"], s["fields"]) for s in zawahiri] == [
        ("listed", []), ("amended", ["documents", "last_updated", "remarks"]),
        ("amended", ["documents", "last_updated", "remarks"]),
    ]


def test_a_delisted_entry_has_history_but_no_current_listing(history_api):
    client = history_api.client("screener")
    now = client.get("/entries/un:IQi.074")
    assert field_of(now, 404) == "id"
    assert "not listed in the newest version" in now.json()["error"]["message"]
    steps = client.get("/entries/un:IQi.074/history").json()["history"]
    assert [s["status"] for s in steps] == ["listed", "unchanged", "removed"]
    assert steps[-1]["version"]["published_on"] == "2026-02-27"


# -- imports of uploaded files: a store holding the UN list of 2017 ------------


@pytest.fixture(scope="module", params=STORE_KINDS)
def import_api(request, tmp_path_factory) -> Iterator[RunningServer]:
    yield from server_with(request, tmp_path_factory, [UN["2017-07-03"]], env=NO_POLLING)


def upload(server: RunningServer, source: str, files: list[tuple[str, bytes]], role: str = "admin", **data: str) -> httpx.Response:
    return server.client(role).post(
        f"/lists/{source}/import", files=[("file", (name, content)) for name, content in files], data=data, timeout=300,
    )


def test_admin_imports_a_new_version_and_screening_uses_it_at_once(import_api):
    response = upload(import_api, "un", [("consolidated-2026-02-27.xml", UN["2026-02-27"].read_bytes())])
    assert response.status_code == 201, response.text
    body = response.json()
    version = body["version"]
    assert body["created"] is True and body["message"].startswith(f"imported un version {version['id']}")
    assert (version["source"], version["published_on"], version["entry_count"]) == ("un", "2026-02-27", 1003)
    assert version["origin"] == "upload:consolidated-2026-02-27.xml"
    [un] = import_api.client("screener").get("/lists").json()["lists"]
    assert un["newest"]["id"] == version["id"]
    # ISIL-Khorasan was listed in 2019: only the new version has it.
    match = import_api.client("screener").post("/match", json={"queries": [{"id": "1", "name": ISIL_K}]}).json()
    assert [v["id"] for v in match["versions"]] == [version["id"]]
    assert match["results"][0]["hits"][0]["entry_id"] == "un:QDe.161"


def test_the_same_file_twice_is_already_imported(import_api):
    content = UN["2024-09-26"].read_bytes()
    first = upload(import_api, "un", [("consolidated.xml", content)])
    assert first.status_code == 201, first.text
    count = version_count(import_api)
    again = upload(import_api, "un", [("another-name.xml", content)])
    assert again.status_code == 200, again.text
    assert again.json()["created"] is False and again.json()["message"].startswith("already imported")
    assert again.json()["version"] == first.json()["version"]
    assert version_count(import_api) == count


CLIENT_NAMES = [("../../../tmp/..\\evil name.xml", "evil_name.xml"), ("..", "upload"), ("/etc/passwd", "passwd")]


@pytest.mark.parametrize("copy", range(len(CLIENT_NAMES)))
def test_the_clients_file_name_is_reduced_to_a_plain_name(import_api, copy):
    name, saved = CLIENT_NAMES[copy]
    # The 2018 publication with blank lines added: a file not imported before.
    content = UN["2018-10-29"].read_bytes() + b"\n" * (copy + 1)
    response = upload(import_api, "un", [(name, content)])
    assert response.status_code == 201, response.text
    assert response.json()["version"]["origin"] == f"upload:{saved}"


@pytest.mark.parametrize(("name", "content", "problem"), [
    ("bomb.xml", ENTITY_BOMB, "bomb.xml, line 1: malformed XML: Maximum entity amplification"),
    ("ofac.xml", CONS_2025.read_bytes(), "ofac.xml: not a file of the 'un' list's format"),
    ("notes.txt", b"just some text\n", "notes.txt: not a file of the 'un' list's format"),
    ("cut.xml", UN["2026-02-27"].read_bytes()[:200_000], "cut.xml, line 5047: malformed XML: Premature end of data"),
])
def test_a_bad_file_is_422_naming_the_problem_and_nothing_is_stored(import_api, name, content, problem):
    before = import_api.client("screener").get("/lists").json()
    response = upload(import_api, "un", [(name, content)])
    error = error_of(response, 422)
    assert error["fields"][0]["field"] == "file"
    assert error["fields"][0]["message"].startswith(problem)
    assert "vigil-import" not in error["message"]  # the server's folders stay its own
    assert import_api.client("screener").get("/lists").json() == before


def test_ofac_csv_set_is_uploaded_as_its_files(import_api):
    files = [(name.upper(), (SDN_2021 / name).read_bytes()) for name in ("sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv")]
    response = upload(import_api, "ofac-sdn", files, published_on="2021-07-13")
    assert response.status_code == 201, response.text
    version = response.json()["version"]
    assert (version["source"], version["published_on"], version["entry_count"]) == ("ofac-sdn", "2021-07-13", 8976)
    assert version["origin"] == "upload:add.csv,alt.csv,sdn.csv,sdn_comments.csv"
    lists = {item["source"]: item for item in import_api.client("screener").get("/lists").json()["lists"]}
    assert lists["ofac-sdn"]["newest"] == version


def test_a_bad_csv_row_names_file_and_line(import_api):
    before = import_api.client("screener").get("/lists").json()
    lines = (SDN_2021 / "sdn.csv").read_bytes().splitlines(keepends=True)
    response = upload(import_api, "ofac-sdn", [("sdn.csv", b"".join(lines[:5]) + b'"99999","BROKEN"\r\n')])
    assert error_of(response, 422)["message"] == "file: sdn.csv, line 6: expected 12 columns, found 2"
    assert import_api.client("screener").get("/lists").json() == before


@pytest.mark.parametrize(("source", "files", "data", "field"), [
    ("ofac-sdn", [("sdn.csv", b"x"), ("notes.csv", b"x")], {}, "file[1]"),
    ("ofac-sdn", [("sdn.csv", b"x"), ("SDN.CSV", b"x")], {}, "file[1]"),
    ("ofac-sdn", [("alt.csv", b"x")], {}, "file"),
    ("ofac-sdn", [("sdn.csv", b"x")], {"published_on": "2021-13-01"}, "published_on"),
    ("un", [("a.xml", b"x"), ("b.xml", b"x")], {}, "file"),
    ("un", [("a.xml", b"x")], {"published_on": "2026-01-01"}, "published_on"),
    ("un", [], {"note": "no file"}, "file"),
])
def test_uploads_that_cannot_be_a_list_are_422_naming_the_field(import_api, source, files, data, field):
    before = import_api.client("screener").get("/lists").json()
    assert field_of(upload(import_api, source, files, **data), 422) == field
    assert import_api.client("screener").get("/lists").json() == before


def test_import_into_an_unknown_list_is_404(import_api):
    response = upload(import_api, "eu", [("eu.xml", b"<x/>")])
    assert field_of(response, 404) == "source"
    assert "'eu'" in response.json()["error"]["message"]


# -- downloads: the UN list served by a local HTTP server -------------------------


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def list_site() -> Iterator[str]:
    """A local web server serving the real UN files; its address."""
    site = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(DATA / "un")))
    threading.Thread(target=site.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{site.server_port}"
    site.shutdown()
    site.server_close()


@pytest.fixture(scope="module", params=STORE_KINDS)
def update_api(request, tmp_path_factory, list_site) -> Iterator[RunningServer]:
    env = {
        **NO_POLLING,
        "VIGIL_UN_URL": f"{list_site}/consolidated-2026-02-27.xml",
        "VIGIL_OFAC_SDN_URL": f"{list_site}/no-such-folder",
        "VIGIL_OFAC_CONS_URL": f"{list_site}/no-such-file.xml",
    }
    yield from server_with(request, tmp_path_factory, [UN["2017-07-03"]], env=env)


def test_update_imports_a_new_version_then_finds_it_up_to_date(update_api, list_site):
    admin = update_api.client("admin")
    response = admin.post("/lists/update", json={"sources": ["un"]}, timeout=300)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True
    [un] = body["results"]
    assert (un["source"], un["url"], un["error"]) == ("un", f"{list_site}/consolidated-2026-02-27.xml", None)
    assert un["status"] in ("imported", "up to date")
    assert un["version"]["published_on"] == "2026-02-27" and un["version"]["entry_count"] == 1003
    match = update_api.client("screener").post("/match", json={"queries": [{"id": "1", "name": ISIL_K}]}).json()
    assert [v["id"] for v in match["versions"]] == [un["version"]["id"]]
    assert match["results"][0]["hits"][0]["entry_id"] == "un:QDe.161"
    [again] = admin.post("/lists/update", json={"sources": ["un"]}, timeout=300).json()["results"]
    assert again["status"] == "up to date" and again["version"] == un["version"]
    assert version_count(update_api) == 2


def test_update_of_every_list_answers_for_each(update_api, list_site):
    response = update_api.client("admin").post("/lists/update", timeout=300)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is False
    results = {r["source"]: r for r in body["results"]}
    assert list(results) == ["un", "ofac-sdn", "ofac-cons"]
    assert results["un"]["status"] != "error" and results["un"]["version"]["published_on"] == "2026-02-27"
    assert results["ofac-sdn"]["status"] == "error" and results["ofac-sdn"]["version"] is None
    assert results["ofac-sdn"]["error"] == f"ofac-sdn: {list_site}/no-such-folder/SDN.CSV: HTTP 404 File not found"
    assert results["ofac-cons"]["error"] == f"ofac-cons: {list_site}/no-such-file.xml: HTTP 404 File not found"
    assert [item["source"] for item in update_api.client("screener").get("/lists").json()["lists"]] == ["un"]


@pytest.mark.parametrize(("body", "field"), [
    ({"sources": ["eu"]}, "sources[0]"),
    ({"sources": []}, "sources"),
    ({"sources": "un"}, "sources"),
    ({"source": ["un"]}, "source"),
])
def test_update_refuses_unknown_lists_naming_the_field(update_api, body, field):
    assert field_of(update_api.client("admin").post("/lists/update", json=body), 422) == field

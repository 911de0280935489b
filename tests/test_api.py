"""The HTTP service, over real HTTP: keys and roles, /match, bad input, audit, metrics."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from serving import VIGIL

ZAWAHIRI = {"queries": [{"id": "q1", "name": "Aiman al-Zawahry", "kind": "person", "dob": "1951", "country": "EG"}]}


def error_of(response: httpx.Response) -> dict:
    assert response.headers["content-type"].startswith("application/json"), response.text[:200]
    return response.json()["error"]


def test_health_and_readiness_need_no_key(api):
    with api.client(None) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz").json()
        assert ready["status"] == "ready"
        assert [v["source"] for v in ready["versions"]] == ["un"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer vgl_not-a-key"}, {"Authorization": "Basic abc"}])
def test_match_without_a_valid_key_is_401_whatever_the_body(api, headers):
    for body in (json.dumps(ZAWAHIRI), "{not json", "x" * 100):
        response = httpx.post(api.url + "/match", content=body, headers={"Content-Type": "application/json", **headers})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "key" in error_of(response)["message"]
        assert "QDi" not in response.text


@pytest.mark.parametrize(("role", "method", "path"), [
    ("auditor", "POST", "/match"),
    ("screener", "GET", "/audit"),
    ("screener", "GET", "/keys"),
    ("auditor", "POST", "/keys"),
])
def test_roles_limit_what_a_key_may_do(api, role, method, path):
    with api.client(role) as client:
        response = client.request(method, path, json=ZAWAHIRI)
    assert response.status_code == 403
    assert role in error_of(response)["message"]


def test_match_finds_zawahiri_with_reasons_and_the_version(api):
    with api.client("screener") as client:
        response = client.post("/match", json=ZAWAHIRI)
    assert response.status_code == 200
    data = response.json()
    [version] = data["versions"]
    assert version["source"] == "un" and version["published_on"] == "2026-02-27"
    [result] = data["results"]
    assert result["query_id"] == "q1"
    top = result["hits"][0]
    assert top["reference"] == "QDi.006" and top["entry_id"] == "un:QDi.006"
    assert top["version_id"] == version["id"]
    assert 0.7 <= top["score"] <= 1.0
    assert "awah" in top["matched_name"].lower()  # one of its spellings: Zawahiri, Dhawahri, Zawahry
    assert "1951" in top["explanation"]
    assert top["entry"]["kind"] == "person" and "EG" in top["entry"]["nationalities"]
    assert {f["name"] for f in top["features"]} >= {"name", "date_of_birth"}


def test_a_batch_answers_every_query_in_order(api):
    queries = [{"id": f"c{i}", "name": name} for i, name in enumerate(["Jane Marple", "Usama bin Ladin", "Al Rashid Trust"])]
    with api.client("admin") as client:
        data = client.post("/match", json={"queries": queries, "threshold": 0.75, "limit": 2}).json()
    assert [r["query_id"] for r in data["results"]] == ["c0", "c1", "c2"]
    assert data["results"][0]["hits"] == []
    assert all(len(r["hits"]) <= 2 and all(h["score"] >= 0.75 for h in r["hits"]) for r in data["results"])
    assert data["results"][2]["hits"][0]["entry"]["kind"] == "organisation"


@pytest.mark.parametrize(("body", "field"), [
    ('{"queries":', "body"),
    ('{"queries":[{"id":"q","name":123}]}', "queries[0].name"),
    ('{"queries":[{"id":"q","name":"x","threshold":"high"}]}', "queries[0].threshold"),
    ('{"queries":[{"id":"q","name":"Ali"}],"threshold":7}', "threshold"),
    ('{"queries":[{"id":"q","name":"Ali"}],"limit":"5"}', "limit"),
    ('{"queries":[]}', "queries"),
    ('{"queries":[{"id":"q","name":"Ali","kind":"ship"}]}', "queries[0].kind"),
    ('{"queries":[{"id":"q","name":"Ali","dob":"last year"}]}', "queries[0].dob"),
    ('{"queries":[{"id":"q","name":"Ali","dob":"1951-13-45"}]}', "queries[0]"),
    ('{"queries":[{"id":"q","name":"!!!"}]}', "queries[0]"),
    ('{"queries":[{"id":"../../etc/passwd\\u0000","name":"Ali"}]}', "queries[0].id"),
    ('{"queries":[{"id":"q","name":"Ali"}],"sources":["eu"]}', "sources[0]"),
    ('[1, 2]', "body"),
])
def test_bad_bodies_get_a_4xx_naming_the_field(api, body, field):
    with api.client("screener") as client:
        response = client.post("/match", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert field in [f["field"] for f in error["fields"]], error
    assert "Traceback" not in response.text


def test_too_many_queries_and_oversized_bodies_are_refused(api):
    with api.client("screener") as client:
        many = client.post("/match", json={"queries": [{"id": str(i), "name": "Ali"} for i in range(1001)]})
        assert many.status_code == 422 and error_of(many)["fields"][0]["field"] == "queries"
        huge = client.post("/match", content=b"a" * 3_000_000, headers={"Content-Type": "application/json"})
        assert huge.status_code == 413 and "limit" in error_of(huge)["message"]
        # No Content-Length: the limit holds while the body streams in.
        chunked = client.post("/match", content=iter([b'{"queries":[{"id":"q","name":"'] + [b"a" * 65536] * 40 + [b'"}]}']),
                              headers={"Content-Type": "application/json"})
        assert chunked.status_code == 413


def test_non_utf8_and_wrong_content_types_are_4xx(api):
    with api.client("screener") as client:
        latin1 = '{"queries":[{"id":"q","name":"Zawahiri é"}]}'.encode("latin-1")
        response = client.post("/match", content=latin1, headers={"Content-Type": "application/json"})
        assert 400 <= response.status_code < 500 and error_of(response)["message"]
        response = client.post("/match", content="name=Ali", headers={"Content-Type": "text/plain"})
        assert 400 <= response.status_code < 500


def test_every_screening_is_in_the_audit_trail(api):
    with api.client("screener") as client:
        client.post("/match", json={"queries": [{"id": "audit-me", "name": "Abdul Ghani Baradar"}]})
    with api.client("auditor") as client:
        page = client.get("/audit", params={"limit": 1000}).json()
        [record] = [r for r in page["records"] if any(q.get("id") == "audit-me" for q in r["record"]["queries"])]
        assert record["action"] == "match" and record["key_id"] is not None
        body = record["record"]
        assert body["queries"][0]["name"] == "Abdul Ghani Baradar"
        assert body["versions"] and all(isinstance(v, int) for v in body["versions"])
        assert body["hits"] and {"entry_id", "score"} <= set(body["hits"][0])
        assert page["next_after"] == page["records"][-1]["seq"]
        assert client.get("/audit", params={"after": page["next_after"]}).json()["records"] == []
        verified = client.get("/audit/verify").json()
        assert verified["ok"] and verified["records"] >= 1 and verified["head"] == page["records"][-1]["hash"]


def test_admin_creates_and_revokes_keys_over_http(api):
    with api.client("admin") as client:
        created = client.post("/keys", json={"role": "screener", "label": "payments"})
        assert created.status_code == 201
        key, secret = created.json()["key"], created.json()["secret"]
        assert secret not in json.dumps(client.get("/keys").json())
        headers = {"Authorization": f"Bearer {secret}"}
        assert httpx.post(api.url + "/match", json=ZAWAHIRI, headers=headers).status_code == 200
        assert client.delete(f"/keys/{key['id']}").json()["revoked_at"]
        assert httpx.post(api.url + "/match", json=ZAWAHIRI, headers=headers).status_code == 401
        assert client.delete("/keys/999999").status_code == 404
        assert client.post("/keys", json={"role": "root"}).status_code == 422


def test_metrics_count_requests(api):
    with api.client("screener") as client:
        client.post("/match", json=ZAWAHIRI)
    text = httpx.get(api.url + "/metrics").text
    assert 'vigil_http_requests_total{method="POST",route="/match",status="200"}' in text
    assert "vigil_queries_screened_total" in text
    assert 'vigil_list_version{source="un"}' in text


def test_openapi_document_describes_the_endpoints(api):
    document = httpx.get(api.url + "/openapi.json").json()
    assert {"/match", "/healthz", "/audit"} <= set(document["paths"])
    assert "examples" in json.dumps(document["components"]["schemas"]["MatchRequest"])


def test_a_port_in_use_is_named(api):
    port = api.url.rsplit(":", 1)[1]
    for workers in ("1", "2"):
        result = subprocess.run([VIGIL, "--db", api.db_url, "serve", "--port", port, "--workers", workers],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        assert "address already in use" in (result.stdout + result.stderr).lower()

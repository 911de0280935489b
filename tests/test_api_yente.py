"""POST /match/{dataset}: requests shaped exactly as yente's documentation and
tests show them, answered with what yente's clients read; over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from vigil.api.audit import AuditTrail
from vigil.store.database import make_engine

# The example in the docstring of yente's /match/{dataset} (yente/routers/match.py).
YENTE_DOCSTRING = {
    "queries": {
        "entity1": {
            "schema": "Person",
            "properties": {"name": ["John Doe"], "birthDate": ["1975-04-21"], "nationality": ["us"]},
        },
        "entity2": {
            "schema": "Company",
            "properties": {"name": ["Brilliant Amazing Limited"], "jurisdiction": ["hk"], "registrationNumber": ["84BA99810"]},
        },
    }
}
# yente's tests/unit/test_match.py: one value given as a string, not a list.
PUTIN = {"schema": "Person", "properties": {"name": ["Vladimir Putin"], "birthDate": ["1952"], "country": "Russia"}}
ERMAKOV = {
    "properties": {
        "name": [
            "ERMAKOV Valery Nikolaevich", "Ermacov Valeryi Nycolaevych", "Ermakov Valerij Nikolaevich",
            "Ermakov Valerij Nikolaevič", "Ermakov Valerijj Nikolaevich", "Ermakov Valeriy Nikolaevich",
            "Ermakov Valery Nykolaevych", "Ermakov Valeryi Nykolaevych", "Ermakov Valeryy Nikolaevich",
            "Ermakov Valeryy Nykolaevych", "Ermakov Valerȳĭ Nȳkolaevȳch", "Iermakov Valerii Mykolaiovych",
            "Jermakov Valerij Mikolajovich", "Jermakov Valerij Mikolajovič", "Jermakov Valerij Mykolajovyč",
            "Yermakov Valerii Mykolaiovych", "Yermakov Valerij Mykolajovych", "Yermakov Valeriy Mykolayovych",
            "Êrmakov Valerìj Mikolajovič", "ЕРМАКОВ Валерий Николаевич",
        ]
    },
    "schema": "Person",
}
# opensanctions.org/docs/api/matching: name parts instead of a full name.
ROTENBERG = {
    "schema": "Person",
    "properties": {
        "firstName": ["Arkadii"], "fatherName": ["Romanovich"], "lastName": ["Rotenberg", "Ротенберг"],
        "birthDate": ["1951"], "nationality": ["Russia"],
    },
}
# opensanctions/api-examples, curl: the plainest query.
OBAMA = {"queries": {"q1": {"schema": "Person", "properties": {"name": ["Barack Obama"], "birthDate": ["1961-08-04"]}}}}

# A spelling the UN list does not have, with the listed birth date.
ZAWAHIRI = {"schema": "Person", "properties": {"name": ["Aymen al-Zawahiry"], "birthDate": ["1951-06-19"], "nationality": ["Egypt"]}}
NAME_ONLY = {"schema": "Person", "properties": {"name": ["Aymen al-Zawahiry"]}}
RESULT_FIELDS = {
    "id", "caption", "schema", "properties", "datasets", "referents", "target", "first_seen", "last_seen",
    "last_change", "score", "match", "features", "explanations", "explanation", "entry", "version_id",
}


def match(api, body, dataset: str = "default", role: str | None = "screener", **params) -> httpx.Response:
    with api.client(role) as client:
        return client.post(f"/match/{dataset}", json=body, params=params)


def answer(api, query: dict, dataset: str = "default", **params) -> dict:
    response = match(api, {"queries": {"q": query}}, dataset, **params)
    assert response.status_code == 200, response.text
    return response.json()["responses"]["q"]


def error_of(response: httpx.Response) -> dict:
    assert response.headers["content-type"].startswith("application/json"), response.text[:200]
    return response.json()["error"]


@pytest.mark.parametrize("body", [
    YENTE_DOCSTRING,
    {"queries": {"vv": PUTIN, "xx": PUTIN, "zz": PUTIN}},
    {"queries": {"ermakov": ERMAKOV}},
    {"queries": {"q": ROTENBERG}},
    OBAMA,
], ids=["yente-docstring", "putin", "ermakov", "rotenberg", "obama"])
def test_documented_queries_get_yente_shaped_answers(api, body):
    response = match(api, body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data["responses"]) == set(body["queries"])
    assert data["limit"] == 5
    assert {"name", "date_of_birth", "country", "document"} <= set(data["matcher"])
    assert [v["source"] for v in data["versions"]] == ["un"]
    for key, sent in body["queries"].items():
        found = data["responses"][key]
        assert found["status"] == 200
        assert found["query"]["schema"] == sent["schema"]
        # None of these parties is on the UN list: nothing may alert.
        assert found["total"] == {"value": 0, "relation": "eq"}
        assert not any(r["match"] for r in found["results"])
        assert all(r["score"] < 0.7 for r in found["results"])


def test_the_query_comes_back_as_vigil_read_it(api):
    putin = answer(api, PUTIN)["query"]
    assert putin["properties"]["country"] == ["ru"]  # "Russia", one string, read as a code
    assert putin["properties"]["birthDate"] == ["1952"]
    ermakov = answer(api, {**ERMAKOV, "id": "ermakov"})["query"]
    assert ermakov["id"] == "ermakov" and ermakov["schema"] == "Person"
    rotenberg = answer(api, ROTENBERG)["query"]["properties"]
    assert rotenberg["alias"] == ["Arkadii Romanovich Rotenberg", "Arkadii Romanovich Ротенберг"]
    assert rotenberg["nationality"] == ["ru"]


def test_zawahiri_is_found_by_a_spelling_the_list_lacks(api):
    found = answer(api, ZAWAHIRI)
    top = found["results"][0]
    assert set(top) == RESULT_FIELDS
    assert top["id"] == "un:QDi.006" and top["entry"]["reference"] == "QDi.006"
    assert top["caption"] == "AIMAN MUHAMMED RABI AL-ZAWAHIRI" and top["schema"] == "Person"
    listed = top["properties"]["name"] + top["properties"]["alias"] + top["properties"]["weakAlias"]
    assert "aymen al-zawahiry" not in {n.casefold() for n in listed}
    assert top["match"] is True and top["score"] >= 0.9
    assert top["features"]["name"] > 0.7 and top["features"]["date_of_birth"] > 0 and top["features"]["country"] > 0
    assert top["explanations"]["name"]["candidate"] in listed
    assert "1951" in top["explanation"] and "1951" in top["explanations"]["date_of_birth"]["detail"]
    assert top["properties"]["birthDate"] == ["1951-06-19"] and top["properties"]["nationality"] == ["eg"]
    assert "1084010" in top["properties"]["passportNumber"] and top["properties"]["topics"] == ["sanction"]
    assert top["datasets"] == ["un"] and top["target"] is True
    assert top["first_seen"] == "2001-01-25T00:00:00" and top["last_seen"].startswith("2026-02-27")
    assert found["total"]["value"] == sum(r["match"] for r in found["results"]) >= 1
    # The birth date counts: without it the same name scores less.
    without = answer(api, NAME_ONLY)["results"][0]
    assert without["id"] == "un:QDi.006" and without["score"] < top["score"]
    assert "date_of_birth" not in without["features"]


def test_a_result_sent_back_as_a_query_finds_itself(api):
    """yente's clients may send entities as the API returned them."""
    top = answer(api, ZAWAHIRI)["results"][0]
    again = answer(api, top)
    assert again["results"][0]["id"] == top["id"] and again["results"][0]["match"] is True
    assert again["query"]["id"] == top["id"]
    assert set(again["not_compared"]) >= {"notes", "program", "topics"}


def test_several_birth_dates_and_nationalities_use_the_best_of_each(api):
    query = {"schema": "Person", "properties": {
        "name": "Aymen al-Zawahiry", "birthDate": ["1960", "1951-06-19"], "nationality": ["Afghanistan", "Egypt"],
    }}
    top = answer(api, query)["results"][0]
    assert top["id"] == "un:QDi.006"
    assert top["features"]["date_of_birth"] > 0 and top["features"]["country"] > 0
    too_many = {"schema": "Person", "properties": {
        "name": ["Aymen al-Zawahiry"], "birthDate": ["1950", "1951", "1952", "1953", "1954"],
        "nationality": ["Egypt", "Afghanistan", "Pakistan", "Yemen", "Iraq"],
    }}
    response = match(api, {"queries": {"q": too_many}})
    assert response.status_code == 422
    assert error_of(response)["fields"][0]["field"] == "queries.q.properties"


def test_the_schema_decides_what_kind_of_entry_may_match(api):
    def results(schema: str) -> list[dict]:
        return answer(api, {"schema": schema, "properties": {"name": ["Al Rashid Trust"]}}, cutoff=0.2)["results"]

    people = results("Person")
    assert people and all(r["schema"] == "Person" for r in people)
    organisations = results("Organization")
    assert organisations[0]["id"] == "un:QDe.005" and organisations[0]["match"] is True
    assert all(r["schema"] == "Organization" for r in organisations)
    either = results("LegalEntity")
    assert either[0]["id"] == "un:QDe.005" and {r["schema"] for r in either} == {"Person", "Organization"}


def test_threshold_cutoff_and_limit_work_as_in_yente(api):
    query = NAME_ONLY
    found = answer(api, query, cutoff=0.2, threshold=0.95, limit=3)
    scores = [r["score"] for r in found["results"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True) and min(scores) >= 0.2
    assert all(r["match"] is (r["score"] >= 0.95) for r in found["results"])
    assert found["total"]["value"] == 0  # results shown, none a match
    assert answer(api, query, threshold=0.8)["total"]["value"] == 1
    assert answer(api, query, cutoff=0.2, limit=1)["results"][0]["id"] == "un:QDi.006"


def test_datasets_topics_and_exclusions_narrow_the_results(api):
    top_id = answer(api, ZAWAHIRI, "un")["results"][0]["id"]
    assert top_id == "un:QDi.006"
    assert answer(api, ZAWAHIRI, "sanctions", include_dataset="un_sc_sanctions")["results"][0]["id"] == top_id
    response = match(api, {"queries": {"q": ZAWAHIRI}}, exclude_dataset="un")
    assert response.status_code == 200
    assert response.json()["responses"]["q"]["results"] == [] and response.json()["versions"] == []
    assert answer(api, ZAWAHIRI, topics="crime.cyber")["results"] == []
    assert answer(api, ZAWAHIRI, topics=["sanction", "debarment"])["results"][0]["id"] == top_id
    assert answer(api, ZAWAHIRI, exclude_schema="Person")["results"] == []
    others = answer(api, NAME_ONLY, cutoff=0.2, exclude_entity_ids="un:QDi.006")["results"]
    assert others and top_id not in {r["id"] for r in others}
    assert answer(api, ZAWAHIRI, changed_since="2025-03-01")["results"][0]["id"] == top_id  # amended 2025-03-11
    assert answer(api, ZAWAHIRI, changed_since="2025-03-12T00:00:00")["results"] == []


def test_properties_vigil_does_not_compare_are_named_in_the_answer(api):
    query = {"schema": "Person", "properties": {**ZAWAHIRI["properties"], "address": ["Kabul"], "gender": "male"}}
    found = answer(api, query)
    assert found["not_compared"] == ["address", "gender"]
    assert found["query"]["properties"]["address"] == ["Kabul"]
    assert found["results"][0]["id"] == "un:QDi.006"


@pytest.mark.parametrize("dataset", ["eu_fsf", "ofac-sdn"])
def test_an_unknown_or_unstored_dataset_is_404_naming_it(api, dataset):
    response = match(api, {"queries": {"q": ZAWAHIRI}}, dataset)
    assert response.status_code == 404
    error = error_of(response)
    assert error["fields"][0]["field"] == "dataset" and repr(dataset) in error["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"queries": {"fail": {"properties": {"name": "Banana"}}}}, "queries.fail.schema"),  # yente's own test
    ({"queries": {"fail": {"schema": "xxx", "properties": {"name": "Banana"}}}}, "queries.fail.schema"),
    ({"queries": {}}, "queries"),
    ({"queries": {"q": {"schema": "Company", "properties": {"name": ["Acme"], "birthDate": ["1951"]}}}},
     "queries.q.properties.birthDate"),
    ({"queries": {"q": {"schema": "Person", "properties": {"name": ["Ali"], "birthdate": ["1951"]}}}},
     "queries.q.properties.birthdate"),
    ({"queries": {"q": {"schema": "Person", "properties": {"name": ["Ali"], "birthDate": ["1951-13-45"]}}}},
     "queries.q.properties.birthDate[0]"),
    ({"queries": {"q": {"schema": "Person", "properties": {"name": ["Ali"], "nationality": ["Atlantis"]}}}},
     "queries.q.properties.nationality[0]"),
    ({"queries": {"q": {"schema": "Person", "properties": {"name": [123]}}}}, "queries.q.properties.name[0]"),
    ({"queries": {"q": {"schema": "Person", "properties": {"name": "---"}}}}, "queries.q.properties.name[0]"),
    ({"queries": {"q": {"schema": "Person", "properties": {"birthDate": ["1951"]}}}}, "queries.q.properties.name"),
    ({"weights": {"name_literal": 0.8}, "queries": {"q": ZAWAHIRI}}, "weights"),
    ({"queries": {"q": ZAWAHIRI}, "threshold": 0.8}, "threshold"),
])
def test_a_bad_body_is_422_naming_the_field(api, body, field):
    response = match(api, body)
    assert response.status_code == 422, response.text
    assert field in [f["field"] for f in error_of(response)["fields"]]


@pytest.mark.parametrize(("params", "field"), [
    ({"algorithm": "neural-net"}, "algorithm"),
    ({"limit": 0}, "limit"),
    ({"threshold": 1.5}, "threshold"),
    ({"changed_since": "2024-02-30"}, "changed_since"),
    ({"include_dataset": "eu_fsf"}, "include_dataset"),
    ({"include_dataset": "us_ofac_sdn"}, "include_dataset"),  # known, but not stored here
])
def test_bad_parameters_are_422_naming_them(api, params, field):
    response = match(api, {"queries": {"q": ZAWAHIRI}}, **params)
    assert response.status_code == 422, response.text
    assert [f["field"] for f in error_of(response)["fields"]] == [field]


def test_a_body_that_is_not_json_is_422(api):
    with api.client("screener") as client:
        response = client.post("/match/default", content='{"queries":', headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and error_of(response)["fields"][0]["field"] == "body"


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("auditor", 403)])
def test_screening_needs_a_screener_key(api, role, status):
    response = match(api, {"queries": {"q": ZAWAHIRI}}, role=role)
    assert response.status_code == status
    assert "key" in error_of(response)["message"] and "QDi" not in response.text


def test_every_request_is_in_the_audit_trail(api):
    response = match(api, {"queries": {"audit-yente": ZAWAHIRI}}, "un", threshold=0.75)
    assert response.status_code == 200
    data = response.json()
    top = data["responses"]["audit-yente"]["results"][0]
    engine = make_engine(api.db_url)
    try:
        trail = AuditTrail(engine)
        [record] = [r for r in trail.records() if any(q["id"] == "audit-yente" for q in r.record["queries"])]
        assert trail.verify().ok
    finally:
        engine.dispose()
    assert record.action == "match" and record.key_id is not None
    assert record.record["endpoint"] == "/match/un"
    assert record.record["queries"][0]["example"]["properties"]["name"] == ["Aymen al-Zawahiry"]
    assert record.record["options"]["dataset"] == "un" and record.record["options"]["threshold"] == 0.75
    assert record.record["versions"] == [v["id"] for v in data["versions"]]
    assert {"query_id": "audit-yente", "entry_id": top["id"], "score": top["score"]} in record.record["hits"]


def test_openapi_document_describes_the_endpoint(api):
    with api.client(None) as client:
        document = client.get("/openapi.json").json()
    operation = document["paths"]["/match/{dataset}"]["post"]
    assert {p["name"] for p in operation["parameters"]} >= {"dataset", "threshold", "cutoff", "limit", "include_dataset"}
    assert {"200", "404", "422"} <= set(operation["responses"])

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
import stix2

from vigil.exchange.bodies import (
    STIX_TYPES,
    TLP_EXTENSION,
    TYPES,
    VIGIL_TYPES,
    BodyError,
    describe,
    prepare,
    tlp_marking,
    validate,
)
from vigil.exchange.envelope import TLP

OASIS_IDS = {
    "CLEAR": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "GREEN": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "AMBER": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "AMBER+STRICT": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "RED": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP1_IDS = {stix2.TLP_WHITE.id, stix2.TLP_GREEN.id, stix2.TLP_AMBER.id, stix2.TLP_RED.id}


def stix_json(*objects: Any) -> bytes:
    if len(objects) == 1:
        return objects[0].serialize().encode()
    return stix2.Bundle(*objects).serialize().encode()


def threat_actor() -> stix2.ThreatActor:
    return stix2.ThreatActor(name="Cell of Group X", aliases=["GX"], description="Recruits fighters online.")


def indicator() -> stix2.Indicator:
    return stix2.Indicator(
        name="Group X C2", pattern="[ipv4-addr:value = '198.51.100.7']", pattern_type="stix",
        valid_from="2024-03-01T00:00:00Z",
    )


def stix_content(type: str) -> tuple[bytes, str]:
    """Content for a STIX type, and a text ``describe`` must show."""
    actor, ind = threat_actor(), indicator()
    if type == "threat-actor":
        return stix_json(actor), "Cell of Group X"
    if type == "identity":
        return stix_json(stix2.Identity(name="Ministry of Interior, CT unit", identity_class="organization")), "CT unit"
    if type == "indicator":
        return stix_json(ind), "198.51.100.7"
    if type == "report":
        rel = stix2.Relationship(ind, "indicates", actor)
        report = stix2.Report(name="Weekly CT summary", published="2024-03-04T00:00:00Z", object_refs=[actor.id, ind.id, rel.id])
        return stix_json(report, actor, ind, rel), "Weekly CT summary"
    if type == "note":
        return stix_json(stix2.Note(content="Seen at the border on 3 March.", object_refs=[actor.id])), "Seen at the border"
    rel = stix2.Relationship(ind, "indicates", actor)
    return stix_json(rel, actor, ind), "Group X C2 indicates Cell of Group X"


SUBJECT = {
    "names": ["Abu Example", "John Example"],
    "birth_dates": ["1991", "1991-04-12"],
    "nationalities": ["FR", "MA"],
    "documents": [{"type": "passport", "number": "12AB34567", "country": "FR"}],
}

VIGIL_CONTENT: dict[str, tuple[dict[str, Any], str]] = {
    "case-file": (
        {
            "subject": SUBJECT,
            "status": "repatriated",
            "travel": [
                {"date": "2014-06", "from_country": "FR", "to_country": "TR"},
                {"date": "2014-07-02", "from_country": "TR", "to_country": "SY", "note": "crossed near Kilis"},
                {"date": "2023-11-20", "from_country": "IQ", "to_country": "FR"},
            ],
            "list_entries": [{"source": "un", "reference": "QDi.123"}],
            "summary": "Returned with two children; prosecution pending.",
        },
        "status: repatriated",
    ),
    "screening-hit": (
        {
            "query": {"name": "Jon Exampel", "dob": "1991", "country": "FR"},
            "entry": {"source": "un", "entry_id": "un:QDi.123", "reference": "QDi.123", "name": "Abu Example"},
            "score": 0.87,
            "explanation": "Name and year of birth agree.",
            "list_version": "un 2024-03-01",
            "note": "Stopped at the airport, released.",
        },
        "Abu Example",
    ),
    "rfi": (
        {"question": "Is this person known to you?", "subject": SUBJECT, "needed_by": "2024-04-01", "references": ["QDi.123"]},
        "Is this person known to you?",
    ),
    "rfi-answer": (
        {"request_id": str(uuid.uuid4()), "answer": "Yes: detained in 2019, released 2023.", "references": ["case 2019/77"]},
        "released 2023",
    ),
}


def contains(got: Any, sent: Any) -> bool:
    if isinstance(sent, dict):
        return isinstance(got, dict) and all(key in got and contains(got[key], value) for key, value in sent.items())
    if isinstance(sent, list):
        return isinstance(got, list) and len(got) == len(sent) and all(map(contains, got, sent))
    return got == sent


def objects_of(body: bytes) -> list[dict[str, Any]]:
    bundle = json.loads(body)
    assert bundle["type"] == "bundle"
    return bundle["objects"]


def test_types() -> None:
    assert TYPES == STIX_TYPES + VIGIL_TYPES
    assert set(STIX_TYPES) == {"threat-actor", "identity", "indicator", "report", "note", "relationship"}
    assert set(VIGIL_TYPES) == {"case-file", "screening-hit", "rfi", "rfi-answer"}


@pytest.mark.parametrize("tlp", TLP)
def test_tlp_marking_is_the_oasis_tlp_2_0_definition(tlp: str) -> None:
    marking = tlp_marking(tlp)
    assert marking == {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": OASIS_IDS[tlp],
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{tlp}",
        "extensions": {TLP_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": tlp.lower()}},
    }
    assert TLP_EXTENSION == "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
    assert marking["id"] not in TLP1_IDS
    assert "definition_type" not in marking  # not the TLP 1.0 form
    assert stix2.parse(marking, allow_custom=False).id == OASIS_IDS[tlp]


def test_tlp_extension_values_are_checked_by_stix2() -> None:
    marking = tlp_marking("GREEN")
    marking["extensions"][TLP_EXTENSION]["tlp_2_0"] = "white"
    with pytest.raises(stix2.exceptions.STIXError, match="tlp_2_0"):
        stix2.parse(marking, allow_custom=False)


def test_tlp_marking_refuses_an_unknown_tlp() -> None:
    with pytest.raises(BodyError, match=re.escape("'WHITE' is not a TLP 2.0 marking")):
        tlp_marking("WHITE")


@pytest.mark.parametrize("type", STIX_TYPES)
def test_stix_types_round_trip(type: str) -> None:
    content, shown = stix_content(type)
    body = prepare(type, content, "AMBER")
    validate(type, body, "AMBER")
    objects = objects_of(body)
    assert objects[0] == tlp_marking("AMBER")
    assert [o["type"] for o in objects].count("marking-definition") == 1
    sent = json.loads(content)
    sent_ids = [o["id"] for o in sent["objects"]] if sent["type"] == "bundle" else [sent["id"]]
    assert [o["id"] for o in objects[1:]] == sent_ids
    for obj in objects[1:]:
        assert obj["object_marking_refs"] == [OASIS_IDS["AMBER"]]
        assert stix2.parse(obj, allow_custom=False, version="2.1").type == obj["type"]
    assert stix2.parse(json.loads(body), allow_custom=False).objects[0].name == "TLP:AMBER"
    text = describe(type, body)
    assert "TLP:AMBER" in text and shown in text


def test_plain_text_note_is_wrapped_in_a_stix_note() -> None:
    text = "Our partner confirms the travel dates.\nMore to follow — Ω"
    body = prepare("note", text.encode(), "GREEN")
    validate("note", body, "GREEN")
    marking, note = objects_of(body)
    assert marking["id"] == OASIS_IDS["GREEN"]
    assert note["type"] == "note" and note["spec_version"] == "2.1"
    assert note["content"] == text
    assert note["object_refs"] == [note["id"]]  # a standalone note
    assert note["object_marking_refs"] == [OASIS_IDS["GREEN"]]
    assert text in describe("note", body)


def test_empty_text_note_is_refused() -> None:
    with pytest.raises(BodyError, match="note: content: empty text"):
        prepare("note", b"  \n", "GREEN")


def test_a_large_note_works() -> None:
    text = ("A line of a long report on returning fighters, with ünïcode.\n" * 20_000)[:1_000_000]
    body = prepare("note", text.encode(), "RED")
    validate("note", body, "RED")
    assert objects_of(body)[1]["content"] == text
    assert text in describe("note", body)


def test_a_prepared_body_prepares_again_unchanged_but_for_the_bundle_id() -> None:
    content, _ = stix_content("report")
    once = prepare("report", content, "GREEN")
    twice = prepare("report", once, "GREEN")
    assert objects_of(twice) == objects_of(once)


def test_unmarked_objects_are_marked_and_same_marked_objects_kept() -> None:
    marked = stix2.ThreatActor(name="Already marked", object_marking_refs=[OASIS_IDS["RED"]])
    bundle = json.loads(stix2.Bundle(threat_actor(), marked).serialize())
    bundle["objects"].insert(0, tlp_marking("RED"))
    body = prepare("threat-actor", json.dumps(bundle).encode(), "RED")
    objects = objects_of(body)
    assert [o["type"] for o in objects] == ["marking-definition", "threat-actor", "threat-actor"]
    assert all(o["object_marking_refs"] == [OASIS_IDS["RED"]] for o in objects[1:])


@pytest.mark.parametrize("type", VIGIL_TYPES)
def test_vigil_types_round_trip(type: str) -> None:
    content, shown = VIGIL_CONTENT[type]
    body = prepare(type, json.dumps(content).encode(), "AMBER+STRICT")
    validate(type, body, "AMBER+STRICT")
    data = json.loads(body)
    assert body == json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    assert data["tlp"] == "AMBER+STRICT"
    assert contains(data, content)  # as sent, plus the defaults of omitted optional fields
    text = describe(type, body)
    assert shown in text and "TLP:AMBER+STRICT" in text


def test_case_file_describe_names_subject_status_travel_and_summary() -> None:
    content, _ = VIGIL_CONTENT["case-file"]
    text = describe("case-file", prepare("case-file", json.dumps(content).encode(), "RED"))
    assert "Abu Example / John Example" in text
    assert "status: repatriated" in text
    assert "TR → SY" in text and "un QDi.123" in text
    assert content["summary"] in text


def test_rfi_subject_may_be_free_text() -> None:
    body = prepare("rfi", json.dumps({"question": "Any record?", "subject": "the driver of the blue van"}).encode(), "GREEN")
    validate("rfi", body, "GREEN")
    assert json.loads(body)["subject"] == "the driver of the blue van"
    assert "the driver of the blue van" in describe("rfi", body)


def test_vigil_body_with_the_same_tlp_is_accepted() -> None:
    content = {**VIGIL_CONTENT["rfi-answer"][0], "tlp": "GREEN"}
    validate("rfi-answer", prepare("rfi-answer", json.dumps(content).encode(), "GREEN"), "GREEN")


def case_file(**changes: Any) -> bytes:
    content = json.loads(json.dumps(VIGIL_CONTENT["case-file"][0]))
    content.update(changes)
    return json.dumps(content).encode()


def with_travel_date(value: str) -> bytes:
    content = json.loads(case_file())
    content["travel"][2]["date"] = value
    return json.dumps(content).encode()


def without(key: str) -> bytes:
    content = json.loads(case_file())
    del content[key]
    return json.dumps(content).encode()


def stix_with(obj: Any, **changes: Any) -> bytes:
    return json.dumps({**json.loads(obj.serialize()), **changes}).encode()


INVALID_CONTENT = [
    ("indicator", b'{"type": "indicator", "name": ', "indicator: not valid JSON"),
    ("case-file", b"[1, 2]", "case-file: a JSON object expected, not a list"),
    ("case-file", b'{"status": "detained", "status": "released"}', "case-file: not valid JSON (duplicate key 'status')"),
    ("note", stix_json(indicator()), "note: no note object in the body (found: indicator)"),
    ("threat-actor", stix_json(stix2.Identity(name="X", identity_class="individual")), "threat-actor: no threat-actor object"),
    ("indicator", b'{"type": "indicator", "spec_version": "2.1"}', "indicator: not a valid STIX 2.1 object: No values for required"),
    ("indicator", b'{"type": null, "extensions": null}', "indicator: not a valid STIX 2.1 object"),
    ("indicator", stix_with(indicator(), pattern="not a pattern"), "'pattern'"),
    ("indicator", stix_with(indicator(), x_vigil_score=3), "Unexpected properties for Indicator: (x_vigil_score)"),
    ("identity", b'{"type": "x-vigil-thing", "id": "x-vigil-thing--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"}', "unknown object type"),
    ("case-file", without("status"), "case-file: status: missing (required)"),
    ("case-file", case_file(subject={"names": []}), "case-file: subject.names: empty"),
    ("case-file", case_file(reviewed_by="someone"), "case-file: reviewed_by: unexpected field"),
    ("case-file", case_file(status="dead"), "case-file: status: 'dead' is not one of"),
    ("case-file", with_travel_date("2014-02-30"), "case-file: travel[2].date: '2014-02-30' is not a date"),
    ("case-file", with_travel_date("June 2014"), "case-file: travel[2].date: 'June 2014' is not a date"),
    ("case-file", case_file(travel=[{"date": "2014"}]), "case-file: travel[0]: from_country or to_country expected"),
    ("case-file", case_file(subject={"names": ["X"], "nationalities": ["France"]}), "subject.nationalities[0]: 'France' is not an ISO"),
    ("case-file", case_file(summary="x" * 100_001), "case-file: summary: longer than 100,000 characters"),
    ("rfi", b'{"question": "When?", "needed_by": "2024-13-01"}', "rfi: needed_by: not a date"),
    ("rfi", b'{"question": "When?", "subject": 7}', "rfi: subject: text or a subject object expected"),
    ("rfi", b'{"question": "Who?", "subject": {"names": ["X"], "documents": [{"type": "passport"}]}}',
     "rfi: subject.documents[0].number: missing (required)"),
    ("rfi", b'{"question": "  "}', "rfi: question: empty"),
    ("rfi-answer", b'{"request_id": "42", "answer": "yes"}', "rfi-answer: request_id: '42' is not a message id"),
    ("screening-hit", json.dumps({**VIGIL_CONTENT["screening-hit"][0], "score": 1.5}).encode(), "screening-hit: score: 1.5 is more than 1"),
    ("screening-hit", json.dumps({**VIGIL_CONTENT["screening-hit"][0], "score": "0.9"}).encode(), "screening-hit: score: a number expected"),
]


@pytest.mark.parametrize(("type", "content", "message"), INVALID_CONTENT)
def test_invalid_content_is_refused_naming_the_problem(type: str, content: bytes, message: str) -> None:
    with pytest.raises(BodyError, match=re.escape(message)):
        prepare(type, content, "GREEN")


def strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({key for key, _ in pairs}) < len(pairs):
        raise ValueError("duplicate key")
    return dict(pairs)


@pytest.mark.parametrize(("type", "content", "message"), INVALID_CONTENT)
def test_invalid_bodies_fail_validation(type: str, content: bytes, message: str) -> None:
    """A receiver refuses the same bodies; a Vigil body given its tlp fails for the same reason."""
    expected = re.escape(f"{type}: ")
    if type in VIGIL_TYPES:
        try:
            data = json.loads(content, object_pairs_hook=strict_object)
        except ValueError:
            data = None
        if isinstance(data, dict):
            content, expected = json.dumps({**data, "tlp": "GREEN"}).encode(), re.escape(message)
    with pytest.raises(BodyError, match=expected):
        validate(type, content, "GREEN")


def test_note_text_beginning_with_a_brace_must_be_stix_json() -> None:
    with pytest.raises(BodyError, match=r"note: not valid JSON .*send such text inside a STIX note"):
        prepare("note", b"{draft} see below", "GREEN")


def test_object_marked_with_another_tlp_is_refused() -> None:
    red = stix2.ThreatActor(name="X", object_marking_refs=[OASIS_IDS["RED"]])
    with pytest.raises(BodyError, match=re.escape("object_marking_refs: marked TLP:RED, but the message is TLP:GREEN")):
        prepare("threat-actor", stix_json(red), "GREEN")


def test_tlp_1_0_markings_are_refused() -> None:
    old = stix2.ThreatActor(name="X", object_marking_refs=[stix2.TLP_AMBER])
    with pytest.raises(BodyError, match=re.escape("marked with the TLP 1.0 TLP:AMBER")):
        prepare("threat-actor", stix_json(old), "AMBER")
    bundle = json.loads(stix2.Bundle(stix2.TLP_AMBER, threat_actor()).serialize())
    with pytest.raises(BodyError, match=re.escape("objects[0] (marking-definition--f88d31f6")):
        prepare("threat-actor", json.dumps(bundle).encode(), "AMBER")


def test_other_markings_and_granular_markings_are_refused() -> None:
    statement = stix2.MarkingDefinition(definition_type="statement", definition=stix2.StatementMarking("Copyright X"))
    with pytest.raises(BodyError, match=f"marking {statement.id} is not allowed"):
        prepare("threat-actor", stix_json(stix2.ThreatActor(name="X", object_marking_refs=[statement])), "GREEN")
    granular = stix2.ThreatActor(name="X", granular_markings=[{"marking_ref": OASIS_IDS["RED"], "selectors": ["name"]}])
    with pytest.raises(BodyError, match="granular_markings: not supported"):
        prepare("threat-actor", stix_json(granular), "GREEN")


def test_vigil_body_marked_otherwise_is_refused() -> None:
    with pytest.raises(BodyError, match=re.escape("case-file: tlp: the body is marked 'RED', but the message is GREEN")):
        prepare("case-file", case_file(tlp="RED"), "GREEN")
    body = prepare("case-file", case_file(), "RED")
    with pytest.raises(BodyError, match=re.escape("case-file: tlp: the body is marked RED, but the message is GREEN")):
        validate("case-file", body, "GREEN")


def test_stix_body_marked_otherwise_than_the_envelope_fails_validation() -> None:
    body = prepare("indicator", stix_json(indicator()), "RED")
    with pytest.raises(BodyError, match=re.escape("marked TLP:RED, but the message is TLP:CLEAR")):
        validate("indicator", body, "CLEAR")


def test_validation_requires_the_marking_on_every_object() -> None:
    bundle = json.loads(prepare("report", stix_content("report")[0], "GREEN"))
    del bundle["objects"][2]["object_marking_refs"]
    with pytest.raises(BodyError, match=re.escape("objects[2]") + ".*the message's marking \\(TLP:GREEN\\) is missing"):
        validate("report", json.dumps(bundle).encode(), "GREEN")
    bundle["objects"][2]["object_marking_refs"] = [OASIS_IDS["RED"]]
    with pytest.raises(BodyError, match=re.escape("objects[2]") + ".*marked TLP:RED, but the message is TLP:GREEN"):
        validate("report", json.dumps(bundle).encode(), "GREEN")


def test_validation_requires_the_exact_oasis_marking_definition() -> None:
    bundle = json.loads(prepare("note", b"hello", "GREEN"))
    bundle["objects"][0]["name"] = "TLP:GREEN (ours)"
    with pytest.raises(BodyError, match=re.escape(f"objects[0] ({OASIS_IDS['GREEN']}): not the OASIS TLP 2.0 definition")):
        validate("note", json.dumps(bundle).encode(), "GREEN")
    with pytest.raises(BodyError, match="not the OASIS TLP 2.0 definition"):
        prepare("note", json.dumps(bundle).encode(), "GREEN")
    del bundle["objects"][0]
    with pytest.raises(BodyError, match="note: no TLP 2.0 marking-definition in the bundle"):
        validate("note", json.dumps(bundle).encode(), "GREEN")


def test_validation_requires_a_bundle_for_stix_types() -> None:
    with pytest.raises(BodyError, match=re.escape("indicator: a STIX 2.1 bundle expected")):
        validate("indicator", stix_json(indicator()), "GREEN")
    with pytest.raises(BodyError, match="note: not valid JSON"):
        validate("note", b"plain text is only accepted when preparing", "GREEN")


@pytest.mark.parametrize("type", ["note", "case-file"])
def test_non_utf8_bytes_are_refused(type: str) -> None:
    raw = b'{"content": "caf\xe9"}'
    for call in (lambda: prepare(type, raw, "GREEN"), lambda: validate(type, raw, "GREEN"), lambda: describe(type, raw)):
        with pytest.raises(BodyError, match=re.escape(f"{type}: not UTF-8 text (invalid byte at offset {raw.index(0xE9)})")):
            call()


def test_unknown_type_is_refused_naming_the_known_types() -> None:
    for call in (
        lambda: prepare("sitrep", b"hello", "GREEN"), lambda: validate("sitrep", b"{}", "GREEN"), lambda: describe("sitrep", b"{}"),
    ):
        with pytest.raises(BodyError, match=re.escape("'sitrep': unknown body type (known types: threat-actor,")) as caught:
            call()
        assert all(t in str(caught.value) for t in TYPES)


def test_unknown_tlp_is_refused() -> None:
    with pytest.raises(BodyError, match="'AMBER STRICT' is not a TLP 2.0 marking"):
        prepare("note", b"hello", "AMBER STRICT")
    with pytest.raises(BodyError, match="'white' is not a TLP 2.0 marking"):
        validate("case-file", case_file(), "white")


def test_body_error_is_a_value_error() -> None:
    assert issubclass(BodyError, ValueError)

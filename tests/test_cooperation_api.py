"""Cooperation under `vigil serve`: node A served over HTTP with its keys open,
node B driven in this process through the Python API, delivering to A's inbox
and collecting what waits for it there (A has no address for B)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from serving import NODE_PASSPHRASE as PASSPHRASE
from serving import running_server, served_node_with_partner

from vigil.cooperation.agreements import Agreements
from vigil.cooperation.incident_bodies import Content, Details
from vigil.cooperation.incidents import Incidents
from vigil.cooperation.proposals import Proposals
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.node import Node
from vigil.exchange.transport import deliver_pending
from vigil.handlers import all_handlers
from vigil.store.database import make_engine

INDICATOR = {
    "type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "created": "2026-03-06T03:10:00.000Z", "modified": "2026-03-06T03:10:00.000Z", "name": "Gateway scanner",
    "pattern": "[ipv4-addr:value = '203.0.113.7']", "pattern_type": "stix", "valid_from": "2026-03-06T03:10:00Z",
}
DRAFT = {
    "kind": "organisation", "regime": "1267", "names": ["Islamic State Khorasan Province", "ISIS-K"],
    "reasons": "Formed in January 2015 by former TTP commanders pledging allegiance to ISIL.",
}
AGREEMENT = {"partner": "B", "category": "ict", "ack": "4h", "respond": "24h", "escalation": ["duty officer", "head of CERT"]}


class PartnerB:
    """Node B, A's partner, in this process."""

    def __init__(self, node: Node) -> None:
        self.mailbox = Mailbox(node, all_handlers())
        self.keys = node.keys(PASSPHRASE)
        self.incidents = Incidents(self.mailbox)
        self.proposals = Proposals(self.mailbox)

    def exchange(self) -> str:
        """Deliver what waits for A and take what A holds for B."""
        return deliver_pending(self.mailbox, self.keys)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with served_node_with_partner(tmp_path_factory.mktemp("cooperation-api")) as (server, b):
        Agreements(b).add("A", "ict", timedelta(hours=4), timedelta(hours=24))
        yield server, PartnerB(b)


def field_of(response) -> list[str]:
    return [f["field"] for f in response.json()["error"]["fields"]]


def test_agreements_are_made_and_listed(served):
    server, _ = served
    with server.client("liaison") as client:
        made = client.post("/agreements", json={**AGREEMENT, "category": "air", "hours": "Mon-Fri 09:00-18:00 Europe/Moscow"})
        assert made.status_code == 201, made.text
        assert made.json()["respond"] == "1d" and made.json()["hours"] == "Mon-Fri 09:00-18:00 Europe/Moscow"
        listed = {(a["partner"], a["category"]): a for a in client.get("/agreements").json()}
        assert listed[("B", "air")]["escalation"] == ["duty officer", "head of CERT"]


def test_an_incident_notified_over_http_is_acknowledged_by_the_partner(served):
    server, b = served
    with server.client("liaison") as client:
        assert client.post("/agreements", json=AGREEMENT).status_code == 201
        sent = client.post("/incidents", json={
            "to": "B", "category": "ict", "severity": "high", "title": "Gateway scan",
            "body": {"text": "Scanning of our payment gateway from 203.0.113.7", "place": "Moscow", "indicators": [INDICATOR]},
        })
        assert sent.status_code == 201, sent.text
        incident = sent.json()["incident"]
        assert incident["id"] == sent.json()["message"]["id"] and sent.json()["message"]["type"] == "incident.notify"
        assert (incident["status"], incident["role"], incident["partner"]) == ("notified", "notifier", "B")
        assert "no address" in sent.json()["delivery"]  # B collects it

        b.exchange()
        assert (b.incidents.get(incident["id"]).status, b.incidents.get(incident["id"]).role) == ("notified", "recipient")
        ack = b.incidents.ack(b.keys, incident["id"], "on it")
        assert "delivered" in b.exchange()

        shown = client.get(f"/incidents/{incident['id']}").json()
        assert shown["status"] == "acknowledged" and shown["acknowledged_at"] is not None
        assert [(e["step"], e["by"]) for e in shown["timeline"]] == [("notified", "A"), ("acknowledged", "B")]
        assert shown["timeline"][1]["message_id"] == ack.header.id and shown["timeline"][1]["late"] is False
        assert incident["id"] in [i["id"] for i in client.get("/incidents").json()]

        own = client.post(f"/incidents/{incident['id']}/ack", json={})
        assert own.status_code == 409 and field_of(own) == ["incident_id"] and "side notified" in own.json()["error"]["message"]
        early = client.post(f"/incidents/{incident['id']}/consult", json={"body": "Please keep its logs."})
        assert early.status_code == 409 and "acknowledged" in early.json()["error"]["message"]

        b.incidents.respond(b.keys, incident["id"], Content(text="A hosting customer; suspended."))
        b.exchange()
        consulted = client.post(f"/incidents/{incident['id']}/consult", json={"body": "Please keep its logs for us."})
        assert consulted.status_code == 201 and consulted.json()["incident"]["status"] == "in consultation"
        closed = client.post(f"/incidents/{incident['id']}/close", json={"note": "Customer suspended, logs kept."})
        assert closed.status_code == 201 and closed.json()["incident"]["status"] == "closed"
        b.exchange()  # B takes the close and countersigns it
        b.exchange()  # the countersignature reaches A
        steps = [(e["step"], e["by"]) for e in client.get(f"/incidents/{incident['id']}").json()["timeline"]]
        assert steps[-3:] == [("consulted", "A"), ("closed", "A"), ("close confirmed", "B")]
        assert client.post("/incidents/check").json() == []


def test_an_incident_the_partner_notified_is_acknowledged_and_answered_over_http(served):
    server, b = served
    with server.client("liaison") as client:
        assert client.post("/agreements", json=AGREEMENT).status_code == 201
        notified = b.incidents.notify(b.keys, "A", "ict", "medium", "Phishing wave", Details(text="Mails from 198.51.100.4"))
        assert "delivered" in b.exchange()
        incident_id = notified.header.id
        assert client.get(f"/incidents/{incident_id}").json()["role"] == "recipient"
        early = client.post(f"/incidents/{incident_id}/respond", json={"body": "Blocked."})
        assert early.status_code == 409 and "acknowledged" in early.json()["error"]["message"]
        acked = client.post(f"/incidents/{incident_id}/ack", json={"note": "Looking."})
        assert acked.status_code == 201 and acked.json()["incident"]["status"] == "acknowledged"
        answer = {"text": "Blocked at the gateway.", "indicators": [INDICATOR]}
        answered = client.post(f"/incidents/{incident_id}/respond", json={"body": answer})
        assert answered.status_code == 201, answered.text
        assert answered.json()["message"]["type"] == "incident.respond" and answered.json()["incident"]["status"] == "responded"
    b.exchange()
    assert b.incidents.get(incident_id).status == "responded"
    steps = [(e.kind, e.by) for e in b.incidents.timeline(incident_id)]
    assert steps == [("notified", "B"), ("acknowledged", "A"), ("responded", "A")]


def test_a_proposal_is_shared_signed_and_submitted_over_http(served):
    server, b = served
    with server.client("liaison") as client:
        created = client.post("/proposals", json=DRAFT)
        assert created.status_code == 201, created.text
        proposal = created.json()
        assert (proposal["status"], proposal["version"], proposal["this_node_leads"]) == ("draft", 1, True)
        ref = proposal["id"][:8]

        shared = client.post(f"/proposals/{ref}/share", json={"partner": "B"})
        assert shared.status_code == 201, shared.text
        assert shared.json()["message"]["type"] == "proposal.share"
        assert [s["name"] for s in shared.json()["proposal"]["sponsors"]] == ["A", "B"]
        signed = client.post(f"/proposals/{ref}/sign")
        assert signed.status_code == 201 and signed.json()["proposal"]["missing_signatures"] == ["B"]
        early = client.post(f"/proposals/{ref}/submit")
        assert early.status_code == 409 and field_of(early) == ["proposal_id"]
        assert "not signed by B" in early.json()["error"]["message"]

        b.exchange()
        held = b.proposals.get(proposal["id"])
        assert [s.name for s in held.unsigned()] == ["B"] and held.lead != held.me  # A's signature has arrived
        b.proposals.sign(b.keys, proposal["id"])
        b.exchange()

        commented = client.post(f"/proposals/{ref}/comment", json={"text": "Both signed.\nSubmitting today."})
        assert commented.status_code == 201 and commented.json()["proposal"]["comments"][-1]["author"] == "A"
        submitted = client.post(f"/proposals/{ref}/submit")
        assert submitted.status_code == 201, submitted.text
        assert (submitted.json()["proposal"]["status"], submitted.json()["proposal"]["submitted_version"]) == ("submitted", 1)
        [summary] = [p for p in client.get("/proposals").json() if p["id"] == proposal["id"]]
        assert (summary["status"], summary["signed"], summary["sponsors"]) == ("submitted", 2, ["A", "B"])
        assert client.post(f"/proposals/{ref}/sign").status_code == 409  # a submitted proposal is not signed again

        blank = client.post(f"/proposals/{ref}/reject", json={"note": "  "})
        assert blank.status_code == 422 and field_of(blank) == ["note"]
        rejected = client.post(f"/proposals/{ref}/reject", json={"note": "The committee did not agree."})
        assert rejected.status_code == 201 and rejected.json()["proposal"]["status"] == "rejected"
    b.exchange()
    assert b.proposals.get(proposal["id"]).status == "rejected"


def test_a_ping_over_http_is_answered_by_the_partner(served):
    server, b = served
    with server.client("liaison") as client:
        sent = client.post("/pings/B")
        assert sent.status_code == 201 and sent.json()["message"]["type"] == "ping"
        b.exchange()  # B takes the ping and answers it
        b.exchange()  # the pong reaches A
        [report] = [r for r in client.get("/pings/report").json() if r["partner"] == "B"]
        assert report["sent"] >= 1 and report["answered_in_time"] >= 1 and report["unanswered"] == 0
        unknown = client.post("/pings/Z")
        assert unknown.status_code == 404 and "no partner named 'Z'" in unknown.json()["error"]["message"]


@pytest.mark.parametrize("method, path", [
    ("GET", "/agreements"), ("POST", "/agreements"), ("GET", "/incidents"), ("POST", "/incidents"), ("POST", "/incidents/check"),
    ("POST", "/pings/B"), ("GET", "/pings/report"), ("GET", "/proposals"), ("POST", "/proposals"),
])
def test_only_keys_with_the_exchange_permission_cooperate(served, method, path):
    server, _ = served
    for role in ("screener", "auditor"):
        with server.client(role) as client:
            refused = client.request(method, path, json={})
            assert refused.status_code == 403 and "'exchange' permission" in refused.json()["error"]["message"]
    with server.client(None) as client:
        assert client.request(method, path, json={}).status_code == 401
    with server.client("admin") as client:
        assert client.get("/incidents").status_code == 200


@pytest.mark.parametrize("path, body, status, field", [
    ("/incidents", {"to": "B", "category": "cyber", "severity": "high", "title": "x", "body": "y"}, 422, "category"),
    ("/incidents", {"to": "B", "category": "ict", "severity": "high", "title": "x", "body": "y", "colour": "red"}, 422, "colour"),
    ("/incidents", {"to": "B", "category": "ict", "severity": "high", "body": "y"}, 422, "title"),
    ("/incidents", {"to": "B", "category": "ict", "severity": "high", "title": "   ", "body": "y"}, 422, "title"),
    ("/incidents", {"to": "B", "category": "ict", "severity": "high", "title": "x", "body": "y", "tlp": "PURPLE"}, 422, "tlp"),
    ("/incidents", {"to": "B", "category": "ict", "severity": "high", "title": "x",
                    "body": {"indicators": [{"type": "indicator"}]}}, 422, "body"),
    ("/incidents", {"to": "B", "category": "ict", "severity": "high", "title": "x", "body": "   "}, 422, "body"),
    ("/incidents", {"to": "Z", "category": "ict", "severity": "high", "title": "x", "body": "y"}, 404, "to"),
    ("/incidents", {"to": "B", "category": "sea", "severity": "high", "title": "x", "body": "y"}, 409, "category"),
    ("/incidents", {"to": "B", "category": "ict", "severity": "high", "title": "x",
                    "body": {"indicators": [{"type": None, "extensions": None}]}}, 422, "body"),
    ("/agreements", {**AGREEMENT, "ack": "soon"}, 422, "ack"),
    ("/agreements", {**AGREEMENT, "resolve": "99999999999w"}, 422, "resolve"),
    ("/agreements", {**AGREEMENT, "keep_in_loop": "400d"}, 422, "keep_in_loop"),
    ("/agreements", {**AGREEMENT, "ack": "2d"}, 422, "respond"),
    ("/agreements", {**AGREEMENT, "hours": "weekdays"}, 422, "hours"),
    ("/agreements", {**AGREEMENT, "escalation": [" "]}, 422, "escalation[0]"),
    ("/agreements", {**AGREEMENT, "partner": "Z"}, 404, "partner"),
    ("/proposals", {**DRAFT, "regime": "9999"}, 422, "regime"),
    ("/proposals", {**DRAFT, "names": []}, 422, "names"),
    ("/proposals", {**DRAFT, "birth_dates": ["1970"]}, 422, "body"),
])
def test_bad_bodies_are_refused_naming_the_field(served, path, body, status, field):
    server, _ = served
    with server.client("liaison") as client:
        answer = client.post(path, json=body)
        assert answer.status_code == status, answer.text
        assert field in field_of(answer) and answer.json()["error"]["message"], answer.text


def test_unknown_ids_and_bad_paths(served):
    server, _ = served
    with server.client("liaison") as client:
        assert client.get("/incidents/not-an-id").status_code == 422
        missing = client.get(f"/incidents/{uuid.uuid4()}")
        assert missing.status_code == 404 and field_of(missing) == ["incident_id"]
        assert client.post(f"/incidents/{uuid.uuid4()}/close", json={"note": "done"}).status_code == 404
        assert client.get("/proposals/zz").status_code == 422
        nothing = client.post("/proposals/abcd1234/sign")
        assert nothing.status_code == 404 and "no proposal" in nothing.json()["error"]["message"]
        garbled = client.post("/proposals", content=b"{not json", headers={"Content-Type": "application/json"})
        assert garbled.status_code == 422 and field_of(garbled) == ["body"]


def test_a_node_without_its_exchange_answers_409_naming_why(tmp_path):
    url = f"sqlite:///{tmp_path / 'lone.db'}"
    Node(make_engine(url, serialized=True)).init(PASSPHRASE, "lone")
    with running_server(url, tmp_path, env={"VIGIL_PASSPHRASE": ""}) as server, server.client("liaison") as client:
        for method, path in (("GET", "/incidents"), ("GET", "/agreements"), ("POST", "/pings/B"), ("GET", "/proposals")):
            answer = client.request(method, path)
            assert answer.status_code == 409 and "VIGIL_PASSPHRASE" in answer.json()["error"]["message"], answer.text

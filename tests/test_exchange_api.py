"""The partner exchange under `vigil serve`: the API-key endpoints a liaison
officer uses, and a partner node delivering to the inbox with its node keys."""

from __future__ import annotations

import json

import pytest
from serving import NODE_PASSPHRASE as PASSPHRASE
from serving import served_node_with_partner

from vigil.exchange import bodies
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.transport import deliver_pending
from vigil.handlers import all_handlers


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Node A served over HTTP with its keys open; node B in this process, A's partner."""
    with served_node_with_partner(tmp_path_factory.mktemp("exchange-api")) as (server, b):
        yield server, Mailbox(b, all_handlers())


def test_a_liaison_officer_sends_and_follows_delivery(served):
    server, _ = served
    with server.client("liaison") as client:
        sent = client.post("/exchange/messages", json={"to": ["B"], "tlp": "AMBER", "body": "courier seen at the port"})
        assert sent.status_code == 201, sent.text
        assert "no address" in sent.json()["delivery"]
        outbox = client.get("/exchange/outbox").json()
        [waiting] = [d for d in outbox if d["message_id"] == sent.json()["id"]]
        assert waiting["delivered_at"] is None and waiting["partner"] == "B"
        opened = client.get(f"/exchange/messages/{sent.json()['id']}")
        assert opened.status_code == 409 and "only its recipients" in opened.json()["error"]["message"]


def test_roles_and_bad_bodies(served):
    server, _ = served
    with server.client("screener") as client:
        assert client.get("/exchange/messages").status_code == 403
    with server.client("liaison") as client:
        bad = client.post("/exchange/messages", json={"to": ["B"], "type": "case-file", "tlp": "AMBER", "body": {"status": "lost"}})
        assert bad.status_code == 422 and "case-file" in bad.json()["error"]["message"]
        unknown = client.post("/exchange/messages", json={"to": ["Z"], "tlp": "AMBER", "body": "x"})
        assert unknown.status_code == 404 and "no partner named 'Z'" in unknown.json()["error"]["message"]
        assert client.get("/exchange/messages/not-an-id").status_code == 422


def test_a_partner_delivers_to_the_inbox_and_collects_the_answer(served):
    server, b = served
    keys = b.node.keys(PASSPHRASE)
    question = bodies.prepare("rfi", json.dumps({"question": "Is the vessel MV Example known to you?"}).encode(), "GREEN")
    asked = b.send(keys, ["A"], "rfi", question, "GREEN").header.id
    assert deliver_pending(b, keys).startswith("delivered 1 to A")
    with server.client("liaison") as client:
        assert asked in [m["id"] for m in client.get("/exchange/messages", params={"direction": "in"}).json()]
        read = client.get(f"/exchange/messages/{asked}").json()
        assert "MV Example" in read["summary"] and read["message"]["partner"] == "B"
        answered = client.post(f"/exchange/messages/{asked}/reply", json={"body": "Yes: seen in Aden in March."})
        assert answered.status_code == 201, answered.text
        verified = client.get("/exchange/verify").json()
        assert verified["ok"], verified["problems"]
    assert "took" in deliver_pending(b, keys)  # nothing goes to A: B collects A's answer
    [answer] = [m for m in b.inbox() if m.type == "rfi-answer"]
    assert answer.in_reply_to == asked and "Aden" in bodies.describe("rfi-answer", b.read(answer.id, keys)[2])

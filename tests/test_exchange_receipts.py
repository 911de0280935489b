"""Delivery receipts, countersigned tree heads, and passing messages on within
their TLP marking, through real bundle files between nodes' own databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from vigil.exchange import bodies, queue, receipts
from vigil.exchange.bundle import read_bundle, write_bundle
from vigil.exchange.envelope import EnvelopeError
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.node import Node
from vigil.exchange.outbound import export_bundle
from vigil.exchange.sharing import SharingError, forward, reply
from vigil.exchange.tables import cosignatures, log_leaves, partner_heads, receipts as receipts_table
from vigil.handlers import all_handlers
from vigil.store.database import make_engine

PASSPHRASE = "correct-horse-battery"


@pytest.fixture
def nodes(tmp_path) -> dict[str, Mailbox]:
    made = {}
    for name in "ABC":
        node = Node(make_engine(f"sqlite:///{tmp_path / (name + '.db')}", serialized=True))
        node.init(PASSPHRASE, name)
        made[name] = Mailbox(node, all_handlers())
    for one in "ABC":
        for other in "ABC":
            if one != other:
                made[one].node.add_partner(made[other].node.identity())
    return made


def keys(box: Mailbox):
    return box.node.keys(PASSPHRASE)


def carry(source: Mailbox, target: Mailbox, folder: Path) -> list[str]:
    """Everything waiting at ``source`` for ``target``, through a bundle file; the ids taken in."""
    name = target.node.identity().name
    path = folder / f"{source.node.identity().name}-{name}-{len(list(folder.glob('*.bundle')))}.bundle"
    if not export_bundle(source, name, path):
        return []
    return [target.receive(data, str(path), keys(target)).id for data in read_bundle(path)]


def send_note(box: Mailbox, to: list[str], text: str, tlp: str = "AMBER") -> str:
    return box.send(keys(box), to, "note", bodies.prepare("note", text.encode(), tlp), tlp).header.id


def test_a_receipt_proves_delivery_and_its_head_is_countersigned(nodes, tmp_path):
    a, b = nodes["A"], nodes["B"]
    first = send_note(a, ["B"], "first")
    carry(a, b, tmp_path)
    [receipt_id] = carry(b, a, tmp_path)  # B's receipt, the only thing waiting for A
    assert a.envelope(receipt_id)[0].type == "receipt"
    [delivery] = [d for d in queue.deliveries(a) if d.message_id == first]
    assert delivery.receipt and delivery.delivered_at is not None
    carry(a, b, tmp_path)  # A's countersignature of B's head
    with b.engine.connect() as conn:
        [cosigned] = conn.execute(select(cosignatures)).all()
    assert cosigned.partner == "A" and cosigned.size >= 1
    assert receipts.verify_held(a.node) == (1, []) and receipts.verify_held(b.node) == (0, [])
    assert a.verify_stored() == [] and b.verify_stored() == []


def test_receipts_and_countersignatures_are_not_receipted(nodes, tmp_path):
    a, b = nodes["A"], nodes["B"]
    send_note(a, ["B"], "one")
    carry(a, b, tmp_path)
    carry(b, a, tmp_path)
    carry(a, b, tmp_path)
    assert carry(b, a, tmp_path) == []  # nothing more: no receipt for a countersignature


def test_a_partner_rewriting_its_log_is_caught_by_the_next_receipt(nodes, tmp_path):
    a, b = nodes["A"], nodes["B"]
    send_note(a, ["B"], "one")
    carry(a, b, tmp_path)
    carry(b, a, tmp_path)
    carry(a, b, tmp_path)  # A's countersignature
    with b.engine.begin() as conn:  # B drops a message from its history
        conn.execute(update(log_leaves).where(log_leaves.c.position == 0).values(leaf="11" * 32))
    send_note(a, ["B"], "two")
    carry(a, b, tmp_path)
    path = tmp_path / "rewritten.bundle"
    assert export_bundle(b, "A", path) == 1
    [data] = read_bundle(path)
    with pytest.raises(EnvelopeError, match="history rewritten"):
        a.receive(data, str(path), keys(a))
    assert "history rewritten" in a.rejections()[-1]["reason"]


def test_a_forged_receipt_or_one_for_a_message_never_sent_is_refused(nodes, tmp_path):
    a, b, c = nodes["A"], nodes["B"], nodes["C"]
    send_note(a, ["B"], "one")
    carry(a, b, tmp_path)
    path = tmp_path / "receipt.bundle"
    export_bundle(b, "A", path)
    [data] = read_bundle(path)
    # C claims a receipt for A's message to B: C holds no such message in its log.
    body = {"format": "vigil-receipt/1", "message_id": data["header"]["id"], "leaf_index": 0,
            "head": {"size": 1, "root": "00" * 32, "signed_at": "2026-01-01T00:00:00+00:00", "signature": "AA=="},
            "inclusion": [], "consistency_from": 0, "consistency": []}
    forged = c.send(keys(c), ["A"], "receipt", json.dumps(body).encode(), "GREEN")
    write_bundle(tmp_path / "forged.bundle", [forged])
    [forged_data] = read_bundle(tmp_path / "forged.bundle")
    with pytest.raises(EnvelopeError, match="did not send"):
        a.receive(forged_data, "forged", keys(a))
    assert a.inbox() == []  # refused, nothing kept
    a.receive(data, str(path), keys(a))  # B's genuine receipt is taken
    with a.engine.begin() as conn:
        conn.execute(update(receipts_table).values(inclusion=json.dumps(["22" * 32])))
    held, problems = receipts.verify_held(a.node)
    assert held == 1 and any("the proof does not hold" in p for p in problems)


def test_an_edited_partner_head_is_found(nodes, tmp_path):
    a, b = nodes["A"], nodes["B"]
    send_note(a, ["B"], "one")
    carry(a, b, tmp_path)
    carry(b, a, tmp_path)
    with a.engine.begin() as conn:
        conn.execute(update(partner_heads).values(root="33" * 32))
    _, problems = receipts.verify_held(a.node)
    assert any("not signed by that partner" in p for p in problems)


def test_forwarding_follows_the_marking(nodes, tmp_path):
    a, b, c = nodes["A"], nodes["B"], nodes["C"]
    ids = {tlp: send_note(a, ["B"], f"for B, {tlp}", tlp) for tlp in ("GREEN", "AMBER", "AMBER+STRICT", "RED")}
    carry(a, b, tmp_path)
    passed = forward(b, keys(b), ids["GREEN"], ["C"])
    [taken] = [m for m in carry(b, c, tmp_path) if m == passed.header.id]
    assert "for B, GREEN" in bodies.describe("note", c.read(taken, keys(c))[2])
    for tlp, problem in (("AMBER", "within this organisation and its clients"), ("AMBER+STRICT", "within this organisation"),
                         ("RED", "never leaves this node")):
        with pytest.raises(SharingError, match=problem):
            forward(b, keys(b), ids[tlp], ["C"])


def test_a_request_for_information_is_answered(nodes, tmp_path):
    a, b = nodes["A"], nodes["B"]
    rfi = bodies.prepare("rfi", json.dumps({"question": "Has the subject crossed into your territory since May?"}).encode(), "AMBER")
    asked = a.send(keys(a), ["B"], "rfi", rfi, "AMBER").header.id
    carry(a, b, tmp_path)
    answer = reply(b, keys(b), asked, b"Yes, on 2026-06-02 at the northern crossing.")
    assert answer.header.type == "rfi-answer" and answer.header.in_reply_to == asked and answer.header.tlp == "AMBER"
    carry(b, a, tmp_path)
    message, _, body = a.read(answer.header.id, keys(a))
    assert message.in_reply_to == asked and "northern crossing" in bodies.describe("rfi-answer", body)


def test_concurrent_deliveries_keep_one_log_order(store_url, tmp_path):
    """Two partners' messages taken in at once, on SQLite and PostgreSQL: every
    message gets its own log position, and the log verifies."""
    from concurrent.futures import ThreadPoolExecutor

    from vigil.store import Store

    store = Store(store_url)
    a = Mailbox(Node(store.writer), all_handlers())
    a.node.init(PASSPHRASE, "A")
    senders = {}
    for name in "BC":
        node = Node(make_engine(f"sqlite:///{tmp_path / (name + '.db')}", serialized=True))
        node.init(PASSPHRASE, name)
        node.add_partner(a.node.identity())
        a.node.add_partner(node.identity())
        senders[name] = Mailbox(node, all_handlers())
    batches = {}
    for name, box in senders.items():
        for i in range(8):
            send_note(box, ["A"], f"{name} {i}")
        path = tmp_path / f"{name}.bundle"
        export_bundle(box, "A", path)
        batches[name] = read_bundle(path)
    a_keys = keys(a)

    def take(name: str) -> int:
        return len([a.receive(data, name, a_keys) for data in batches[name]])

    with ThreadPoolExecutor(2) as pool:
        assert sum(pool.map(take, "BC")) == 16
    assert len(a.inbox()) == 16 and a.verify_stored() == []
    assert [position for position, _ in enumerate(a.log.leaves())] == list(range(16 + 16))  # and 16 receipts sent
    store.close()

"""A relay: node R (`vigil serve --relay`) carries messages between A and B,
which cannot reach each other, and can read none of them."""

from __future__ import annotations

from serving import NODE_PASSPHRASE as PASSPHRASE
from serving import running_server

from vigil.exchange import bodies, queue, receipts
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.node import Node
from vigil.exchange.transport import deliver_pending
from vigil.handlers import all_handlers
from vigil.store.database import make_engine

SECRET = "the courier changes cars at the border post"


def test_a_relay_carries_sealed_messages_and_receipts_it_cannot_read(tmp_path):
    nodes = {}
    for name in "ABR":
        node = Node(make_engine(f"sqlite:///{tmp_path / (name + '.db')}", serialized=True))
        node.init(PASSPHRASE, name)
        nodes[name] = node
    a, b = nodes["A"], nodes["B"]
    for one, other in (("A", "B"), ("B", "A"), ("A", "R"), ("B", "R"), ("R", "A"), ("R", "B")):
        nodes[one].add_partner(nodes[other].identity())
    env = {"VIGIL_PASSPHRASE": PASSPHRASE, "VIGIL_PING_HOURS": "0"}
    with running_server(f"sqlite:///{tmp_path / 'R.db'}", tmp_path, "--relay", env=env) as server:
        for node, other in ((a, "B"), (b, "A")):
            node.set_address("R", server.url)
            node.set_relay(other, "R")
        boxes = {name: Mailbox(node, all_handlers()) for name, node in nodes.items()}
        keys = {name: node.keys(PASSPHRASE) for name, node in nodes.items()}
        sent = boxes["A"].send(keys["A"], ["B"], "note", bodies.prepare("note", SECRET.encode(), "AMBER"), "AMBER")
        assert deliver_pending(boxes["A"], keys["A"], ["B"]) == f"delivered 1 to B at relay R at {server.url}"
        assert "took 1" in deliver_pending(boxes["B"], keys["B"], ["R"])  # B collects from the relay
        message, _, body = boxes["B"].read(sent.header.id, keys["B"])
        assert message.partner == "A" and SECRET in bodies.describe("note", body)
        deliver_pending(boxes["B"], keys["B"], ["A"])  # B's receipt goes back through the relay
        deliver_pending(boxes["A"], keys["A"], ["R"])  # and A collects it
        [delivery] = [d for d in queue.deliveries(boxes["A"]) if d.message_id == sent.header.id]
        assert delivery.receipt and delivery.delivered_via.startswith("relay R")
        assert receipts.verify_held(a) == (1, [])
        assert boxes["R"].inbox() == []  # the relay kept nothing for itself
        stranger = Node(make_engine(f"sqlite:///{tmp_path / 'C.db'}", serialized=True))
        stranger.init(PASSPHRASE, "C")
        a.add_partner(stranger.identity())
        a.set_relay("C", "R")  # but C is no partner of R's
        unknown = boxes["A"].send(keys["A"], ["C"], "note", bodies.prepare("note", b"for C", "GREEN"), "GREEN")
        deliver_pending(boxes["A"], keys["A"], ["C"])
        [refused] = [d for d in queue.deliveries(boxes["A"]) if d.message_id == unknown.header.id]
        assert refused.delivered_at is None and "for no partner of this relay" in refused.last_error
    assert not any(SECRET.encode() in path.read_bytes() for path in tmp_path.glob("R.db*"))

"""Sending and receiving through offline bundles, and every refusal the issue names."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, text, update

from vigil.exchange import bodies
from vigil.exchange.bundle import BundleError, read_bundle, write_bundle
from vigil.exchange.envelope import Envelope, EnvelopeError
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.node import Node, NodeError
from vigil.exchange.tables import log_leaves, messages
from vigil.handlers import all_handlers
from vigil.store.database import make_engine

PASSPHRASE = "correct-horse-battery"
SECRET = b"meeting point moved to the old customs house"


@pytest.fixture
def nodes(tmp_path) -> dict[str, Mailbox]:
    made = {}
    for name in "ABCD":
        node = Node(make_engine(f"sqlite:///{tmp_path / (name + '.db')}", serialized=True))
        node.init(PASSPHRASE, name)
        made[name] = Mailbox(node, all_handlers())
    for one, other in (("A", "B"), ("B", "A"), ("A", "C"), ("C", "A"), ("D", "B")):
        made[one].node.add_partner(made[other].node.identity())
    return made


def note(text: bytes, tlp: str) -> bytes:
    return bodies.prepare("note", text, tlp)


def keys(box: Mailbox):
    return box.node.keys(PASSPHRASE)


def carried(envelope: Envelope, folder: Path) -> list:
    """Through a bundle file, as across an air gap."""
    path = folder / f"{envelope.header.id}.bundle"
    write_bundle(path, [envelope])
    return read_bundle(path)


def test_only_the_recipient_reads_and_nothing_is_stored_in_clear(nodes, tmp_path):
    a, b, c = nodes["A"], nodes["B"], nodes["C"]
    [data] = carried(a.send(keys(a), ["B"], "note", note(SECRET, "AMBER"), "AMBER", "RESTRICTED"), tmp_path)
    received = b.receive(data, "bundle", keys(b))
    assert (received.partner, received.tlp, received.type) == ("A", "AMBER", "note")
    message, envelope, body = b.read(received.id, keys(b))
    assert SECRET.decode() in bodies.describe("note", body) and envelope.header.label == "RESTRICTED"
    with pytest.raises(EnvelopeError, match="not addressed to this node"):
        c.receive(data, "bundle", keys(c))
    assert c.inbox() == [] and c.rejections()[0]["reason"] == "the envelope is not addressed to this node"
    with pytest.raises(NodeError, match="only its recipients"):
        a.read(received.id, keys(a))
    for name in "ABC":
        assert SECRET not in b"".join(f.read_bytes() for f in tmp_path.glob(f"{name}.db*"))


def test_replays_strangers_and_revoked_partners_are_refused_and_recorded(nodes, tmp_path):
    a, b, d = nodes["A"], nodes["B"], nodes["D"]
    [data] = carried(a.send(keys(a), ["B"], "note", note(SECRET, "GREEN"), "GREEN"), tmp_path)
    b.receive(data, "first", keys(b))
    with pytest.raises(EnvelopeError, match="replay"):
        b.receive(data, "again", keys(b))
    # D knows B, but B never added D.
    [stranger] = carried(d.send(keys(d), ["B"], "note", note(SECRET, "GREEN"), "GREEN"), tmp_path)
    with pytest.raises(EnvelopeError, match="not a partner"):
        b.receive(stranger, "stranger", keys(b))
    b.node.revoke_partner("A")
    [later] = carried(a.send(keys(a), ["B"], "note", note(SECRET, "GREEN"), "GREEN"), tmp_path)
    with pytest.raises(EnvelopeError, match="revoked"):
        b.receive(later, "revoked", keys(b))
    assert [r["origin"] for r in b.rejections()] == ["again", "stranger", "revoked"]
    with pytest.raises(NodeError, match="revoked partners receive nothing"):
        b.send(keys(b), ["A"], "note", note(SECRET, "GREEN"), "GREEN")


@pytest.mark.parametrize(("age", "problem"), [(timedelta(days=90), "older than"), (timedelta(hours=-2), "future")])
def test_envelopes_dated_outside_the_window_are_refused(nodes, age, problem):
    a, b = nodes["A"], nodes["B"]
    envelope = a.send(keys(a), ["B"], "note", note(SECRET, "GREEN"), "GREEN")
    header = replace(envelope.header, created=(datetime.now(UTC) - age).isoformat())
    signature = base64.b64encode(keys(a).signing.sign(header.signed_part())).decode()
    with pytest.raises(EnvelopeError, match=problem):
        b.receive(replace(envelope, header=header, signature=signature).to_dict(), "bundle", keys(b))


def test_damaged_bundles_and_envelopes_are_refused(nodes, tmp_path):
    a, b = nodes["A"], nodes["B"]
    path = tmp_path / "m.bundle"
    write_bundle(path, [a.send(keys(a), ["B"], "note", note(SECRET, "AMBER"), "AMBER")])
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(BundleError, match="not valid JSON"):
        read_bundle(path)
    data = json.loads(whole)["envelopes"][0]
    data["body"] = data["body"][:-8] + "AAAAAAA="
    with pytest.raises(EnvelopeError, match="altered"):
        b.receive(data, "bundle", keys(b))
    with pytest.raises(EnvelopeError, match="not a Vigil envelope"):
        b.receive({"format": "x"}, "bundle", keys(b))
    assert b.inbox() == [] and len(b.rejections()) == 2


def test_verification_finds_an_edited_row(nodes, tmp_path):
    a, b = nodes["A"], nodes["B"]
    for tlp in ("GREEN", "AMBER"):
        [data] = carried(a.send(keys(a), ["B"], "note", note(SECRET, tlp), tlp), tmp_path)
        b.receive(data, "bundle", keys(b))
    assert b.verify_stored() == [] and a.verify_stored() == []
    edited = b.inbox()[1]
    with b.engine.begin() as conn:
        conn.execute(update(messages).where(messages.c.id == edited.id).values(tlp="CLEAR"))
    [problem] = b.verify_stored()
    assert edited.id in problem and "signed header" in problem


def test_the_merkle_log_finds_removed_edited_and_rewritten_history(nodes, tmp_path):
    a, b = nodes["A"], nodes["B"]
    for i in range(3):
        [data] = carried(a.send(keys(a), ["B"], "note", note(SECRET + bytes([i]), "GREEN"), "GREEN"), tmp_path)
        b.receive(data, "bundle", keys(b))
    heads = a.log.heads()
    assert [h.size for h in heads] == [1, 2, 3] and a.verify_stored() == []
    first, second, _ = b.inbox()
    with b.engine.begin() as conn:
        conn.execute(delete(messages).where(messages.c.id == first.id))
        conn.execute(update(messages).where(messages.c.id == second.id).values(envelope=text("replace(envelope, 'GREEN', 'GREEN ')")))
    problems = b.verify_stored()
    assert any(first.id in p and "no longer kept" in p for p in problems)
    assert any(second.id in p and "differs from what was logged" in p for p in problems)
    with a.engine.begin() as conn:  # rewrite the sender's log itself: its signed tree heads expose it
        conn.execute(update(log_leaves).where(log_leaves.c.position == 0).values(leaf="00" * 32))
    assert any("history rewritten" in p for p in a.verify_stored())

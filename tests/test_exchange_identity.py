"""Node identities and partners: keys sealed with a passphrase, fingerprints checked."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from serving import VIGIL
from vigil.exchange.identity import IdentityError, PublicIdentity
from vigil.exchange.node import Node, NodeError
from vigil.store.database import make_engine

PASSPHRASE = "correct-horse-battery"


def node(path: Path, name: str) -> Node:
    made = Node(make_engine(f"sqlite:///{path / (name + '.db')}", serialized=True))
    made.init(PASSPHRASE, name)
    return made


def test_keys_are_sealed_and_open_only_with_the_passphrase(tmp_path):
    a = node(tmp_path, "A")
    keys = a.keys(PASSPHRASE)
    assert keys.public == a.identity()
    signature = keys.signing.sign(b"hello")
    a.identity().verifier().verify(signature, b"hello")  # raises if the public key does not belong
    with pytest.raises(IdentityError, match="passphrase"):
        a.keys("not-the-passphrase")
    stored = b"".join(f.read_bytes() for f in tmp_path.glob("A.db*"))  # the database and its write-ahead log
    for private in (keys.signing, keys.encryption):
        raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        assert raw not in stored
    assert b"ENCRYPTED PRIVATE KEY" in stored


def test_a_node_is_made_once_with_a_real_passphrase(tmp_path):
    a = node(tmp_path, "A")
    with pytest.raises(NodeError, match="already holds a node"):
        a.init(PASSPHRASE)
    with pytest.raises(NodeError, match="at least 8"):
        Node(make_engine(f"sqlite:///{tmp_path / 'B.db'}", serialized=True)).init("short")
    with pytest.raises(NodeError, match="no node yet"):
        Node(make_engine(f"sqlite:///{tmp_path / 'C.db'}", serialized=True)).identity()


def test_identity_documents_round_trip_and_carry_a_checked_fingerprint(tmp_path):
    identity = node(tmp_path, "A").identity()
    text = json.dumps(identity.to_dict())
    assert PublicIdentity.from_json(text) == identity
    assert len(identity.fingerprint.split()) == 16
    swapped = {**identity.to_dict(), "encryption_key": node(tmp_path, "B").identity().encryption_public}
    with pytest.raises(IdentityError, match="fingerprint does not match"):
        PublicIdentity.from_json(json.dumps(swapped), "b.json")


@pytest.mark.parametrize(("text", "problem"), [
    ("{not json", "not JSON"),
    ('{"format": "other"}', "not a Vigil node identity"),
    ('{"format": "vigil-node-identity/1", "name": "X"}', "'signing_key' is missing"),
    ('{"format": "vigil-node-identity/1", "name": "X", "signing_key": "abc", "encryption_key": "abc", "fingerprint": "f"}',
     "not a valid 32-byte key"),
])
def test_bad_identity_documents_are_named(text, problem):
    with pytest.raises(IdentityError, match=problem) as caught:
        PublicIdentity.from_json(text, "partner.json")
    assert "partner.json" in str(caught.value)


def test_partners_added_checked_listed_and_revoked(tmp_path):
    a, b, c = (node(tmp_path, n) for n in "ABC")
    with pytest.raises(IdentityError, match="not the one given"):
        a.add_partner(b.identity(), fingerprint=c.identity().fingerprint)
    added = a.add_partner(b.identity(), "Bravo", fingerprint=b.identity().fingerprint.replace(" ", "").upper())
    assert added.name == "Bravo" and added.active
    with pytest.raises(NodeError, match="already added"):
        a.add_partner(b.identity(), "Bravo again")
    with pytest.raises(NodeError, match="own"):
        a.add_partner(a.identity())
    a.add_partner(c.identity())
    assert [p.name for p in a.partners()] == ["Bravo", "C"]
    revoked = a.revoke_partner("Bravo")
    assert not revoked.active and revoked.revoked_at is not None
    with pytest.raises(NodeError, match="partners: Bravo, C"):
        a.partner("Delta")


def test_node_and_partner_commands(tmp_path):
    env = {**os.environ, "VIGIL_PASSPHRASE": PASSPHRASE}

    def vigil(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([VIGIL, "--db", f"sqlite:///{tmp_path / name}.db", *args], capture_output=True, text=True, env=env, timeout=60)
        assert not check or done.returncode == 0, done.stderr
        return done

    for name in ("A", "B"):
        assert "fingerprint" in vigil(name, "node", "init", "--name", name).stdout
        (tmp_path / f"{name}.json").write_text(vigil(name, "node", "id").stdout)
    document = json.loads((tmp_path / "B.json").read_text())
    assert document["name"] == "B" and document["fingerprint"]
    assert "added partner 'B'" in vigil("A", "partner", "add", str(tmp_path / "B.json"), "--fingerprint", document["fingerprint"]).stdout
    [listed] = json.loads(vigil("A", "partner", "list", "--json").stdout)
    assert listed["fingerprint"] == document["fingerprint"] and listed["revoked_at"] is None
    assert "revoked partner 'B'" in vigil("A", "partner", "revoke", "B").stdout
    (tmp_path / "bad.json").write_text("{}")
    refused = vigil("A", "partner", "add", str(tmp_path / "bad.json"), check=False)
    assert refused.returncode == 1 and "bad.json" in refused.stderr

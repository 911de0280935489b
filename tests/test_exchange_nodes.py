"""Three nodes on loopback: A, B and C, each its own `vigil serve` process over
HTTPS with its own SQLite database, driven by the real CLI.

The servers start once for the module (B is stopped and started again by the
offline test); every test sends its own fresh messages. The certificate is
self-signed for 127.0.0.1 and trusted through VIGIL_TLS_CA. Attacks are made
with the Python API in this process (envelopes sealed, altered, re-signed or
re-addressed by hand) and posted to B's inbox over HTTPS; B's refusals are read
from its ``exchange_rejections`` table.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import sqlite3
import ssl
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import Engine, func, select

from serving import VIGIL, free_port
from vigil.exchange import bodies
from vigil.exchange.bundle import write_bundle
from vigil.exchange.envelope import SUITE, Envelope, seal
from vigil.exchange.identity import NodeKeys, PublicIdentity
from vigil.exchange.node import Node
from vigil.exchange.tables import rejections
from vigil.exchange.transport import INBOX, sign_request
from vigil.store.database import make_engine

PASSPHRASE = "correct-horse-battery"
MAX_INBOX = 1 << 20  # B's limit on a request to /exchange/inbox (VIGIL_MAX_INBOX): an oversized one stays cheap to send
SENT = re.compile(r"sealed (?:message |answer )?([0-9a-f-]{36})")
T = TypeVar("T")


# --- TLS ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tls:
    cert: Path  # also the CA file clients trust (VIGIL_TLS_CA)
    key: Path

    def context(self) -> ssl.SSLContext:
        """What a client trusts the nodes' servers with."""
        return ssl.create_default_context(cafile=str(self.cert))


def write_certificate(folder: Path) -> Tls:
    """A self-signed certificate for 127.0.0.1 (IP subject alternative name),
    valid for a day, that is its own certificate authority."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=False, encipher_only=False, decipher_only=False,
        ), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    tls = Tls(folder / "node.crt", folder / "node.key")
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    tls.key.chmod(0o600)
    return tls


# --- nodes ----------------------------------------------------------------------------------------------------------


def node_environment(tls: Tls | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """What every `vigil` process of a node gets: the passphrase, the CA to trust partners' servers with."""
    environment = {k: v for k, v in os.environ.items() if k != "VIGIL_DB"}
    environment.update({"VIGIL_PASSPHRASE": PASSPHRASE, "VIGIL_POLL_SECONDS": "5", **(extra or {})})
    if tls is not None:
        environment["VIGIL_TLS_CA"] = str(tls.cert)
    return environment


@dataclass
class NodeServer:
    """A node: its database and, while started, its `vigil serve` process on a
    fixed loopback port (kept across a stop and a start), over HTTPS with ``tls``."""

    name: str
    folder: Path
    tls: Tls | None
    server_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def db_path(self) -> Path:
        return self.folder / f"{self.name}.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / f"serve-{self.name}-{self.starts}.log"

    def vigil(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        """`vigil --db <this node> ARGS`; with ``ok``, a non-zero exit fails naming the command and its error."""
        result = subprocess.run([VIGIL, "--db", self.db_url, *args], capture_output=True, text=True,
                                env=node_environment(self.tls), timeout=120)
        result.stderr = " ".join(result.stderr.split())  # rich wraps its error console at 80 columns
        if ok and result.returncode != 0:
            raise AssertionError(f"{self.name}: vigil {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
        return result

    def start(self, timeout: float = 60) -> None:
        """Start `vigil serve` and wait until /healthz answers over TLS."""
        assert self.process is None, f"{self.name} is already running"
        self.starts += 1
        command = [VIGIL, "--db", self.db_url, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        if self.tls is not None:
            command += ["--tls-cert", str(self.tls.cert), "--tls-key", str(self.tls.key)]
        environment = node_environment(self.tls, {"VIGIL_DELIVERY_SECONDS": "1", **self.server_env})
        with self.log.open("w") as handle:
            self.process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=environment)
        verify = self.tls.context() if self.tls else True
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                code, self.process = self.process.returncode, None
                raise RuntimeError(f"{self.name}: vigil serve exited with {code}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1, verify=verify).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name}: vigil serve did not answer /healthz within {timeout:.0f} s: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@dataclass
class Mesh:
    folder: Path
    tls: Tls
    nodes: dict[str, NodeServer]  # A, B, C: served
    engines: dict[str, Engine]  # A, B, C, and D (a stranger to B) and E (a partner B revoked): for the Python API

    def node(self, name: str) -> Node:
        return Node(self.engines[name])

    def keys(self, name: str) -> NodeKeys:
        return self.node(name).keys(PASSPHRASE)

    def identity(self, name: str) -> PublicIdentity:
        return self.node(name).identity()


def in_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [future.result() for future in [pool.submit(call) for call in calls]]


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> Tls:
    return write_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def mesh(tmp_path_factory, tls) -> Iterator[Mesh]:
    """A, B and C, each the partner of the other two (with its HTTPS address),
    all three served. D is a node B never added; E one it added and revoked."""
    folder = tmp_path_factory.mktemp("nodes")
    nodes = {name: NodeServer(name, folder, tls) for name in "ABC"}
    nodes["B"].server_env["VIGIL_MAX_INBOX"] = str(MAX_INBOX)

    def create(node: NodeServer) -> None:
        node.vigil("node", "init", "--name", node.name)
        (folder / f"{node.name}.json").write_text(node.vigil("node", "id").stdout)

    def add_partners(node: NodeServer) -> None:
        for other in nodes.values():
            if other is not node:
                node.vigil("partner", "add", str(folder / f"{other.name}.json"), "--name", other.name, "--address", other.url)

    in_parallel([lambda n=n: create(n) for n in nodes.values()])
    in_parallel([lambda n=n: add_partners(n) for n in nodes.values()])
    engines = {name: make_engine(f"sqlite:///{folder / name}.db") for name in "ABCDE"}
    outsiders = {name: Node(engines[name]).init(PASSPHRASE, name) for name in "DE"}  # only used through the Python API
    Node(engines["B"]).add_partner(outsiders["E"])
    Node(engines["B"]).revoke_partner("E")
    try:
        in_parallel([node.start for node in nodes.values()])
        yield Mesh(folder, tls, nodes, engines)
    finally:
        for node in nodes.values():
            node.stop()
        for engine in engines.values():
            engine.dispose()


# --- helpers --------------------------------------------------------------------------------------------------------


def wait_for(check: Callable[[], T], what: str, timeout: float = 30) -> T:
    """``check()`` once it is true, polling until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        if result := check():
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)


def secret(words: str) -> str:
    """A text found nowhere else: if it shows up somewhere, this test put it there."""
    return f"{words} {uuid.uuid4().hex}"


def body_file(folder: Path, text: str, name: str | None = None) -> Path:
    path = folder / (name or f"body-{uuid.uuid4().hex[:8]}.txt")
    path.write_text(text, encoding="utf-8")
    return path


def sent_id(result: subprocess.CompletedProcess[str]) -> str:
    found = SENT.search(result.stdout)
    assert found, f"no message id in: {result.stdout}"
    return found.group(1)


def send(node: NodeServer, to: str, text: str, folder: Path, tlp: str = "AMBER", type: str = "note", *more: str) -> tuple[str, str]:
    """`vigil exchange send`: the new message's id, and what the command said."""
    result = node.vigil("exchange", "send", "--to", to, "--tlp", tlp, "--type", type, "--body", str(body_file(folder, text)), *more)
    return sent_id(result), result.stdout


def inbox(node: NodeServer) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in json.loads(node.vigil("exchange", "inbox", "--json").stdout)}


def outbox(node: NodeServer, message_id: str) -> dict[str, dict[str, Any]]:
    """The deliveries of one sent message, by recipient."""
    items = json.loads(node.vigil("exchange", "outbox", "--json").stdout)
    return {item["partner"]: item for item in items if item["message_id"] == message_id}


def read(node: NodeServer, message_id: str) -> str:
    return node.vigil("exchange", "read", message_id).stdout


def database_bytes(node: NodeServer) -> bytes:
    """The database file and its WAL and shared-memory files, as they lie on disk."""
    return b"".join(path.read_bytes() for path in sorted(node.folder.glob(f"{node.name}.db*")))


def copy_database(node: NodeServer, to: Path) -> NodeServer:
    """A consistent copy of a running node's database (SQLite's backup, WAL
    included), to be edited without disturbing the running node."""
    copy = NodeServer(to.stem, to.parent, node.tls)
    with closing(sqlite3.connect(node.db_path)) as source, closing(sqlite3.connect(copy.db_path)) as target:
        source.backup(target)
    return copy


def edit(node: NodeServer, statement: str, *parameters: Any) -> None:
    with closing(sqlite3.connect(node.db_path)) as conn:
        changed = conn.execute(statement, parameters).rowcount
        conn.commit()
    assert changed == 1, f"{statement} changed {changed} rows"


def refusals(mesh: Mesh, name: str, envelope_id: str) -> list[str]:
    """The reasons ``name`` recorded for refusing the envelope ``envelope_id``."""
    with mesh.engines[name].connect() as conn:
        return list(conn.execute(select(rejections.c.reason).where(rejections.c.envelope_id == envelope_id)).scalars())


def last_refusal(mesh: Mesh, name: str) -> int:
    """The sequence number of the last refusal ``name`` recorded (0: none yet)."""
    with mesh.engines[name].connect() as conn:
        return conn.execute(select(func.max(rejections.c.seq))).scalar() or 0


def refused_requests(mesh: Mesh, after: int, name: str = "B") -> list[str]:
    """The reasons ``name`` recorded, after refusal number ``after``, for refusing whole requests or bundles (no envelope read)."""
    with mesh.engines[name].connect() as conn:
        query = select(rejections.c.reason).where(rejections.c.seq > after, rejections.c.envelope_id.is_(None))
        return list(conn.execute(query).scalars())


def stored_envelope(mesh: Mesh, name: str, message_id: str) -> dict[str, Any]:
    """An envelope as ``name`` keeps it (as it travelled)."""
    with mesh.engines[name].connect() as conn:
        kept = conn.exec_driver_sql("SELECT envelope FROM exchange_messages WHERE id = ?", (message_id,)).scalar_one()
    return json.loads(kept)


def post(mesh: Mesh, signer: str, body: bytes, to: str = "B") -> httpx.Response:
    """A request to ``to``'s inbox over HTTPS, signed with ``signer``'s node keys."""
    request = sign_request(mesh.keys(signer), mesh.identity(to), body)
    return httpx.post(mesh.nodes[to].url + INBOX, content=body, headers=request.headers, verify=mesh.tls.context(), timeout=30)


def deliver_by_hand(mesh: Mesh, *envelopes: Envelope | dict[str, Any]) -> list[dict[str, Any]]:
    """Envelopes posted to B's inbox in a request A signs properly: the request
    is accepted, and B answers for each envelope."""
    data = [e.to_dict() if isinstance(e, Envelope) else e for e in envelopes]
    answer = post(mesh, "A", json.dumps({"envelopes": data}).encode())
    assert answer.status_code == 200, answer.text
    assert answer.headers.get("vigil-signature"), "B's answer is not signed"
    return answer.json()["results"]


def sealed_note(mesh: Mesh, sender: str, to: str, text: str, tlp: str = "AMBER") -> Envelope:
    """An envelope sealed by ``sender`` (with the Python API, kept nowhere)."""
    return seal(mesh.keys(sender), [mesh.identity(to)], "note", bodies.prepare("note", text.encode(), tlp), tlp)


def refused_by_b(mesh: Mesh, envelope: Envelope | dict[str, Any], reason: str) -> None:
    """B refuses the envelope over HTTPS with ``reason`` (a pattern), keeps
    nothing of it, and records the refusal under its id."""
    envelope_id = (envelope.header.id if isinstance(envelope, Envelope) else envelope["header"]["id"])
    [result] = deliver_by_hand(mesh, envelope)
    assert result["id"] == envelope_id and result["accepted"] is False, result
    assert re.search(reason, result["error"]), result["error"]
    assert any(re.search(reason, recorded) for recorded in refusals(mesh, "B", envelope_id)), refusals(mesh, "B", envelope_id)
    with mesh.engines["B"].connect() as conn:
        kept = conn.exec_driver_sql("SELECT count(*) FROM exchange_messages WHERE id = ?", (envelope_id,)).scalar_one()
    assert kept == 0, f"B kept the refused envelope {envelope_id}"


# --- confidentiality ------------------------------------------------------------------------------------------------


def test_a_message_from_a_to_b_is_not_readable_by_c_even_with_its_database(mesh, tmp_path):
    a, b, c = (mesh.nodes[name] for name in "ABC")
    text = secret("the courier crosses at the northern checkpoint")
    message_id, _ = send(a, "B", text, tmp_path, "AMBER")
    via = outbox(a, message_id)["B"]["delivered_via"]  # B's https:// address (or B's receipt, had it come first)
    assert via == b.url or via.startswith("receipt "), via
    assert inbox(b)[message_id]["partner"] == "A" and text in read(b, message_id)
    # C's database holds no copy: C's own CLI, with C's passphrase, has nothing to open.
    assert message_id not in inbox(c)
    missing = c.vigil("exchange", "read", message_id, ok=False)
    assert missing.returncode == 1 and f"no message '{message_id}'" in missing.stderr
    # Given the envelope itself, C still cannot open it: it is not addressed to C,
    # and C's private key opens none of the content keys sealed in it.
    envelope = Envelope.from_dict(stored_envelope(mesh, "B", message_id))
    write_bundle(tmp_path / "stolen.bundle", [envelope])
    imported = c.vigil("exchange", "import", str(tmp_path / "stolen.bundle"), ok=False)
    assert imported.returncode == 1 and "not addressed to this node" in imported.stderr
    c_keys = mesh.keys("C")
    assert c_keys.public.signing_public not in envelope.keys
    for sealed in envelope.keys.values():
        with pytest.raises(InvalidTag):
            SUITE.decrypt(base64.b64decode(sealed), c_keys.encryption, info=envelope.header.signed_part())
    assert message_id not in inbox(c)
    # No database file of any node holds the plaintext.
    for node in (a, b, c):
        assert text.encode() not in database_bytes(node), f"{node.name}'s database holds the plaintext"


# --- store and forward, receipts ------------------------------------------------------------------------------------


def test_a_message_waits_while_b_is_offline_and_arrives_when_b_is_back(mesh, tmp_path):
    a, b = mesh.nodes["A"], mesh.nodes["B"]
    text = secret("the meeting moved to Thursday")
    b.stop()
    try:
        message_id, said = send(a, "B", text, tmp_path, "AMBER")
        assert "B not reached" in said and "kept queued for retry" in said
        waiting = outbox(a, message_id)["B"]
        assert waiting["delivered_at"] is None and waiting["receipt"] is False
        assert waiting["attempts"] >= 1 and waiting["last_error"], waiting
    finally:
        b.start()
    a.vigil("exchange", "deliver", "--to", "B")
    wait_for(lambda: message_id in inbox(b), f"message {message_id} in B's inbox")
    delivered = wait_for(lambda: outbox(a, message_id)["B"]["delivered_at"], f"A's outbox marking {message_id} delivered")
    assert delivered and text in read(b, message_id)


def test_a_delivered_message_comes_back_with_a_signed_receipt_that_verify_checks(mesh, tmp_path):
    a, b = mesh.nodes["A"], mesh.nodes["B"]
    message_id, _ = send(a, "B", secret("receipt wanted"), tmp_path, "GREEN")

    def with_receipt() -> list[dict[str, Any]] | None:
        deliveries = json.loads(a.vigil("exchange", "outbox", "--json").stdout)
        mine = [d for d in deliveries if d["message_id"] == message_id and d["partner"] == "B"]
        return deliveries if mine and mine[0]["receipt"] is True else None

    receipted = sum(1 for item in wait_for(with_receipt, f"a receipt from B for {message_id} in A's outbox") if item["receipt"])
    checked = a.vigil("exchange", "verify").stdout
    held = re.search(r"receipt \((\d+)\)", checked)
    assert held and int(held.group(1)) >= receipted >= 1, checked
    b.vigil("exchange", "verify")  # and B's log holds, with A's countersignatures of its tree heads

    # A's stored receipt, edited: its inclusion proof no longer holds.
    copy = copy_database(a, tmp_path / "A-receipt.db")
    copy.vigil("exchange", "verify")
    edit(copy, "UPDATE exchange_receipts SET leaf_index = leaf_index + 1 WHERE message_id = ? AND partner = 'B'", message_id)
    broken = copy.vigil("exchange", "verify", ok=False)
    assert broken.returncode == 1 and f"receipt from B for message {message_id}" in broken.stderr, broken.stderr

    # B's tree head as A holds it, edited: no longer B's signature, and the receipt resting on it fails.
    copy = copy_database(a, tmp_path / "A-head.db")
    with closing(sqlite3.connect(copy.db_path)) as conn:
        [size] = conn.execute("SELECT head_size FROM exchange_receipts WHERE message_id = ? AND partner = 'B'", (message_id,)).fetchone()
    edit(copy, "UPDATE exchange_partner_heads SET root = ? WHERE partner = 'B' AND size = ?", "0" * 64, size)
    broken = copy.vigil("exchange", "verify", ok=False)
    assert broken.returncode == 1, broken.stdout
    assert f"B's tree head of size {size}: not signed by that partner" in broken.stderr, broken.stderr
    assert f"receipt from B for message {message_id}" in broken.stderr


# --- offline bundles ------------------------------------------------------------------------------------------------


def test_an_offline_bundle_carried_from_a_to_c_is_read_by_c_and_refused_when_tampered(mesh, tmp_path):
    a, b, c = (mesh.nodes[name] for name in "ABC")
    text = secret("carried across the air gap")
    bundle = tmp_path / "for-c.bundle"
    message_id, said = send(a, "C", text, tmp_path, "AMBER", "note", "--bundle", str(bundle))
    assert f"written to {bundle}" in said and text.encode() not in bundle.read_bytes()
    assert outbox(a, message_id)["C"]["delivered_via"] == f"bundle {bundle}"

    # One byte of the ciphertext changed in transit.
    data = json.loads(bundle.read_text())
    [envelope] = [e for e in data["envelopes"] if e["header"]["id"] == message_id]
    body = bytearray(base64.b64decode(envelope["body"]))
    body[len(body) // 2] ^= 1
    envelope["body"] = base64.b64encode(bytes(body)).decode()
    tampered = tmp_path / "tampered.bundle"
    tampered.write_text(json.dumps(data))
    refused = c.vigil("exchange", "import", str(tampered), ok=False)
    assert refused.returncode == 1 and "does not match the signed digest" in refused.stderr, refused.stderr
    assert message_id not in inbox(c)
    assert any("does not match the signed digest" in reason for reason in refusals(mesh, "C", message_id))

    # Cut short on the way: not a bundle any more.
    cut = tmp_path / "cut.bundle"
    cut.write_bytes(bundle.read_bytes()[: bundle.stat().st_size // 2])
    before = last_refusal(mesh, "C")
    refused = c.vigil("exchange", "import", str(cut), ok=False)
    assert refused.returncode == 1 and "not valid JSON" in refused.stderr, refused.stderr
    assert any("not valid JSON" in reason for reason in refused_requests(mesh, before, "C"))

    # B holds the same file and cannot use it.
    elsewhere = b.vigil("exchange", "import", str(bundle), ok=False)
    assert elsewhere.returncode == 1 and "not addressed to this node" in elsewhere.stderr

    imported = c.vigil("exchange", "import", str(bundle))
    assert f"received {message_id} from A" in imported.stdout
    assert text in read(c, message_id)


# --- attacks on B's inbox over HTTPS --------------------------------------------------------------------------------


def test_a_forged_or_altered_envelope_is_refused_and_recorded(mesh):
    genuine = sealed_note(mesh, "A", "B", secret("genuine"))
    remarked = replace(genuine, header=replace(genuine.header, tlp="GREEN"))  # the signed header changed
    refused_by_b(mesh, remarked, r"the signature is not 'A''s: the envelope was forged or altered")
    other = sealed_note(mesh, "A", "B", secret("forged"))
    signature = bytearray(base64.b64decode(other.signature))
    signature[0] ^= 1
    refused_by_b(mesh, replace(other, signature=base64.b64encode(bytes(signature)).decode()), r"forged or altered")
    third = sealed_note(mesh, "A", "B", secret("altered body"))
    body = bytearray(base64.b64decode(third.body))
    body[-1] ^= 1
    refused_by_b(mesh, replace(third, body=base64.b64encode(bytes(body)).decode()), r"does not match the signed digest")


def test_an_envelope_from_an_unknown_node_is_refused_and_recorded(mesh):
    before = last_refusal(mesh, "B")
    stranger = post(mesh, "D", json.dumps({"envelopes": []}).encode())  # D's own request
    assert stranger.status_code == 401 and "not an active partner" in stranger.json()["error"]["message"]
    assert any("not an active partner" in reason for reason in refused_requests(mesh, before))
    # D's envelope, carried by a partner.
    refused_by_b(mesh, sealed_note(mesh, "D", "B", secret("from a stranger")), r"the sender is not a partner of this node")


def test_an_envelope_from_a_revoked_partner_is_refused_and_recorded(mesh):
    before = last_refusal(mesh, "B")
    revoked = post(mesh, "E", json.dumps({"envelopes": []}).encode())
    assert revoked.status_code == 401 and "not an active partner" in revoked.json()["error"]["message"]
    assert any("not an active partner" in reason for reason in refused_requests(mesh, before))
    refused_by_b(mesh, sealed_note(mesh, "E", "B", secret("from a revoked partner")), r"the sender 'E' was revoked")


def test_an_envelope_addressed_to_another_node_is_refused_and_recorded(mesh):
    refused_by_b(mesh, sealed_note(mesh, "A", "C", secret("for C only")), r"the envelope is not addressed to this node")


def test_a_replayed_envelope_is_refused_and_recorded(mesh, tmp_path):
    a, b = mesh.nodes["A"], mesh.nodes["B"]
    message_id, _ = send(a, "B", secret("sent once"), tmp_path, "GREEN")
    kept = inbox(b)[message_id]
    [result] = deliver_by_hand(mesh, stored_envelope(mesh, "A", message_id))  # the same envelope, again
    assert result["accepted"] is False and result["already_received"] is True and "replay" in result["error"]
    assert any("already received: refused as a replay" in reason for reason in refusals(mesh, "B", message_id))
    assert inbox(b)[message_id] == kept  # kept once, as first received


def test_an_envelope_dated_90_days_ago_is_refused_as_a_replay_and_recorded(mesh):
    fresh = sealed_note(mesh, "A", "B", secret("old news"))
    old = (datetime.now(UTC) - timedelta(days=90)).isoformat(timespec="microseconds")
    header = replace(fresh.header, created=old)
    signature = base64.b64encode(mesh.keys("A").signing.sign(header.signed_part())).decode()
    redated = replace(fresh, header=header, signature=signature)
    redated.verify(mesh.identity("A"))  # a genuine signature by A: only the date is wrong
    refused_by_b(mesh, redated, r"older than 60 days: refused as a replay")


def test_a_truncated_request_or_envelope_is_refused_and_recorded(mesh):
    envelope = sealed_note(mesh, "A", "B", secret("cut short"))
    whole = json.dumps({"envelopes": [envelope.to_dict()]}).encode()
    before = last_refusal(mesh, "B")
    cut = post(mesh, "A", whole[: len(whole) // 2])  # properly signed, but not JSON any more
    assert cut.status_code == 422 and '{"envelopes": [...]}' in cut.json()["error"]["message"], cut.text
    assert cut.headers.get("vigil-signature"), "B's answer is not signed"
    assert any('{"envelopes": [...]}' in reason for reason in refused_requests(mesh, before)), refused_requests(mesh, before)
    assert envelope.header.id not in inbox(mesh.nodes["B"])
    # An envelope cut short inside a whole request: its body ends early, or its sealed keys are gone.
    shortened = {**envelope.to_dict(), "body": envelope.body[: len(envelope.body) // 8 * 4]}
    refused_by_b(mesh, shortened, r"does not match the signed digest")
    incomplete = {k: v for k, v in envelope.to_dict().items() if k != "keys"}
    refused_by_b(mesh, incomplete, r"keys: one sealed key per recipient expected")


def test_an_oversized_request_is_refused_with_413_and_recorded(mesh):
    limit = f"larger than the limit of {MAX_INBOX:,} bytes"
    body = json.dumps({"envelopes": [], "padding": "x" * MAX_INBOX}).encode()
    before = last_refusal(mesh, "B")
    answer = post(mesh, "A", body)
    assert answer.status_code == 413 and limit in answer.json()["error"]["message"], answer.text
    assert sum(limit in reason for reason in refused_requests(mesh, before)) == 1, refused_requests(mesh, before)
    # Without a Content-Length, the limit holds as the body streams in.
    before = last_refusal(mesh, "B")
    request = sign_request(mesh.keys("A"), mesh.identity("B"), body)
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    streamed = httpx.post(mesh.nodes["B"].url + INBOX, content=chunks, headers=request.headers, verify=mesh.tls.context(), timeout=30)
    assert streamed.status_code == 413 and limit in streamed.json()["error"]["message"], streamed.text
    assert sum(limit in reason for reason in refused_requests(mesh, before)) == 1, refused_requests(mesh, before)


def test_a_request_not_signed_by_a_partners_node_keys_is_refused_with_401_and_recorded(mesh):
    b = mesh.nodes["B"]
    envelope = sealed_note(mesh, "A", "B", secret("unsigned request"))
    body = json.dumps({"envelopes": [envelope.to_dict()]}).encode()
    before = last_refusal(mesh, "B")
    attempts = {}
    attempts["no node signature"] = httpx.post(b.url + INBOX, content=body, headers={"Content-Type": "application/json"},
                                               verify=mesh.tls.context())
    # Signed by A, then the body changed: the signature no longer covers it.
    request = sign_request(mesh.keys("A"), mesh.identity("B"), json.dumps({"envelopes": []}).encode())
    attempts["body swapped"] = httpx.post(b.url + INBOX, content=body, headers=request.headers, verify=mesh.tls.context())
    # Claiming to be A, signed with C's key.
    forged = sign_request(mesh.keys("C"), mesh.identity("B"), body)
    headers = {**forged.headers, "Vigil-Node": mesh.identity("A").signing_public}
    attempts["impostor"] = httpx.post(b.url + INBOX, content=body, headers=headers, verify=mesh.tls.context())
    expected = {"no node signature": "Vigil-Node, Vigil-Date and Vigil-Signature",
                "body swapped": "the request signature is not 'A''s", "impostor": "the request signature is not 'A''s"}
    for what, answer in attempts.items():
        assert answer.status_code == 401 and expected[what] in answer.json()["error"]["message"], (what, answer.text)
    recorded = refused_requests(mesh, before)
    assert sum("the request signature is not 'A''s" in reason for reason in recorded) >= 2, recorded
    assert any("Vigil-Node, Vigil-Date and Vigil-Signature" in reason for reason in recorded), recorded
    assert envelope.header.id not in inbox(b)
    assert not refusals(mesh, "B", envelope.header.id)  # refused before any envelope was opened


def test_a_body_not_valid_for_its_type_is_refused_and_recorded(mesh):
    a_keys, b_identity = mesh.keys("A"), mesh.identity("B")
    text = seal(a_keys, [b_identity], "note", b"plain text where a STIX bundle belongs", "AMBER")
    refused_by_b(mesh, text, r"note message refused: note: not valid JSON")
    case = seal(a_keys, [b_identity], "case-file", json.dumps({"tlp": "AMBER", "status": "detained"}).encode(), "AMBER")
    refused_by_b(mesh, case, r"case-file message refused: case-file: subject: missing")
    # A body marked RED, sent as GREEN: the marking inside must be the envelope's.
    remarked = seal(a_keys, [b_identity], "note", bodies.prepare("note", b"for B's eyes only", "RED"), "GREEN")
    refused_by_b(mesh, remarked, r"note message refused")


# --- need to know, answers ------------------------------------------------------------------------------------------


def test_green_may_be_forwarded_to_c_but_amber_and_red_may_not(mesh, tmp_path):
    a, b, c = (mesh.nodes[name] for name in "ABC")
    texts = {tlp: secret(f"{tlp} indicator") for tlp in ("GREEN", "AMBER", "RED")}
    ids = {tlp: send(a, "B", text, tmp_path, tlp)[0] for tlp, text in texts.items()}
    wait_for(lambda: set(ids.values()) <= set(inbox(b)), "the three messages in B's inbox")

    new_id = sent_id(b.vigil("exchange", "forward", ids["GREEN"], "--to", "C"))
    received = wait_for(lambda: inbox(c).get(new_id), f"the forwarded message {new_id} in C's inbox")
    assert (received["partner"], received["tlp"], received["type"]) == ("B", "GREEN", "note")
    assert texts["GREEN"] in read(c, new_id)


    def sent_to_c() -> list[str]:
        return [d["message_id"] for d in json.loads(b.vigil("exchange", "outbox", "--json").stdout) if d["partner"] == "C"]

    before = sent_to_c()
    assert new_id in before
    for tlp, words in (("AMBER", "may be shared only within this organisation"), ("RED", "never leaves this node")):
        refused = b.vigil("exchange", "forward", ids[tlp], "--to", "C", ok=False)
        assert refused.returncode == 1 and f"TLP:{tlp}" in refused.stderr and words in refused.stderr, refused.stderr
    assert sent_to_c() == before  # nothing sealed for C, nothing queued
    for tlp in ("AMBER", "RED"):
        assert texts[tlp].encode() not in database_bytes(c)


def test_a_reply_to_an_rfi_is_an_rfi_answer_the_asker_reads(mesh, tmp_path):
    a, b = mesh.nodes["A"], mesh.nodes["B"]
    question = secret("Did the subject travel to Istanbul in March?")
    rfi = body_file(tmp_path, json.dumps({"question": question, "references": ["un:QDi.430"]}), "rfi.json")
    asked = a.vigil("exchange", "send", "--to", "B", "--tlp", "AMBER", "--type", "rfi", "--body", str(rfi))
    rfi_id = sent_id(asked)
    assert wait_for(lambda: inbox(b).get(rfi_id), "the rfi in B's inbox")["type"] == "rfi"
    assert question in read(b, rfi_id)

    answer = secret("Yes: he flew Tbilisi to Istanbul on 12 March")
    replied = b.vigil("exchange", "reply", rfi_id, "--body", str(body_file(tmp_path, answer)))
    answer_id = sent_id(replied)
    assert f"sealed answer {answer_id} (AMBER rfi-answer) to message {rfi_id}" in replied.stdout
    received = wait_for(lambda: inbox(a).get(answer_id), f"the answer {answer_id} in A's inbox")
    assert (received["partner"], received["type"], received["in_reply_to"], received["tlp"]) == ("B", "rfi-answer", rfi_id, "AMBER")
    opened = a.vigil("exchange", "read", answer_id)
    assert answer in opened.stdout and f"answering {rfi_id}" in opened.stderr


# --- the tamper-evident log -----------------------------------------------------------------------------------------


def test_verify_detects_a_stored_envelope_edited_in_bs_database(mesh, tmp_path):
    """The edit is made on a consistent copy of B's database, so that the
    running node keeps a sound log for the other tests."""
    a, b = mesh.nodes["A"], mesh.nodes["B"]
    message_id, _ = send(a, "B", secret("marked AMBER"), tmp_path, "AMBER")
    wait_for(lambda: message_id in inbox(b), f"message {message_id} in B's inbox")
    copy = copy_database(b, tmp_path / "B-copy.db")
    assert "ok:" in copy.vigil("exchange", "verify").stdout
    edit(copy, "UPDATE exchange_messages SET tlp = 'GREEN' WHERE id = ?", message_id)
    broken = copy.vigil("exchange", "verify", ok=False)
    assert broken.returncode == 1
    assert f"message {message_id}: the stored columns differ from the signed header" in broken.stderr, broken.stderr
    # The envelope itself re-marked: the log entry and the signature both give it away.
    edit(copy, "UPDATE exchange_messages SET tlp = 'AMBER', envelope = replace(envelope, '\"tlp\":\"AMBER\"', '\"tlp\":\"GREEN\"') "
               "WHERE id = ?", message_id)
    broken = copy.vigil("exchange", "verify", ok=False)
    assert broken.returncode == 1
    assert f"message {message_id} differs from what was logged" in broken.stderr, broken.stderr

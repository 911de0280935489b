"""Node to node over HTTPS: ``POST /exchange/inbox`` on the receiving node.

TLS protects the connection; the nodes authenticate each other with their own
keys, not with certificates. The sender signs each request (its key, the
recipient's key, method, path, time and the body's SHA-256); the recipient
accepts it only from an active partner, within a few minutes of its clock, and
signs its answer over the request's signature and the answer's body, which the
sender checks with the partner's key. An answer carries whatever the
recipient holds for the sender (receipts first): delivery and collection in one
round trip.

A partner that cannot be reached keeps its messages queued; each failure
pushes the next attempt further away, up to an hour.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from vigil.exchange import queue
from vigil.exchange.envelope import Envelope, EnvelopeError, canonical
from vigil.exchange.identity import NodeKeys, PublicIdentity
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.node import Node, Partner

INBOX = "/exchange/inbox"
MAX_REQUEST_SKEW = timedelta(minutes=5)
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
PER_REQUEST = 16  # envelopes, and at most
REQUEST_BYTES = 48 << 20  # of JSON (a receiving node takes 64 MiB by default)


class TransportError(ValueError):
    """A request or answer between nodes that does not authenticate."""


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _request_part(sender: str, recipient: str, path: str, date: str, body: bytes) -> bytes:
    return canonical({
        "format": "vigil-request/1", "from": sender, "to": recipient, "method": "POST", "path": path,
        "date": date, "body_sha256": _digest(body),
    })


def _answer_part(request_signature: str, status: int, body: bytes) -> bytes:
    return canonical({"format": "vigil-answer/1", "request": request_signature, "status": status, "body_sha256": _digest(body)})


def _sign(keys: NodeKeys, part: bytes) -> str:
    return base64.b64encode(keys.signing.sign(part)).decode()


@dataclass(frozen=True)
class SignedRequest:
    headers: dict[str, str]
    signature: str


def sign_request(keys: NodeKeys, recipient: PublicIdentity, body: bytes, path: str = INBOX) -> SignedRequest:
    date = datetime.now(UTC).isoformat()
    signature = _sign(keys, _request_part(keys.public.signing_public, recipient.signing_public, path, date, body))
    headers = {"Vigil-Node": keys.public.signing_public, "Vigil-Date": date, "Vigil-Signature": signature,
               "Content-Type": "application/json"}
    return SignedRequest(headers, signature)


def authenticate_request(node: Node, keys: NodeKeys, headers: Any, body: bytes, path: str = INBOX) -> Partner:
    """The partner who signed this request, or TransportError naming why not."""
    sender, date, signature = (headers.get(name) for name in ("vigil-node", "vigil-date", "vigil-signature"))
    if not (sender and date and signature):
        raise TransportError("a node request needs the Vigil-Node, Vigil-Date and Vigil-Signature headers")
    partner = node.partner_by_key(sender)
    if partner is None or not partner.active:
        raise TransportError("the requesting node is not an active partner of this node")
    try:
        sent = datetime.fromisoformat(date)
    except ValueError:
        raise TransportError(f"Vigil-Date: {date!r} is not a time") from None
    if sent.tzinfo is None or abs(datetime.now(UTC) - sent) > MAX_REQUEST_SKEW:
        raise TransportError("Vigil-Date is more than 5 minutes from this node's clock (or has no time zone)")
    if not partner.identity.signed(signature, _request_part(sender, keys.public.signing_public, path, date, body)):
        raise TransportError(f"the request signature is not {partner.name!r}'s")
    return partner


def sign_answer(keys: NodeKeys, request_signature: str, status: int, body: bytes) -> str:
    return _sign(keys, _answer_part(request_signature, status, body))


def _tls_verify() -> ssl.SSLContext | bool:
    """Partners' certificates are checked against VIGIL_TLS_CA (a PEM file), else the system's authorities."""
    authorities = os.environ.get("VIGIL_TLS_CA")
    return _authorities(authorities) if authorities else True


@functools.lru_cache(maxsize=4)
def _authorities(path: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=path)


def _post(partner: Partner, keys: NodeKeys, envelopes: list[dict[str, Any]]) -> dict[str, Any]:
    body = json.dumps({"envelopes": envelopes}).encode()
    request = sign_request(keys, partner.identity, body)
    response = httpx.post(partner.address.rstrip("/") + INBOX, content=body, headers=request.headers,
                          timeout=TIMEOUT, verify=_tls_verify())
    answer = response.headers.get("vigil-signature", "")
    if not partner.identity.signed(answer, _answer_part(request.signature, response.status_code, response.content)):
        raise TransportError(f"the answer from {partner.address} (HTTP {response.status_code}) is not signed by "
                             f"{partner.name!r}'s node: {response.text[:200]!r}")
    if response.status_code != 200:
        raise TransportError(f"{partner.name} refused the request: HTTP {response.status_code} {response.text[:300]}")
    return response.json()


def deliver_pending(mailbox: Mailbox, keys: NodeKeys, names: list[str] | None = None, due_only: bool = False) -> str:
    """Deliver what is queued for the partners named (all by default) and take
    in what they answer with; without ``due_only``, partners with an address
    are asked for what waits for this node even when nothing goes to them.
    What happened, in words."""
    reports = []
    everyone = {p.name: p for p in mailbox.node.partners()}
    for partner in everyone.values():
        if (names is not None and partner.name not in names) or not partner.active:
            continue
        hop = everyone.get(partner.relay, partner) if partner.relay else partner  # the node contacted
        if not hop.address:
            if count := queue.waiting(mailbox, partner.name):
                reports.append(f"{count} waiting for {partner.name}, who has no address: `vigil partner address "
                               f"{hop.name} URL`, or `vigil exchange export --to {partner.name} --bundle FILE`")
            continue
        waiting = queue.claim(mailbox, partner.name, due_only)
        if not waiting and due_only:
            continue
        reached, report = _deliver_to(mailbox, keys, partner, hop, waiting)
        reports.append(report)
        # What came back (receipts) may have queued answers (countersignatures): they go at once.
        if reached and (answers := queue.claim(mailbox, partner.name)):
            _deliver_to(mailbox, keys, partner, hop, answers)
    return "; ".join(reports) or "nothing waiting"


def _deliver_to(mailbox: Mailbox, keys: NodeKeys, partner: Partner, hop: Partner, waiting: list[Envelope]) -> tuple[bool, str]:
    """Deliver to ``partner`` through ``hop`` (itself, or its relay): whether
    the hop was reached, and what happened."""
    delivered = answered = 0
    via = hop.address if hop is partner else f"relay {hop.name} at {hop.address}"
    try:
        for batch in _batches(waiting):
            answer = _post(hop, keys, [e.to_dict() for e in batch])
            taken = {r.get("id") for r in answer.get("results", []) if r.get("accepted") or r.get("already_received")}
            queue.mark_delivered(mailbox, [e.header.id for e in batch if e.header.id in taken], partner.name, via)
            for problem in (r for r in answer.get("results", []) if r.get("id") not in taken):
                queue.failed(mailbox, [problem.get("id")], partner.name, f"refused: {problem.get('error')}")
            delivered += len(taken)
            for data in answer.get("envelopes", []):
                try:
                    mailbox.receive(data, f"answer from {hop.address}", keys)
                    answered += 1
                except EnvelopeError:
                    pass  # recorded among the refusals
    except (httpx.HTTPError, TransportError, ValueError) as error:
        queue.failed(mailbox, [e.header.id for e in waiting[delivered:]], partner.name, str(error) or error.__class__.__name__)
        return False, f"{partner.name} not reached ({error.__class__.__name__}: {error}); {len(waiting) - delivered} kept queued for retry"
    took = f", took {answered} messages in answer" if answered else ""
    return True, f"delivered {delivered} to {partner.name} at {via}{took}"


def _batches(waiting: list[Envelope]) -> list[list[Envelope]]:
    """Requests of at most PER_REQUEST envelopes and about REQUEST_BYTES each; one empty request to collect."""
    batches: list[list[Envelope]] = [[]]
    size = 0
    for envelope in waiting:
        length = len(envelope.body) + 4096
        if batches[-1] and (len(batches[-1]) == PER_REQUEST or size + length > REQUEST_BYTES):
            batches.append([])
            size = 0
        batches[-1].append(envelope)
        size += length
    return batches

"""Delivery receipts and countersigned tree heads (the Certificate
Transparency model, RFC 9162).

A node that keeps a message answers its sender with a receipt: its signed
tree head, the inclusion proof of the message's leaf, and the consistency
proof from the head it gave that sender last. The sender checks all three and
keeps them; its log cannot now be rewritten by the recipient without the
sender noticing. The sender countersigns the head and returns the
countersignature, so the recipient holds proof that its partner saw its log at
that size. Receipts and countersignatures are not themselves receipted.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection, and_, func, insert, select, update

from vigil.exchange import merkle
from vigil.exchange.envelope import canonical
from vigil.exchange.identity import PublicIdentity
from vigil.exchange.log import MessageLog, TreeHead, leaf_data
from vigil.exchange.mailbox import Handler, Received, Reply
from vigil.exchange.node import Node
from vigil.exchange.tables import (
    cosignatures,
    heads_given,
    log_leaves,
    messages,
    outbox,
    partner_heads,
    partners,
    receipts,
)

RECEIPT = "receipt"
COSIGNATURE = "head.cosign"
CONTROL = (RECEIPT, COSIGNATURE)  # kept and logged, but not information for people to read
COSIGN_FORMAT = "vigil-cosignature/1"
MAX_PROOF = 64  # hashes: a log of 2^64 leaves


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class HeadBody(_Strict):
    size: int = Field(ge=1)
    root: str = Field(pattern=r"^[0-9a-f]{64}$")
    signed_at: str = Field(max_length=40)
    signature: str = Field(max_length=100)

    def head(self) -> TreeHead:
        return TreeHead(self.size, self.root, self.signed_at, self.signature)


Hashes = list[str]


class ReceiptBody(_Strict):
    format: str = Field(pattern="^vigil-receipt/1$")
    message_id: str = Field(max_length=36)
    leaf_index: int = Field(ge=0)
    head: HeadBody
    inclusion: Hashes = Field(max_length=MAX_PROOF)
    consistency_from: int = Field(ge=0)
    consistency: Hashes = Field(max_length=MAX_PROOF)


class CosignatureBody(_Strict):
    format: str = Field(pattern=f"^{COSIGN_FORMAT}$")
    size: int = Field(ge=1)
    root: str = Field(pattern=r"^[0-9a-f]{64}$")
    signature: str = Field(max_length=100)


def _parse(model: type[_Strict], body: bytes) -> Any:
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ValueError(f"{where}: {first['msg']}") from None


def _hex(proof: list[str]) -> list[bytes]:
    try:
        return [bytes.fromhex(h) for h in proof]
    except ValueError:
        raise ValueError("a proof holds something that is not a hex hash") from None


def _cosigned_part(head_owner: str, size: int, root: str) -> bytes:
    return canonical({"format": COSIGN_FORMAT, "log": head_owner, "size": size, "root": root})


def _partner_identity(conn: Connection, name: str) -> PublicIdentity:
    row = conn.execute(select(partners).where(partners.c.name == name)).one()
    return PublicIdentity(row.name, row.signing_public, row.encryption_public)


def receipt_for(conn: Connection, received: Received) -> Reply:
    """The receipt for a message just stored in ``conn``'s transaction."""
    log = MessageLog(conn.engine)
    leaves = log.leaves(conn)
    index = next(i for i, (message_id, _) in enumerate(leaves) if message_id == received.message.id)
    hashes = [leaf for _, leaf in leaves]
    head = log.sign_head(received.keys, conn, hashes)
    partner = received.message.partner
    given = conn.execute(select(heads_given.c.size).where(heads_given.c.partner == partner)).scalar() or 0
    consistency = merkle.consistency_proof(given, hashes) if 0 < given < head.size else []
    if given:
        conn.execute(update(heads_given).where(heads_given.c.partner == partner).values(size=head.size))
    else:
        conn.execute(insert(heads_given).values(partner=partner, size=head.size))
    body = {
        "format": "vigil-receipt/1", "message_id": received.message.id, "leaf_index": index, "head": head.to_dict(),
        "inclusion": [h.hex() for h in merkle.inclusion_proof(index, hashes)],
        "consistency_from": given, "consistency": [h.hex() for h in consistency],
    }
    return Reply(RECEIPT, canonical(body), "GREEN")


def with_receipt(handler: Callable[[Connection, Received], list[Reply] | None]) -> Handler:
    """``handler``, then a signed receipt to the sender."""

    def receipted(conn: Connection, received: Received) -> list[Reply]:
        replies = handler(conn, received) or []
        return [*replies, receipt_for(conn, received)]

    return receipted


def take_receipt(conn: Connection, received: Received) -> list[Reply]:
    """Check a partner's receipt for a message this node sent it, keep it,
    and countersign the partner's tree head."""
    receipt = _parse(ReceiptBody, received.body)
    partner = received.message.partner
    sent = conn.execute(
        select(messages.c.envelope)
        .join(outbox, outbox.c.message_id == messages.c.id)
        .where(and_(messages.c.id == receipt.message_id, outbox.c.partner == partner))
    ).first()
    if sent is None:
        raise ValueError(f"a receipt for message {receipt.message_id}, which this node did not send to {partner!r}")
    identity = _partner_identity(conn, partner)
    head = receipt.head.head()
    if not head.signed_by(identity):
        raise ValueError(f"the tree head is not signed by {partner!r}")
    leaf = merkle.leaf_hash(leaf_data("in", sent.envelope))
    if not merkle.verify_inclusion(leaf, receipt.leaf_index, head.size, _hex(receipt.inclusion), bytes.fromhex(head.root)):
        raise ValueError(f"the inclusion proof does not show message {receipt.message_id} in {partner!r}'s log")
    _check_consistency(conn, partner, head, receipt)
    if conn.execute(select(partner_heads.c.size).where(and_(partner_heads.c.partner == partner, partner_heads.c.size == head.size))).first() is None:
        conn.execute(insert(partner_heads).values(
            partner=partner, **head.to_dict(), consistency_from=receipt.consistency_from, consistency=json.dumps(receipt.consistency),
        ))
    if conn.execute(select(receipts.c.message_id).where(and_(receipts.c.message_id == receipt.message_id, receipts.c.partner == partner))).first() is None:
        conn.execute(insert(receipts).values(
            message_id=receipt.message_id, partner=partner, leaf_index=receipt.leaf_index, head_size=head.size,
            inclusion=json.dumps(receipt.inclusion), received_at=datetime.now(UTC),
        ))
    conn.execute(
        update(outbox)
        .where(and_(outbox.c.message_id == receipt.message_id, outbox.c.partner == partner, outbox.c.delivered_at.is_(None)))
        .values(delivered_at=datetime.now(UTC), delivered_via=f"receipt {received.message.id}")
    )
    cosigned = received.keys.signing.sign(_cosigned_part(identity.signing_public, head.size, head.root))
    body = {"format": COSIGN_FORMAT, "size": head.size, "root": head.root, "signature": base64.b64encode(cosigned).decode()}
    return [Reply(COSIGNATURE, canonical(body), "GREEN")]


def _check_consistency(conn: Connection, partner: str, head: TreeHead, receipt: ReceiptBody) -> None:
    """The partner's new head must extend every head of it this node holds."""
    held = {row.size: row.root for row in conn.execute(select(partner_heads).where(partner_heads.c.partner == partner))}
    if head.size in held and held[head.size] != head.root:
        raise ValueError(f"{partner!r} signed two different logs of size {head.size}: its history was rewritten")
    if larger := [size for size in held if size > head.size]:
        raise ValueError(f"{partner!r}'s log shrank from {max(larger)} to {head.size} entries")
    start = receipt.consistency_from
    if start and start in held and not merkle.verify_consistency(
        start, head.size, bytes.fromhex(held[start]), bytes.fromhex(head.root), _hex(receipt.consistency)
    ):
        raise ValueError(f"{partner!r}'s log of {head.size} entries does not extend its earlier one of {start}: history rewritten")


def take_cosignature(conn: Connection, received: Received) -> None:
    """Keep a partner's countersignature of this node's tree head."""
    cosignature = _parse(CosignatureBody, received.body)
    partner = received.message.partner
    identity = _partner_identity(conn, partner)
    me = received.keys.public.signing_public
    if not identity.signed(cosignature.signature, _cosigned_part(me, cosignature.size, cosignature.root)):
        raise ValueError(f"the countersignature is not {partner!r}'s")
    leaves = [leaf for _, leaf in MessageLog(conn.engine).leaves(conn)]
    if cosignature.size > len(leaves) or merkle.root(leaves[: cosignature.size]).hex() != cosignature.root:
        raise ValueError(f"{partner!r} countersigned a head of size {cosignature.size} that this node's log does not have")
    exists = conn.execute(select(func.count()).select_from(cosignatures).where(
        and_(cosignatures.c.partner == partner, cosignatures.c.size == cosignature.size))).scalar_one()
    if not exists:
        conn.execute(insert(cosignatures).values(partner=partner, size=cosignature.size, root=cosignature.root, signature=cosignature.signature))


def handlers() -> dict[str, Handler]:
    return {RECEIPT: take_receipt, COSIGNATURE: take_cosignature}


def verify_held(node: Node) -> tuple[int, list[str]]:
    """Every receipt, partner head and countersignature this node holds,
    checked again: how many receipts, and the problems found."""
    me = node.identity()
    partner_identities = {p.name: p.identity for p in node.partners()}
    problems = []
    count = 0
    with node.engine.connect() as conn:
        heads = {}
        for row in conn.execute(select(partner_heads).order_by(partner_heads.c.partner, partner_heads.c.size)):
            head = TreeHead(row.size, row.root, row.signed_at, row.signature)
            identity = partner_identities.get(row.partner)
            if identity is None or not head.signed_by(identity):
                problems.append(f"{row.partner}'s tree head of size {row.size}: not signed by that partner")
            earlier = heads.get((row.partner, row.consistency_from))
            if earlier is not None and not merkle.verify_consistency(
                row.consistency_from, row.size, bytes.fromhex(earlier.root), bytes.fromhex(row.root), _hex(json.loads(row.consistency))
            ):
                problems.append(f"{row.partner}'s tree head of size {row.size} does not extend the one of size {row.consistency_from}")
            heads[(row.partner, row.size)] = head
        for row in conn.execute(
            select(receipts, messages.c.envelope).join(messages, messages.c.id == receipts.c.message_id)
        ):
            count += 1
            head = heads.get((row.partner, row.head_size))
            leaf = merkle.leaf_hash(leaf_data("in", row.envelope))
            if head is None or not merkle.verify_inclusion(
                leaf, row.leaf_index, head.size, _hex(json.loads(row.inclusion)), bytes.fromhex(head.root)
            ):
                problems.append(f"receipt from {row.partner} for message {row.message_id}: the proof does not hold")
        leaves = [bytes.fromhex(leaf) for leaf in conn.execute(select(log_leaves.c.leaf).order_by(log_leaves.c.position)).scalars()]
        for row in conn.execute(select(cosignatures)):
            identity = partner_identities.get(row.partner)
            if identity is None or not identity.signed(row.signature, _cosigned_part(me.signing_public, row.size, row.root)):
                problems.append(f"{row.partner}'s countersignature of size {row.size}: not that partner's signature")
            if row.size > len(leaves) or merkle.root(leaves[: row.size]).hex() != row.root:
                problems.append(f"{row.partner} countersigned this log at size {row.size}, and the log no longer has that root")
    return count, problems

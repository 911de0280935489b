"""A node's messages: envelopes sealed and kept when sent, checked and kept
when received (still encrypted), opened only when read with the passphrase.

An incoming envelope is refused, and the refusal recorded, when it is
malformed, not from a partner (or from a revoked one), forged or altered, not
addressed to this node, already received (a replay), or dated outside the
accepted window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from vigil.exchange.envelope import (
    Envelope,
    EnvelopeError,
    canonical,
    open_envelope,
    seal,
)
from vigil.exchange.identity import NodeKeys
from vigil.exchange.log import MessageLog, leaf_data
from vigil.exchange.node import Node, NodeError, Partner
from vigil.exchange.tables import messages, rejections
from vigil.store.store import as_utc

# Offline bundles may take weeks to cross an air gap; older envelopes are
# refused as replays, as are envelopes dated ahead of this node's clock.
MAX_AGE = timedelta(days=60)
MAX_CLOCK_SKEW = timedelta(minutes=10)


@dataclass(frozen=True)
class Message:
    id: str
    direction: str  # "in" or "out"
    partner: str  # the sender (in), the recipients (out)
    created: str
    tlp: str
    type: str
    stored_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "direction": self.direction, "partner": self.partner, "created": self.created,
            "tlp": self.tlp, "type": self.type, "stored_at": self.stored_at.isoformat(),
        }


def _message(row: Any) -> Message:
    return Message(row.id, row.direction, row.partner, row.created, row.tlp, row.type, as_utc(row.stored_at))


class Mailbox:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.engine = node.engine
        self.log = MessageLog(node.engine)

    def send(self, keys: NodeKeys, to: list[str], type: str, body: bytes, tlp: str, label: str = "") -> Envelope:
        """Seal a message to active partners and keep it as sent."""
        recipients = [self.node.partner(name) for name in to]
        if revoked := [p.name for p in recipients if not p.active]:
            raise NodeError(f"revoked partners receive nothing: {', '.join(revoked)}")
        envelope = seal(keys, [p.identity for p in recipients], type, body, tlp, label)
        self._store(envelope, "out", ", ".join(p.name for p in recipients))
        self.log.sign_head(keys)
        return envelope

    def receive(self, data: Any, origin: str) -> Message:
        """Check an incoming envelope and keep it; a refusal is recorded and raised."""
        envelope_id = data.get("header", {}).get("id") if isinstance(data, dict) else None
        try:
            envelope = Envelope.from_dict(data)
            sender = self._sender(envelope)
            envelope.verify(sender.identity)
            if self.node.identity().signing_public not in envelope.header.recipients:
                raise EnvelopeError("the envelope is not addressed to this node")
            self._check_time(envelope)
            return self._store(envelope, "in", sender.name)
        except EnvelopeError as error:
            self._reject(origin, envelope_id if isinstance(envelope_id, str) else None, str(error))
            raise

    def inbox(self) -> list[Message]:
        return self._messages("in")

    def outbox(self) -> list[Message]:
        return self._messages("out")

    def read(self, message_id: str, keys: NodeKeys) -> tuple[Message, Envelope, bytes]:
        """A received message and its body, opened with this node's keys."""
        message, envelope = self.envelope(message_id)
        if message.direction != "in":
            raise NodeError(f"message {message_id} was sent by this node; only its recipients can open it")
        sender = self._sender(envelope)
        return message, envelope, open_envelope(envelope, keys, sender.identity)

    def envelope(self, message_id: str) -> tuple[Message, Envelope]:
        with self.engine.connect() as conn:
            row = conn.execute(select(messages).where(messages.c.id == message_id)).first()
        if row is None:
            raise NodeError(f"no message {message_id!r}; see `vigil exchange inbox`")
        return _message(row), Envelope.from_dict(json.loads(row.envelope))

    def rejections(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(rejections).order_by(rejections.c.seq))
            return [{"at": as_utc(r.at).isoformat(), "origin": r.origin, "envelope_id": r.envelope_id, "reason": r.reason} for r in rows]

    def verify_stored(self) -> list[str]:
        """Every kept envelope checked again against its sender's key, and the
        Merkle log and its signed tree heads against the envelopes: the
        problems found (an edited, removed or forged row), none when all is well."""
        problems = []
        me = self.node.identity()
        with self.engine.connect() as conn:
            rows = list(conn.execute(select(messages).order_by(messages.c.stored_at)))
        problems += self.log.verify(me, {row.id: leaf_data(row.direction, row.envelope) for row in rows})
        for row in rows:
            try:
                envelope = Envelope.from_dict(json.loads(row.envelope))
                if envelope.header.id != row.id or (envelope.header.tlp, envelope.header.type) != (row.tlp, row.type):
                    raise EnvelopeError("the stored columns differ from the signed header")
                envelope.verify(me if row.direction == "out" else self._sender(envelope).identity)
            except (EnvelopeError, ValueError) as error:
                problems.append(f"message {row.id}: {error}")
        return problems

    # -- inside ----------------------------------------------------------------

    def _sender(self, envelope: Envelope) -> Partner:
        partner = self.node.partner_by_key(envelope.header.sender)
        if partner is None:
            raise EnvelopeError("the sender is not a partner of this node")
        if not partner.active:
            raise EnvelopeError(f"the sender {partner.name!r} was revoked")
        return partner

    @staticmethod
    def _check_time(envelope: Envelope) -> None:
        try:
            created = datetime.fromisoformat(envelope.header.created)
        except ValueError:
            raise EnvelopeError(f"header.created: {envelope.header.created!r} is not a time") from None
        now = datetime.now(UTC)
        created = as_utc(created)
        if created > now + MAX_CLOCK_SKEW:
            raise EnvelopeError(f"the envelope is dated in the future ({envelope.header.created})")
        if created < now - MAX_AGE:
            raise EnvelopeError(f"the envelope is older than {MAX_AGE.days} days: refused as a replay")

    def _store(self, envelope: Envelope, direction: str, partner: str) -> Message:
        header = envelope.header
        kept = canonical(envelope.to_dict()).decode()
        message = Message(header.id, direction, partner, header.created, header.tlp, header.type, datetime.now(UTC))
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(messages).values(
                    id=message.id, direction=direction, partner=partner, created=message.created, tlp=message.tlp,
                    type=message.type, envelope=kept, stored_at=message.stored_at,
                ))
                self.log.append(conn, header.id, leaf_data(direction, kept))
        except IntegrityError:
            raise EnvelopeError(f"message {header.id} was already received: refused as a replay") from None
        return message

    def _reject(self, origin: str, envelope_id: str | None, reason: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(rejections).values(at=datetime.now(UTC), origin=origin[:1024], envelope_id=(envelope_id or "")[:64] or None, reason=reason))

    def _messages(self, direction: str) -> list[Message]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(messages).where(messages.c.direction == direction).order_by(messages.c.stored_at))
            return [_message(r) for r in rows]

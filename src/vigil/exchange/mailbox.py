"""A node's messages: envelopes sealed, kept and queued for delivery when
sent; checked, opened and kept (still encrypted) when received.

An incoming envelope is refused, and the refusal recorded, when it is
malformed, not from a partner (or from a revoked one), forged or altered, not
addressed to this node, already received (a replay), dated outside the
accepted window, or holds a body that is not valid for its type.

A message type may have a handler (incidents, proposals, receipts...): it
runs in the transaction that stores the message, so a message it refuses
changes nothing, and it may answer with replies, which are sealed to the
sender and queued.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from vigil.exchange.envelope import Envelope, EnvelopeError, Header, canonical, open_envelope, seal
from vigil.exchange.identity import NodeKeys
from vigil.exchange.log import MessageLog, leaf_data
from vigil.exchange.node import Node, NodeError, Partner
from vigil.exchange.tables import messages, outbox, rejections
from vigil.store.store import as_utc

# Offline bundles may take weeks to cross an air gap; older envelopes are
# refused as replays, as are envelopes dated ahead of this node's clock.
MAX_AGE = timedelta(days=60)
MAX_CLOCK_SKEW = timedelta(minutes=10)


class ReplayError(EnvelopeError):
    """An envelope this node already holds."""


@dataclass(frozen=True)
class Message:
    id: str
    direction: str  # "in" or "out"
    partner: str  # the sender (in), the recipients (out)
    created: str
    tlp: str
    type: str
    in_reply_to: str
    stored_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "direction": self.direction, "partner": self.partner, "created": self.created,
            "tlp": self.tlp, "type": self.type, "in_reply_to": self.in_reply_to or None,
            "stored_at": self.stored_at.isoformat(),
        }


def _message(row: Any) -> Message:
    return Message(row.id, row.direction, row.partner, row.created, row.tlp, row.type, row.in_reply_to, as_utc(row.stored_at))


@dataclass(frozen=True)
class Received:
    """An incoming message as its handler sees it: checked, opened, not yet committed."""

    message: Message  # .partner is the sender's name at this node
    header: Header
    body: bytes
    keys: NodeKeys  # this node's, for what must be signed in answer


@dataclass(frozen=True)
class Reply:
    """What a handler answers: sealed to the sender, in reply to the message."""

    type: str
    body: bytes
    tlp: str


# Runs inside the transaction that stores the message; a ValueError refuses it.
Handler = Callable[[Connection, Received], list[Reply] | None]
# Runs inside the transaction that stores a sent message.
OnStored = Callable[[Connection, Envelope], None]


class Mailbox:
    def __init__(self, node: Node, handlers: Mapping[str, Handler] | None = None) -> None:
        self.node = node
        self.engine = node.engine
        self.log = MessageLog(node.engine)
        self.handlers = dict(handlers or {})

    def send(
        self, keys: NodeKeys, to: list[str], type: str, body: bytes, tlp: str, label: str = "",
        in_reply_to: str = "", on_stored: OnStored | None = None,
    ) -> Envelope:
        """Seal a message to active partners, keep it as sent and queue it for
        each of them; ``on_stored`` runs in the same transaction."""
        recipients = [self.node.partner(name) for name in to]
        if revoked := [p.name for p in recipients if not p.active]:
            raise NodeError(f"revoked partners receive nothing: {', '.join(revoked)}")
        envelope = seal(keys, [p.identity for p in recipients], type, body, tlp, label, in_reply_to)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            self._store(conn, envelope, "out", ", ".join(p.name for p in recipients))
            conn.execute(insert(outbox), [
                {"message_id": envelope.header.id, "partner": p.name, "queued_at": now, "attempts": 0, "next_attempt_at": now}
                for p in recipients
            ])
            if on_stored:
                on_stored(conn, envelope)
        self.log.sign_head(keys)
        return envelope

    def receive(self, data: Any, origin: str, keys: NodeKeys) -> Message:
        """Check and open an incoming envelope, let its type's handler act on
        it, and keep it; a refusal is recorded and raised as EnvelopeError."""
        envelope_id = data.get("header", {}).get("id") if isinstance(data, dict) else None
        try:
            envelope = Envelope.from_dict(data)
            sender = self._sender(envelope)
            envelope.verify(sender.identity)
            if keys.public.signing_public not in envelope.header.recipients:
                raise EnvelopeError("the envelope is not addressed to this node")
            self._check_time(envelope)
            body = open_envelope(envelope, keys, sender.identity)
            handler = self.handlers.get(envelope.header.type)
            if handler is None:
                raise EnvelopeError(f"messages of type {envelope.header.type!r} are not known here")
            with self.engine.begin() as conn:
                message = self._store(conn, envelope, "in", sender.name)
                try:
                    replies = handler(conn, Received(message, envelope.header, body, keys)) or []
                except ValueError as error:
                    raise EnvelopeError(f"{envelope.header.type} message refused: {error}") from None
        except EnvelopeError as error:
            self.refuse(origin, envelope_id if isinstance(envelope_id, str) else None, str(error))
            raise
        for reply in replies:  # each signs the log's head as it is sent
            self.send(keys, [sender.name], reply.type, reply.body, reply.tlp, in_reply_to=message.id)
        if not replies:
            self.log.sign_head(keys)
        return message

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

    def _store(self, conn: Connection, envelope: Envelope, direction: str, partner: str) -> Message:
        header = envelope.header
        kept = canonical(envelope.to_dict()).decode()
        message = Message(header.id, direction, partner, header.created, header.tlp, header.type, header.in_reply_to, datetime.now(UTC))
        if conn.execute(select(messages.c.id).where(messages.c.id == header.id)).first() is not None:
            raise ReplayError(f"message {header.id} was already received: refused as a replay")
        try:
            conn.execute(insert(messages).values(
                id=message.id, direction=direction, partner=partner, created=message.created, tlp=message.tlp,
                type=message.type, in_reply_to=header.in_reply_to, envelope=kept, stored_at=message.stored_at,
            ))
        except IntegrityError:  # stored at the same moment by another process
            raise ReplayError(f"message {header.id} was already received: refused as a replay") from None
        self.log.append(conn, header.id, leaf_data(direction, kept))
        return message

    def refuse(self, origin: str, envelope_id: str | None, reason: str) -> None:
        """Record a refusal: of an envelope, or of a whole bundle or request."""
        with self.engine.begin() as conn:
            conn.execute(insert(rejections).values(at=datetime.now(UTC), origin=origin[:1024], envelope_id=(envelope_id or "")[:64] or None, reason=reason))

    def _messages(self, direction: str) -> list[Message]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(messages).where(messages.c.direction == direction).order_by(messages.c.stored_at))
            return [_message(r) for r in rows]

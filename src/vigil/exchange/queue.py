"""The queue of sent messages waiting for each recipient, and how each left."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, select, update

from vigil.exchange.envelope import Envelope
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.tables import messages, outbox, receipts
from vigil.store.store import as_utc


def pending(mailbox: Mailbox, partner: str, due_only: bool = False) -> list[Envelope]:
    """Envelopes queued for ``partner`` and not yet delivered, oldest first
    (with ``due_only``, only those whose next attempt is due)."""
    query = select(outbox.c.message_id).where(and_(outbox.c.partner == partner, outbox.c.delivered_at.is_(None)))
    if due_only:
        query = query.where(outbox.c.next_attempt_at <= datetime.now(UTC))
    with mailbox.engine.connect() as conn:
        ids = conn.execute(query.order_by(outbox.c.queued_at)).scalars().all()
    return [mailbox.envelope(message_id)[1] for message_id in ids]


def mark_delivered(mailbox: Mailbox, message_ids: list[str], partner: str, via: str) -> None:
    with mailbox.engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(and_(outbox.c.message_id.in_(message_ids), outbox.c.partner == partner, outbox.c.delivered_at.is_(None)))
            .values(delivered_at=datetime.now(UTC), delivered_via=via[:1024], last_error=None)
        )


@dataclass(frozen=True)
class Delivery:
    message_id: str
    partner: str
    type: str
    tlp: str
    queued_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    delivered_via: str | None
    last_error: str | None
    receipt: bool

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("queued_at", "next_attempt_at", "delivered_at"):
            data[name] = data[name].isoformat() if data[name] else None
        return data


def deliveries(mailbox: Mailbox) -> list[Delivery]:
    """Every sent message per recipient: waiting, delivered, receipted."""
    query = (
        select(outbox, messages.c.type, messages.c.tlp, receipts.c.message_id.label("receipted"))
        .join(messages, messages.c.id == outbox.c.message_id)
        .outerjoin(receipts, and_(receipts.c.message_id == outbox.c.message_id, receipts.c.partner == outbox.c.partner))
        .order_by(outbox.c.queued_at)
    )
    with mailbox.engine.connect() as conn:
        return [
            Delivery(row.message_id, row.partner, row.type, row.tlp, as_utc(row.queued_at), row.attempts, as_utc(row.next_attempt_at),
                     as_utc(row.delivered_at) if row.delivered_at else None, row.delivered_via, row.last_error, row.receipted is not None)
            for row in conn.execute(query)
        ]


def recipients(mailbox: Mailbox, message_id: str) -> list[str]:
    with mailbox.engine.connect() as conn:
        return list(conn.execute(select(outbox.c.partner).where(outbox.c.message_id == message_id)).scalars())

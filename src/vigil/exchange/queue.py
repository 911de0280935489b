"""The queue of sent messages waiting for each recipient, and how each left."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from vigil.exchange.envelope import Envelope
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.tables import messages, outbox, receipts
from vigil.store.store import as_utc


# How long a claim keeps other processes (the service's retry loop, a
# command) from sending the same envelopes; a sender that dies lets go by then.
LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)


def _waiting(partner: str) -> Any:
    return and_(outbox.c.partner == partner, outbox.c.delivered_at.is_(None))


def waiting(mailbox: Mailbox, partner: str) -> int:
    """How many envelopes wait for ``partner``."""
    with mailbox.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(outbox).where(_waiting(partner))).scalar_one()


def claim(mailbox: Mailbox, partner: str, due_only: bool = False) -> list[Envelope]:
    """Take the envelopes waiting for ``partner`` (with ``due_only``, those
    whose next attempt is due), oldest first, so that no other process sends
    them meanwhile; ``mark_delivered`` or ``failed`` lets them go."""
    token, now = uuid.uuid4().hex, datetime.now(UTC)
    free = and_(_waiting(partner), or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now))
    if due_only:
        free = and_(free, outbox.c.next_attempt_at <= now)
    with mailbox.engine.begin() as conn:
        conn.execute(update(outbox).where(free).values(claim=token, claimed_until=now + LEASE))
        ids = conn.execute(select(outbox.c.message_id).where(outbox.c.claim == token).order_by(outbox.c.queued_at)).scalars().all()
    return [mailbox.envelope(message_id)[1] for message_id in ids]


def mark_delivered(mailbox: Mailbox, message_ids: list[str], partner: str, via: str) -> None:
    with mailbox.engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(and_(outbox.c.message_id.in_(message_ids), _waiting(partner)))
            .values(delivered_at=datetime.now(UTC), delivered_via=via[:1024], last_error=None, claim=None, claimed_until=None)
        )


def failed(mailbox: Mailbox, message_ids: list[str], partner: str, error: str) -> None:
    """A delivery that did not happen: tried again later, each time after a longer pause."""
    now = datetime.now(UTC)
    with mailbox.engine.begin() as conn:
        for message_id in message_ids:
            where = and_(outbox.c.message_id == message_id, outbox.c.partner == partner)
            attempts = conn.execute(select(outbox.c.attempts).where(where)).scalar()
            if attempts is None:
                continue
            conn.execute(update(outbox).where(where).values(
                attempts=attempts + 1, next_attempt_at=now + min(FIRST_RETRY * 2**attempts, LAST_RETRY),
                last_error=error[:2000], claim=None, claimed_until=None,
            ))


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

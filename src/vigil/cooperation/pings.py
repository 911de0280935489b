"""Points of contact tested: signed pings that a partner's node must answer
(with a pong, sent automatically) within the agreed time, and a report of
each partner's reachability.

A ping must be answered within the shortest acknowledgement interval agreed
with the partner (in its working hours when agreed so), or within
DEFAULT_WINDOW when nothing is agreed. The answer counts from the time the
partner signed in its pong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Connection, func, insert, select, update

from vigil.cooperation import tables
from vigil.cooperation.agreements import CooperationError, find
from vigil.cooperation.clock import Clock, system_clock
from vigil.cooperation.incident_bodies import UUID, parse_body
from vigil.exchange.envelope import Envelope
from vigil.exchange.identity import NodeKeys
from vigil.exchange.mailbox import MAX_CLOCK_SKEW, Handler, Mailbox, Received, Reply
from vigil.store.store import as_utc

PING, PONG = "ping", "pong"
TLP = "GREEN"  # a ping says nothing but that it was sent
DEFAULT_WINDOW = timedelta(hours=4)


class Ping(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    at: AwareDatetime


class Pong(Ping):
    ping: str = Field(pattern=UUID)


@dataclass(frozen=True)
class Reachability:
    partner: str
    sent: int
    answered_in_time: int
    late: int  # answered after the agreed time
    unanswered: int  # no answer, and the agreed time is past
    waiting: int  # no answer yet, still in time
    last_answer_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "partner": self.partner, "sent": self.sent, "answered_in_time": self.answered_in_time, "late": self.late,
            "unanswered": self.unanswered, "waiting": self.waiting,
            "last_answer_at": self.last_answer_at.isoformat() if self.last_answer_at else None,
        }


def answer_due(conn: Connection, partner: str, sent_at: datetime) -> datetime:
    """When a ping sent at ``sent_at`` must be answered by."""
    agreed = find(conn, partner)
    if not agreed:
        return as_utc(sent_at) + DEFAULT_WINDOW
    quickest = min(agreed, key=lambda agreement: agreement.ack)
    return quickest.deadline(sent_at, quickest.ack)


def handlers(clock: Clock = system_clock) -> dict[str, Handler]:
    """A ping is answered with a pong; a pong is matched to the ping it answers."""

    def on_ping(_: Connection, received: Received) -> list[Reply]:
        parse_body(Ping, received.body, PING)
        pong = Pong(at=as_utc(clock()), ping=received.message.id)
        return [Reply(PONG, pong.model_dump_json().encode(), TLP)]

    def on_pong(conn: Connection, received: Received) -> list[Reply]:
        body = parse_body(Pong, received.body, PONG)
        tables.ensure(conn)
        row = conn.execute(select(tables.pings).where(tables.pings.c.id == body.ping)).first()
        sender = received.message.partner
        if row is None or body.ping != received.header.in_reply_to:
            raise CooperationError(f"the pong from {sender!r} answers no ping sent from here ({body.ping})")
        if row.partner != sender:
            raise CooperationError(f"ping {body.ping} went to {row.partner!r}, not to {sender!r}")
        if row.pong_id is not None:
            raise CooperationError(f"ping {body.ping} was already answered by message {row.pong_id}")
        answered = as_utc(body.at)
        if answered > as_utc(clock()) + MAX_CLOCK_SKEW or answered < as_utc(row.sent_at) - MAX_CLOCK_SKEW:
            raise CooperationError(f"the pong is dated {answered.isoformat()}, outside the ping's life")
        conn.execute(update(tables.pings).where(tables.pings.c.id == row.id).values(answered_at=answered, pong_id=received.message.id))
        return []

    return {PING: on_ping, PONG: on_pong}


class Pings:
    def __init__(self, mailbox: Mailbox, clock: Clock = system_clock) -> None:
        self.mailbox = mailbox
        self.engine = mailbox.engine
        self.clock = clock
        tables.ensure(self.engine)

    def ping(self, keys: NodeKeys, partner: str) -> Envelope:
        """Send a signed ping; the partner's node answers it with a pong."""
        sent_at = as_utc(self.clock())

        def stored(conn: Connection, envelope: Envelope) -> None:
            conn.execute(insert(tables.pings).values(
                id=envelope.header.id, partner=partner, sent_at=sent_at, due_at=answer_due(conn, partner, sent_at)))

        return self.mailbox.send(keys, [partner], PING, Ping(at=sent_at).model_dump_json().encode(), TLP, on_stored=stored)

    def ping_due(self, keys: NodeKeys, every: timedelta) -> list[Envelope]:
        """Ping each active partner with an agreement that was not pinged for ``every``
        (what a running node does by itself, so that points of contact stay tested)."""
        now = as_utc(self.clock())
        active = [p.name for p in self.mailbox.node.partners() if p.active]
        with self.engine.connect() as conn:  # one connection at a time: a node's engine may lock on reads too
            last = dict(conn.execute(select(tables.pings.c.partner, func.max(tables.pings.c.sent_at)).group_by(tables.pings.c.partner)).all())
            agreed = {name for name in active if find(conn, name)}
        return [self.ping(keys, name) for name in sorted(agreed) if name not in last or as_utc(last[name]) <= now - every]

    def report(self) -> list[Reachability]:
        """For every partner (and any pinged before it was removed), how its pings were answered."""
        now = as_utc(self.clock())
        with self.engine.connect() as conn:
            rows = conn.execute(select(tables.pings).order_by(tables.pings.c.sent_at)).all()
        names = sorted({p.name for p in self.mailbox.node.partners()} | {row.partner for row in rows})
        report = []
        for name in names:
            mine = [row for row in rows if row.partner == name]
            answered = [row for row in mine if row.answered_at is not None]
            in_time = sum(as_utc(row.answered_at) <= as_utc(row.due_at) for row in answered)
            pending = [row for row in mine if row.answered_at is None]
            overdue = sum(now > as_utc(row.due_at) for row in pending)
            last = max((as_utc(row.answered_at) for row in answered), default=None)
            report.append(Reachability(name, len(mine), in_time, len(answered) - in_time, overdue, len(pending) - overdue, last))
        return report

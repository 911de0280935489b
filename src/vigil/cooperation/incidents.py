"""Incidents notified to a partner, or by one, with deadlines from the agreement.

An incident goes notified → acknowledged → responded → in consultation →
closed; each step is an exchange message (``incident.notify``, ``.ack``,
``.respond``, ``.consult``, ``.close``) with a JSON body checked strictly
(``vigil.cooperation.incident_bodies``). Both nodes keep the incident under
one id, the notification's envelope id, and the timeline names for each step
the message that proves it. A close is countersigned by the other node
automatically: it answers with an ``incident.close`` that confirms it.

Each step is dated by the clock of the node that took it (``at`` in the
body, signed with it), so an acknowledgement carried for days in a bundle
still counts from when it was made; the envelope's own signed time is shown
beside it. Overdue steps raise a reminder, then escalate to the agreement's
next contact each time another interval passes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, and_, func, insert, select, update

from vigil.cooperation import tables
from vigil.cooperation.agreements import Agreement, CooperationError, covering, find
from vigil.cooperation.clock import Clock, system_clock
from vigil.cooperation.incident_bodies import (
    Ack,
    Body,
    Close,
    Consult,
    Content,
    Details,
    Notify,
    Respond,
    Step,
    parse_body,
    problems,
)
from vigil.exchange.envelope import TLP, Envelope
from vigil.exchange.identity import NodeKeys
from vigil.exchange.mailbox import MAX_CLOCK_SKEW, Handler, Mailbox, Received, Reply
from vigil.exchange.tables import messages
from vigil.store.store import as_utc

SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("notified", "acknowledged", "responded", "in consultation", "closed")
NOTIFY, ACK, RESPOND, CONSULT, CLOSE = "incident.notify", "incident.ack", "incident.respond", "incident.consult", "incident.close"
BODIES: dict[str, type[Body]] = {NOTIFY: Notify, ACK: Ack, RESPOND: Respond, CONSULT: Consult, CLOSE: Close}


# -- records --------------------------------------------------------------------


@dataclass(frozen=True)
class Incident:
    id: str
    role: str  # this node's: "notifier" or "recipient"
    partner: str
    category: str
    severity: str
    title: str
    tlp: str
    status: str
    notified_at: datetime
    ack_due: datetime
    respond_due: datetime
    resolve_due: datetime | None
    update_due: datetime | None
    acknowledged_at: datetime | None
    responded_at: datetime | None
    closed_at: datetime | None
    overdue: tuple[str, ...]  # the obligations past due when read

    def obligations(self) -> dict[str, datetime]:
        """The steps still expected, and when each is due."""
        expected: dict[str, datetime] = {}
        if self.status == "notified":
            expected["ack"] = self.ack_due
        if self.status in ("notified", "acknowledged"):
            expected["respond"] = self.respond_due
        if self.status in ("responded", "in consultation") and self.update_due:
            expected["update"] = self.update_due
        if self.status != "closed" and self.resolve_due:
            expected["resolve"] = self.resolve_due
        return expected

    def to_dict(self) -> dict[str, Any]:
        def moment(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id, "title": self.title, "category": self.category, "severity": self.severity,
            "status": self.status, "role": self.role, "partner": self.partner, "tlp": self.tlp,
            "notified_at": moment(self.notified_at), "ack_due": moment(self.ack_due), "respond_due": moment(self.respond_due),
            "resolve_due": moment(self.resolve_due), "update_due": moment(self.update_due),
            "acknowledged_at": moment(self.acknowledged_at), "responded_at": moment(self.responded_at),
            "closed_at": moment(self.closed_at), "overdue": list(self.overdue),
        }


@dataclass(frozen=True)
class Event:
    """A step of the timeline (proven by ``message_id``), or a reminder or escalation raised here."""

    at: datetime
    kind: str  # notified, acknowledged, responded, consulted, closed, close confirmed, reminder, escalation
    by: str
    message_id: str | None
    signed_at: str | None  # the envelope's signed creation time
    due: datetime | None
    late: bool | None
    obligation: str | None
    level: int | None
    contact: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(), "step": self.kind, "by": self.by, "message_id": self.message_id,
            "signed_at": self.signed_at, "due": self.due.isoformat() if self.due else None, "late": self.late,
            "obligation": self.obligation, "level": self.level, "contact": self.contact,
        }


@dataclass(frozen=True)
class Reminder:
    incident_id: str
    title: str
    obligation: str  # ack, respond, update or resolve
    owner: str  # who has to act: the partner's name or this node's
    due: datetime
    level: int  # 1: reminder; 2 and up: escalation
    contact: str | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident_id, "title": self.title, "obligation": self.obligation, "owner": self.owner,
            "due": self.due.isoformat(), "level": self.level, "contact": self.contact, "at": self.at.isoformat(),
        }


def _moment(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def _incident(row: Any, now: datetime) -> Incident:
    incident = Incident(
        row.id, row.role, row.partner, row.category, row.severity, row.title, row.tlp, row.status,
        as_utc(row.notified_at), as_utc(row.ack_due), as_utc(row.respond_due), _moment(row.resolve_due),
        _moment(row.update_due), _moment(row.acknowledged_at), _moment(row.responded_at), _moment(row.closed_at), (),
    )
    overdue = tuple(name for name, due in incident.obligations().items() if now > due)
    return replace(incident, overdue=overdue)


def _load(conn: Connection, incident_id: str, now: datetime) -> Incident | None:
    tables.ensure(conn)
    row = conn.execute(select(tables.incidents).where(tables.incidents.c.id == incident_id)).first()
    return _incident(row, now) if row else None


# -- steps ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Transition:
    kind: str  # the timeline's name for the step
    noun: str
    by: str  # "recipient" or "either"
    after: tuple[str, ...]  # the states it may follow
    status: str  # the state it leads to


TRANSITIONS = {
    ACK: _Transition("acknowledged", "an acknowledgement", "recipient", ("notified",), "acknowledged"),
    RESPOND: _Transition("responded", "a response", "recipient", ("acknowledged",), "responded"),
    CONSULT: _Transition("consulted", "a consultation", "either", ("responded", "in consultation"), "in consultation"),
    CLOSE: _Transition("closed", "a close", "either", ("responded", "in consultation"), "closed"),
}


def _allowed(incident: Incident, type: str, actor: str) -> _Transition:
    """The transition ``type`` taken by ``actor`` ("us" or "partner"), refused when out of order."""
    step = TRANSITIONS[type]
    by_notifier = (incident.role == "notifier") == (actor == "us")
    if step.by == "recipient" and by_notifier:
        who = "this node" if actor == "us" else repr(incident.partner)
        raise CooperationError(f"{who} notified incident {incident.id}; {step.noun} comes only from the side notified")
    if incident.status not in step.after:
        raise CooperationError(f"incident {incident.id} is {incident.status}; {step.noun} comes only once it is {' or '.join(step.after)}")
    return step


def _event(conn: Connection, incident_id: str, at: datetime, kind: str, actor: str, message_id: str | None, **extra: Any) -> None:
    conn.execute(insert(tables.incident_events).values(
        incident_id=incident_id, at=as_utc(at), kind=kind, actor=actor, message_id=message_id, **extra))


def _apply(conn: Connection, incident: Incident, type: str, actor: str, at: datetime, message_id: str) -> None:
    step = _allowed(incident, type, actor)
    at = as_utc(at)
    changes: dict[str, Any] = {"status": step.status, "update_due": None}
    if step.status in ("responded", "in consultation"):
        agreement = covering(conn, incident.partner, incident.category)
        if agreement.keep_in_loop:
            changes["update_due"] = agreement.deadline(at, agreement.keep_in_loop)
    stamp = {"acknowledged": "acknowledged_at", "responded": "responded_at", "closed": "closed_at"}.get(step.status)
    if stamp:
        changes[stamp] = at
    conn.execute(update(tables.incidents).where(tables.incidents.c.id == incident.id).values(**changes))
    _event(conn, incident.id, at, step.kind, actor, message_id)


def _open(conn: Connection, incident_id: str, role: str, partner: str, body: Notify, tlp: str, agreement: Agreement, message_id: str) -> None:
    at = as_utc(body.at)
    conn.execute(insert(tables.incidents).values(
        id=incident_id, role=role, partner=partner, category=body.category, severity=body.severity, title=body.title,
        tlp=tlp, status="notified", notified_at=at, ack_due=agreement.deadline(at, agreement.ack),
        respond_due=agreement.deadline(at, agreement.respond),
        resolve_due=agreement.deadline(at, agreement.resolve) if agreement.resolve else None,
    ))
    _event(conn, incident_id, at, "notified", "us" if role == "notifier" else "partner", message_id)


def _dated(at: datetime, incident: Incident | None, now: datetime) -> None:
    """A step dated after this node's clock (beyond the skew allowed), or before the notification, is refused."""
    if at > now + MAX_CLOCK_SKEW:
        raise CooperationError(f"the step is dated in the future ({at.isoformat()})")
    if incident is not None and at < incident.notified_at - MAX_CLOCK_SKEW:
        raise CooperationError(f"the step is dated {at.isoformat()}, before incident {incident.id} was notified")


# -- receiving --------------------------------------------------------------------


def handlers(clock: Clock = system_clock) -> dict[str, Handler]:
    """What this node does with incident messages from partners."""

    def on_notify(conn: Connection, received: Received) -> list[Reply]:
        body = parse_body(Notify, received.body, NOTIFY)
        sender = received.message.partner
        agreement = covering(conn, sender, body.category)
        _dated(as_utc(body.at), None, clock())
        _open(conn, received.message.id, "recipient", sender, body, received.message.tlp, agreement, received.message.id)
        return []

    def on_step(conn: Connection, received: Received) -> list[Reply]:
        type, sender = received.message.type, received.message.partner
        body = parse_body(BODIES[type], received.body, type)
        assert isinstance(body, Step)
        now = clock()
        incident = _load(conn, body.incident, now)
        if incident is None:
            raise CooperationError(f"incident {body.incident} is not known here")
        if incident.partner != sender:
            raise CooperationError(f"{sender!r} was not notified of incident {incident.id}")
        _dated(as_utc(body.at), incident, now)
        if isinstance(body, Close) and body.confirms:
            _confirmed(conn, incident, body, received)
            return []
        if isinstance(body, Close) and not body.note.strip():
            raise CooperationError(f"the close of incident {incident.id} carries no note")
        _apply(conn, incident, type, "partner", body.at, received.message.id)
        if type != CLOSE:
            return []
        _event(conn, incident.id, now, "close confirmed", "us", None)  # its message id: the reply, known once sent
        confirmation = Close(incident=incident.id, at=now, confirms=received.message.id)
        return [Reply(CLOSE, confirmation.model_dump_json().encode(), incident.tlp)]

    return {NOTIFY: on_notify, ACK: on_step, RESPOND: on_step, CONSULT: on_step, CLOSE: on_step}


def _confirmed(conn: Connection, incident: Incident, body: Close, received: Received) -> None:
    """The partner's countersignature of this node's close."""
    events = tables.incident_events
    rows = conn.execute(select(events).where(events.c.incident_id == incident.id).order_by(events.c.seq)).all()
    closes = [row for row in rows if row.kind == "closed" and row.actor == "us"]
    if incident.status != "closed" or not closes:
        raise CooperationError(f"incident {incident.id} is {incident.status}; this node closed nothing to confirm")
    if body.confirms != closes[-1].message_id or received.header.in_reply_to != body.confirms:
        raise CooperationError(f"the confirmation names message {body.confirms}, not this node's close of incident {incident.id}")
    if any(row.kind == "close confirmed" for row in rows):
        raise CooperationError(f"the close of incident {incident.id} is already confirmed")
    _event(conn, incident.id, as_utc(body.at), "close confirmed", "partner", received.message.id)


# -- this node's side -----------------------------------------------------------------


class Incidents:
    def __init__(self, mailbox: Mailbox, clock: Clock = system_clock) -> None:
        self.mailbox = mailbox
        self.engine = mailbox.engine
        self.clock = clock
        tables.ensure(self.engine)

    def notify(
        self, keys: NodeKeys, to: str, category: str, severity: str, title: str, details: Details, tlp: str = "AMBER",
    ) -> Envelope:
        """Notify a partner of an incident; the envelope's id is the incident's."""
        self.mailbox.node.partner(to)  # a partner, else NodeError
        if tlp not in TLP:
            raise CooperationError(f"TLP {tlp!r} is not one of {', '.join(TLP)}")
        try:
            body = Notify(
                category=category, severity=severity, title=title.strip(), at=as_utc(self.clock()), place=details.place,
                occurred_at=details.occurred_at, **_fields(details),
            )
        except ValidationError as error:
            raise CooperationError(f"incident notification: {problems(error)}") from None
        with self.engine.connect() as conn:
            agreement = covering(conn, to, category)

        def stored(conn: Connection, envelope: Envelope) -> None:
            _open(conn, envelope.header.id, "notifier", to, body, tlp, agreement, envelope.header.id)

        return self.mailbox.send(keys, [to], NOTIFY, body.model_dump_json().encode(), tlp, on_stored=stored)

    def ack(self, keys: NodeKeys, incident_id: str, note: str = "") -> Envelope:
        return self._step(keys, incident_id, ACK, lambda at: Ack(incident=incident_id, at=at, note=note))

    def respond(self, keys: NodeKeys, incident_id: str, content: Content) -> Envelope:
        return self._step(keys, incident_id, RESPOND, lambda at: Respond(incident=incident_id, at=at, **_fields(content)))

    def consult(self, keys: NodeKeys, incident_id: str, content: Content) -> Envelope:
        return self._step(keys, incident_id, CONSULT, lambda at: Consult(incident=incident_id, at=at, **_fields(content)))

    def close(self, keys: NodeKeys, incident_id: str, note: str) -> Envelope:
        """Close with a note, signed by this node; the partner's node countersigns it on receipt."""
        if not note.strip():
            raise CooperationError(f"closing incident {incident_id} needs a note")
        return self._step(keys, incident_id, CLOSE, lambda at: Close(incident=incident_id, at=at, note=note.strip()))

    def get(self, incident_id: str) -> Incident:
        with self.engine.connect() as conn:
            incident = _load(conn, incident_id, self.clock())
        if incident is None:
            raise CooperationError(f"no incident {incident_id!r} here; `vigil incident list`")
        return incident

    def all(self) -> list[Incident]:
        now = self.clock()
        with self.engine.connect() as conn:
            rows = conn.execute(select(tables.incidents).order_by(tables.incidents.c.notified_at))
            return [_incident(row, now) for row in rows]

    def timeline(self, incident_id: str) -> list[Event]:
        """Who did what when, each step with the message that proves it, and the reminders raised."""
        incident = self.get(incident_id)
        me = self.mailbox.node.identity().name
        events = tables.incident_events
        with self.engine.connect() as conn:
            rows = conn.execute(select(events).where(events.c.incident_id == incident.id).order_by(events.c.seq)).all()
            replies = _replies(conn, [row.message_id for row in rows if row.kind == "closed" and row.message_id])
            proofs = [row.message_id or (replies.get(_closing(rows)) if row.kind == "close confirmed" else None) for row in rows]
            signed = dict(conn.execute(select(messages.c.id, messages.c.created).where(messages.c.id.in_(set(proofs) - {None}))).all())
        dues = {"acknowledged": incident.ack_due, "responded": incident.respond_due}
        timeline = []
        for row, message_id in zip(rows, proofs, strict=True):
            due = dues.get(row.kind) or _moment(row.due)
            late = as_utc(row.at) > due if row.kind in dues else None
            timeline.append(Event(
                as_utc(row.at), row.kind, me if row.actor == "us" else incident.partner, message_id,
                signed.get(message_id) if message_id else None, due, late, row.obligation, row.level, row.contact,
            ))
        return timeline

    def check(self) -> list[Reminder]:
        """Raise a reminder for each overdue step, and escalate to the
        agreement's next contact each time another interval has passed;
        what was raised now (nothing twice)."""
        now = self.clock()
        me = self.mailbox.node.identity().name
        raised = []
        events = tables.incident_events
        with self.engine.begin() as conn:
            open_rows = conn.execute(select(tables.incidents).where(tables.incidents.c.status != "closed")).all()
            for incident in (_incident(row, now) for row in open_rows):
                agreement = next((a for a in find(conn, incident.partner) if a.category == incident.category), None)
                for obligation, due in incident.obligations().items():
                    if now <= due:
                        continue
                    reached = _level(agreement, obligation, due, now)
                    done = conn.execute(select(func.max(events.c.level)).where(and_(
                        events.c.incident_id == incident.id, events.c.obligation == obligation, events.c.due == due,
                    ))).scalar() or 0
                    owner = me if incident.role == "recipient" else incident.partner
                    if obligation == "resolve":
                        owner = f"{me} and {incident.partner}"
                    for level in range(done + 1, reached + 1):
                        contact = agreement.escalation[level - 1] if agreement and agreement.escalation else None
                        _event(conn, incident.id, now, "reminder" if level == 1 else "escalation", "us", None,
                               obligation=obligation, due=due, level=level, contact=contact)
                        raised.append(Reminder(incident.id, incident.title, obligation, owner, due, level, contact, now))
        return raised

    def _step(self, keys: NodeKeys, incident_id: str, type: str, body: Any) -> Envelope:
        incident = self.get(incident_id)
        _allowed(incident, type, "us")
        at = as_utc(self.clock())
        content = body(at).model_dump_json().encode()

        def stored(conn: Connection, envelope: Envelope) -> None:
            current = _load(conn, incident.id, at)
            assert current is not None
            _apply(conn, current, type, "us", at, envelope.header.id)

        return self.mailbox.send(keys, [incident.partner], type, content, incident.tlp, in_reply_to=incident.id, on_stored=stored)


def _fields(content: Content) -> dict[str, Any]:
    return {"text": content.text, "indicators": content.indicators, "attachments": content.attachments}


def _level(agreement: Agreement | None, obligation: str, due: datetime, now: datetime) -> int:
    """The escalation level an obligation overdue since ``due`` has reached:
    1 at once, one more each time its interval passes again, up to the last contact."""
    if agreement is None:
        return 1
    interval = {"ack": agreement.ack, "respond": agreement.respond, "resolve": agreement.resolve,
                "update": agreement.keep_in_loop}[obligation]
    level = 1
    while interval and level < len(agreement.escalation) and now > agreement.deadline(due, interval * level):
        level += 1
    return level


def _closing(rows: list[Any]) -> str | None:
    """The partner's close message, which this node's countersignature answers."""
    return next((row.message_id for row in rows if row.kind == "closed" and row.actor == "partner"), None)


def _replies(conn: Connection, close_ids: list[str]) -> dict[str, str]:
    """This node's countersignatures, by the close message each answers."""
    if not close_ids:
        return {}
    query = select(messages.c.in_reply_to, messages.c.id).where(and_(
        messages.c.in_reply_to.in_(close_ids), messages.c.type == CLOSE, messages.c.direction == "out"))
    return dict(conn.execute(query).all())

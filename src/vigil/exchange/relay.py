"""A node as a relay: it holds envelopes that one partner hands over for
others, until they collect them. The envelopes stay sealed to their
recipients: the relay checks that the partner handing one over signed it, and
can neither read it nor change it unnoticed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, insert, select, update

from vigil.exchange.envelope import Envelope, EnvelopeError, canonical
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.node import Partner
from vigil.exchange.tables import relayed


def hold(mailbox: Mailbox, sender: Partner, data: Any) -> None:
    """Keep an envelope ``sender`` signed for recipients who are partners of this relay."""
    envelope = Envelope.from_dict(data)
    envelope.verify(sender.identity)  # a relay passes on only what the partner handing it over signed
    known = {p.identity.signing_public for p in mailbox.node.partners() if p.active}
    recipients = [key for key in envelope.header.recipients if key in known]
    if not recipients:
        raise EnvelopeError("the envelope is for no partner of this relay")
    kept = canonical(envelope.to_dict()).decode()
    with mailbox.engine.begin() as conn:
        held = set(conn.execute(select(relayed.c.recipient).where(relayed.c.envelope_id == envelope.header.id)).scalars())
        rows = [{"envelope_id": envelope.header.id, "recipient": key, "sender": sender.name, "envelope": kept,
                 "received_at": datetime.now(UTC)} for key in recipients if key not in held]
        if rows:
            conn.execute(insert(relayed), rows)


def collect(mailbox: Mailbox, recipient: Partner) -> list[dict[str, Any]]:
    """The envelopes held for ``recipient``, handed over once."""
    key = recipient.identity.signing_public
    waiting = and_(relayed.c.recipient == key, relayed.c.collected_at.is_(None))
    with mailbox.engine.begin() as conn:
        rows = conn.execute(select(relayed.c.envelope_id, relayed.c.envelope).where(waiting).order_by(relayed.c.received_at)).all()
        conn.execute(update(relayed).where(and_(waiting, relayed.c.envelope_id.in_([r.envelope_id for r in rows])))
                     .values(collected_at=datetime.now(UTC)))
    return [json.loads(row.envelope) for row in rows]

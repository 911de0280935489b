"""Tables of agreements, incidents and pings, in the node's own database
(the proposals' tables, in ``proposal_tables``, share their metadata).

Only what lists and deadlines need is kept here (titles, states, times,
message ids); what an incident says stays in the exchange's encrypted
envelopes, opened with `vigil exchange read`.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Connection

metadata = MetaData()

# Service levels agreed with a partner for one incident category. Intervals
# in seconds; with `hours` (e.g. "Mon-Fri 09:00-18:00 Europe/Moscow") they
# count working time only.
agreements = Table(
    "coop_agreements",
    metadata,
    Column("partner", String(100), primary_key=True),
    Column("category", String(10), primary_key=True),
    Column("ack", Integer, nullable=False),
    Column("respond", Integer, nullable=False),
    Column("resolve", Integer),
    Column("keep_in_loop", Integer),
    Column("hours", String(200)),
    Column("escalation", Text, nullable=False),  # JSON list of contacts, level 1 first
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row per incident, at both nodes under the same id (the notification's
# envelope id). `role` is this node's: "notifier" or "recipient".
incidents = Table(
    "coop_incidents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("role", String(10), nullable=False),
    Column("partner", String(100), nullable=False),
    Column("category", String(10), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("title", String(200), nullable=False),
    Column("tlp", String(16), nullable=False),
    Column("status", String(20), nullable=False),
    Column("notified_at", DateTime(timezone=True), nullable=False),
    Column("ack_due", DateTime(timezone=True), nullable=False),
    Column("respond_due", DateTime(timezone=True), nullable=False),
    Column("resolve_due", DateTime(timezone=True)),
    Column("update_due", DateTime(timezone=True)),  # keep-in-loop: the next update expected by then
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("responded_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
)

# The timeline: steps (each proven by an exchange message) and the reminders
# and escalations this node raised for overdue steps (local, no message).
incident_events = Table(
    "coop_incident_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(36), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("actor", String(10), nullable=False),  # "us" or "partner"
    Column("message_id", String(36)),
    Column("obligation", String(10)),  # reminders: ack, respond, resolve or update
    Column("due", DateTime(timezone=True)),
    Column("level", Integer),
    Column("contact", String(200)),
    Index("ix_coop_incident_events_incident", "incident_id", "seq"),
)

# Pings sent, and the pong that answered each.
pings = Table(
    "coop_pings",
    metadata,
    Column("id", String(36), primary_key=True),  # the ping's envelope id
    Column("partner", String(100), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),  # as the partner signed it
    Column("pong_id", String(36)),
    Index("ix_coop_pings_partner", "partner", "sent_at"),
)


def ensure(bind: Engine | Connection) -> None:
    """Create the tables on first use (inside the caller's transaction when given a connection)."""
    metadata.create_all(bind)

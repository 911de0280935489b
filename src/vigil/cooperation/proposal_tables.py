"""Tables of joint designation proposals, kept in the node's own database.

Every node holding a proposal keeps it under the same id (made by the node
that drafted it). Keys are the sponsors' signing keys (base64), the same on
every node; names are only what each node calls its partners.
"""

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text

from vigil.cooperation.tables import metadata  # created together: `tables.ensure`

proposals = Table(
    "proposals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("lead", String(64), nullable=False),  # the drafting sponsor's signing key: it holds the pen
    Column("status", String(16), nullable=False),  # draft, submitted, listed, rejected, withdrawn
    Column("current_version", Integer, nullable=False),
    Column("revision", Integer, nullable=False),  # counts changes: an act checked against a stale read is refused
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("submitted_version", Integer),
    Column("note", Text, nullable=False, default=""),  # why it was rejected or withdrawn
    Column("listed_as", Text),  # JSON, once an imported list version holds the entry
    Index("ix_proposals_status", "status"),
)

sponsors = Table(
    "proposal_sponsors",
    metadata,
    Column("proposal_id", String(36), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("name", String(100), nullable=False),  # as the node that added it calls it
    Column("position", Integer, nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
)

versions = Table(
    "proposal_versions",
    metadata,
    Column("proposal_id", String(36), primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("content", Text, nullable=False),  # canonical JSON: what a signature covers
    Column("author", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),  # ISO UTC
)

comments = Table(
    "proposal_comments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("proposal_id", String(36), nullable=False),
    Column("version", Integer, nullable=False),
    Column("author", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Index("ix_proposal_comments_proposal", "proposal_id"),
)

signatures = Table(
    "proposal_signatures",
    metadata,
    Column("proposal_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("signer", String(64), primary_key=True),
    Column("signature", String(100), nullable=False),  # base64 Ed25519 over the version's canonical JSON
    Column("signed_at", String(40), nullable=False),
)

# What happened to a proposal on this node, and the exchange message that carried it ("" when local).
events = Table(
    "proposal_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("proposal_id", String(36), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("event", String(32), nullable=False),
    Column("actor", String(64), nullable=False),  # a signing key, "" for this node's list imports
    Column("detail", Text, nullable=False, default=""),
    Column("message_id", String(36), nullable=False, default=""),
    Index("ix_proposal_events_proposal", "proposal_id"),
)

"""Tables of the HTTP service, kept in the same database as the lists."""

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_hash", String(64), nullable=False, unique=True),  # SHA-256 of the key
    Column("prefix", String(16), nullable=False),  # the key's first characters, to recognise it
    Column("role", String(16), nullable=False),
    Column("label", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

# Append-only: each record's hash covers its sequence number, the previous
# record's hash and its own canonical JSON, so that a changed, removed or
# reordered record breaks the chain.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("key_id", Integer),
    Column("action", String(64), nullable=False),
    Column("record", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_recorded_at", "recorded_at"),
)

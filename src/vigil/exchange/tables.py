"""Tables of a node's exchange state, kept in the node's own database."""

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# One row: this node's keys. The private keys are PKCS#8, encrypted with the
# node's passphrase; the database alone does not give them away.
node_keys = Table(
    "node_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("signing_private", LargeBinary, nullable=False),
    Column("encryption_private", LargeBinary, nullable=False),
    Column("signing_public", String(64), nullable=False),  # base64 of the raw key
    Column("encryption_public", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

partners = Table(
    "partners",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("signing_public", String(64), nullable=False, unique=True),
    Column("encryption_public", String(64), nullable=False),
    Column("fingerprint", String(100), nullable=False),
    Column("address", String(1024)),  # the partner node's HTTPS address, if it has one
    Column("relay", String(100)),  # the partner through which it is reached instead, if any
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

# Every envelope sent or received, as it travelled: bodies stay encrypted at
# rest and are opened only when read, with the passphrase.
messages = Table(
    "exchange_messages",
    metadata,
    Column("id", String(36), primary_key=True),  # the envelope's id: a replay cannot be stored twice
    Column("direction", String(3), nullable=False),  # "in" or "out"
    Column("partner", String(100), nullable=False),  # the sender (in) or the recipients (out), by name here
    Column("created", String(40), nullable=False),
    Column("tlp", String(16), nullable=False),
    Column("type", String(64), nullable=False),
    Column("in_reply_to", String(36), nullable=False, default=""),
    Column("envelope", Text, nullable=False),  # canonical JSON
    Column("stored_at", DateTime(timezone=True), nullable=False),
    Index("ix_exchange_messages_stored", "stored_at"),
)

# Sent envelopes waiting for delivery to each recipient, and how each went:
# over HTTPS (with retries while the partner is offline) or in a bundle file.
outbox = Table(
    "exchange_outbox",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("partner", String(100), primary_key=True),
    Column("queued_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    Column("delivered_via", String(1024)),  # the partner's address, or the bundle file
    Column("last_error", Text),
    Column("claim", String(32)),  # who is sending it now (a token), until claimed_until
    Column("claimed_until", DateTime(timezone=True)),
    Index("ix_exchange_outbox_pending", "delivered_at", "next_attempt_at"),
)

# On a relay: envelopes held for partners of the relay to collect. Still
# sealed to their recipients; the relay can neither read nor alter them.
relayed = Table(
    "exchange_relayed",
    metadata,
    Column("envelope_id", String(36), primary_key=True),
    Column("recipient", String(64), primary_key=True),  # the recipient's signing key
    Column("sender", String(100), nullable=False),  # the partner who handed it over
    Column("envelope", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("collected_at", DateTime(timezone=True)),
)

# Envelopes refused, and why: an attack leaves a trace.
rejections = Table(
    "exchange_rejections",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("origin", String(1024), nullable=False),  # the bundle file, or the peer's address
    Column("envelope_id", String(64)),
    Column("reason", Text, nullable=False),
)

# The node's Merkle log (RFC 9162) of every message kept, in order; a leaf is
# the SHA-256 leaf hash of the direction and the envelope as kept.
log_leaves = Table(
    "exchange_log",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("message_id", String(36), nullable=False, unique=True),
    Column("leaf", String(64), nullable=False),
)

# Tree heads the node signed: the log's size and root at a moment.
tree_heads = Table(
    "exchange_tree_heads",
    metadata,
    Column("size", Integer, primary_key=True, autoincrement=False),
    Column("root", String(64), nullable=False),
    Column("signed_at", String(40), nullable=False),
    Column("signature", String(100), nullable=False),
)

# Partners' signed tree heads, as they came in their receipts, each checked
# to extend the one before it (consistency proof).
partner_heads = Table(
    "exchange_partner_heads",
    metadata,
    Column("partner", String(100), primary_key=True),
    Column("size", Integer, primary_key=True, autoincrement=False),
    Column("root", String(64), nullable=False),
    Column("signed_at", String(40), nullable=False),
    Column("signature", String(100), nullable=False),
    Column("consistency_from", Integer, nullable=False),  # the size of the head it was proved to extend (0: none)
    Column("consistency", Text, nullable=False),  # JSON list of hex hashes
)

# Delivery receipts held: the recipient's proof that a message sent is in its log.
receipts = Table(
    "exchange_receipts",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("partner", String(100), primary_key=True),
    Column("leaf_index", Integer, nullable=False),
    Column("head_size", Integer, nullable=False),
    Column("inclusion", Text, nullable=False),  # JSON list of hex hashes
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# The tree head this node last proved to each partner, so that the next
# receipt proves its log only grew since.
heads_given = Table(
    "exchange_heads_given",
    metadata,
    Column("partner", String(100), primary_key=True),
    Column("size", Integer, nullable=False),
)

# Partners' countersignatures of this node's tree heads: proof that they saw
# the log at that size and root.
cosignatures = Table(
    "exchange_cosignatures",
    metadata,
    Column("partner", String(100), primary_key=True),
    Column("size", Integer, primary_key=True, autoincrement=False),
    Column("root", String(64), nullable=False),
    Column("signature", String(100), nullable=False),
)

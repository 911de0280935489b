"""Tables of a node's exchange state, kept in the node's own database."""

from sqlalchemy import Column, DateTime, Integer, LargeBinary, MetaData, String, Table

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
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

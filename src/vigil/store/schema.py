"""Tables of the versioned list store.

Each import of an official file is one row of ``list_versions``. Entry content
is kept once per distinct content (``entry_contents``, keyed by its SHA-256,
zlib-compressed JSON), and ``version_entries`` says which content each entry
had in each version: unchanged entries cost one small row per version.
"""

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData()

list_versions = Table(
    "list_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    # The publication's calendar date where it was published (dateGenerated
    # "2017-07-03T20:27-04:00" is the UN's list of 3 July, not of 4 July UTC).
    Column("published_on", Date, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("origin", String(1024), nullable=False),  # file, folder or URL imported
    Column("entry_count", Integer, nullable=False),
    Column("counts", JSON, nullable=False),  # entries per kind
    UniqueConstraint("source", "content_hash", name="uq_version_source_hash"),
    Index("ix_version_source_published", "source", "published_at"),
)

entry_contents = Table(
    "entry_contents",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

version_entries = Table(
    "version_entries",
    metadata,
    Column("version_id", Integer, ForeignKey("list_versions.id"), primary_key=True),
    Column("entry_id", String(128), primary_key=True),
    Column("content_hash", String(64), ForeignKey("entry_contents.hash"), nullable=False),
    Index("ix_version_entries_entry", "entry_id"),
)

"""Where the store lives: database URLs, the per-user default, engines."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path
from sqlalchemy import Engine, create_engine, event

ENV_VAR = "VIGIL_DB"


def default_url() -> str:
    return f"sqlite:///{user_data_path('vigil') / 'vigil.db'}"


def resolve_url(db: str | None) -> str:
    """A database URL from ``--db``, ``VIGIL_DB`` or the per-user default.

    A plain path means an SQLite file at that path.
    """
    value = db or os.environ.get(ENV_VAR) or default_url()
    if "://" not in value:
        value = f"sqlite:///{Path(value).expanduser().resolve()}"
    return value


def make_engine(url: str, serialized: bool = False) -> Engine:
    """An engine for the store. With ``serialized``, every SQLite transaction
    takes the write lock when it begins (``BEGIN IMMEDIATE``), so that a
    read-then-write such as appending to a hash chain cannot interleave with
    another process's (PostgreSQL callers take an advisory lock instead)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        if serialized:
            event.listen(engine, "connect", _sqlite_manual_transactions)
            event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_manual_transactions(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
    dbapi_connection.isolation_level = None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers go on while an import writes; foreign keys are off by
    # default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()

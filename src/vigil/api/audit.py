"""The audit trail: an append-only, hash-chained record of every screening request.

Each record's hash is SHA-256 over its sequence number, the previous record's
hash and its own canonical JSON. Changing, removing or reordering any stored
record breaks the chain from that point, which ``verify`` finds. (Removing the
newest records leaves a shorter valid chain: keep the head hash that ``verify``
prints somewhere else to detect that too.)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text

from vigil.api.tables import audit_log
from vigil.store.store import as_utc

GENESIS = "0" * 64
QUERY_MODES = ("full", "hash")


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def chain_hash(seq: int, prev_hash: str, record: str) -> str:
    return hashlib.sha256(f"{seq}\n{prev_hash}\n{record}".encode()).hexdigest()


def query_digest(query: dict[str, Any]) -> str:
    """What is kept of a query when the trail must not hold names: its SHA-256."""
    return hashlib.sha256(canonical(query).encode()).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    recorded_at: datetime
    key_id: int | None
    action: str
    record: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "recorded_at": self.recorded_at.isoformat(),
            "key_id": self.key_id,
            "action": self.action,
            "record": self.record,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class Verification:
    records: int
    head: str  # hash of the newest record (GENESIS when empty)
    broken_at: int | None = None  # sequence number of the first bad record
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


class AuditTrail:
    """The audit records stored in one database."""

    def __init__(self, engine: Engine, queries: str = "full") -> None:
        if queries not in QUERY_MODES:
            raise ValueError(f"audit query mode {queries!r}: one of {', '.join(QUERY_MODES)}")
        self.engine = engine
        self.queries = queries
        self._lock = threading.Lock()
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self._lock_file = Path(database + ".audit-lock") if database and database != ":memory:" else None

    def record_queries(self, queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Queries as the trail keeps them: whole, or id and hash only."""
        if self.queries == "full":
            return queries
        return [{"id": q.get("id"), "sha256": query_digest(q)} for q in queries]

    def append(self, action: str, key_id: int | None, record: dict[str, Any]) -> AuditRecord:
        """Add a record at the end of the chain."""
        return self.append_many([(action, key_id, record)])[0]

    def append_many(self, items: list[tuple[str, int | None, dict[str, Any]]]) -> list[AuditRecord]:
        """Add (action, key id, record) items at the end of the chain, in one
        transaction, serialised across threads and processes."""
        written = []
        with self._turn(), self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('vigil_audit_log'))"))
            last = conn.execute(select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)).first()
            seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
            rows = []
            for action, key_id, record in items:
                now = datetime.now(UTC)
                content = {"action": action, "key_id": key_id, "recorded_at": now.isoformat(), **record}
                body = canonical(content)
                seq += 1
                digest = chain_hash(seq, prev, body)
                rows.append({"seq": seq, "recorded_at": now, "key_id": key_id, "action": action, "record": body,
                             "prev_hash": prev, "hash": digest})
                written.append(AuditRecord(seq, now, key_id, action, content, prev, digest))
                prev = digest
            conn.execute(insert(audit_log), rows)
        return written

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """One writer at a time: a lock between this process's threads, and for
        SQLite a file lock between processes. (SQLite's own busy handler would
        also serialise writers, but by sleeping and retrying: slow under load.)"""
        with self._lock:
            if self._lock_file is None:
                yield
                return
            with self._lock_file.open("a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def records(
        self,
        after: int = 0,
        limit: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        key_id: int | None = None,
    ) -> Iterator[AuditRecord]:
        """Records in order, after sequence number ``after``, optionally filtered."""
        query = select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq)
        if since:
            query = query.where(audit_log.c.recorded_at >= since)
        if until:
            query = query.where(audit_log.c.recorded_at < until)
        if key_id is not None:
            query = query.where(audit_log.c.key_id == key_id)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                yield AuditRecord(
                    seq=row.seq, recorded_at=as_utc(row.recorded_at), key_id=row.key_id, action=row.action,
                    record=json.loads(row.record), prev_hash=row.prev_hash, hash=row.hash,
                )

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(audit_log)).scalar_one()

    def verify(self) -> Verification:
        """Recompute the whole chain; name the first record that does not fit."""
        prev, expected, count = GENESIS, 1, 0
        with self.engine.connect() as conn:
            rows = conn.execution_options(stream_results=True).execute(select(audit_log).order_by(audit_log.c.seq))
            for row in rows:
                if row.seq != expected:
                    return Verification(count, prev, expected, f"record {expected} is missing (next is {row.seq})")
                if row.prev_hash != prev:
                    return Verification(count, prev, row.seq, f"record {row.seq} does not follow record {row.seq - 1}")
                stored = json.loads(row.record)
                columns = (row.action, row.key_id, as_utc(row.recorded_at).isoformat())
                if (stored.get("action"), stored.get("key_id"), stored.get("recorded_at")) != columns:
                    return Verification(count, prev, row.seq, f"record {row.seq}: action, key or time differs from its hashed content")
                if chain_hash(row.seq, row.prev_hash, row.record) != row.hash:
                    return Verification(count, prev, row.seq, f"record {row.seq} was changed after it was written")
                prev, expected, count = row.hash, expected + 1, count + 1
        return Verification(count, prev)


class AuditWriter:
    """Group commit: request threads hand their records to one writer thread,
    which appends whatever has queued up meanwhile in one transaction and then
    tells each request that its record is stored. Under load this turns many
    small transactions, each waiting for the write lock, into a few larger ones."""

    BATCH = 500

    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="vigil-audit-writer", daemon=True)
        self._thread.start()

    def submit(self, action: str, key_id: int | None, record: dict[str, Any]) -> Future[AuditRecord]:
        """Queue a record; the future completes once it is committed."""
        done: Future[AuditRecord] = Future()
        self._queue.put((action, key_id, record, done))
        return done

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            batch = [item]
            while len(batch) < self.BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(more)
            try:
                records = self.trail.append_many([(action, key_id, record) for action, key_id, record, _ in batch])
            except Exception as error:  # the requests fail: no screening goes unrecorded
                for *_, done in batch:
                    done.set_exception(error)
                continue
            for (*_, done), written in zip(batch, records):
                done.set_result(written)

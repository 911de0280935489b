"""What a running service holds: the store, the live screener, keys, the audit trail, the exchange."""

from __future__ import annotations

import os
from datetime import timedelta
from dataclasses import dataclass

from fastapi import Request

from vigil.api.audit import AuditTrail, AuditWriter
from vigil.api.exchange import NodeExchange
from vigil.api.keys import KeyRing
from vigil.api.live import LiveScreener
from vigil.api.tables import metadata
from vigil.store import Store, resolve_url

MIB = 1 << 20


@dataclass(frozen=True)
class Settings:
    """Service settings; ``from_env`` reads them from VIGIL_* variables, so that
    every worker process of `vigil serve` starts the same."""

    db: str
    audit_queries: str = "full"  # "hash": the trail keeps a SHA-256 of each query, not its names
    max_body: int = 2 * MIB  # JSON requests
    max_upload: int = 512 * MIB  # list files uploaded for import
    max_inbox: int = 64 * MIB  # envelopes delivered by a partner node in one request
    poll_seconds: float = 2.0  # how often each worker looks for new list versions
    delivery_seconds: float = 15.0  # how often messages waiting for offline partners are retried
    ping_hours: float = 24.0  # how often partners with an agreement are pinged (0: never)
    relay: bool = False  # hold envelopes partners hand over for other partners, until they collect them

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            db=resolve_url(env.get("VIGIL_DB")),
            audit_queries=env.get("VIGIL_AUDIT_QUERIES", "full"),
            max_body=int(env.get("VIGIL_MAX_BODY", 2 * MIB)),
            max_upload=int(env.get("VIGIL_MAX_UPLOAD", 512 * MIB)),
            max_inbox=int(env.get("VIGIL_MAX_INBOX", 64 * MIB)),
            poll_seconds=float(env.get("VIGIL_POLL_SECONDS", 2.0)),
            delivery_seconds=float(env.get("VIGIL_DELIVERY_SECONDS", 15.0)),
            ping_hours=float(env.get("VIGIL_PING_HOURS", 24.0)),
            relay=env.get("VIGIL_RELAY", "") in ("1", "true", "yes"),
        )


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.db)
        metadata.create_all(self.store.engine)
        self.keys = KeyRing(self.store.engine, cache_seconds=2.0)
        # Audit records are written through the store's serialised writer engine.
        self.audit = AuditTrail(self.store.writer, settings.audit_queries)
        self.audit_writer = AuditWriter(self.audit)
        self.live = LiveScreener(self.store, settings.poll_seconds)
        ping_every = timedelta(hours=settings.ping_hours) if settings.ping_hours > 0 else None
        self.exchange = NodeExchange(self.store.writer, settings.delivery_seconds, ping_every, settings.relay)

    def start(self) -> None:
        self.live.start()
        self.exchange.start()

    def stop(self) -> None:
        self.exchange.stop()
        self.live.stop()
        self.audit_writer.close()
        self.store.close()


async def service(request: Request) -> Service:
    """FastAPI dependency: the running service (async: no thread hop to get it)."""
    return request.app.state.service

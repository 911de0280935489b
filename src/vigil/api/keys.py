"""API keys: random secrets shown once, stored only as SHA-256 hashes, each with a role."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from vigil.api.tables import api_keys
from vigil.store.store import as_utc

# What each role may do. Reading lists and entries is open to every role;
# screening to screeners; the audit trail to auditors; the partner exchange to
# liaison officers; imports and keys to admins.
PERMISSIONS: dict[str, frozenset[str]] = {
    "screener": frozenset({"read", "match"}),
    "auditor": frozenset({"read", "audit"}),
    "liaison": frozenset({"read", "exchange"}),
    "admin": frozenset({"read", "match", "audit", "exchange", "admin"}),
}
ROLES = tuple(PERMISSIONS)
PREFIX = "vgl_"


class KeyRingError(LookupError):
    """A key that does not exist or a role that is not known."""


@dataclass(frozen=True)
class ApiKey:
    id: int
    prefix: str
    role: str
    label: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def may(self, permission: str) -> bool:
        return self.active and permission in PERMISSIONS[self.role]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "prefix": self.prefix,
            "role": self.role,
            "label": self.label,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def hash_key(secret: str) -> str:
    # Keys are 256-bit random secrets, so a plain hash cannot be reversed by guessing.
    return hashlib.sha256(secret.encode()).hexdigest()


def _key(row: Any) -> ApiKey:
    values = row._mapping
    return ApiKey(
        id=values["id"],
        prefix=values["prefix"],
        role=values["role"],
        label=values["label"],
        created_at=as_utc(values["created_at"]),
        revoked_at=as_utc(values["revoked_at"]) if values["revoked_at"] else None,
    )


class KeyRing:
    """The API keys stored in one database."""

    def __init__(self, engine: Engine, cache_seconds: float = 0.0) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._known: dict[str, tuple[ApiKey | None, float]] = {}

    def create(self, role: str, label: str = "") -> tuple[ApiKey, str]:
        """A new key of ``role``: its record and the secret (shown only now)."""
        if role not in PERMISSIONS:
            raise KeyRingError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
        secret = PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            key_id = conn.execute(
                insert(api_keys).values(
                    key_hash=hash_key(secret),
                    prefix=secret[: len(PREFIX) + 6],
                    role=role,
                    label=label,
                    created_at=datetime.now(UTC),
                )
            ).inserted_primary_key[0]
        return self.get(key_id), secret

    def get(self, key_id: int) -> ApiKey:
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        if row is None:
            raise KeyRingError(f"no API key with id {key_id}; see `vigil keys list`")
        return _key(row)

    def list(self) -> list[ApiKey]:
        with self.engine.connect() as conn:
            return [_key(row) for row in conn.execute(select(api_keys).order_by(api_keys.c.id))]

    def revoke(self, key_id: int) -> ApiKey:
        key = self.get(key_id)
        if key.active:
            with self.engine.begin() as conn:
                conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=datetime.now(UTC)))
        self._known.clear()
        return self.get(key_id)

    def authenticate(self, secret: str) -> ApiKey | None:
        """The active key with this secret, or None. Answers are remembered for
        ``cache_seconds``: a key revoked elsewhere stops working within that time."""
        if not secret.startswith(PREFIX):
            return None
        digest = hash_key(secret)
        now = time.monotonic()
        known = self._known.get(digest)
        if known and now - known[1] < self.cache_seconds:
            return known[0]
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_hash == digest)).first()
        key = _key(row) if row and row.revoked_at is None else None
        if len(self._known) > 10_000:  # unknown secrets must not grow it without end
            self._known.clear()
        self._known[digest] = (key, now)
        return key

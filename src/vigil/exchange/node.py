"""A node is its database: its own keys (sealed with a passphrase) and the
partners it has added."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from vigil.exchange.identity import IdentityError, NodeKeys, PublicIdentity
from vigil.exchange.tables import metadata, node_keys, partners
from vigil.store.store import as_utc

MIN_PASSPHRASE = 8


class NodeError(LookupError):
    """A node or partner operation that cannot be done as asked, named."""


@dataclass(frozen=True)
class Partner:
    id: int
    identity: PublicIdentity
    address: str | None  # https://host:port of its node, for delivery over HTTPS
    relay: str | None  # the partner (a relay) through which it is reached instead
    added_at: datetime
    revoked_at: datetime | None

    @property
    def name(self) -> str:
        return self.identity.name

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "fingerprint": self.identity.fingerprint,
            "signing_key": self.identity.signing_public,
            "encryption_key": self.identity.encryption_public,
            "address": self.address,
            "relay": self.relay,
            "added_at": self.added_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def _partner(row: Any) -> Partner:
    identity = PublicIdentity(row.name, row.signing_public, row.encryption_public)
    return Partner(row.id, identity, row.address, row.relay, as_utc(row.added_at), as_utc(row.revoked_at) if row.revoked_at else None)


class Node:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    # -- this node -------------------------------------------------------------

    def init(self, passphrase: str, name: str | None = None) -> PublicIdentity:
        """Create the node's keys; a node that has them keeps them."""
        if len(passphrase) < MIN_PASSPHRASE:
            raise NodeError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
        if self._row() is not None:
            raise NodeError("this database already holds a node; `vigil node id` shows it")
        keys = NodeKeys.generate(name or socket.gethostname())
        signing, encryption = keys.sealed(passphrase)
        public = keys.public
        with self.engine.begin() as conn:
            conn.execute(insert(node_keys).values(
                id=1, name=public.name, signing_private=signing, encryption_private=encryption,
                signing_public=public.signing_public, encryption_public=public.encryption_public,
                created_at=datetime.now(UTC),
            ))
        return public

    def identity(self) -> PublicIdentity:
        row = self._required()
        return PublicIdentity(row.name, row.signing_public, row.encryption_public)

    def keys(self, passphrase: str) -> NodeKeys:
        """The private keys, opened with the passphrase."""
        row = self._required()
        return NodeKeys.unseal(row.name, row.signing_private, row.encryption_private, passphrase)

    def _row(self) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(select(node_keys)).first()

    def _required(self) -> Any:
        row = self._row()
        if row is None:
            raise NodeError("this database holds no node yet: `vigil node init`")
        return row

    # -- partners ----------------------------------------------------------------

    def add_partner(
        self, identity: PublicIdentity, name: str | None = None, fingerprint: str | None = None, address: str | None = None
    ) -> Partner:
        """Add a partner from its identity document, under ``name`` (default:
        the name it gives itself). With ``fingerprint``, the document must
        carry exactly that one (as read out by the partner)."""
        address = _checked_address(address) if address else None
        if fingerprint is not None and _compact(fingerprint) != _compact(identity.fingerprint):
            raise IdentityError(f"the identity's fingerprint is {identity.fingerprint}, not the one given")
        if identity.signing_public == self.identity().signing_public:
            raise NodeError("that identity is this node's own")
        identity = PublicIdentity(name or identity.name, identity.signing_public, identity.encryption_public)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(partners).values(
                    name=identity.name, signing_public=identity.signing_public,
                    encryption_public=identity.encryption_public, fingerprint=identity.fingerprint,
                    address=address, added_at=datetime.now(UTC),
                ))
        except IntegrityError:
            raise NodeError(f"a partner named {identity.name!r} or with these keys is already added; "
                            "`vigil partner list`") from None
        return self.partner(identity.name)

    def partners(self) -> list[Partner]:
        with self.engine.connect() as conn:
            return [_partner(row) for row in conn.execute(select(partners).order_by(partners.c.name))]

    def partner(self, name: str) -> Partner:
        with self.engine.connect() as conn:
            row = conn.execute(select(partners).where(partners.c.name == name)).first()
        if row is None:
            known = ", ".join(p.name for p in self.partners()) or "none"
            raise NodeError(f"no partner named {name!r} (partners: {known})")
        return _partner(row)

    def partner_by_key(self, signing_public: str) -> Partner | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(partners).where(partners.c.signing_public == signing_public)).first()
        return _partner(row) if row else None

    def set_address(self, name: str, address: str) -> Partner:
        """Where the partner's node receives messages over HTTPS."""
        partner = self.partner(name)
        with self.engine.begin() as conn:
            conn.execute(update(partners).where(partners.c.id == partner.id).values(address=_checked_address(address)))
        return self.partner(name)

    def set_relay(self, name: str, relay: str | None) -> Partner:
        """Reach a partner through another partner's relay (None: directly)."""
        partner = self.partner(name)
        if relay is not None and (relay == name or self.partner(relay).relay):
            raise NodeError(f"{relay!r} cannot carry messages for {name!r}: a relay is reached directly")
        with self.engine.begin() as conn:
            conn.execute(update(partners).where(partners.c.id == partner.id).values(relay=relay))
        return self.partner(name)

    def revoke_partner(self, name: str) -> Partner:
        """Stop trusting a partner: nothing more is sent to it or accepted from it."""
        partner = self.partner(name)
        if partner.active:
            with self.engine.begin() as conn:
                conn.execute(update(partners).where(partners.c.id == partner.id).values(revoked_at=datetime.now(UTC)))
        return self.partner(name)


def _checked_address(address: str) -> str:
    parsed = urlsplit(address)
    if parsed.scheme not in ("https", "http") or not parsed.hostname or parsed.path not in ("", "/") or parsed.query:
        raise NodeError(f"{address!r} is not a node address (https://host[:port])")
    return address.rstrip("/")


def _compact(fingerprint: str) -> str:
    return "".join(fingerprint.split()).lower()

"""A node's identity: an Ed25519 key that signs and an X25519 key that
receives encrypted messages, and the fingerprint partners compare out of band.

The public identity travels as a small JSON document (``vigil node id``); a
partner adds it with ``vigil partner add`` after reading the fingerprint back
to its owner over another channel (a phone call, a meeting).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey,
    X25519PublicKey,
)

FORMAT = "vigil-node-identity/1"


class IdentityError(ValueError):
    """An identity document or key that cannot be used, named."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _raw(public_key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(signing_public: str, encryption_public: str) -> str:
    """SHA-256 over both public keys, as 16 groups of four hex digits: what
    two agencies read to each other to be sure an identity is the other's."""
    digest = hashlib.sha256(f"{FORMAT}\n{signing_public}\n{encryption_public}".encode()).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


@dataclass(frozen=True)
class PublicIdentity:
    name: str
    signing_public: str  # base64, raw Ed25519
    encryption_public: str  # base64, raw X25519

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.signing_public, self.encryption_public)

    def verifier(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(self.signing_public))

    def signed(self, signature: str, data: bytes) -> bool:
        """Whether ``signature`` (base64) is this identity's Ed25519 signature over ``data``."""
        try:
            self.verifier().verify(base64.b64decode(signature, validate=True), data)
            return True
        except (InvalidSignature, ValueError):
            return False

    def recipient_key(self) -> X25519PublicKey:
        return X25519PublicKey.from_public_bytes(base64.b64decode(self.encryption_public))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "name": self.name,
            "signing_key": self.signing_public,
            "encryption_key": self.encryption_public,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_json(cls, text: str, source: str = "identity") -> PublicIdentity:
        """Read an identity document, checking its keys and its fingerprint."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise IdentityError(f"{source}: not JSON ({error.msg}, line {error.lineno})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise IdentityError(f"{source}: not a Vigil node identity (format {FORMAT!r} expected)")
        for field in ("name", "signing_key", "encryption_key", "fingerprint"):
            if not isinstance(data.get(field), str) or not data[field]:
                raise IdentityError(f"{source}: the field {field!r} is missing or not text")
        identity = cls(data["name"], data["signing_key"], data["encryption_key"])
        try:
            identity.verifier()
            identity.recipient_key()
        except ValueError as error:  # also binascii.Error: wrong base64
            raise IdentityError(f"{source}: a key is not a valid 32-byte key ({error})") from None
        if identity.fingerprint != data["fingerprint"]:
            raise IdentityError(f"{source}: the fingerprint does not match the keys (altered document?)")
        return identity


@dataclass(frozen=True)
class NodeKeys:
    """The node's private keys, in memory only once the passphrase opened them."""

    name: str
    signing: Ed25519PrivateKey
    encryption: X25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> NodeKeys:
        return cls(name, Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    @property
    def public(self) -> PublicIdentity:
        return PublicIdentity(self.name, _b64(_raw(self.signing.public_key())), _b64(_raw(self.encryption.public_key())))

    def sealed(self, passphrase: str) -> tuple[bytes, bytes]:
        """Both private keys as PKCS#8, encrypted with the passphrase."""
        encryption = serialization.BestAvailableEncryption(passphrase.encode())
        return tuple(  # type: ignore[return-value]
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
            for key in (self.signing, self.encryption)
        )

    @classmethod
    def unseal(cls, name: str, signing: bytes, encryption: bytes, passphrase: str) -> NodeKeys:
        try:
            keys = [serialization.load_pem_private_key(blob, passphrase.encode()) for blob in (signing, encryption)]
        except ValueError:
            raise IdentityError("the passphrase does not open this node's keys") from None
        if not isinstance(keys[0], Ed25519PrivateKey) or not isinstance(keys[1], X25519PrivateKey):
            raise IdentityError("the node's stored keys are not Ed25519 and X25519 keys")
        return cls(name, keys[0], keys[1])

"""Messages between nodes: signed by the sender, encrypted to each recipient.

The body is encrypted once with a fresh content key (ChaCha20-Poly1305); the
content key is sealed to each recipient's X25519 key with HPKE (RFC 9180,
base mode, X25519 / HKDF-SHA256 / ChaCha20-Poly1305). The header names the
sender, the recipients, the time, the handling marking (TLP 2.0 and a free
classification label), the type and the SHA-256 of the encrypted body; the
sender signs its canonical encoding with Ed25519. The header is bound into
both encryptions, so a message cannot be re-addressed, re-marked or given
another body without every recipient noticing. The digest is taken over the
ciphertext, so the signed header reveals nothing of the plaintext.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from vigil.exchange.identity import NodeKeys, PublicIdentity

FORMAT = "vigil-envelope/1"
TLP = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
MAX_BODY = 16 << 20  # bytes of plaintext
MAX_ENCODED_BODY = (MAX_BODY + 64) * 4 // 3 + 4  # its base64, with nonce and tag
MAX_RECIPIENTS = 64
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
NONCE = 12


class EnvelopeError(ValueError):
    """An envelope that is malformed, forged, altered or not for this node."""


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: Any, field: str) -> bytes:
    if not isinstance(text, str):
        raise EnvelopeError(f"{field}: not base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError(f"{field}: not valid base64") from None


@dataclass(frozen=True)
class Header:
    id: str
    sender: str  # the sender's signing key, base64
    recipients: tuple[str, ...]  # the recipients' signing keys, base64
    created: str  # ISO 8601, UTC
    tlp: str
    label: str  # a free classification label, e.g. "RESTRICTED"
    type: str
    body_sha256: str  # of nonce and ciphertext
    in_reply_to: str  # the id of the message this one answers, "" if none

    def sealed_part(self) -> bytes:
        """Everything but the body digest: what the body encryption is bound to."""
        data = asdict(self)
        del data["body_sha256"]
        return canonical({"format": FORMAT, **data})

    def signed_part(self) -> bytes:
        return canonical({"format": FORMAT, **asdict(self)})


@dataclass(frozen=True)
class Envelope:
    header: Header
    signature: str  # base64 Ed25519 over header.signed_part()
    keys: dict[str, str]  # recipient signing key -> base64 HPKE-sealed content key
    body: str  # base64 nonce + ciphertext

    def to_dict(self) -> dict[str, Any]:
        header = {**asdict(self.header), "recipients": list(self.header.recipients)}  # as JSON has it
        return {"format": FORMAT, "header": header, "signature": self.signature, "keys": self.keys, "body": self.body}

    @classmethod
    def from_dict(cls, data: Any) -> Envelope:
        """Check an envelope's shape (not yet its signature: see ``verify``)."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise EnvelopeError(f"not a Vigil envelope (format {FORMAT!r} expected)")
        header = data.get("header")
        if not isinstance(header, dict) or set(header) != set(Header.__dataclass_fields__):
            raise EnvelopeError("header: missing or unexpected fields")
        for name, value in header.items():
            if name == "recipients":
                if not isinstance(value, list) or not value or len(value) > MAX_RECIPIENTS or not all(isinstance(v, str) for v in value):
                    raise EnvelopeError(f"header.recipients: 1 to {MAX_RECIPIENTS} keys expected")
            elif not isinstance(value, str):
                raise EnvelopeError(f"header.{name}: text expected")
        if header["tlp"] not in TLP:
            raise EnvelopeError(f"header.tlp: {header['tlp']!r} is not a TLP 2.0 marking ({', '.join(TLP)})")
        body = data.get("body")
        if not isinstance(body, str) or len(body) > MAX_ENCODED_BODY:
            raise EnvelopeError(f"body: missing or oversized (at most {MAX_BODY:,} bytes of content)")
        keys = data.get("keys")
        if not isinstance(keys, dict) or set(keys) != set(header["recipients"]):
            raise EnvelopeError("keys: one sealed key per recipient expected")
        return cls(Header(**{**header, "recipients": tuple(header["recipients"])}), data.get("signature"), keys, body)

    def verify(self, sender: PublicIdentity) -> None:
        """The sender's signature over the header, and the body's digest."""
        if sender.signing_public != self.header.sender:
            raise EnvelopeError("the envelope names another sender")
        try:
            sender.verifier().verify(_unb64(self.signature, "signature"), self.header.signed_part())
        except InvalidSignature:
            raise EnvelopeError(f"the signature is not {sender.name!r}'s: the envelope was forged or altered") from None
        if hashlib.sha256(_unb64(self.body, "body")).hexdigest() != self.header.body_sha256:
            raise EnvelopeError("the body does not match the signed digest: altered in transit")


def seal(
    keys: NodeKeys, recipients: list[PublicIdentity], type: str, body: bytes, tlp: str, label: str = "", in_reply_to: str = ""
) -> Envelope:
    """A signed envelope holding ``body``, readable only by ``recipients``."""
    if tlp not in TLP:
        raise EnvelopeError(f"{tlp!r} is not a TLP 2.0 marking ({', '.join(TLP)})")
    if not recipients or len(recipients) > MAX_RECIPIENTS:
        raise EnvelopeError(f"1 to {MAX_RECIPIENTS} recipients expected")
    if len(body) > MAX_BODY:
        raise EnvelopeError(f"the body is {len(body):,} bytes (at most {MAX_BODY:,})")
    draft = Header(
        id=str(uuid.uuid4()), sender=keys.public.signing_public,
        recipients=tuple(r.signing_public for r in recipients),
        created=datetime.now(UTC).isoformat(timespec="microseconds"), tlp=tlp, label=label, type=type, body_sha256="",
        in_reply_to=in_reply_to,
    )
    content_key, nonce = ChaCha20Poly1305.generate_key(), os.urandom(NONCE)
    encrypted = nonce + ChaCha20Poly1305(content_key).encrypt(nonce, body, draft.sealed_part())
    header = Header(**{**asdict(draft), "body_sha256": hashlib.sha256(encrypted).hexdigest()})
    sealed = {
        r.signing_public: _b64(SUITE.encrypt(content_key, r.recipient_key(), info=header.signed_part())) for r in recipients
    }
    return Envelope(header, _b64(keys.signing.sign(header.signed_part())), sealed, _b64(encrypted))


def open_envelope(envelope: Envelope, keys: NodeKeys, sender: PublicIdentity) -> bytes:
    """The body, for a recipient: signature, digest and both encryptions checked."""
    envelope.verify(sender)
    mine = keys.public.signing_public
    if mine not in envelope.header.recipients:
        raise EnvelopeError("the envelope is not addressed to this node")
    try:
        content_key = SUITE.decrypt(_unb64(envelope.keys[mine], f"keys[{mine}]"), keys.encryption, info=envelope.header.signed_part())
        encrypted = _unb64(envelope.body, "body")
        return ChaCha20Poly1305(content_key).decrypt(encrypted[:NONCE], encrypted[NONCE:], envelope.header.sealed_part())
    except (InvalidTag, ValueError):
        raise EnvelopeError("the envelope cannot be decrypted with this node's key: altered or sealed for another key") from None

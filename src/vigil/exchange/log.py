"""The node's append-only Merkle log of messages (RFC 9162) and the tree heads
it signs: what receipts and partners' countersignatures will rest on."""

from __future__ import annotations

import base64
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text

from vigil.exchange import merkle
from vigil.exchange.envelope import canonical
from vigil.exchange.identity import NodeKeys, PublicIdentity
from vigil.exchange.tables import log_leaves, tree_heads

FORMAT = "vigil-tree-head/1"


def leaf_data(direction: str, envelope: str) -> bytes:
    """What a leaf covers: the direction and the envelope exactly as kept."""
    return f"{direction}\n{envelope}".encode()


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: str  # hex
    signed_at: str
    signature: str  # base64 Ed25519

    def signed_part(self) -> bytes:
        return canonical({"format": FORMAT, "size": self.size, "root": self.root, "signed_at": self.signed_at})

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "root": self.root, "signed_at": self.signed_at, "signature": self.signature}

    def signed_by(self, identity: PublicIdentity) -> bool:
        return identity.signed(self.signature, self.signed_part())


def sign_tree_head(keys: NodeKeys, size: int, root: str) -> TreeHead:
    draft = TreeHead(size, root, datetime.now(UTC).isoformat(), "")
    return TreeHead(size, root, draft.signed_at, base64.b64encode(keys.signing.sign(draft.signed_part())).decode())


def _lock(conn: Connection) -> None:
    """Hold the log against other processes until the transaction ends (the
    SQLite engines of a node take the write lock as a transaction begins)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('vigil_exchange_log'))"))


class MessageLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def append(conn: Connection, message_id: str, data: bytes) -> int:
        """Add a leaf inside the caller's transaction (the message and its leaf
        are stored together or not at all); two processes never claim one position."""
        _lock(conn)
        position = conn.execute(select(func.count()).select_from(log_leaves)).scalar_one()
        conn.execute(insert(log_leaves).values(position=position, message_id=message_id, leaf=merkle.leaf_hash(data).hex()))
        return position

    def leaves(self, conn: Connection | None = None) -> list[tuple[str, bytes]]:
        """(message id, leaf hash), in log order (inside ``conn``'s transaction if given)."""
        with nullcontext(conn) if conn is not None else self.engine.connect() as c:
            rows = c.execute(select(log_leaves).order_by(log_leaves.c.position))
            return [(row.message_id, bytes.fromhex(row.leaf)) for row in rows]

    def sign_head(self, keys: NodeKeys, conn: Connection | None = None, leaves: list[bytes] | None = None) -> TreeHead:
        """Sign the log's current size and root (inside ``conn``'s transaction,
        whose ``leaves`` the caller may have read already, if given)."""
        with nullcontext(conn) if conn is not None else self.engine.begin() as c:
            _lock(c)
            if leaves is None:
                leaves = [leaf for _, leaf in self.leaves(c)]
            head = sign_tree_head(keys, len(leaves), merkle.root(leaves).hex())
            if c.execute(select(tree_heads.c.size).where(tree_heads.c.size == head.size)).first() is None:
                c.execute(insert(tree_heads).values(**head.to_dict()))
        return head

    def heads(self) -> list[TreeHead]:
        with self.engine.connect() as conn:
            return [TreeHead(r.size, r.root, r.signed_at, r.signature) for r in conn.execute(select(tree_heads).order_by(tree_heads.c.size))]

    def verify(self, identity: PublicIdentity, expected: dict[str, bytes]) -> list[str]:
        """The log against the messages kept (``expected``: message id -> leaf
        data) and every signed tree head against the log: the problems found."""
        problems = []
        logged = self.leaves()
        for position, (message_id, leaf) in enumerate(logged):
            data = expected.get(message_id)
            if data is None:
                problems.append(f"log entry {position}: message {message_id} is no longer kept")
            elif merkle.leaf_hash(data) != leaf:
                problems.append(f"log entry {position}: message {message_id} differs from what was logged")
        if missing := set(expected) - {message_id for message_id, _ in logged}:
            problems.append(f"{len(missing)} kept messages are not in the log: {', '.join(sorted(missing)[:3])}")
        leaves = [leaf for _, leaf in logged]
        for head in self.heads():
            if not head.signed_by(identity):
                problems.append(f"tree head of size {head.size}: the signature is not this node's")
                continue
            if head.size > len(leaves) or merkle.root(leaves[: head.size]).hex() != head.root:
                problems.append(f"tree head of size {head.size}: the log no longer has that root (history rewritten)")
        return problems

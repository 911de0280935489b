"""Every message type a node understands, and what it does on receipt."""

from __future__ import annotations

from sqlalchemy import Connection

from vigil.cooperation import incidents, pings, proposal_messages
from vigil.exchange import bodies, receipts
from vigil.exchange.mailbox import Handler, Received, Reply


def _checked_body(_: Connection, received: Received) -> list[Reply]:
    """Information for people to read: kept once its body is valid for its type."""
    bodies.validate(received.message.type, received.body, received.message.tlp)
    if received.message.type == "rfi-answer" and bodies.answered_request(received.body) != received.message.in_reply_to:
        raise ValueError("the answer names another request than the message it replies to")
    return []


def all_handlers() -> dict[str, Handler]:
    """Each type's handler; every message but a receipt is answered with one."""
    receipted: dict[str, Handler] = {
        **{type: _checked_body for type in bodies.TYPES},
        **proposal_messages.handlers(),
        **incidents.handlers(),
        **pings.handlers(),
    }
    return {**{type: receipts.with_receipt(handler) for type, handler in receipted.items()}, **receipts.handlers()}

"""Answering and passing on what a node received, within its marking.

TLP 2.0 decides whether a received message may go to a third partner:
CLEAR and GREEN may; AMBER and AMBER+STRICT stay within the recipient's own
organisation (and, for AMBER, its clients), so not with another agency; RED
is for the named recipients only and never leaves the node that received it.
"""

from __future__ import annotations

from vigil.exchange import bodies
from vigil.exchange.envelope import Envelope
from vigil.exchange.identity import NodeKeys
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.node import NodeError

FORWARDABLE = ("CLEAR", "GREEN")


class SharingError(NodeError):
    """Passing on that the message's marking does not allow."""


def reply(mailbox: Mailbox, keys: NodeKeys, message_id: str, content: bytes, tlp: str | None = None) -> Envelope:
    """Answer a received message to its sender, marked as it was unless ``tlp``
    says otherwise: ``content`` as for sending (an rfi's answer may be plain text)."""
    message, envelope = mailbox.envelope(message_id)
    if message.direction != "in":
        raise NodeError(f"message {message_id} was sent by this node: answer the messages it received")
    marking = (tlp or message.tlp).upper()
    if message.type == "rfi":
        type, body = "rfi-answer", bodies.prepare_answer(message_id, content, marking)
    else:
        type, body = message.type, bodies.prepare(message.type, content, marking)
    return mailbox.send(keys, [message.partner], type, body, marking, envelope.header.label, in_reply_to=message_id)


def forward(mailbox: Mailbox, keys: NodeKeys, message_id: str, to: list[str]) -> Envelope:
    """Pass a received message on to other partners, if its marking allows."""
    message, envelope, body = mailbox.read(message_id, keys)
    if message.tlp == "RED":
        raise SharingError(f"message {message_id} is TLP:RED: it is for its named recipients only and never leaves this node")
    if message.tlp not in FORWARDABLE:
        raise SharingError(f"message {message_id} is TLP:{message.tlp}: it may be shared only within this organisation"
                           f"{' and its clients' if message.tlp == 'AMBER' else ''}, not with another agency")
    if message.partner in to:
        raise SharingError(f"{message.partner} sent message {message_id}; it already has it")
    return mailbox.send(keys, to, message.type, body, message.tlp, envelope.header.label)

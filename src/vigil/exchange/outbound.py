"""Sent messages on their way: carried in an offline bundle, or delivered
over HTTPS to the partner's node (see ``transport``)."""

from __future__ import annotations

from pathlib import Path

from vigil.exchange.bundle import write_bundle
from vigil.exchange.envelope import Envelope
from vigil.exchange.identity import NodeKeys
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.queue import claim, mark_delivered, recipients
from vigil.exchange.transport import deliver_pending


def export_bundle(mailbox: Mailbox, partner: str, path: Path) -> int:
    """Write every envelope waiting for ``partner`` to a bundle file and count
    them as delivered by it; the number written."""
    envelopes = claim(mailbox, partner)
    if envelopes:
        write_bundle(path, envelopes)
        mark_delivered(mailbox, [e.header.id for e in envelopes], partner, f"bundle {path}")
    return len(envelopes)


def dispatch(mailbox: Mailbox, keys: NodeKeys, envelope: Envelope, bundle: Path | None) -> str:
    """Send a newly sealed message on its way: into ``bundle`` (with anything
    else waiting for its one recipient), else over HTTPS. What happened, in words."""
    partners = recipients(mailbox, envelope.header.id)
    if bundle is None:
        return deliver_pending(mailbox, keys, partners)
    waiting = claim(mailbox, partners[0]) if len(partners) == 1 else [envelope]
    write_bundle(bundle, waiting)
    for partner in partners:
        mark_delivered(mailbox, [e.header.id for e in waiting], partner, f"bundle {bundle}")
    extra = f" with {len(waiting) - 1} other messages waiting for {partners[0]}" if len(waiting) > 1 else ""
    return f"written to {bundle}{extra}; carry it to {', '.join(partners)}"

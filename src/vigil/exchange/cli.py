"""The `vigil node`, `vigil partner` and `vigil exchange` commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from vigil import views
from vigil.console import JsonOption, err, open_store, out, passphrase, print_items
from vigil.exchange.bundle import read_bundle, write_bundle
from vigil.exchange.envelope import EnvelopeError
from vigil.exchange.identity import PublicIdentity
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.node import Node

node_app = typer.Typer(help="This node's identity for the partner exchange.", no_args_is_help=True)
partner_app = typer.Typer(help="Partner nodes: add (after checking fingerprints), list, revoke.", no_args_is_help=True)


def _node(ctx: typer.Context) -> Node:
    return Node(open_store(ctx).engine)


@node_app.command("init")
def node_init(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="The name partners will know this node by (default: the host name).")] = None,
) -> None:
    """Create this node's signing (Ed25519) and encryption (X25519) keys, sealed with a passphrase."""
    identity = _node(ctx).init(passphrase(confirm=True), name)
    out.print(f"node {identity.name!r} created; fingerprint {identity.fingerprint}")
    out.print("give partners the output of `vigil node id`, and read the fingerprint to them over another channel")


@node_app.command("id")
def node_id(ctx: typer.Context) -> None:
    """Print this node's public identity (JSON) for partners to add."""
    identity = _node(ctx).identity()
    print(json.dumps(identity.to_dict(), indent=2))
    err.print(f"fingerprint: {identity.fingerprint}", highlight=False)


@partner_app.command("add")
def partner_add(
    ctx: typer.Context,
    identity_file: Annotated[Path, typer.Argument(help="The partner's `vigil node id` output.")],
    name: Annotated[str | None, typer.Option(help="What to call the partner here (default: its own name).")] = None,
    fingerprint: Annotated[str | None, typer.Option(help="The fingerprint the partner read out; the file must match it.")] = None,
) -> None:
    """Add a partner node from its identity document."""
    try:
        text = identity_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise typer.BadParameter(f"{identity_file}: {error}") from None
    partner = _node(ctx).add_partner(PublicIdentity.from_json(text, str(identity_file)), name, fingerprint)
    out.print(f"added partner {partner.name!r}, fingerprint {partner.identity.fingerprint}")
    if fingerprint is None:
        out.print("[yellow]check this fingerprint with the partner over another channel[/yellow]")


@partner_app.command("list")
def partner_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The partners added, with fingerprints; revoked ones marked."""
    print_items(_node(ctx).partners(), views.partners_table, as_json)


@partner_app.command("revoke")
def partner_revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The partner's name here.")]) -> None:
    """Stop trusting a partner: nothing more is sent to it or accepted from it."""
    partner = _node(ctx).revoke_partner(name)
    out.print(f"revoked partner {partner.name!r} at {partner.revoked_at:%Y-%m-%d %H:%M:%S} UTC")


exchange_app = typer.Typer(help="Signed, encrypted messages with partner nodes.", no_args_is_help=True)


def _mailbox(ctx: typer.Context) -> Mailbox:
    return Mailbox(_node(ctx))


@exchange_app.command("send")
def exchange_send(
    ctx: typer.Context,
    to: Annotated[list[str], typer.Option("--to", help="A partner's name; repeat for several.")],
    body: Annotated[Path, typer.Option(help="The file to send.")],
    bundle: Annotated[Path, typer.Option(help="Write the envelope to this offline bundle file.")],
    tlp: Annotated[str, typer.Option(help="TLP 2.0: CLEAR, GREEN, AMBER, AMBER+STRICT or RED.")] = "AMBER",
    type: Annotated[str, typer.Option("--type", help="What the body is (note, case-file, rfi, ...).")] = "note",
    label: Annotated[str, typer.Option(help="A classification label carried in the signed header.")] = "",
) -> None:
    """Sign a message, encrypt it to the partners named, and write it to an offline bundle."""
    try:
        content = body.read_bytes()
    except OSError as error:
        raise typer.BadParameter(f"{body}: {error.strerror}", param_hint="--body") from None
    mailbox = _mailbox(ctx)
    envelope = mailbox.send(mailbox.node.keys(passphrase()), to, type, content, tlp.upper(), label)
    write_bundle(bundle, [envelope])
    out.print(f"sealed message {envelope.header.id} ({envelope.header.tlp} {envelope.header.type}) "
              f"for {', '.join(to)}; written to {bundle}")


@exchange_app.command("import")
def exchange_import(ctx: typer.Context, bundle: Annotated[Path, typer.Argument(help="An offline bundle file.")]) -> None:
    """Receive the envelopes of an offline bundle; any refused is named (and recorded), exit 1."""
    mailbox = _mailbox(ctx)
    refused = 0
    for position, data in enumerate(read_bundle(bundle), 1):
        try:
            message = mailbox.receive(data, str(bundle))
            out.print(f"received {message.id} from {message.partner}: {message.tlp} {message.type}")
        except EnvelopeError as error:
            refused += 1
            err.print(f"[red]refused[/red] envelope {position} of {bundle}: {error}", highlight=False, soft_wrap=True)
    if refused:
        raise typer.Exit(1)


@exchange_app.command("inbox")
def exchange_inbox(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Messages received (their headers; `vigil exchange read ID` opens one)."""
    print_items(_mailbox(ctx).inbox(), views.messages_table, as_json)


@exchange_app.command("read")
def exchange_read(ctx: typer.Context, message_id: Annotated[str, typer.Argument(help="The message's id.")]) -> None:
    """Decrypt and print a received message."""
    mailbox = _mailbox(ctx)
    message, envelope, content = mailbox.read(message_id, mailbox.node.keys(passphrase()))
    label = f" {envelope.header.label}" if envelope.header.label else ""
    err.print(f"from {message.partner}, {message.created}, TLP:{message.tlp}{label}, {message.type}", highlight=False)
    sys.stdout.buffer.write(content)
    sys.stdout.flush()


@exchange_app.command("verify")
def exchange_verify(ctx: typer.Context) -> None:
    """Check every kept envelope against its signer's key; exit 1 naming any that fails."""
    mailbox = _mailbox(ctx)
    problems = mailbox.verify_stored()
    for problem in problems:
        err.print(f"[red]broken:[/red] {problem}", highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)
    count = len(mailbox.inbox()) + len(mailbox.outbox())
    out.print(f"ok: {count} messages kept, every signature and body digest holds; {len(mailbox.rejections())} envelopes refused so far")

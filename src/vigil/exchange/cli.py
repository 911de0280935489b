"""The `vigil exchange` commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from vigil import views
from vigil.console import JsonOption, err, out, passphrase, print_items
from vigil.exchange import bodies, queue, receipts, sharing
from vigil.exchange.bundle import BundleError, read_bundle
from vigil.exchange.envelope import EnvelopeError
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.node_cli import open_node
from vigil.exchange.outbound import dispatch, export_bundle
from vigil.exchange.transport import deliver_pending
from vigil.handlers import all_handlers

exchange_app = typer.Typer(help="Signed, encrypted messages with partner nodes.", no_args_is_help=True)


def open_mailbox(ctx: typer.Context) -> Mailbox:
    """The node's mailbox, knowing every message type (see vigil.handlers)."""
    return Mailbox(open_node(ctx), all_handlers())


def partner_names(values: list[str]) -> list[str]:
    """--to B --to C, or --to B,C."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def read_body(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise typer.BadParameter(f"{path}: {error.strerror}", param_hint="--body") from None


BundleOption = Annotated[Path | None, typer.Option(help="Write an offline bundle file instead of delivering over HTTPS.")]


@exchange_app.command("send")
def exchange_send(
    ctx: typer.Context,
    to: Annotated[list[str], typer.Option("--to", help="Partners' names: --to B,C or --to B --to C.")],
    body: Annotated[Path, typer.Option(help="The file to send: STIX 2.1 JSON, a Vigil body (JSON), or text for a note.")],
    bundle: BundleOption = None,
    tlp: Annotated[str, typer.Option(help="TLP 2.0: CLEAR, GREEN, AMBER, AMBER+STRICT or RED.")] = "AMBER",
    type: Annotated[str, typer.Option("--type", help=f"What the body is: {', '.join(bodies.TYPES)}.")] = "note",
    label: Annotated[str, typer.Option(help="A classification label carried in the signed header.")] = "",
) -> None:
    """Sign a message, encrypt it to the partners named, and deliver it (or write it to an offline bundle)."""
    marking = tlp.upper()
    content = bodies.prepare(type, read_body(body), marking)
    mailbox = open_mailbox(ctx)
    keys = mailbox.node.keys(passphrase())
    envelope = mailbox.send(keys, partner_names(to), type, content, marking, label)
    out.print(f"sealed message {envelope.header.id} ({marking} {type}) for {', '.join(partner_names(to))}")
    out.print(dispatch(mailbox, keys, envelope, bundle))


@exchange_app.command("import")
def exchange_import(ctx: typer.Context, bundle: Annotated[Path, typer.Argument(help="An offline bundle file.")]) -> None:
    """Receive the envelopes of an offline bundle; any refused is named (and recorded), exit 1."""
    mailbox = open_mailbox(ctx)
    keys = mailbox.node.keys(passphrase())
    try:
        envelopes = read_bundle(bundle)
    except BundleError as error:
        mailbox.refuse(str(bundle), None, str(error))
        raise
    refused = 0
    for position, data in enumerate(envelopes, 1):
        try:
            message = mailbox.receive(data, str(bundle), keys)
            out.print(f"received {message.id} from {message.partner}: {message.tlp} {message.type}")
        except EnvelopeError as error:
            refused += 1
            err.print(f"[red]refused[/red] envelope {position} of {bundle}: {error}", highlight=False, soft_wrap=True)
    if refused:
        raise typer.Exit(1)


@exchange_app.command("inbox")
def exchange_inbox(
    ctx: typer.Context,
    as_json: JsonOption = False,
    all_types: Annotated[bool, typer.Option("--all", help="Also the receipts and countersignatures received.")] = False,
) -> None:
    """Messages received (their headers; `vigil exchange read ID` opens one)."""
    messages = [m for m in open_mailbox(ctx).inbox() if all_types or m.type not in receipts.CONTROL]
    print_items(messages, views.messages_table, as_json)


@exchange_app.command("read")
def exchange_read(
    ctx: typer.Context, message_id: Annotated[str, typer.Argument(help="The message's id.")], as_json: JsonOption = False
) -> None:
    """Decrypt and print a received message (readable; --json: the body exactly as sent)."""
    mailbox = open_mailbox(ctx)
    message, envelope, content = mailbox.read(message_id, mailbox.node.keys(passphrase()))
    label = f" {envelope.header.label}" if envelope.header.label else ""
    answering = f", answering {message.in_reply_to}" if message.in_reply_to else ""
    err.print(f"from {message.partner}, {message.created}, TLP:{message.tlp}{label}, {message.type}{answering}", highlight=False)
    if as_json:
        sys.stdout.buffer.write(content + b"\n")
    else:
        out.print(bodies.describe(message.type, content), markup=False, highlight=False)


@exchange_app.command("reply")
def exchange_reply(
    ctx: typer.Context,
    message_id: Annotated[str, typer.Argument(help="The received message to answer.")],
    body: Annotated[Path, typer.Option(help="The answer: as for `send` (an rfi is answered with an rfi-answer).")],
    bundle: BundleOption = None,
    tlp: Annotated[str | None, typer.Option(help="TLP 2.0 of the answer (default: the question's).")] = None,
) -> None:
    """Answer a received message to its sender."""
    mailbox = open_mailbox(ctx)
    keys = mailbox.node.keys(passphrase())
    envelope = sharing.reply(mailbox, keys, message_id, read_body(body), tlp)
    out.print(f"sealed answer {envelope.header.id} ({envelope.header.tlp} {envelope.header.type}) to message {message_id}")
    out.print(dispatch(mailbox, keys, envelope, bundle))


@exchange_app.command("forward")
def exchange_forward(
    ctx: typer.Context,
    message_id: Annotated[str, typer.Argument(help="The received message to pass on.")],
    to: Annotated[list[str], typer.Option("--to", help="Partners' names: --to C,D.")],
    bundle: BundleOption = None,
) -> None:
    """Pass a received message on to other partners, if its TLP marking allows (CLEAR, GREEN)."""
    mailbox = open_mailbox(ctx)
    keys = mailbox.node.keys(passphrase())
    envelope = sharing.forward(mailbox, keys, message_id, partner_names(to))
    out.print(f"sealed {envelope.header.id} ({envelope.header.tlp} {envelope.header.type}) for {', '.join(partner_names(to))}")
    out.print(dispatch(mailbox, keys, envelope, bundle))


@exchange_app.command("deliver")
def exchange_deliver(
    ctx: typer.Context,
    to: Annotated[list[str] | None, typer.Option("--to", help="Only these partners (default: all).")] = None,
) -> None:
    """Deliver over HTTPS everything waiting for partners now (retries without waiting for the back-off)."""
    mailbox = open_mailbox(ctx)
    out.print(deliver_pending(mailbox, mailbox.node.keys(passphrase()), partner_names(to) if to else None))


@exchange_app.command("outbox")
def exchange_outbox(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Sent messages per recipient: waiting (with attempts and the last error), delivered, receipted."""
    print_items(queue.deliveries(open_mailbox(ctx)), views.deliveries_table, as_json)


@exchange_app.command("export")
def exchange_export(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="The partner the bundle is for.")],
    bundle: Annotated[Path, typer.Option(help="The bundle file to write.")],
) -> None:
    """Write everything waiting for a partner (messages, receipts) to an offline bundle."""
    mailbox = open_mailbox(ctx)
    mailbox.node.partner(to)
    count = export_bundle(mailbox, to, bundle)
    out.print(f"{count} envelopes for {to} written to {bundle}" if count else f"nothing is waiting for {to}; no bundle written")


@exchange_app.command("verify")
def exchange_verify(ctx: typer.Context) -> None:
    """Check the log, every kept envelope and every receipt and countersignature held; exit 1 naming what fails."""
    mailbox = open_mailbox(ctx)
    held, receipt_problems = receipts.verify_held(mailbox.node)
    problems = mailbox.verify_stored() + receipt_problems
    for problem in problems:
        err.print(f"[red]broken:[/red] {problem}", highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)
    count = len(mailbox.inbox()) + len(mailbox.outbox())
    out.print(f"ok: {count} messages kept, the log and every signature, digest, receipt ({held}) and proof hold; "
              f"{len(mailbox.rejections())} envelopes refused so far")

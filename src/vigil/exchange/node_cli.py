"""The `vigil node` and `vigil partner` commands: this node's identity and
the partners it trusts (kept apart from the exchange's, so that they start
without loading message handling)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from vigil import views
from vigil.console import JsonOption, err, open_store, out, passphrase, print_items
from vigil.exchange.identity import PublicIdentity
from vigil.exchange.node import Node

node_app = typer.Typer(help="This node's identity for the partner exchange.", no_args_is_help=True)
partner_app = typer.Typer(help="Partner nodes: add (after checking fingerprints), list, revoke.", no_args_is_help=True)


def open_node(ctx: typer.Context) -> Node:
    return Node(open_store(ctx).writer)  # one writer at a time: the log's order is the order of commits


@node_app.command("init")
def node_init(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="The name partners will know this node by (default: the host name).")] = None,
) -> None:
    """Create this node's signing (Ed25519) and encryption (X25519) keys, sealed with a passphrase."""
    identity = open_node(ctx).init(passphrase(confirm=True), name)
    out.print(f"node {identity.name!r} created; fingerprint {identity.fingerprint}")
    out.print("give partners the output of `vigil node id`, and read the fingerprint to them over another channel")


@node_app.command("id")
def node_id(ctx: typer.Context) -> None:
    """Print this node's public identity (JSON) for partners to add."""
    identity = open_node(ctx).identity()
    print(json.dumps(identity.to_dict(), indent=2))
    err.print(f"fingerprint: {identity.fingerprint}", highlight=False)


@partner_app.command("add")
def partner_add(
    ctx: typer.Context,
    identity_file: Annotated[Path, typer.Argument(help="The partner's `vigil node id` output.")],
    name: Annotated[str | None, typer.Option(help="What to call the partner here (default: its own name).")] = None,
    fingerprint: Annotated[str | None, typer.Option(help="The fingerprint the partner read out; the file must match it.")] = None,
    address: Annotated[str | None, typer.Option(help="Its node's HTTPS address (https://host:port), to deliver to.")] = None,
    via: Annotated[str | None, typer.Option(help="Reach it through this partner's relay instead.")] = None,
) -> None:
    """Add a partner node from its identity document."""
    try:
        text = identity_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise typer.BadParameter(f"{identity_file}: {error}") from None
    node = open_node(ctx)
    partner = node.add_partner(PublicIdentity.from_json(text, str(identity_file)), name, fingerprint, address)
    if via:
        partner = node.set_relay(partner.name, via)
    out.print(f"added partner {partner.name!r}, fingerprint {partner.identity.fingerprint}")
    if fingerprint is None:
        out.print("[yellow]check this fingerprint with the partner over another channel[/yellow]")


@partner_app.command("list")
def partner_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The partners added, with fingerprints; revoked ones marked."""
    print_items(open_node(ctx).partners(), views.partners_table, as_json)


@partner_app.command("address")
def partner_address(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The partner's name here.")],
    address: Annotated[str, typer.Argument(help="Its node's HTTPS address: https://host:port.")],
) -> None:
    """Set where a partner's node receives messages over HTTPS."""
    partner = open_node(ctx).set_address(name, address)
    out.print(f"partner {partner.name!r} receives at {partner.address}")


@partner_app.command("relay")
def partner_relay(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The partner's name here.")],
    relay: Annotated[str | None, typer.Argument(help="The partner whose relay carries its messages; none: directly.")] = None,
) -> None:
    """Reach a partner through another partner's relay (`vigil serve --relay` there), or directly again."""
    partner = open_node(ctx).set_relay(name, relay)
    out.print(f"partner {partner.name!r} is reached " + (f"through {partner.relay!r}'s relay" if partner.relay else "directly"))


@partner_app.command("revoke")
def partner_revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The partner's name here.")]) -> None:
    """Stop trusting a partner: nothing more is sent to it or accepted from it."""
    partner = open_node(ctx).revoke_partner(name)
    out.print(f"revoked partner {partner.name!r} at {partner.revoked_at:%Y-%m-%d %H:%M:%S} UTC")

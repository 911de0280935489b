"""The `vigil proposal` commands: joint designation proposals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vigil.console import JsonOption, err, out, passphrase, print_json
from vigil.cooperation.listing import Listing
from vigil.cooperation.proposal_drafts import Draft
from vigil.cooperation.proposals import Outcome, Proposal, Proposals
from vigil.exchange.cli import BundleOption, open_mailbox
from vigil.exchange.identity import NodeKeys
from vigil.exchange.outbound import dispatch

proposal_app = typer.Typer(
    help="Joint designation proposals: drafted, shared with co-sponsors, signed, submitted, linked once listed.",
    no_args_is_help=True,
)

IdArgument = Annotated[str, typer.Argument(metavar="ID", help="The proposal's id (or an unambiguous start of it).")]


def _proposals(ctx: typer.Context) -> Proposals:
    return Proposals(open_mailbox(ctx))


def _sent(proposals: Proposals, keys: NodeKeys, outcome: Outcome, done: str, bundle: Path | None) -> None:
    """Say what was done, and send the message telling the co-sponsors on its way."""
    out.print(f"proposal {outcome.proposal.id}: {done}")
    if outcome.envelope is not None:
        out.print(dispatch(proposals.mailbox, keys, outcome.envelope, bundle))
    elif bundle is not None:
        err.print(f"[yellow]no co-sponsor to tell: {bundle} was not written[/yellow]", highlight=False)
    if outcome.unreached:
        err.print(f"[yellow]not told (not partners of this node):[/yellow] {', '.join(outcome.unreached)}; "
                  "the lead's next share or submission carries it", highlight=False, soft_wrap=True)


@proposal_app.command("create")
def proposal_create(ctx: typer.Context, file: Annotated[Path, typer.Argument(help="The draft: JSON with kind, names, regime [, ...].")]) -> None:
    """Draft a proposal led by this node; its id is printed alone on the last line."""
    proposal = _proposals(ctx).create(Draft.read(file))
    err.print(f"drafted {proposal.current.content['kind']} {proposal.title!r} for the {proposal.current.content['regime']} "
              "list, version 1; share it with co-sponsors (`vigil proposal share`) or sign it", highlight=False)
    print(proposal.id)


@proposal_app.command("edit")
def proposal_edit(
    ctx: typer.Context, proposal_id: IdArgument,
    file: Annotated[Path, typer.Argument(help="The revised draft (JSON, as for create).")], bundle: BundleOption = None,
) -> None:
    """Revise the draft (the lead sponsor, before submission): a new version, which sponsors sign again."""
    proposals = _proposals(ctx)
    draft = Draft.read(file)
    keys = proposals.mailbox.node.keys(passphrase())
    outcome = proposals.revise(keys, proposal_id, draft)
    _sent(proposals, keys, outcome, f"version {outcome.proposal.current_version} drafted", bundle)


@proposal_app.command("share")
def proposal_share(
    ctx: typer.Context, proposal_id: IdArgument,
    partner: Annotated[str, typer.Option("--with", help="The partner to make a co-sponsor.")], bundle: BundleOption = None,
) -> None:
    """Make a partner a co-sponsor and send it the proposal (versions, comments, signatures)."""
    proposals = _proposals(ctx)
    keys = proposals.mailbox.node.keys(passphrase())
    outcome = proposals.share(keys, proposal_id, partner)
    _sent(proposals, keys, outcome, f"shared with {partner}; sponsors: {', '.join(s.name for s in outcome.proposal.sponsors)}", bundle)


@proposal_app.command("comment")
def proposal_comment(
    ctx: typer.Context, proposal_id: IdArgument,
    text: Annotated[str, typer.Option("--text", help="The comment.")], bundle: BundleOption = None,
) -> None:
    """Comment on the current version; the other sponsors receive it."""
    proposals = _proposals(ctx)
    keys = proposals.mailbox.node.keys(passphrase())
    outcome = proposals.comment(keys, proposal_id, text)
    _sent(proposals, keys, outcome, f"comment on version {outcome.proposal.current_version} kept", bundle)


@proposal_app.command("sign")
def proposal_sign(ctx: typer.Context, proposal_id: IdArgument, bundle: BundleOption = None) -> None:
    """Sign off the current version with this node's key; the other sponsors receive the signature."""
    proposals = _proposals(ctx)
    keys = proposals.mailbox.node.keys(passphrase())
    outcome = proposals.sign(keys, proposal_id)
    missing = [s.name for s in outcome.proposal.unsigned()]
    waiting = f"; waiting for {', '.join(missing)}" if missing else "; every sponsor has signed"
    _sent(proposals, keys, outcome, f"version {outcome.proposal.current_version} signed{waiting}", bundle)


@proposal_app.command("submit")
def proposal_submit(ctx: typer.Context, proposal_id: IdArgument, bundle: BundleOption = None) -> None:
    """Mark the proposal submitted to the committee (the lead; every sponsor must have signed the current version)."""
    proposals = _proposals(ctx)
    keys = proposals.mailbox.node.keys(passphrase())
    outcome = proposals.submit(keys, proposal_id)
    _sent(proposals, keys, outcome, f"version {outcome.proposal.submitted_version} submitted; it is linked when an imported "
                              "list version lists the entity", bundle)


@proposal_app.command("withdraw")
def proposal_withdraw(
    ctx: typer.Context, proposal_id: IdArgument,
    note: Annotated[str, typer.Option("--note", help="Why.")] = "", bundle: BundleOption = None,
) -> None:
    """Withdraw the proposal (the lead sponsor)."""
    proposals = _proposals(ctx)
    keys = proposals.mailbox.node.keys(passphrase())
    outcome = proposals.withdraw(keys, proposal_id, note)
    _sent(proposals, keys, outcome, "withdrawn", bundle)


@proposal_app.command("reject")
def proposal_reject(
    ctx: typer.Context, proposal_id: IdArgument,
    note: Annotated[str, typer.Option("--note", help="What the committee answered.")], bundle: BundleOption = None,
) -> None:
    """Record that the committee did not agree to the listing (the lead sponsor)."""
    proposals = _proposals(ctx)
    keys = proposals.mailbox.node.keys(passphrase())
    outcome = proposals.reject(keys, proposal_id, note)
    _sent(proposals, keys, outcome, "rejected by the committee", bundle)


@proposal_app.command("list")
def proposal_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The proposals this node holds: status, version, sponsors, signatures, listing."""
    found = _proposals(ctx).all()
    if as_json:
        print_json([p.summary() for p in found])
    elif not found:
        out.print("no proposals yet: `vigil proposal create FILE.json`")
    else:
        out.print(_table(found))


@proposal_app.command("show")
def proposal_show(ctx: typer.Context, proposal_id: IdArgument, as_json: JsonOption = False) -> None:
    """One proposal: its draft, sponsors, signatures, versions, comments and what happened when."""
    proposal = _proposals(ctx).get(proposal_id)
    if as_json:
        print_json(proposal.to_dict())
        return
    data = proposal.to_dict()
    content = data["content"]
    out.print(f"[bold]{escape(proposal.title)}[/bold]  {content['kind']}, regime {content['regime']}  {escape(f'[{proposal.status}]')}",
              highlight=False)
    out.print(f"id {proposal.id}; version {proposal.current_version}; lead {data['lead']}", highlight=False)
    if len(content["names"]) > 1:
        out.print(f"also: {'; '.join(content['names'][1:])}", highlight=False)
    if proposal.listed_as:
        listed = proposal.listed_as
        out.print(f"[green]listed as {listed['reference']} on {listed['listed_on']}[/green] ({listed['entry_name']}; "
                  f"{listed['source']} version {listed['version']} of {listed['published_on']}, score {listed['score']:.2f})",
                  highlight=False)
    if proposal.note:
        out.print(f"note: {proposal.note}", highlight=False)
    sponsors = ", ".join(f"{s['name']}{' (lead)' if s['lead'] else ''} {'✓ signed' if s['signed'] else '✗ not signed'}"
                         for s in data["sponsors"])
    out.print(f"sponsors: {sponsors}", highlight=False)
    if content["reasons"]:
        out.print(f"reasons: {content['reasons']}", highlight=False)
    for comment in data["comments"]:
        out.print(f"  {comment['created_at']} {comment['author']} on v{comment['version']}: {comment['text']}", highlight=False)
    table = Table("when", "what", "by", "detail", title="timeline", title_justify="left")
    for event in data["events"]:
        table.add_row(event["at"][:19], event["event"], event["by"] or "", event["detail"])
    out.print(table)


def _table(found: list[Proposal]) -> Table:
    table = Table("id", "status", "kind", "regime", "name", "version", "sponsors", "signed", "listed as")
    for proposal in found:
        row = proposal.summary()
        listed = f"{row['listed_as']} ({row['listed_on']})" if row["listed_as"] else ""
        table.add_row(row["id"], row["status"], row["kind"], row["regime"], row["name"], str(row["version"]),
                      ", ".join(row["sponsors"]), f"{row['signed']}/{len(row['sponsors'])}", listed)
    return table


def report_links(links: list[Listing]) -> None:
    """What an import linked, one line per proposal (for `vigil import` and `vigil update`)."""
    for link in links:
        out.print(f"proposal {link.proposal_id} is listed: {link.reference} on {link.listed_on} "
                  f"({link.entry_name}, score {link.score:.2f})", highlight=False)

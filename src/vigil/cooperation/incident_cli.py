"""The `vigil agreement`, `vigil incident` and `vigil ping` commands."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from vigil.console import JsonOption, out, passphrase, print_items, print_json
from vigil.cooperation.agreements import CATEGORIES, Agreement, Agreements, WorkingHours
from vigil.cooperation.clock import format_duration, parse_duration
from vigil.cooperation.incident_bodies import Content, Details, read_content
from vigil.cooperation.incidents import SEVERITIES, Event, Incident, Incidents, Reminder
from vigil.cooperation.pings import Pings, Reachability
from vigil.exchange.cli import BundleOption, open_mailbox, read_body
from vigil.exchange.node_cli import open_node
from vigil.exchange.envelope import Envelope
from vigil.exchange.identity import NodeKeys
from vigil.exchange.outbound import dispatch


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else ""


def _duration(value: str, option: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=option) from None


# -- agreements -----------------------------------------------------------------------

agreement_app = typer.Typer(help="Service levels agreed with partners for incidents, per category.", no_args_is_help=True)


@agreement_app.command("add")
def agreement_add(
    ctx: typer.Context,
    partner: Annotated[str, typer.Option(help="The partner's name here.")],
    category: Annotated[str, typer.Option(help=f"Incident category: {', '.join(CATEGORIES)}.")],
    ack: Annotated[str, typer.Option(help="Acknowledge within, e.g. 4h.")],
    respond: Annotated[str, typer.Option(help="Respond within, e.g. 24h.")],
    resolve: Annotated[str | None, typer.Option(help="Resolve within, e.g. 7d.")] = None,
    keep_in_loop: Annotated[str | None, typer.Option("--keep-in-loop", help="An update at least this often once responded, e.g. 1d.")] = None,
    hours: Annotated[str | None, typer.Option(
        help='Count only working hours: "Mon-Fri 09:00-18:00 Europe/Moscow" (default: calendar time).')] = None,
    escalate: Annotated[list[str] | None, typer.Option("--escalate", help="Escalation contact; repeat for each level, first level first.")] = None,
) -> None:
    """Agree service levels with a partner for a category (replacing any agreed before)."""
    agreement = Agreements(open_node(ctx)).add(
        partner, category, _duration(ack, "--ack"), _duration(respond, "--respond"),
        _duration(resolve, "--resolve") if resolve else None, _duration(keep_in_loop, "--keep-in-loop") if keep_in_loop else None,
        WorkingHours.parse(hours) if hours else None, escalate or (),
    )
    clock = f"working hours {agreement.hours}" if agreement.hours else "calendar time"
    out.print(f"agreed with {agreement.partner!r} for {agreement.category}: acknowledge in {format_duration(agreement.ack)}, "
              f"respond in {format_duration(agreement.respond)} ({clock})", highlight=False)


def _agreements_table(agreements: list[Agreement]) -> Table:
    table = Table(title="Agreements")
    for column in ("partner", "category", "ack", "respond", "resolve", "keep in loop", "hours", "escalation"):
        table.add_column(column)
    for a in agreements:
        data = a.to_dict()
        table.add_row(escape(a.partner), a.category, data["ack"], data["respond"], data["resolve"] or "", data["keep_in_loop"] or "",
                      escape(data["hours"] or "calendar"), escape(" → ".join(a.escalation)))
    return table


@agreement_app.command("list")
def agreement_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The agreements with every partner."""
    print_items(Agreements(open_node(ctx)).all(), _agreements_table, as_json)


# -- incidents ----------------------------------------------------------------------

incident_app = typer.Typer(help="Incidents notified to partners and by them, with agreed deadlines.", no_args_is_help=True)

IncidentId = Annotated[str, typer.Argument(help="The incident's id (the notification's message id).")]
BodyOption = Annotated[Path, typer.Option(help="Text, or JSON with text, indicators (STIX 2.1) and attachments; or a STIX bundle.")]


def _sent(incidents: Incidents, keys: NodeKeys, envelope: Envelope, bundle: Path | None, what: str) -> None:
    out.print(f"{what} (message {envelope.header.id})", highlight=False)
    out.print(dispatch(incidents.mailbox, keys, envelope, bundle), highlight=False)


def _incidents(ctx: typer.Context) -> tuple[Incidents, NodeKeys]:
    incidents = Incidents(open_mailbox(ctx))
    return incidents, incidents.mailbox.node.keys(passphrase())


@incident_app.command("notify")
def incident_notify(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="The partner to notify.")],
    category: Annotated[str, typer.Option(help=f"{', '.join(CATEGORIES)}.")],
    severity: Annotated[str, typer.Option(help=f"{', '.join(SEVERITIES)}.")],
    title: Annotated[str, typer.Option(help="A short title.")],
    body: BodyOption,
    bundle: BundleOption = None,
    tlp: Annotated[str, typer.Option(help="TLP 2.0 marking of the incident's messages.")] = "AMBER",
) -> None:
    """Notify a partner of an incident; prints the incident's id alone on the last line."""
    details = read_content(read_body(body), str(body), Details)
    incidents, keys = _incidents(ctx)
    envelope = incidents.notify(keys, to, category, severity, title, details, tlp.upper())
    incident = incidents.get(envelope.header.id)
    _sent(incidents, keys, envelope, bundle, f"notified {to!r}: acknowledgement due {_when(incident.ack_due)}, "
                                       f"response due {_when(incident.respond_due)}")
    print(incident.id)


def _incidents_table(incidents: list[Incident]) -> Table:
    table = Table(title="Incidents")
    for column in ("id", "title", "category", "severity", "partner", "status", "ack due", "respond due", "overdue"):
        table.add_column(column)
    for i in incidents:
        partner = f"→ {i.partner}" if i.role == "notifier" else f"← {i.partner}"
        table.add_row(i.id, escape(i.title), i.category, i.severity, escape(partner), i.status, _when(i.ack_due),
                      _when(i.respond_due), f"[red]{', '.join(i.overdue)}[/red]" if i.overdue else "")
    return table


@incident_app.command("list")
def incident_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Incidents sent and received, with deadlines and what is overdue."""
    print_items(Incidents(open_mailbox(ctx)).all(), _incidents_table, as_json)


def _timeline_table(incident: Incident, events: list[Event]) -> Group:
    head = (f"{incident.title} — {incident.category}, {incident.severity}, {incident.status}; "
            f"{'notified to' if incident.role == 'notifier' else 'notified by'} {incident.partner}")
    table = Table(title=escape(head), title_justify="left")
    for column in ("at", "step", "by", "message", "note"):
        table.add_column(column)
    for e in events:
        if e.kind in ("reminder", "escalation"):
            note = f"{e.obligation} due {_when(e.due)}; level {e.level}" + (f": {e.contact}" if e.contact else "")
        elif e.late is not None:
            note = f"[red]late[/red] (due {_when(e.due)})" if e.late else f"in time (due {_when(e.due)})"
        else:
            note = ""
        table.add_row(_when(e.at), e.kind, escape(e.by), e.message_id or "", note)
    return Group(table)


@incident_app.command("show")
def incident_show(ctx: typer.Context, incident_id: IncidentId, as_json: JsonOption = False) -> None:
    """An incident and its timeline: who did what when, each step with the message that proves it."""
    incidents = Incidents(open_mailbox(ctx))
    incident, events = incidents.get(incident_id), incidents.timeline(incident_id)
    if as_json:
        print_json({**incident.to_dict(), "timeline": [e.to_dict() for e in events]})
    else:
        out.print(_timeline_table(incident, events))


@incident_app.command("ack")
def incident_ack(
    ctx: typer.Context, incident_id: IncidentId, bundle: BundleOption = None,
    note: Annotated[str, typer.Option(help="A note to go with the acknowledgement.")] = "",
) -> None:
    """Acknowledge an incident a partner notified."""
    incidents, keys = _incidents(ctx)
    _sent(incidents, keys, incidents.ack(keys, incident_id, note), bundle, f"acknowledged incident {incident_id}")


@incident_app.command("respond")
def incident_respond(ctx: typer.Context, incident_id: IncidentId, body: BodyOption, bundle: BundleOption = None) -> None:
    """Respond to an incident a partner notified (after acknowledging it)."""
    content = read_content(read_body(body), str(body), Content)
    incidents, keys = _incidents(ctx)
    _sent(incidents, keys, incidents.respond(keys, incident_id, content), bundle, f"responded to incident {incident_id}")


@incident_app.command("consult")
def incident_consult(ctx: typer.Context, incident_id: IncidentId, body: BodyOption, bundle: BundleOption = None) -> None:
    """Consult the partner on an incident once it has been responded to."""
    content = read_content(read_body(body), str(body), Content)
    incidents, keys = _incidents(ctx)
    _sent(incidents, keys, incidents.consult(keys, incident_id, content), bundle, f"consulted on incident {incident_id}")


@incident_app.command("close")
def incident_close(
    ctx: typer.Context, incident_id: IncidentId,
    note: Annotated[str, typer.Option(help="The closing note; the partner's node countersigns it.")],
    bundle: BundleOption = None,
) -> None:
    """Close an incident with a note; the partner's node confirms it by countersigning."""
    incidents, keys = _incidents(ctx)
    _sent(incidents, keys, incidents.close(keys, incident_id, note), bundle, f"closed incident {incident_id}")


def _reminders_table(reminders: list[Reminder]) -> Table:
    table = Table(title="Reminders and escalations raised")
    for column in ("incident", "title", "overdue", "who must act", "due", "level", "contact"):
        table.add_column(column)
    for r in reminders:
        table.add_row(r.incident_id, escape(r.title), r.obligation, escape(r.owner), _when(r.due), str(r.level), escape(r.contact or ""))
    return table


@incident_app.command("check")
def incident_check(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Raise reminders for overdue steps and escalate those still overdue (run it regularly, e.g. from cron)."""
    reminders = Incidents(open_mailbox(ctx)).check()
    if as_json or reminders:
        print_items(reminders, _reminders_table, as_json)
    else:
        out.print("nothing overdue that was not raised already")


# -- pings ----------------------------------------------------------------------------


class _PartnerOrCommand(TyperGroup):
    """`vigil ping NAME` pings a partner; `vigil ping report` reports (`vigil ping send report` pings one named so)."""

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["send", *args]
        return super().resolve_command(ctx, args)


ping_app = typer.Typer(cls=_PartnerOrCommand, help="Points of contact tested: `vigil ping NAME`, `vigil ping report`.",
                       no_args_is_help=True)


@ping_app.command("send")
def ping_send(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The partner to ping.")], bundle: BundleOption = None,
) -> None:
    """Send a signed ping; the partner's node answers it automatically."""
    mailbox = open_mailbox(ctx)
    pings = Pings(mailbox)
    keys = mailbox.node.keys(passphrase())
    envelope = pings.ping(keys, name)
    out.print(f"pinged {name!r} (message {envelope.header.id})", highlight=False)
    out.print(dispatch(mailbox, keys, envelope, bundle), highlight=False)


def _reachability_table(report: list[Reachability]) -> Table:
    table = Table(title="Reachability of partners")
    for column in ("partner", "pings", "answered in time", "late", "unanswered", "waiting", "last answer"):
        table.add_column(column)
    for r in report:
        table.add_row(escape(r.partner), str(r.sent), str(r.answered_in_time), str(r.late),
                      f"[red]{r.unanswered}[/red]" if r.unanswered else "0", str(r.waiting), _when(r.last_answer_at))
    return table


@ping_app.command("report")
def ping_report(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """For each partner: pings sent, answered in time, late, unanswered, and the last answer."""
    print_items(Pings(open_mailbox(ctx)).report(), _reachability_table, as_json)

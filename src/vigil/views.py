"""How list versions, entries, histories and diffs look on a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # the records shown: each command loads only what it shows
    from vigil.api.keys import ApiKey
    from vigil.exchange.mailbox import Message
    from vigil.exchange.node import Partner
    from vigil.exchange.queue import Delivery
    from vigil.model import Entry
    from vigil.screening import Hit
    from vigil.store import Diff, HistoryStep, ListVersion


def _day(version: ListVersion) -> str:
    return version.published_on.isoformat()


def versions_table(versions: list[ListVersion]) -> Table:
    table = Table(title="Stored list versions")
    for column in ("source", "version", "published", "entries", "by kind", "imported"):
        table.add_column(column)
    for v in versions:
        kinds = ", ".join(f"{count} {kind}" for kind, count in v.counts.items())
        table.add_row(v.source, str(v.id), _day(v), str(v.entry_count), kinds, v.imported_at.strftime("%Y-%m-%d %H:%M"))
    return table


def diff_view(diff: Diff) -> Group:
    old = diff.from_version
    head = (
        f"{diff.source}: version {old['id']} ({old['published_on']}) → "
        if old
        else f"{diff.source}: (nothing before) → "
    ) + f"version {diff.to_version['id']} ({diff.to_version['published_on']})"
    summary = f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.amended)} amended"
    parts: list = [Text(head, style="bold"), Text(summary)]
    for label, rows in (("Added", diff.added), ("Removed (de-listed)", diff.removed)):
        if rows:
            table = Table(title=label, title_justify="left")
            table.add_column("entry")
            table.add_column("name")
            for entry_id, name in rows:
                table.add_row(entry_id, escape(name))
            parts.append(table)
    if diff.amended:
        table = Table(title="Amended", title_justify="left")
        for column in ("entry", "name", "fields changed"):
            table.add_column(column)
        for amendment in diff.amended:
            table.add_row(amendment.entry_id, escape(amendment.name), ", ".join(amendment.fields))
        parts.append(table)
    return Group(*parts)


def _date_of_birth(dob) -> str:
    text = f"{dob.start}–{dob.end}" if dob.end else dob.start
    if dob.approximate:
        text = f"about {text}"
    return f"{text} ({dob.note})" if dob.note else text


def _join(*values: str | None) -> str:
    return ", ".join(v for v in values if v)


def entry_view(entry: Entry, version: ListVersion) -> Table:
    table = Table(title=f"{entry.id} — {entry.primary_name}", show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")

    def row(label: str, values: list[str]) -> None:
        if values:
            table.add_row(escape(label), escape("\n".join(values)))

    row("list", [f"{version.source} version {version.id}, published {_day(version)}"])
    row("kind", [str(entry.kind)])
    row("reference", [entry.reference or ""])
    row("programmes", [", ".join(entry.programmes)] if entry.programmes else [])
    row("listed on", [entry.listed_on] if entry.listed_on else [])
    row("last updated", entry.last_updated)
    row(
        "names",
        [
            f"{n.full}  [{n.type}, {n.quality}{'' if n.script == 'Latn' else ', ' + n.script}]"
            + (f" ({n.note})" if n.note else "")
            for n in entry.names
        ],
    )
    row("titles", entry.titles)
    row("designations", entry.designations)
    row("gender", [entry.gender] if entry.gender else [])
    row("born", [_date_of_birth(d) for d in entry.dates_of_birth])
    row("birthplace", [_join(p.city, p.state_province, p.country, p.text) for p in entry.places_of_birth])
    row("nationality", [", ".join(entry.nationalities)] if entry.nationalities else [])
    row(
        "documents",
        [_join(d.type, d.number, d.country, d.issued_on and f"issued {d.issued_on}", d.note) for d in entry.documents],
    )
    row(
        "addresses",
        [_join(a.street, a.city, a.state_province, a.postal_code, a.country, a.note) for a in entry.addresses],
    )
    for label, values in entry.other.items():
        row(label, values)
    row("remarks", [entry.remarks] if entry.remarks else [])
    return table


def history_table(entry_id: str, steps: list[HistoryStep]) -> Table:
    table = Table(title=f"History of {entry_id}", title_justify="left")
    for column in ("source", "version", "published", "status", "fields changed"):
        table.add_column(column)
    for step in steps:
        table.add_row(step.version.source, str(step.version.id), _day(step.version), step.status, ", ".join(step.fields))
    return table


def hits_table(name: str, hits: list[Hit], versions: list[ListVersion]) -> Group:
    screened = ", ".join(f"{v.source} version {v.id} ({_day(v)})" for v in versions)
    if not hits:
        return Group(Text(f"No hits for {name!r}. Screened against {screened}."))
    table = Table(title=f"Hits for {escape(name)}", title_justify="left")
    for column in ("score", "entry", "listed name", "matched name", "why"):
        table.add_column(column, overflow="fold")
    for hit in hits:
        table.add_row(f"{hit.score:.3f}", hit.entry_id, escape(hit.entry_name), escape(hit.matched_name), escape(hit.explanation))
    return Group(table, Text(f"Screened against {screened}."))


def keys_table(keys: list[ApiKey]) -> Table:
    table = Table(title="API keys")
    for column in ("id", "key", "role", "label", "created", "revoked"):
        table.add_column(column)
    for k in keys:
        revoked = k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else ""
        table.add_row(str(k.id), escape(k.prefix) + "…", k.role, escape(k.label), k.created_at.strftime("%Y-%m-%d %H:%M"), revoked)
    return table


def partners_table(partners: list[Partner]) -> Table:
    table = Table(title="Partners")
    for column in ("name", "fingerprint", "address", "added", "revoked"):
        table.add_column(column)
    for p in partners:
        revoked = p.revoked_at.strftime("%Y-%m-%d %H:%M") if p.revoked_at else ""
        table.add_row(escape(p.name), p.identity.fingerprint, escape(p.address or ""), p.added_at.strftime("%Y-%m-%d %H:%M"), revoked)
    return table


def deliveries_table(deliveries: list[Delivery]) -> Table:
    table = Table(title="Sent messages")
    for column in ("id", "to", "type", "TLP", "queued", "status", "receipt"):
        table.add_column(column)
    for d in deliveries:
        if d.delivered_at:
            status = f"delivered {d.delivered_at:%Y-%m-%d %H:%M} ({d.delivered_via})"
        else:
            status = f"waiting, {d.attempts} attempts" + (f": {d.last_error}" if d.last_error else "")
        table.add_row(d.message_id, escape(d.partner), escape(d.type), d.tlp, d.queued_at.strftime("%Y-%m-%d %H:%M"),
                      escape(status), "signed" if d.receipt else "")
    return table


def messages_table(messages: list[Message]) -> Table:
    table = Table(title="Messages")
    for column in ("id", "from", "created", "TLP", "type"):
        table.add_column(column)
    for m in messages:
        table.add_row(m.id, escape(m.partner), m.created[:19], m.tlp, escape(m.type))
    return table

"""The `vigil` command. Each command builds the core object and calls it."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from sqlalchemy.exc import SQLAlchemyError

from vigil import views
from vigil.api import tables as api_tables
from vigil.api.audit import AuditTrail
from vigil.api.keys import ROLES, KeyRing, KeyRingError
from vigil.exchange.bundle import BundleError, read_bundle, write_bundle
from vigil.exchange.envelope import EnvelopeError
from vigil.exchange.identity import IdentityError, PublicIdentity
from vigil.exchange.mailbox import Mailbox
from vigil.exchange.node import Node, NodeError
from vigil.sources import SourceError
from vigil.screening import DEFAULT_THRESHOLD, Query, Screener
from vigil.screening.batch import InputError, ScreenSummary, screen_file, summary_path
from vigil.screening.rescreen import rescreen_file
from vigil.store import Store, StoreError, import_path, resolve_url
from vigil.update import update

app = typer.Typer(
    help="Vigil: counter-terrorism sanctions lists, versioned, diffed and screened.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def bundled_list() -> Path:
    """The newest UN Consolidated List shipped inside the package."""
    folder = resources.files("vigil") / "data" / "un"
    return Path(str(sorted(folder.iterdir(), key=lambda p: p.name)[-1]))


@app.callback()
def options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="VIGIL_DB",
            help="Store: an SQLAlchemy URL (sqlite:///path, postgresql+psycopg://...) or an SQLite file path. "
            "Default: vigil.db in the per-user data folder.",
        ),
    ] = None,
) -> None:
    ctx.obj = resolve_url(db)


def _store(ctx: typer.Context) -> Store:
    return Store(ctx.obj)


def _print_json(data: Any) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False, default=str))


def _print_items(items: list[Any], table: Callable[[list[Any]], Any], as_json: bool) -> None:
    """Records as JSON (their ``to_dict``) or as a table."""
    if as_json:
        _print_json([item.to_dict() for item in items])
    else:
        out.print(table(items))


@app.command("import")
def import_command(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(help="An official list file, or the folder of OFAC's CSV set.")] = None,
    source: Annotated[str | None, typer.Option(help="Which list it is (un, ofac-sdn, ofac-cons); detected by default.")] = None,
    bundled: Annotated[bool, typer.Option("--bundled", help="Import the UN list shipped with Vigil.")] = False,
) -> None:
    """Import an official list file as a new version (a file already imported changes nothing)."""
    if bundled == (path is not None):
        raise typer.BadParameter("give either a FILE or --bundled")
    target = bundled_list() if bundled else path
    result = import_path(_store(ctx), target, source)
    v = result.version
    kinds = ", ".join(f"{count} {kind}" for kind, count in v.counts.items())
    if result.created:
        out.print(f"imported {v.source} version {v.id} published {v.published_on}: {v.entry_count} entries ({kinds})")
    else:
        out.print(f"already imported: {target.name} is {v.source} version {v.id} published {v.published_on}; nothing changed")


@app.command("lists")
def lists_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the stored lists: sources, versions, publication dates, entry counts."""
    versions = _store(ctx).versions()
    if as_json:
        _print_json([v.to_dict() for v in versions])
    elif not versions:
        out.print("no lists stored yet: `vigil import FILE`, `vigil import --bundled` or `vigil update`")
    else:
        out.print(views.versions_table(versions))


@app.command("diff")
def diff_command(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The list: un, ofac-sdn, ofac-cons.")],
    from_version: Annotated[str | None, typer.Option("--from", help="Version number or date (YYYY-MM-DD); default: the one before --to.")] = None,
    to_version: Annotated[str | None, typer.Option("--to", help="Version number or date; default: the newest.")] = None,
    as_json: JsonOption = False,
) -> None:
    """What changed between two versions of a list: added, removed, amended (and which fields)."""
    diff = _store(ctx).diff(source, from_version, to_version)
    if as_json:
        _print_json(diff.to_dict())
    else:
        out.print(views.diff_view(diff))


@app.command("show")
def show_command(
    ctx: typer.Context,
    entry_id: Annotated[str, typer.Argument(help="Entry id (un:QDe.161) or reference (QDe.161).")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Show the entry as the lists stood on this date (YYYY-MM-DD).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show an entry as it stands now, or as it stood on a date."""
    store = _store(ctx)
    resolved = store.resolve_entry_id(entry_id)
    when = _parse_date(as_of) if as_of else None
    found = store.as_of(resolved, when)
    if not found:
        when_text = f"on {when}" if when else "in the newest version of any list"
        raise StoreError(f"{resolved} was not listed {when_text}; see `vigil history {resolved}`")
    if as_json:
        _print_json([{"version": v.to_dict(), "entry": e.to_dict()} for v, e in found])
        return
    for version, entry in found:
        out.print(views.entry_view(entry, version))


@app.command("history")
def history_command(
    ctx: typer.Context,
    entry_id: Annotated[str, typer.Argument(help="Entry id (un:QDe.161) or reference (QDe.161).")],
    as_json: JsonOption = False,
) -> None:
    """Every stored version of an entry: when it was listed, amended, de-listed."""
    store = _store(ctx)
    resolved = store.resolve_entry_id(entry_id)
    steps = store.history(resolved)
    if as_json:
        _print_json([{"version": s.version.to_dict(), "status": s.status, "fields": s.fields} for s in steps])
    else:
        out.print(views.history_table(resolved, steps))


@app.command("match")
def match_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The name to screen, in any script.")],
    dob: Annotated[str | None, typer.Option(help="Date of birth: YYYY, YYYY-MM or YYYY-MM-DD.")] = None,
    country: Annotated[str | None, typer.Option(help="Nationality or country: ISO code or name.")] = None,
    id_number: Annotated[str | None, typer.Option("--id-number", help="Passport, national ID or registration number.")] = None,
    kind: Annotated[str | None, typer.Option(help="person or organisation (default: either).")] = None,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="Lowest score shown.")] = DEFAULT_THRESHOLD,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Most hits shown.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Screen one name against the newest version of every stored list."""
    screener = _screener(ctx)
    try:
        hits = screener.match(Query(name, kind=kind, dob=dob, country=country, id_number=id_number), threshold, limit)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if as_json:
        _print_json({"versions": [v.to_dict() for v in screener.versions], "hits": [h.to_dict() for h in hits]})
    else:
        out.print(views.hits_table(name, hits, screener.versions))


ThresholdOption = Annotated[float, typer.Option(min=0.0, max=1.0, help="Lowest score reported.")]
LimitOption = Annotated[int, typer.Option(min=1, max=1000, help="Most hits per row.")]
WorkersOption = Annotated[int | None, typer.Option(min=1, help="Processes (default: every core).")]


@app.command("screen")
def screen_command(
    ctx: typer.Context,
    input: Annotated[Path, typer.Argument(help="CSV, JSON Lines or Parquet with columns id, name [, kind, dob, country, id_number].")],
    output: Annotated[Path, typer.Option("--out", help="Hits: .jsonl, .csv or .parquet (a summary goes beside it).")],
    threshold: ThresholdOption = DEFAULT_THRESHOLD,
    limit: LimitOption = 10,
    workers: WorkersOption = None,
) -> None:
    """Screen a file of names against the newest version of every stored list."""
    screener = _screener(ctx)
    with _progress("screening") as advance:
        summary = screen_file(screener, input, output, threshold, limit, workers, advance)
    _report(summary, output)


@app.command("rescreen")
def rescreen_command(
    ctx: typer.Context,
    input: Annotated[Path, typer.Argument(help="The same kind of file as for `vigil screen`.")],
    output: Annotated[Path, typer.Option("--out", help="Hits with their status: .jsonl, .csv or .parquet.")],
    previous: Annotated[Path | None, typer.Option(help="Earlier `vigil screen` results: report hits whose entry was de-listed.")] = None,
    threshold: ThresholdOption = DEFAULT_THRESHOLD,
    limit: LimitOption = 10,
    workers: WorkersOption = None,
) -> None:
    """After an import, screen only against entries added or amended since the previous version."""
    with _progress("re-screening") as advance:
        summary = rescreen_file(_store(ctx), input, output, previous, threshold, limit, workers, advance)
    for change in summary.changes:
        before = f"version {change['from']['id']}" if change["from"] else "nothing"
        out.print(f"{change['source']}: {before} → version {change['to']['id']}: "
                  f"{change['added']} added, {change['amended']} amended, {change['removed']} removed")
    if summary.delisted:
        out.print(f"{len(summary.delisted)} earlier hits no longer stand: their entries were de-listed")
    _report(summary, output)


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int], None]]:
    """A progress counter on the terminal (rows screened, rate)."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task(label, total=None)
        yield lambda rows: progress.advance(task, rows)


def _report(summary: ScreenSummary, path: Path) -> None:
    versions = ", ".join(f"{v['source']} version {v['id']} ({v['published_on']})" for v in summary.versions)
    out.print(f"screened {summary.queries:,} rows against {versions} in {summary.seconds:.1f} s: "
              f"{summary.hits:,} hits written to {path}")
    if summary.skipped:
        first = summary.skipped_rows[0]
        err.print(f"[yellow]skipped {summary.skipped:,} rows[/yellow] (first: row {first.row}: {first.reason}); "
                  f"all are listed in {summary_path(path)}", highlight=False, soft_wrap=True)
    for warning in summary.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False, soft_wrap=True)


def _screener(ctx: typer.Context) -> Screener:
    store = _store(ctx)
    if not store.versions():
        raise StoreError("no lists stored yet: `vigil import --bundled`, `vigil import FILE` or `vigil update`")
    return Screener.from_store(store)


@app.command("update")
def update_command(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(metavar="[SOURCE]...", help="Lists to update (default: all).")] = None,
    url: Annotated[list[str] | None, typer.Option("--url", metavar="SOURCE=URL", help="Download a list from another address.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the server.")] = 60.0,
    retries: Annotated[int, typer.Option(help="Attempts per file.")] = 3,
) -> None:
    """Download the official lists and import what is new.

    Addresses: the official ones, or VIGIL_UN_URL, VIGIL_OFAC_SDN_URL (the
    folder of the CSV set), VIGIL_OFAC_CONS_URL, or --url.
    """
    urls = {}
    for item in url or []:
        source, sep, address = item.partition("=")
        if not sep or not address:
            raise typer.BadParameter(f"{item!r} is not SOURCE=URL", param_hint="--url")
        urls[source] = address
    store = _store(ctx)
    try:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            console=err, transient=True, disable=not err.is_terminal,
        ) as progress:
            results = update(store, names or None, urls, progress, timeout, retries)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    for result in results:
        if result.error:
            err.print(f"[red]error:[/red] {result.error}", highlight=False, soft_wrap=True)
            continue
        v = result.imported.version
        state = "imported" if result.imported.created else "already up to date:"
        out.print(f"{state} {v.source} version {v.id} published {v.published_on}, {v.entry_count} entries")
    if not all(result.ok for result in results):
        raise typer.Exit(1)


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes; each holds its own screening index.")] = 1,
    audit_queries: Annotated[
        str, typer.Option("--audit-queries", help="What the audit trail keeps of each query: full, or hash (SHA-256, no names).")
    ] = "full",
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the HTTP screening service (OpenAPI docs at /docs)."""
    from vigil.api.audit import QUERY_MODES
    from vigil.api.server import ServeError, serve  # uvicorn and FastAPI load only for this command

    if audit_queries not in QUERY_MODES:
        raise typer.BadParameter(f"{audit_queries!r}: one of {', '.join(QUERY_MODES)}", param_hint="--audit-queries")
    store = _store(ctx)  # fails here, clearly, on a store that cannot be opened
    if not store.versions():
        err.print("[yellow]warning:[/yellow] no lists stored yet; /readyz answers 503 until one is imported")
    os.environ.update({"VIGIL_DB": ctx.obj, "VIGIL_AUDIT_QUERIES": audit_queries})
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="vigil-metrics-")
    try:
        serve(host, port, workers, log_level)
    except ServeError as error:
        err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


keys_app = typer.Typer(help="API keys for the HTTP service.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _key_ring(ctx: typer.Context) -> KeyRing:
    return KeyRing(_api_store(ctx).engine)


def _api_store(ctx: typer.Context) -> Store:
    store = _store(ctx)
    api_tables.metadata.create_all(store.engine)
    return store


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    label: Annotated[str, typer.Option(help="Who or what the key is for.")] = "",
) -> None:
    """Create an API key; the key itself is printed once, alone on the last line."""
    key, secret = _key_ring(ctx).create(role, label)
    err.print(f"created {key.role} key {key.id} ({key.prefix}…); keep it now, it cannot be shown again:")
    print(secret)


@keys_app.command("list")
def keys_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The API keys: id, role, label, created, revoked (never the keys themselves)."""
    _print_items(_key_ring(ctx).list(), views.keys_table, as_json)


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: Annotated[int, typer.Argument(help="The key's id (see `vigil keys list`).")]) -> None:
    """Revoke an API key: requests with it are refused from now on."""
    key = _key_ring(ctx).revoke(key_id)
    out.print(f"revoked {key.role} key {key.id} ({key.prefix}…) at {key.revoked_at:%Y-%m-%d %H:%M:%S} UTC")


audit_app = typer.Typer(help="The audit trail of screening requests.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _audit_trail(ctx: typer.Context) -> AuditTrail:
    return AuditTrail(_api_store(ctx).engine)


@audit_app.command("export")
def audit_export(
    ctx: typer.Context,
    output: Annotated[Path | None, typer.Option("--out", help="Write JSON Lines here (default: standard output).")] = None,
    since: Annotated[str | None, typer.Option(help="Only records from this date (YYYY-MM-DD) on.")] = None,
) -> None:
    """Export the audit trail as JSON Lines, one record per line, oldest first."""
    start = datetime.combine(_parse_date(since), time.min, UTC) if since else None
    count = 0
    with (output.open("w", encoding="utf-8") if output else nullcontext(sys.stdout)) as handle:
        for record in _audit_trail(ctx).records(since=start):
            handle.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
            count += 1
    err.print(f"exported {count:,} audit records" + (f" to {output}" if output else ""))


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Recompute the audit trail's hash chain; exit 1 if any record was changed, removed or reordered."""
    result = _audit_trail(ctx).verify()
    if result.ok:
        out.print(f"ok: {result.records:,} audit records, chain intact; head {result.head}")
    else:
        err.print(f"[red]broken:[/red] {result.problem} (the first {result.records:,} records are intact)", highlight=False)
        raise typer.Exit(1)


node_app = typer.Typer(help="This node's identity for the partner exchange.", no_args_is_help=True)
app.add_typer(node_app, name="node")
partner_app = typer.Typer(help="Partner nodes: add (after checking fingerprints), list, revoke.", no_args_is_help=True)
app.add_typer(partner_app, name="partner")


def _node(ctx: typer.Context) -> Node:
    return Node(_store(ctx).engine)


def _passphrase(confirm: bool = False) -> str:
    """From VIGIL_PASSPHRASE, else asked for (never echoed)."""
    return os.environ.get("VIGIL_PASSPHRASE") or typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm, err=True)


@node_app.command("init")
def node_init(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="The name partners will know this node by (default: the host name).")] = None,
) -> None:
    """Create this node's signing (Ed25519) and encryption (X25519) keys, sealed with a passphrase."""
    identity = _node(ctx).init(_passphrase(confirm=True), name)
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
    _print_items(_node(ctx).partners(), views.partners_table, as_json)


@partner_app.command("revoke")
def partner_revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The partner's name here.")]) -> None:
    """Stop trusting a partner: nothing more is sent to it or accepted from it."""
    partner = _node(ctx).revoke_partner(name)
    out.print(f"revoked partner {partner.name!r} at {partner.revoked_at:%Y-%m-%d %H:%M:%S} UTC")


exchange_app = typer.Typer(help="Signed, encrypted messages with partner nodes.", no_args_is_help=True)
app.add_typer(exchange_app, name="exchange")


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
    envelope = mailbox.send(mailbox.node.keys(_passphrase()), to, type, content, tlp.upper(), label)
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
    _print_items(_mailbox(ctx).inbox(), views.messages_table, as_json)


@exchange_app.command("read")
def exchange_read(ctx: typer.Context, message_id: Annotated[str, typer.Argument(help="The message's id.")]) -> None:
    """Decrypt and print a received message."""
    mailbox = _mailbox(ctx)
    message, envelope, content = mailbox.read(message_id, mailbox.node.keys(_passphrase()))
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


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from None


def main() -> None:
    """Entry point: known failures print one clear line and exit non-zero."""
    try:
        app()
    except (SourceError, StoreError, InputError, KeyRingError, NodeError, IdentityError, EnvelopeError, BundleError) as error:
        err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except SQLAlchemyError as error:
        err.print(f"[red]error:[/red] the store failed: {error.__class__.__name__}: {error.orig or error}", highlight=False, soft_wrap=True)
        sys.exit(1)

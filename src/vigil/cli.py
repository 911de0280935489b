"""The `vigil` command. Each command builds the core object and calls it."""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime, time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup
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
from vigil.api.keys import ROLES, KeyRing
from vigil.console import JsonOption, err, open_store, out, print_items, print_json
from vigil.screening import DEFAULT_THRESHOLD, Query, Screener
from vigil.store import ListVersion, Store, StoreError, import_path, resolve_url


if TYPE_CHECKING:  # loaded by the commands that use them
    from vigil.api.audit import AuditTrail
    from vigil.screening.batch import ScreenSummary

class LazyGroups(TyperGroup):
    """The command groups of the partner exchange and cooperation, each loaded
    only when it is used (or for the overall help): a command then starts
    without the modules of all the others, which scripts calling `vigil`
    many times notice."""

    GROUPS = {
        "node": "vigil.exchange.node_cli:node_app",
        "partner": "vigil.exchange.node_cli:partner_app",
        "exchange": "vigil.exchange.cli:exchange_app",
        "agreement": "vigil.cooperation.incident_cli:agreement_app",
        "incident": "vigil.cooperation.incident_cli:incident_app",
        "ping": "vigil.cooperation.incident_cli:ping_app",
        "proposal": "vigil.cooperation.proposal_cli:proposal_app",
    }

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return [*super().list_commands(ctx), *self.GROUPS]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> typer.core.click.Command | None:
        if cmd_name not in self.GROUPS:
            return super().get_command(ctx, cmd_name)
        module, attribute = self.GROUPS[cmd_name].split(":")
        group = typer.main.get_group(getattr(importlib.import_module(module), attribute))
        group.name = cmd_name
        return group


app = typer.Typer(
    cls=LazyGroups,
    help="Vigil: counter-terrorism sanctions lists, versioned, diffed and screened.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Failures that are the user's to fix, printed as one line: (module, class).
# Only modules already loaded are looked at: an error comes from one that was.
EXPECTED_ERRORS = (
    ("vigil.sources", "SourceError"), ("vigil.store", "StoreError"), ("vigil.screening.batch", "InputError"),
    ("vigil.api.keys", "KeyRingError"), ("vigil.exchange.node", "NodeError"), ("vigil.exchange.identity", "IdentityError"),
    ("vigil.exchange.envelope", "EnvelopeError"), ("vigil.exchange.bundle", "BundleError"), ("vigil.exchange.bodies", "BodyError"),
    ("vigil.cooperation.proposal_drafts", "ProposalError"), ("vigil.cooperation.agreements", "CooperationError"),
)


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
    store = open_store(ctx)
    result = import_path(store, target, source)
    v = result.version
    kinds = ", ".join(f"{count} {kind}" for kind, count in v.counts.items())
    if result.created:
        out.print(f"imported {v.source} version {v.id} published {v.published_on}: {v.entry_count} entries ({kinds})")
        _link_proposals(store, v)
    else:
        out.print(f"already imported: {target.name} is {v.source} version {v.id} published {v.published_on}; nothing changed")


@app.command("lists")
def lists_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the stored lists: sources, versions, publication dates, entry counts."""
    versions = open_store(ctx).versions()
    if as_json:
        print_json([v.to_dict() for v in versions])
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
    diff = open_store(ctx).diff(source, from_version, to_version)
    if as_json:
        print_json(diff.to_dict())
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
    store = open_store(ctx)
    resolved = store.resolve_entry_id(entry_id)
    when = _parse_date(as_of) if as_of else None
    found = store.as_of(resolved, when)
    if not found:
        when_text = f"on {when}" if when else "in the newest version of any list"
        raise StoreError(f"{resolved} was not listed {when_text}; see `vigil history {resolved}`")
    if as_json:
        print_json([{"version": v.to_dict(), "entry": e.to_dict()} for v, e in found])
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
    store = open_store(ctx)
    resolved = store.resolve_entry_id(entry_id)
    steps = store.history(resolved)
    if as_json:
        print_json([{"version": s.version.to_dict(), "status": s.status, "fields": s.fields} for s in steps])
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
        print_json({"versions": [v.to_dict() for v in screener.versions], "hits": [h.to_dict() for h in hits]})
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
    from vigil.screening.batch import screen_file

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
    from vigil.screening.rescreen import rescreen_file

    with _progress("re-screening") as advance:
        summary = rescreen_file(open_store(ctx), input, output, previous, threshold, limit, workers, advance)
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
    from vigil.screening.batch import summary_path

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
    store = open_store(ctx)
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
    store = open_store(ctx)
    try:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            console=err, transient=True, disable=not err.is_terminal,
        ) as progress:
            from vigil.update import update

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
        if result.imported.created:
            _link_proposals(store, v)
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
    tls_cert: Annotated[Path | None, typer.Option(help="Serve HTTPS with this certificate (PEM); partners deliver here.")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="The certificate's private key (PEM).")] = None,
    relay: Annotated[bool, typer.Option("--relay", help="Also hold envelopes partners hand over for other partners.")] = False,
) -> None:
    """Run the HTTP service: screening, lists, and the partner exchange (OpenAPI docs at /docs).

    With VIGIL_PASSPHRASE set, the node's keys are opened so that partners can
    deliver to it and messages waiting for partners are retried."""
    from vigil.api.audit import QUERY_MODES
    from vigil.api.server import (  # uvicorn and FastAPI load only for this command
        ServeError,
        serve,
    )

    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("give both --tls-cert and --tls-key, or neither")
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise typer.BadParameter(f"{path}: no such file")
    if audit_queries not in QUERY_MODES:
        raise typer.BadParameter(f"{audit_queries!r}: one of {', '.join(QUERY_MODES)}", param_hint="--audit-queries")
    store = open_store(ctx)  # fails here, clearly, on a store that cannot be opened
    if not store.versions():
        err.print("[yellow]warning:[/yellow] no lists stored yet; /readyz answers 503 until one is imported")
    os.environ.update({"VIGIL_DB": ctx.obj, "VIGIL_AUDIT_QUERIES": audit_queries})
    if relay:
        os.environ["VIGIL_RELAY"] = "1"
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="vigil-metrics-")
    try:
        serve(host, port, workers, log_level, (str(tls_cert), str(tls_key)) if tls_cert and tls_key else None)
    except ServeError as error:
        err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


keys_app = typer.Typer(help="API keys for the HTTP service.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _key_ring(ctx: typer.Context) -> KeyRing:
    return KeyRing(_api_store(ctx).engine)


def _api_store(ctx: typer.Context) -> Store:
    store = open_store(ctx)
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
    print_items(_key_ring(ctx).list(), views.keys_table, as_json)


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: Annotated[int, typer.Argument(help="The key's id (see `vigil keys list`).")]) -> None:
    """Revoke an API key: requests with it are refused from now on."""
    key = _key_ring(ctx).revoke(key_id)
    out.print(f"revoked {key.role} key {key.id} ({key.prefix}…) at {key.revoked_at:%Y-%m-%d %H:%M:%S} UTC")


audit_app = typer.Typer(help="The audit trail of screening requests.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _audit_trail(ctx: typer.Context) -> AuditTrail:
    from vigil.api.audit import AuditTrail

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


def _link_proposals(store: Store, version: ListVersion) -> None:
    """Designation proposals this version lists, linked and reported."""
    from vigil.cooperation.listing import link_new_entries
    from vigil.cooperation.proposal_cli import report_links

    report_links(link_new_entries(store, version))


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from None


def main() -> None:
    """Entry point: known failures print one clear line and exit non-zero."""
    try:
        _run()
    finally:
        # Everything loaded lives until the process ends: spare the collector
        # walking it all again while the interpreter shuts down (about a fifth
        # of a second for every command).
        gc.freeze()


def _run() -> None:
    try:
        app()
    except SQLAlchemyError as error:
        err.print(f"[red]error:[/red] the store failed: {error.__class__.__name__}: {error.orig or error}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except Exception as error:
        if not any(isinstance(error, getattr(sys.modules[module], name)) for module, name in EXPECTED_ERRORS if module in sys.modules):
            raise
        err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        sys.exit(1)

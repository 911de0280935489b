"""The stored lists over HTTP: versions, diffs, entries and their history,
search, and (admin keys) imports of uploaded files and downloads of new versions."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path as FilePath
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from vigil import sources
from vigil.api.errors import field_error
from vigil.api.list_schemas import (
    DiffResponse,
    EntryResponse,
    HistoryResponse,
    ImportResponse,
    ListsResponse,
    SearchResponse,
    SourceName,
    UpdateRequest,
    UpdateResponse,
    VersionsResponse,
)
from vigil.api.routes.match import (
    ERRORS,
    audit_screening,
    current_screener,
    entry_summary,
    version_out,
)
from vigil.api.schemas import MAX_LIMIT, ErrorResponse
from vigil.api.search import search
from vigil.api.service import Service, service
from vigil.model import Kind
from vigil.sources import SourceError
from vigil.store import ImportResult, ListVersion, Store, StoreError, import_path
from vigil.update import OFAC_SDN_FILES, update

log = logging.getLogger("vigil.api")

router = APIRouter(tags=["lists"])

NOT_FOUND = {**ERRORS, 404: {"model": ErrorResponse, "description": "No such list, version or entry (named)"}}

ENTRY_ID = Path(alias="id", min_length=1, max_length=200, description="Entry id (un:QDe.161) or reference (QDe.161).")
SOURCE = Path(min_length=1, max_length=32, description="The list: un, ofac-sdn, ofac-cons.")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
VERSION_ID = re.compile(r"\d{1,18}", re.ASCII)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 100

# One import or update at a time in this process: each holds a whole list in memory.
_writing = threading.Lock()


def parse_day(field: str, text: str) -> date:
    """A YYYY-MM-DD parameter, or a 422 naming it."""
    try:
        if DAY.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise field_error(422, field, f"{text!r} is not a date (YYYY-MM-DD)")


def stored_versions(store: Store, source: str) -> list[ListVersion]:
    """Every version of ``source``, or a 404 naming it."""
    versions = store.versions(source)
    if not versions:
        stored = sorted({v.source for v in store.versions()})
        raise field_error(404, "source", f"no list {source!r} is stored (stored: {', '.join(stored) or 'none'})")
    return versions


def check_version(store: Store, source: str, field: str, ref: str) -> None:
    """A version given by id or date must exist, or the error names ``field``."""
    if not VERSION_ID.fullmatch(ref):
        parse_day(field, ref)
    try:
        store.version(source, ref)
    except StoreError as error:
        raise field_error(404, field, str(error)) from None


def resolve_entry(store: Store, text: str) -> str:
    """The stored id for a path's id or reference, or a 4xx naming it."""
    # Ids are echoed back and looked up, never used as paths; still, nothing
    # that looks like a header or a Windows path gets that far.
    if CONTROL.search(text) or "\\" in text:
        raise field_error(422, "id", "may not hold control characters or backslashes")
    try:
        return store.resolve_entry_id(text)
    except StoreError as error:
        raise field_error(404, "id", str(error)) from None


@router.get("/lists", response_model=ListsResponse, responses=ERRORS, summary="The stored lists")
def lists(svc: Service = Depends(service)) -> JSONResponse:
    """Each stored list with its newest version and how many versions are stored."""
    versions = svc.store.versions()  # by source, oldest first
    counts = Counter(v.source for v in versions)
    newest = {v.source: v for v in versions}
    return JSONResponse({"lists": [
        {"source": source, "version_count": counts[source], "newest": newest[source].to_dict()} for source in newest
    ]})


@router.get("/lists/{source}/versions", response_model=VersionsResponse, responses=NOT_FOUND, summary="Every version of a list")
def list_versions(source: str = SOURCE, svc: Service = Depends(service)) -> JSONResponse:
    """Publication and import times, content hash, origin and entry counts, oldest first."""
    return JSONResponse({"source": source, "versions": [v.to_dict() for v in stored_versions(svc.store, source)]})


@router.get("/diff", response_model=DiffResponse, responses=NOT_FOUND, summary="What changed between two versions")
def diff(
    source: str = Query(min_length=1, max_length=32, description="The list: un, ofac-sdn, ofac-cons."),
    from_ref: str | None = Query(None, alias="from", max_length=20, description="Version id or date (YYYY-MM-DD: the version in force then); default: the version before `to`."),
    to_ref: str | None = Query(None, alias="to", max_length=20, description="Version id or date; default: the newest."),
    svc: Service = Depends(service),
) -> JSONResponse:
    """Entries added, removed and amended (with the fields that changed)."""
    stored_versions(svc.store, source)
    for field, ref in (("from", from_ref), ("to", to_ref)):
        if ref is not None:
            check_version(svc.store, source, field, ref)
    return JSONResponse(svc.store.diff(source, from_ref, to_ref).to_dict())


@router.get("/entries/{id}", response_model=EntryResponse, responses=NOT_FOUND, summary="An entry, now or on a date")
def entry(
    entry_id: str = ENTRY_ID,
    as_of: str | None = Query(None, description="The entry as the lists stood on this date (YYYY-MM-DD); default: the newest versions."),
    svc: Service = Depends(service),
) -> JSONResponse:
    """Every field the list publishes (names, dates of birth, documents, ...) and the version it comes from."""
    when = parse_day("as_of", as_of) if as_of is not None else None
    resolved = resolve_entry(svc.store, entry_id)
    found = svc.store.as_of(resolved, when)
    if not found:
        when_text = f"on {when}" if when else "in the newest version of any list"
        raise field_error(404, "id", f"{resolved} was not listed {when_text}; see /entries/{resolved}/history")
    return JSONResponse({
        "id": resolved, "as_of": when.isoformat() if when else None,
        "listings": [{"version": v.to_dict(), "entry": e.to_dict()} for v, e in found],
    })


@router.get("/entries/{id}/history", response_model=HistoryResponse, responses=NOT_FOUND, summary="An entry's history")
def entry_history(entry_id: str = ENTRY_ID, svc: Service = Depends(service)) -> JSONResponse:
    """Every stored version of every list that had the entry: listed, amended (which fields), unchanged, removed, re-listed."""
    resolved = resolve_entry(svc.store, entry_id)
    steps = svc.store.history(resolved)
    return JSONResponse({
        "id": resolved,
        "history": [{"version": s.version.to_dict(), "status": s.status, "fields": s.fields} for s in steps],
    })


@router.get("/search", response_model=SearchResponse, responses=ERRORS, summary="Search entries by name, id, reference or document")
def search_entries(
    request: Request,
    q: str = Query(min_length=1, max_length=200, description="A name in any script, an entry id, a reference (QDe.161) or a document number."),
    source: SourceName | None = Query(None, description="Only entries of this list."),
    kind: Kind | None = Query(None, description="Only entries of this kind."),
    programme: str | None = Query(None, max_length=50, description="Only entries of this programme or regime (1267, 1988, SDGT, ...)."),
    offset: int = Query(0, ge=0),
    limit: int = Query(20, ge=1, le=MAX_LIMIT),
    svc: Service = Depends(service),
) -> JSONResponse:
    """Exact ids, references and document numbers first, then names (fuzzy, across
    scripts), best first, each with why it matched. Searches the list versions
    /match uses; every search is recorded in the audit trail like a screening."""
    if CONTROL.search(q):
        raise field_error(422, "q", "may not hold control characters")
    if not any(c.isalnum() for c in q):
        raise field_error(422, "q", "has no letters or digits to search for")
    screener = current_screener(svc)
    result = search(screener, q, source, kind, programme)
    versions = [v for v in screener.versions if not source or v.source == source]
    audit_screening(
        svc, request, [{"id": "search", "name": q}], [result.hits], [v.id for v in versions],
        source=source, kind=kind, programme=programme,
    ).result()
    return JSONResponse({
        "q": q, "versions": [version_out(v) for v in versions], "total": len(result.items), "offset": offset, "limit": limit,
        "items": [
            {"entry": entry_summary(f.entry), "score": f.score, "matched": f.matched}
            for f in result.items[offset : offset + limit]
        ],
    })


def safe_name(filename: str | None) -> str:
    """The client's file name as a plain name inside the upload folder: no
    folders, no leading dots, only letters, digits, ".", "_" and "-"."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE.sub("_", base)[-MAX_NAME:].lstrip(".") or "upload"


def save_uploads(source: str, files: list[UploadFile], folder: FilePath, published_on: date | None) -> FilePath:
    """Write the uploaded files into ``folder``; the path to import: one list
    file, or for OFAC's CSV set a folder named by its publication date (the
    set carries none of its own)."""
    names = [safe_name(f.filename) for f in files]
    if source == "ofac-sdn" and any(n.lower().endswith(".csv") for n in names):
        target = folder / (published_on or datetime.now(UTC).date()).isoformat()
        target.mkdir()
        paths = [target / name for name in csv_set_names(names)]
    else:
        if published_on:
            raise field_error(422, "published_on", "only for OFAC's CSV set: other list files carry their own date")
        if len(files) != 1:
            raise field_error(422, "file", f"send one list file (got {len(files)})")
        target = folder / names[0]
        paths = [target]
    for upload, path in zip(files, paths):
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out)
    return target


def csv_set_names(names: list[str]) -> list[str]:
    """The names of OFAC's CSV files as the parser reads them, or a 422 naming the odd one."""
    lower = [name.lower() for name in names]
    for position, name in enumerate(lower):
        if name not in OFAC_SDN_FILES:
            raise field_error(422, f"file[{position}]", f"{names[position]!r} is not one of OFAC's CSV files ({', '.join(OFAC_SDN_FILES)})")
        if lower.index(name) != position:
            raise field_error(422, f"file[{position}]", f"{name} is sent twice")
    if "sdn.csv" not in lower:
        raise field_error(422, "file", "OFAC's CSV set needs sdn.csv (add.csv, alt.csv and sdn_comments.csv are optional)")
    return lower


@router.post(
    "/lists/{source}/import", status_code=201, response_model=ImportResponse,
    responses={**NOT_FOUND, 200: {"model": ImportResponse, "description": "Already imported: nothing changed"}},
    summary="Import an uploaded list file (admin)",
)
def import_upload(
    request: Request,
    source: str = SOURCE,
    file: list[UploadFile] = File(description="The official file; for ofac-sdn's CSV set: sdn.csv, add.csv, alt.csv, sdn_comments.csv."),
    published_on: str | None = Form(None, description="ofac-sdn CSV set only: its publication date (YYYY-MM-DD); default: today."),
    svc: Service = Depends(service),
) -> JSONResponse:
    """Store the file as a new version of the list; the service screens against it
    at once. A file that cannot be read is refused naming the problem (file and
    line), and nothing is stored."""
    if source not in sources.source_names():
        raise field_error(404, "source", f"unknown list {source!r}; known: {', '.join(sources.source_names())}")
    day = parse_day("published_on", published_on) if published_on is not None else None
    with _writing, tempfile.TemporaryDirectory(prefix="vigil-import-") as tmp:
        path = save_uploads(source, file, FilePath(tmp), day)
        origin = "upload:" + ",".join(sorted(p.name for p in path.iterdir()) if path.is_dir() else [path.name])
        folder = path if path.is_dir() else path.parent
        try:
            result = import_path(svc.store, path, source, origin=origin)
        except SourceError as error:
            # Name the uploaded file, never the server's temporary folder.
            message = str(error).replace(f"{folder}{os.sep}", "").replace(str(folder), "the upload")
            raise field_error(422, "file", message) from None
    svc.live.refresh()
    message = _imported(result)
    log.info("key %s, %s: %s", request.state.key.id, origin, message)
    return JSONResponse(
        {"created": result.created, "message": message, "version": result.version.to_dict()},
        status_code=201 if result.created else 200,
    )


def _imported(result: ImportResult) -> str:
    v = result.version
    if result.created:
        return f"imported {v.source} version {v.id} published {v.published_on}: {v.entry_count} entries"
    return f"already imported: the same file is {v.source} version {v.id} published {v.published_on}; nothing changed"


@router.post("/lists/update", response_model=UpdateResponse, responses=ERRORS, summary="Download new list versions (admin)")
def update_lists(body: UpdateRequest | None = None, svc: Service = Depends(service)) -> JSONResponse:
    """Download each list (default: all) from its official address (or the one set
    by VIGIL_UN_URL, VIGIL_OFAC_SDN_URL, VIGIL_OFAC_CONS_URL on the server) and import
    what is new. Answers 200 with each list's outcome; `ok` is false if any failed."""
    with _writing:
        results = update(svc.store, body.sources if body else None)
    svc.live.refresh()
    out: list[dict[str, Any]] = []
    for r in results:
        imported = r.imported
        status = "error" if imported is None else "imported" if imported.created else "up to date"
        out.append({"source": r.source, "url": r.url, "status": status,
                    "version": imported.version.to_dict() if imported else None, "error": r.error})
    return JSONResponse({"ok": all(r.ok for r in results), "results": out})

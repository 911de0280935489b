"""POST /match: screen a batch of parties against the newest list versions."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from vigil.api import metrics
from vigil.api.audit import AuditRecord
from vigil.api.errors import field_error
from vigil.api.schemas import ErrorResponse, MatchRequest, MatchResponse
from vigil.api.service import Service, service
from vigil.model import Entry
from vigil.screening import Hit, Query, Screener
from vigil.store import ListVersion

router = APIRouter(tags=["screening"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        401: "No valid API key", 403: "The key's role may not do this", 413: "Body too large",
        422: "Invalid request (the fields named)", 503: "No lists stored yet",
    }.items()
}


def current_screener(svc: Service) -> Screener:
    """The screener this request uses from start to end."""
    screener = svc.live.current
    if screener is None:
        raise HTTPException(503, "no lists stored yet: import one (POST /lists/{source}/import or `vigil import`)")
    return screener


def version_out(version: ListVersion) -> dict[str, Any]:
    """What answers say of a list version (not where the server imported it from)."""
    return {
        "id": version.id, "source": version.source, "published_on": version.published_on.isoformat(),
        "published_at": version.published_at.isoformat(),
    }


def entry_summary(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id, "name": entry.primary_name, "kind": str(entry.kind), "source": entry.source,
        "reference": entry.reference, "programmes": entry.programmes, "listed_on": entry.listed_on,
        "nationalities": entry.nationalities,
    }


def hit_out(hit: Hit, screener: Screener) -> dict[str, Any]:
    return {
        "entry_id": hit.entry_id, "score": hit.score, "matched_name": hit.matched_name,
        "explanation": hit.explanation, "version_id": hit.version_id, "source": hit.source,
        "reference": hit.reference, "entry": entry_summary(screener.entry(hit.source, hit.entry_id)),
        "features": [{"name": f.name, "value": f.value, "contribution": f.contribution, "detail": f.detail} for f in hit.features],
    }


def screen(screener: Screener, queries: list[Query], threshold: float, limit: int, sources: list[str] | None) -> list[list[Hit]]:
    """Hits per query; a query that cannot be screened is a 422 naming it."""
    results = []
    wanted = set(sources) if sources else None
    for position, query in enumerate(queries):
        try:
            results.append(screener.match(query, threshold, limit, sources=wanted))
        except ValueError as error:
            raise field_error(422, f"queries[{position}]", str(error)) from None
    metrics.QUERIES.inc(len(queries))
    metrics.HITS.inc(sum(len(hits) for hits in results))
    return results


def audit_screening(
    svc: Service, request: Request, queries: list[dict[str, Any]], results: list[list[Hit]], versions: list[int], **options: Any
) -> Future[AuditRecord]:
    """Queue the request's audit record; answer only once the returned future
    is done, so that no screening goes unrecorded."""
    key = request.state.key
    return svc.audit_writer.submit("match", key.id, {
        "endpoint": request.url.path,
        "queries": svc.audit.record_queries(queries),
        "options": options,
        "versions": versions,
        "hits": [{"query_id": h.query_id, "entry_id": h.entry_id, "score": h.score} for hits in results for h in hits],
    })


@router.post("/match", response_model=MatchResponse, responses=ERRORS, summary="Screen a batch of parties")
async def match(body: MatchRequest, request: Request, svc: Service = Depends(service)) -> JSONResponse:
    """Each query's hits, best first, with score, matched name, the listed entry,
    the list version and a plain-sentence explanation. Every hit in one answer
    comes from the same list versions, named in `versions`."""
    # Screening runs on the event loop: it is CPU work that threads could not
    # run in parallel anyway, and a thread hop costs more than a short query.
    screener = current_screener(svc)
    queries = [Query(q.name, q.id, q.kind, q.dob, q.country, q.id_number) for q in body.queries]
    results = screen(screener, queries, body.threshold, body.limit, body.sources)
    versions = [v for v in screener.versions if not body.sources or v.source in body.sources]
    await asyncio.wrap_future(audit_screening(
        svc, request, [q.model_dump(exclude_none=True) for q in body.queries], results, [v.id for v in versions],
        threshold=body.threshold, limit=body.limit, sources=body.sources,
    ))
    return JSONResponse({
        "versions": [version_out(v) for v in versions],
        "threshold": body.threshold,
        "limit": body.limit,
        "results": [
            {"query_id": query.id, "hits": [hit_out(hit, screener) for hit in hits]} for query, hits in zip(queries, results)
        ],
    })

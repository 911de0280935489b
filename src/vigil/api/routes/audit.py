"""The audit trail over HTTP: read and verify (auditor and admin keys)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query

from vigil.api.errors import field_error
from vigil.api.schemas import MAX_ID
from vigil.api.service import Service, service
from vigil.store.store import as_utc

router = APIRouter(tags=["audit"])


@router.get("/audit", summary="Audit records, oldest first")
def audit_records(
    after: int = Query(0, ge=0, le=MAX_ID, description="Only records after this sequence number (the previous page's next_after)."),
    limit: int = Query(100, ge=1, le=1000),
    since: datetime | None = Query(None, description="Only records from this time (ISO 8601) on."),
    until: datetime | None = Query(None, description="Only records before this time."),
    key_id: int | None = Query(None, ge=1, le=MAX_ID, description="Only requests made with this key."),
    svc: Service = Depends(service),
) -> dict[str, Any]:
    """Every screening request: time, key, queries (or their hashes), list
    versions used, hits and scores; each record chained to the one before."""
    since, until = (as_utc(t) if t else None for t in (since, until))  # a time without zone is UTC
    if since and until and since >= until:
        raise field_error(422, "until", "must be later than since")
    records = [r.to_dict() for r in svc.audit.records(after, limit, since, until, key_id)]
    return {"records": records, "next_after": records[-1]["seq"] if records else after}


@router.get("/audit/verify", summary="Check the audit trail's hash chain")
def audit_verify(svc: Service = Depends(service)) -> dict[str, Any]:
    result = svc.audit.verify()
    return {"ok": result.ok, "records": result.records, "head": result.head, "broken_at": result.broken_at, "problem": result.problem}

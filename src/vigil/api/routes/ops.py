"""Liveness, readiness and metrics: open to monitoring, no key needed."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from vigil.api.metrics import exposition
from vigil.api.routes.match import version_out
from vigil.api.service import Service, service

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Ready to screen: lists stored and indexed")
def readyz(svc: Service = Depends(service)) -> JSONResponse:
    screener = svc.live.current
    if screener is None:
        return JSONResponse({"status": "not ready", "reason": "no lists stored yet: import one"}, status_code=503)
    return JSONResponse({"status": "ready", "versions": [version_out(v) for v in screener.versions]})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics() -> Response:
    body, content_type = exposition()
    return Response(body, media_type=content_type)

"""The HTTP service: ``create_app`` builds it; `vigil serve` runs it on uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from vigil import __version__
from vigil.api import errors, metrics
from vigil.api.access import AccessControl
from vigil.api.limits import BodyLimit
from vigil.api.routes import audit, cooperation, exchange, keys, lists, match, ops, yente
from vigil.api.service import Service, Settings

DESCRIPTION = """Screen names against the UN and OFAC sanctions lists, and read the lists' versions.

Send an API key as `Authorization: Bearer KEY` (create one with `vigil keys create --role screener`).
Roles: **screener** (match, search, read), **auditor** (read, audit trail), **liaison** (read, partner exchange,
cooperation with partners: agreements, incidents, pings, proposals), **admin** (everything, imports, keys).
Partner nodes deliver to `POST /exchange/inbox`, signed with their node keys.
Errors are JSON: `{"error": {"status", "message", "fields": [{"field", "message"}]}}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    svc = Service(settings or Settings.from_env())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        svc.start()
        try:
            yield
        finally:
            svc.stop()

    app = FastAPI(title="Vigil", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.service = svc
    errors.install(app)
    for module in (match, ops, audit, keys, lists, yente, exchange, cooperation):
        app.include_router(module.router)
    # The last added runs first: metrics see every answer, keys are checked
    # before bodies are read, bodies are limited as they stream in.
    app.add_middleware(BodyLimit, max_body=svc.settings.max_body, max_upload=svc.settings.max_upload, max_inbox=svc.settings.max_inbox)
    app.add_middleware(AccessControl, keys=svc.keys)
    app.add_middleware(metrics.RequestMetrics)
    return app

"""Every error the service returns is JSON naming the problem (and the field):
``{"error": {"status": 422, "message": "...", "fields": [{"field": "queries[0].name", "message": "..."}]}}``.
Nothing returns a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

log = logging.getLogger("vigil.api")


def error_response(
    status: int, message: str, fields: list[dict[str, str]] | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"status": status, "message": message, "fields": fields or []}}, status_code=status, headers=headers
    )


def field_path(loc: Sequence[Any]) -> str:
    """("body", "queries", 0, "name") -> "queries[0].name"."""
    text = ""
    for part in loc:
        if part in ("body", "query", "path", "header") and not text:
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def _problem(error: dict[str, Any]) -> dict[str, str]:
    if error.get("type") == "json_invalid":
        reason = error.get("ctx", {}).get("error", "")
        return {"field": "body", "message": f"the body is not valid JSON ({reason}) at character {error['loc'][-1]}"}
    return {"field": field_path(error.get("loc", ())), "message": error.get("msg", "invalid")}


async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = [_problem(e) for e in exc.errors()]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return error_response(422, f"invalid request: {summary}", fields)


async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
    if isinstance(exc.detail, dict) and "message" in exc.detail:
        return error_response(exc.status_code, exc.detail["message"], exc.detail.get("fields"), exc.headers)
    return error_response(exc.status_code, str(exc.detail), headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error; the service log has the details")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)


def field_error(status: int, field: str, message: str) -> HTTPException:
    """An HTTP error about one field of the request."""
    return HTTPException(status, {"message": f"{field}: {message}", "fields": [{"field": field, "message": message}]})

"""API keys over HTTP (admin keys): list, create, revoke."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import Field

from vigil.api.errors import field_error
from vigil.api.keys import KeyRingError
from vigil.api.schemas import MAX_ID, Strict, Text
from vigil.api.service import Service, service

router = APIRouter(tags=["keys"])


class NewKey(Strict):
    role: Literal["screener", "auditor", "liaison", "admin"]
    label: Annotated[Text, Field(max_length=200)] = ""


@router.get("/keys", summary="Every API key (never the keys themselves)")
def list_keys(svc: Service = Depends(service)) -> list[dict[str, Any]]:
    return [key.to_dict() for key in svc.keys.list()]


@router.post("/keys", status_code=201, summary="Create a key; the secret is returned only now")
def create_key(body: NewKey, svc: Service = Depends(service)) -> dict[str, Any]:
    key, secret = svc.keys.create(body.role, body.label)
    return {"key": key.to_dict(), "secret": secret}


@router.delete("/keys/{key_id}", summary="Revoke a key")
def revoke_key(key_id: int = Path(ge=1, le=MAX_ID), svc: Service = Depends(service)) -> dict[str, Any]:
    try:
        return svc.keys.revoke(key_id).to_dict()
    except KeyRingError as error:
        raise field_error(404, "key_id", str(error)) from None

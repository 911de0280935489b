"""The bodies of incident messages (``incident.notify``, ``.ack``,
``.respond``, ``.consult``, ``.close``), checked strictly, and what a person
gives as content: text, STIX 2.1 indicators, attachments."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from vigil.cooperation.agreements import CooperationError
from vigil.exchange.bodies import parse_stix

UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Attachment(Body):
    name: str = Field(min_length=1, max_length=255)
    media_type: str = Field(pattern=r"^[\w.+-]+/[\w.+-]+$", max_length=255)
    data: str  # base64

    @field_validator("data")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not valid base64") from None
        return value


class Content(Body):
    """What a person writes: text, technical indicators as STIX 2.1 objects, attachments."""

    text: str = Field(default="", max_length=100_000)
    indicators: list[dict[str, Any]] = Field(default_factory=list, max_length=1000)
    attachments: list[Attachment] = Field(default_factory=list, max_length=100)

    @field_validator("indicators")
    @classmethod
    def _stix(cls, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for position, data in enumerate(objects):
            try:
                parse_stix(data)
            except ValueError as error:
                raise ValueError(f"indicator {position} is {error}") from None
        return objects

    @model_validator(mode="after")
    def _something(self) -> Content:
        if not (self.text.strip() or self.indicators or self.attachments):
            raise ValueError("empty: give a text, indicators or attachments")
        return self


class Details(Content):
    """A notification's content: also where and when it happened."""

    place: str = Field(default="", max_length=500)
    occurred_at: AwareDatetime | None = None


class Notify(Details):
    category: Literal["ict", "air", "sea", "other"]
    severity: Literal["low", "medium", "high", "critical"]
    title: str = Field(min_length=1, max_length=200)
    at: AwareDatetime


class Step(Body):
    incident: str = Field(pattern=UUID)
    at: AwareDatetime


class Ack(Step):
    note: str = Field(default="", max_length=10_000)


class Respond(Step, Content):
    pass


class Consult(Step, Content):
    pass


class Close(Step):
    """A close with its note, or (with ``confirms``) the other node's countersignature of one."""

    note: str = Field(default="", max_length=10_000)
    confirms: str | None = Field(default=None, pattern=UUID)


M = TypeVar("M", bound=Body)
C = TypeVar("C", bound=Content)


def problems(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors())


def parse_body(model: type[M], data: bytes | str, what: str) -> M:
    try:
        return model.model_validate_json(data)
    except ValidationError as error:
        raise CooperationError(f"{what}: {problems(error)}") from None


def read_content(data: bytes, source: str, model: type[C] = Content) -> C:
    """A --body file: plain text; or JSON with ``text``, ``indicators`` and
    ``attachments`` (and for a notification ``place``, ``occurred_at``);
    or a STIX 2.1 bundle or object, taken as the indicators."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CooperationError(f"{source}: not UTF-8 text; give text, or JSON with text, indicators and attachments") from None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        return parse_body(model, json.dumps({"text": text.strip()}), source)
    if "type" in parsed and "id" in parsed:
        objects = parsed.get("objects") if parsed["type"] == "bundle" else [parsed]
        return parse_body(model, json.dumps({"indicators": objects}), source)
    return parse_body(model, text, source)

"""Request and response bodies of the HTTP API (what the OpenAPI document shows)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from vigil.screening import DEFAULT_THRESHOLD

MAX_QUERIES = 1000
MAX_LIMIT = 100

# Printable text without control characters: ids and names are echoed back
# and written to the audit trail, never used as paths.
Text = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]*$")]
# The stores' integer keys (list versions, API keys, audit records) are 32-bit.
MAX_ID = 2**31 - 1


class Strict(BaseModel):
    """Unknown fields and loosely typed values are refused, naming the field."""

    model_config = ConfigDict(extra="forbid", strict=True)


class MatchQuery(Strict):
    id: Annotated[Text, Field(min_length=1, max_length=200, description="The caller's id for this party.")]
    name: Annotated[Text, Field(min_length=1, max_length=1000, description="The name, in any script.")]
    kind: Literal["person", "organisation", "organization"] | None = Field(
        None, description="Person or organisation; unknown when left out."
    )
    dob: Annotated[str, Field(pattern=r"^(\d{4}(-\d{2}(-\d{2})?)?|\d{2}\.\d{2}\.\d{4})$")] | None = Field(
        None, description="Date of birth: YYYY, YYYY-MM, YYYY-MM-DD or DD.MM.YYYY."
    )
    country: Annotated[Text, Field(max_length=100)] | None = Field(
        None, description="Nationality or country: ISO 3166 code or English name."
    )
    id_number: Annotated[Text, Field(max_length=100)] | None = Field(
        None, description="Passport, national identity or registration number."
    )


class MatchRequest(Strict):
    queries: list[MatchQuery] = Field(min_length=1, max_length=MAX_QUERIES)
    threshold: float = Field(DEFAULT_THRESHOLD, ge=0.0, le=1.0, description="Lowest score returned.")
    limit: int = Field(10, ge=1, le=MAX_LIMIT, description="Most hits per query.")
    sources: list[Literal["un", "ofac-sdn", "ofac-cons"]] | None = Field(
        None, description="Screen only against these lists (default: every stored list)."
    )

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{
                "queries": [
                    {"id": "customer-1", "name": "Aiman Zawahiri", "kind": "person", "dob": "1951", "country": "EG"},
                    {"id": "payee-7", "name": "Al Rashid Trust", "kind": "organisation"},
                ],
                "threshold": 0.7,
                "limit": 5,
            }]
        },
    )


class Version(BaseModel):
    id: int
    source: str
    published_on: str
    published_at: str


class FeatureOut(BaseModel):
    name: str
    value: float
    contribution: float
    detail: str


class EntrySummary(BaseModel):
    id: str
    name: str
    kind: str
    source: str
    reference: str | None
    programmes: list[str]
    listed_on: str | None
    nationalities: list[str]


class HitOut(BaseModel):
    entry_id: str
    score: float
    matched_name: str
    explanation: str
    version_id: int
    source: str
    reference: str | None
    entry: EntrySummary
    features: list[FeatureOut]


class QueryResult(BaseModel):
    query_id: str
    hits: list[HitOut]


class MatchResponse(BaseModel):
    versions: list[Version] = Field(description="The list versions every hit in this response was screened against.")
    threshold: float
    limit: int
    results: list[QueryResult]


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    status: int
    message: str
    fields: list[FieldProblem] = []


class ErrorResponse(BaseModel):
    error: ErrorDetail

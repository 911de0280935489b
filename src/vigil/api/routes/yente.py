"""POST /match/{dataset}: POST /match in the request and response shape of
OpenSanctions' yente, so that clients written for yente screen against Vigil
unchanged. The screening, its audit record and its metrics are POST /match's;
docs/yente.md says what is supported and what differs from yente."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import date
from itertools import product
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi import Query as QueryParameters
from fastapi.responses import JSONResponse
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)
from pydantic_core import PydanticCustomError

from vigil.api.errors import field_error
from vigil.api.routes.match import (
    ERRORS,
    audit_screening,
    current_screener,
    entry_summary,
    screen,
    version_out,
)
from vigil.api.schemas import (
    MAX_LIMIT,
    MAX_QUERIES,
    EntrySummary,
    ErrorResponse,
    Text,
    Version,
)
from vigil.api.service import Service, service
from vigil.countries import to_code
from vigil.matching.score import listed_countries, parse_dob, setting
from vigil.model import Entry, Kind, Name, NameQuality, NameType
from vigil.screening import DEFAULT_THRESHOLD, Hit, Query, Screener
from vigil.screening.screener import MAX_NAME_LENGTH
from vigil.sources import source_names
from vigil.store import ListVersion

router = APIRouter(tags=["screening"])

DEFAULT_CUTOFF = 0.5  # yente's: candidates scoring less are not returned at all
DEFAULT_LIMIT = 5  # yente's page of match results
# A query holding several birth dates, countries or identifiers is screened
# once per combination (Vigil's query holds one of each); this bounds them.
MAX_SCREENINGS = 24
MAX_COMBINED_NAMES = 50  # full names built from firstName x lastName x ...

# Names yente's clients pass as `algorithm`: all are answered by Vigil's own scoring.
Algorithm = Literal[
    "best", "vigil", "logic-v1", "logic-v2", "name-based", "name-qualified", "regression-v1", "regression-v2",
]

ALL_LISTS = ("default", "sanctions")
# OpenSanctions' names of the lists Vigil holds, so that `include_dataset=us_ofac_sdn` works unchanged.
OPENSANCTIONS_DATASETS = {"un_sc_sanctions": "un", "us_ofac_sdn": "ofac-sdn", "us_ofac_cons": "ofac-cons"}

# The FollowTheMoney schemata a query may have: the kind Vigil screens it as,
# and the kinds of listed entry it may match.
SchemaName = Literal["Person", "Organization", "Company", "PublicBody", "LegalEntity", "Vessel", "Airplane", "Thing"]
SCHEMATA: dict[str, tuple[str | None, frozenset[Kind]]] = {
    "Person": ("person", frozenset({Kind.PERSON})),
    "Organization": ("organisation", frozenset({Kind.ORGANISATION})),
    "Company": ("organisation", frozenset({Kind.ORGANISATION})),
    "PublicBody": ("organisation", frozenset({Kind.ORGANISATION})),
    "LegalEntity": (None, frozenset({Kind.PERSON, Kind.ORGANISATION})),
    "Vessel": ("organisation", frozenset({Kind.VESSEL})),
    "Airplane": ("organisation", frozenset({Kind.AIRCRAFT})),
    "Thing": (None, frozenset(Kind)),
}
SCHEMA_OF_KIND = {Kind.PERSON: "Person", Kind.ORGANISATION: "Organization", Kind.VESSEL: "Vessel", Kind.AIRCRAFT: "Airplane"}

PERSON = frozenset({"Person"})
LEGAL = frozenset({"LegalEntity", "Person", "Organization", "Company", "PublicBody"})
ORGANISATIONS = frozenset({"Organization", "Company", "PublicBody"})
EVERY = frozenset(SCHEMATA)

NAME, NAME_PART, BIRTH_DATE, COUNTRY, IDENTIFIER, NOT_COMPARED = (
    "name", "name part", "birth date", "country", "identifier", "not compared",
)


def _read_as(role: str, schemata: frozenset[str], *names: str) -> dict[str, tuple[str, frozenset[str]]]:
    return {name: (role, schemata) for name in names}


# The query properties Vigil reads: what it uses each for, and the schemata
# that have it (as in FollowTheMoney). NOT_COMPARED ones (those yente's guides
# suggest, and all Vigil answers with, so that a result can be sent back as a
# query) are accepted, echoed and named in `not_compared`; others are refused.
PROPERTIES = {
    **_read_as(NAME, EVERY, "name", "alias", "previousName", "weakAlias"),
    **_read_as(NAME, LEGAL, "abbreviation"),
    **_read_as(NAME_PART, PERSON, "firstName", "secondName", "middleName", "fatherName", "motherName", "lastName"),
    **_read_as(BIRTH_DATE, PERSON, "birthDate"),
    **_read_as(COUNTRY, EVERY, "country"),
    **_read_as(COUNTRY, PERSON, "nationality", "citizenship", "birthCountry"),
    **_read_as(COUNTRY, LEGAL, "jurisdiction", "mainCountry"),
    **_read_as(IDENTIFIER, PERSON, "passportNumber", "socialSecurityNumber"),
    **_read_as(IDENTIFIER, LEGAL, "idNumber", "taxNumber", "innCode", "ogrnCode", "vatCode", "leiCode"),
    **_read_as(IDENTIFIER, LEGAL | {"Vessel", "Airplane"}, "registrationNumber"),
    **_read_as(IDENTIFIER, ORGANISATIONS | {"Vessel"}, "imoNumber"),
    **_read_as(NOT_COMPARED, EVERY, "address", "notes", "program", "topics", "createdAt", "modifiedAt"),
    **_read_as(NOT_COMPARED, PERSON, "birthPlace", "gender", "title", "position"),
    **_read_as(NOT_COMPARED, LEGAL, "incorporationDate", "email", "phone", "website"),
    **_read_as(NOT_COMPARED, frozenset({"Vessel"}), "flag", "callSign"),
    **_read_as(NOT_COMPARED, frozenset({"Vessel", "Airplane"}), "type", "model"),
}
NAME_PARTS = [name for name, (role, _) in PROPERTIES.items() if role == NAME_PART]  # in the order they are joined

# What the lists publish under `Entry.other`, as FtM properties.
OTHER_PROPERTIES = {
    "Website": "website", "Email Address": "email", "Phone Number": "phone", "Vessel Flag": "flag",
    "Vessel Type": "type", "Call Sign": "callSign", "Vessel Call Sign": "callSign", "Aircraft Model": "model",
}

# yente's `matcher`: each feature, what it measures and the most it adds.
MATCHER = {
    "name": {
        "description": (
            "How well the query's names match the entry's best name, part by part, weighing each part by how rare "
            "it is, across scripts and spellings; weak aliases count half. The score's base, at most the coefficient."
        ),
        "coefficient": max(setting("person_name_ceiling"), setting("organisation_name_ceiling")),
        "url": "",
    },
    "date_of_birth": {
        "description": (
            "The query's birth date against the listed ones (people only): adds up to the coefficient when they "
            f"agree, takes up to {-setting('dob_mismatch')} off when the years are far apart."
        ),
        "coefficient": setting("dob_day"),
        "url": "",
    },
    "country": {
        "description": "The query's countries against the entry's nationalities and countries: adds or takes off the coefficient.",
        "coefficient": setting("country_match"),
        "url": "",
    },
    "document": {
        "description": "An identity document or registration number the entry lists: the score is at least the coefficient.",
        "coefficient": setting("document_match"),
        "url": "",
    },
}


def _one_or_many(value: Any) -> Any:
    """yente takes one value or a list of them."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise PydanticCustomError("values", "must be a string or a list of strings")
    return value


Values = Annotated[
    list[Annotated[Text, Field(max_length=1000)]], BeforeValidator(_one_or_many), Field(max_length=100),
]


def _no_tuning(value: dict[str, Any]) -> dict[str, Any]:
    if value:
        raise PydanticCustomError(
            "no_tuning", "Vigil scores with fixed settings and takes no per-request tuning (got {keys}): leave it out or empty",
            {"keys": ", ".join(sorted(value))[:200]},
        )
    return value


class Example(BaseModel):
    """One party, as yente's EntityExample. Other keys (an entity returned by
    yente sent back as it came) are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)

    id: Annotated[Text, Field(max_length=200)] | None = Field(None, description="The caller's id, echoed in `query`.")
    schema_: SchemaName = Field(alias="schema", description="FollowTheMoney schema of the party.")
    properties: dict[Annotated[str, Field(max_length=100)], Values] = Field(
        max_length=100, description="FollowTheMoney properties: one value or a list per property."
    )


class YenteMatchRequest(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [{
                "queries": {
                    "customer-1": {
                        "schema": "Person",
                        "properties": {"name": ["Aiman al-Zawahry"], "birthDate": ["1951"], "nationality": ["Egypt"]},
                    },
                    "payee-7": {"schema": "Organization", "properties": {"name": ["Al Rashid Trust"]}},
                }
            }]
        },
    )

    queries: dict[Annotated[Text, Field(min_length=1, max_length=200)], Example] = Field(
        min_length=1, max_length=MAX_QUERIES, description="Parties by the caller's key; each answer comes under the same key."
    )
    weights: Annotated[dict[str, float], AfterValidator(_no_tuning)] = Field(
        default_factory=dict, description="Not supported: must be empty."
    )
    config: Annotated[dict[str, str | int | float | bool | None], AfterValidator(_no_tuning)] = Field(
        default_factory=dict, description="Not supported: must be empty."
    )


ListName = Annotated[str, Field(max_length=100)]


class MatchOptions(BaseModel):
    """yente's query parameters. Others (e.g. `fuzzy`) are ignored, as yente does."""

    threshold: float = Field(DEFAULT_THRESHOLD, ge=0.0, le=1.0, description="Results scoring this much are a `match`.")
    cutoff: float = Field(DEFAULT_CUTOFF, ge=0.0, le=1.0, description="Results scoring less are left out (at most `threshold`).")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Most results per query.")
    algorithm: Algorithm = Field("best", description="Accepted for yente's clients; Vigil's own scoring answers.")
    include_dataset: list[ListName] = Field([], max_length=20, description="Only these lists.")
    exclude_dataset: list[ListName] = Field([], max_length=20, description="Not these lists (unknown names are ignored).")
    exclude_schema: list[ListName] = Field([], max_length=20, description="Leave out results of these schemata.")
    exclude_entity_ids: list[Annotated[str, Field(max_length=200)]] = Field([], max_length=50, description="Leave out these entries.")
    topics: list[ListName] = Field([], max_length=20, description="Only results with one of these topics (Vigil's entries: sanction).")
    changed_since: str | None = Field(
        None, pattern=r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]{2,15})?$",
        description="Only entries listed or amended on or after this date (YYYY-MM-DD, a time is ignored).",
    )

    @field_validator("changed_since")
    @classmethod
    def _a_real_date(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                date.fromisoformat(value[:10])
            except ValueError:
                raise PydanticCustomError("date", "{value} is not a real date", {"value": value[:10]}) from None
        return value


class FeatureExplanation(BaseModel):
    score: float
    detail: str
    query: str | None
    candidate: str | None


class ScoredEntity(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    caption: str
    schema_: str = Field(alias="schema")
    properties: dict[str, list[str]]
    datasets: list[str]
    referents: list[str]
    target: bool
    first_seen: str | None
    last_seen: str | None
    last_change: str | None
    score: float
    match: bool
    features: dict[str, float] = Field(description="What each feature added to (or took from) the score.")
    explanations: dict[str, FeatureExplanation] = Field(description="yente's newer per-feature shape, with a phrase each.")
    explanation: str = Field(description="Vigil: the score in one plain sentence.")
    entry: EntrySummary = Field(description="Vigil: the listed entry as POST /match gives it.")
    version_id: int = Field(description="Vigil: the list version this entry was screened in.")


class Total(BaseModel):
    value: int = Field(description="How many results (before `limit`) score at least `threshold`.")
    relation: str


class EntityMatches(BaseModel):
    status: int
    results: list[ScoredEntity]
    total: Total
    query: dict[str, Any] = Field(description="The query as Vigil read it: countries as codes, full names from name parts.")
    not_compared: list[str] = Field(description="Vigil: properties accepted but not compared.")


class FeatureDoc(BaseModel):
    description: str
    coefficient: float
    url: str


class YenteMatchResponse(BaseModel):
    responses: dict[str, EntityMatches]
    matcher: dict[str, FeatureDoc]
    limit: int
    versions: list[Version] = Field(description="Vigil: the list versions screened against.")


@dataclass
class Party:
    """One yente query as Vigil screens it."""

    key: str
    queries: list[Query]  # one per combination of birth date, country and identifier
    kinds: frozenset[Kind]
    echo: dict[str, Any]
    not_compared: list[str]


def read_example(key: str, example: Example) -> Party:
    """The Vigil queries for one yente query; a property Vigil cannot read is a
    422 naming it."""
    where, schema = f"queries.{key}", example.schema_
    kind, kinds = SCHEMATA[schema]
    read: dict[str, list[str]] = {role: [] for role in (NAME, BIRTH_DATE, COUNTRY, IDENTIFIER)}
    parts: dict[str, list[str]] = {}
    echo: dict[str, list[str]] = {}
    not_compared = []
    for prop, values in example.properties.items():
        field = f"{where}.properties.{prop}"
        if prop not in PROPERTIES:
            readable = ", ".join(p for p, (_, schemata) in PROPERTIES.items() if schema in schemata)
            raise field_error(422, field, f"Vigil does not read this property; for a {schema} it reads {readable}")
        role, schemata = PROPERTIES[prop]
        if schema not in schemata:
            raise field_error(422, field, f"not a property of {schema} (it belongs to {', '.join(sorted(schemata))})")
        cleaned = [_clean(role, v.strip(), f"{field}[{i}]") for i, v in enumerate(values) if v.strip()]
        if not cleaned:
            continue
        echo[prop] = list(dict.fromkeys(cleaned))
        if role == NAME_PART:
            parts[prop] = echo[prop]
        elif role == NOT_COMPARED:
            not_compared.append(prop)
        else:
            read[role] += echo[prop]
    combined = _combined_names(parts, f"{where}.properties")
    if combined:
        echo["alias"] = list(dict.fromkeys(echo.get("alias", []) + combined))
    names = list(dict.fromkeys(read[NAME] + combined))
    if not names:
        raise field_error(422, f"{where}.properties.name", "a name is needed (name or alias; for a Person also firstName, lastName, ...)")
    joined = "; ".join(names)
    if len(joined) > MAX_NAME_LENGTH:
        raise field_error(422, f"{where}.properties.name", f"the names are {len(joined):,} characters together (at most {MAX_NAME_LENGTH:,})")
    facts: list[list[str | None]] = [list(dict.fromkeys(read[role])) or [None] for role in (BIRTH_DATE, COUNTRY, IDENTIFIER)]
    if math.prod(len(values) for values in facts) > MAX_SCREENINGS:
        counts = " x ".join(f"{len(v)} {what}" for v, what in zip(facts, ("birth dates", "countries", "identifiers")))
        raise field_error(422, f"{where}.properties", f"{counts} make too many combinations to screen (at most {MAX_SCREENINGS})")
    queries = [Query(joined, key, kind, dob, country, number) for dob, country, number in product(*facts)]
    return Party(key, queries, kinds, {"id": example.id, "schema": schema, "properties": echo}, not_compared)


def _clean(role: str, value: str, field: str) -> str:
    """A property value as Vigil compares it (countries become lowercase ISO codes, as in FtM)."""
    if role in (NAME, NAME_PART, IDENTIFIER) and not any(c.isalnum() for c in value):
        raise field_error(422, field, f"{value!r} has no letters or digits")
    if role == BIRTH_DATE:
        try:
            parse_dob(value)
        except ValueError as error:
            raise field_error(422, field, str(error)) from None
    if role == COUNTRY:
        code = to_code(value)
        if code is None:
            raise field_error(422, field, f"{value!r} is not a country name or ISO code Vigil knows")
        return code.lower()
    return value


def _combined_names(parts: dict[str, list[str]], field: str) -> list[str]:
    """Full names from a Person's name parts, every combination, as
    FollowTheMoney's combine_names makes them."""
    ordered = [parts[p] for p in NAME_PARTS if parts.get(p)]
    if not ordered:
        return []
    if math.prod(len(values) for values in ordered) > MAX_COMBINED_NAMES:
        raise field_error(422, field, f"the name parts make more than {MAX_COMBINED_NAMES} full names")
    return list(dict.fromkeys(" ".join(combination) for combination in product(*ordered)))


def dataset_lists(name: str, stored: set[str]) -> set[str] | None:
    """The stored lists a dataset name stands for; None when Vigil knows no such dataset."""
    if name in ALL_LISTS:
        return set(stored)
    source = OPENSANCTIONS_DATASETS.get(name, name)
    return {source} & stored if source in source_names() else None


def selected_lists(dataset: str, options: MatchOptions, stored: set[str]) -> set[str]:
    known = ", ".join([*ALL_LISTS, *source_names()])
    lists = dataset_lists(dataset, stored)
    if lists is None:
        raise field_error(404, "dataset", f"no dataset {dataset!r}: use one of {known}")
    if not lists:
        raise field_error(404, "dataset", f"the {dataset!r} list is not stored here yet (stored: {', '.join(sorted(stored))})")
    if options.include_dataset:
        included: set[str] = set()
        for name in options.include_dataset:
            found = dataset_lists(name, stored)
            if not found:
                problem = (f"is not stored here yet (stored: {', '.join(sorted(stored))})" if found is not None
                           else f"is not a dataset Vigil knows ({known})")
                raise field_error(422, "include_dataset", f"{name!r} {problem}")
            included |= found
        lists &= included
    for name in options.exclude_dataset:
        lists -= dataset_lists(name, stored) or set()
    return lists


def last_change(entry: Entry) -> str | None:
    """The latest date the list gives for listing or amending the entry."""
    return max((d for d in (*entry.last_updated, entry.listed_on) if d), default=None)


def _moment(day: str | None) -> str | None:
    """A list's date as yente's timestamps (None unless a full date)."""
    return f"{day}T00:00:00" if day and len(day) == 10 else None


def _name_property(name: Name) -> str:
    if name.quality is NameQuality.LOW:
        return "weakAlias"
    if name.type is NameType.FKA:
        return "previousName"
    return "name" if name.quality is NameQuality.PRIMARY else "alias"


def _document_property(kind: Kind, document_type: str) -> str:
    if kind in (Kind.VESSEL, Kind.AIRCRAFT):
        return "registrationNumber"
    if kind is Kind.PERSON and "passport" in document_type.lower():
        return "passportNumber"
    return "idNumber"


def entity_properties(entry: Entry) -> dict[str, list[str]]:
    """A listed entry as FollowTheMoney properties."""
    properties: dict[str, list[str]] = {}

    def add(prop: str, *values: str | None) -> None:
        for value in values:
            if value and value not in properties.setdefault(prop, []):
                properties[prop].append(value)

    person = entry.kind is Kind.PERSON
    for name in entry.names:
        add(_name_property(name), name.full)
    add("country", *sorted(c.lower() for c in listed_countries(entry)))
    for document in entry.documents:
        add(_document_property(entry.kind, document.type), document.number)
    for address in entry.addresses:
        add("address", ", ".join(p for p in (address.street, address.city, address.state_province, address.postal_code) if p))
    if person:
        for born in entry.dates_of_birth:
            add("birthDate", born.start, born.end)
        for place in entry.places_of_birth:
            add("birthPlace", place.text or ", ".join(p for p in (place.city, place.state_province) if p))
            add("birthCountry", place.country.lower() if place.country else None)
        add("nationality", *(c.lower() for c in entry.nationalities))
        add("gender", entry.gender.lower() if entry.gender else None)
        add("title", *entry.titles)
        add("position", *entry.designations)
    for label, prop in OTHER_PROPERTIES.items():
        add(prop, *(v.lower() if prop == "flag" else v for v in entry.other.get(label, [])))
    add("program", *entry.programmes)
    add("notes", entry.remarks)
    add("createdAt", entry.listed_on)
    add("modifiedAt", max(entry.last_updated, default=None))
    add("topics", "sanction")
    return {prop: values for prop, values in properties.items() if values}


def scored_entity(hit: Hit, entry: Entry, version: ListVersion, threshold: float) -> dict[str, Any]:
    return {
        "id": entry.id, "caption": entry.primary_name, "schema": SCHEMA_OF_KIND[entry.kind],
        "properties": entity_properties(entry), "datasets": [entry.source], "referents": [], "target": True,
        "first_seen": _moment(entry.listed_on), "last_seen": version.published_at.isoformat(),
        "last_change": _moment(last_change(entry)),
        "score": hit.score, "match": hit.score >= threshold,
        "features": {f.name: f.contribution for f in hit.features},
        "explanations": {
            f.name: {"score": f.contribution, "detail": f.detail, "query": None,
                     "candidate": hit.matched_name if f.name == "name" else None}
            for f in hit.features
        },
        "explanation": hit.explanation, "entry": entry_summary(entry), "version_id": hit.version_id,
    }


def keep(hits: list[Hit], party: Party, screener: Screener, options: MatchOptions) -> list[Hit]:
    """The best hit per entry over the party's screenings, without those the
    options leave out, best first."""
    best: dict[str, Hit] = {}
    for hit in hits:
        if hit.entry_id not in best or hit.score > best[hit.entry_id].score:
            best[hit.entry_id] = hit
    if options.topics and "sanction" not in options.topics:
        return []
    since = options.changed_since[:10] if options.changed_since else None
    kept = []
    for hit in best.values():
        entry = screener.entry(hit.source, hit.entry_id)
        changed = last_change(entry)
        if (
            entry.kind in party.kinds
            and SCHEMA_OF_KIND[entry.kind] not in options.exclude_schema
            and entry.id not in options.exclude_entity_ids
            and (since is None or changed is None or changed >= since)
        ):
            kept.append(hit)
    return sorted(kept, key=lambda h: (-h.score, h.entry_id))


@router.post(
    "/match/{dataset}",
    response_model=YenteMatchResponse,
    responses={**ERRORS, 404: {"model": ErrorResponse, "description": "No such dataset, or its list is not stored"}},
    summary="Screen a batch of parties, in yente's shape",
)
async def match_dataset(
    body: YenteMatchRequest,
    options: Annotated[MatchOptions, QueryParameters()],
    request: Request,
    dataset: str = Path(max_length=100, description="default or sanctions (every list), or one list: un, ofac-sdn, ofac-cons."),
    svc: Service = Depends(service),
) -> JSONResponse:
    """OpenSanctions' yente `/match/{dataset}`, answered by Vigil's screening:
    `{"queries": {"key": {"schema": "Person", "properties": {"name": [...],
    "birthDate": [...], "nationality": [...]}}}}` in, each key's results out as
    FollowTheMoney entities with `score`, `match` and `features`, plus Vigil's
    plain `explanation`. Every request is in the audit trail."""
    screener = current_screener(svc)
    lists = selected_lists(dataset, options, {v.source for v in screener.versions})
    parties = [read_example(key, example) for key, example in body.queries.items()]
    threshold, cutoff = options.threshold, min(options.cutoff, options.threshold)
    queries = [query for party in parties for query in party.queries]
    if len(queries) > MAX_QUERIES:
        raise field_error(422, "queries", f"their birth dates, countries and identifiers make {len(queries):,} "
                                          f"screenings (at most {MAX_QUERIES:,} per request)")
    # Every hit down to the cutoff: `total` counts them all, and filters apply before `limit`.
    found = screen(screener, queries, cutoff, MAX_LIMIT, sorted(lists)) if lists else [[] for _ in queries]
    versions = [v for v in screener.versions if v.source in lists]
    by_id = {v.id: v for v in versions}
    responses, returned, screened = {}, [], iter(found)
    for party in parties:
        hits = [hit for _ in party.queries for hit in next(screened)]
        kept = keep(hits, party, screener, options)
        returned.append(kept[: options.limit])
        responses[party.key] = {
            "status": 200,
            "results": [scored_entity(h, screener.entry(h.source, h.entry_id), by_id[h.version_id], threshold) for h in returned[-1]],
            "total": {"value": sum(h.score >= threshold for h in kept), "relation": "eq"},
            "query": party.echo,
            "not_compared": party.not_compared,
        }
    await asyncio.wrap_future(audit_screening(
        svc, request, [{"id": p.key, "example": p.echo} for p in parties], returned, [v.id for v in versions],
        dataset=dataset, **{**options.model_dump(), "cutoff": cutoff},
    ))
    return JSONResponse({
        "responses": responses, "matcher": MATCHER, "limit": options.limit,
        "versions": [version_out(v) for v in versions],
    })

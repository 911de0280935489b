"""What is screened (a query) and what screening finds (a hit)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Query:
    """One party to screen: a customer, a payment's party, a shipment's consignee."""

    name: str
    id: str = ""
    kind: str | None = None  # "person", "organisation", or None when unknown
    dob: str | None = None  # ISO date of any precision: "1971", "1971-05", "1971-05-03"
    country: str | None = None  # nationality or country, ISO alpha-2 or a country name
    id_number: str | None = None  # passport, national ID or registration number


@dataclass(frozen=True)
class Feature:
    """One piece of evidence and what it did to the score."""

    name: str  # e.g. "name", "date_of_birth", "country", "document"
    value: float  # the feature's own measure, 0..1 (or -1..1 for evidence against)
    contribution: float  # what it added to (or took from) the score
    detail: str  # a plain-language phrase for the explanation


@dataclass(frozen=True)
class Hit:
    query_id: str
    entry_id: str
    score: float  # 0..1, graded evidence
    matched_name: str  # the listed name that matched best
    entry_name: str  # the entry's primary name
    kind: str
    source: str
    reference: str | None
    version_id: int  # the list version screened against
    explanation: str  # one plain sentence
    features: tuple[Feature, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

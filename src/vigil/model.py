"""The normalised data model shared by every list format.

Parsers in ``vigil.sources`` only fill these objects; the store keeps them as
canonical JSON (``Entry.to_dict``), and everything downstream reads them.
Dates are ISO 8601 strings of the precision the list gives: ``"1971"``,
``"1971-05"`` or ``"1971-05-03"``. Countries are ISO 3166-1 alpha-2 codes
(``vigil.countries`` turns the lists' country names into codes).
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"
    VESSEL = "vessel"
    AIRCRAFT = "aircraft"


class NameQuality(StrEnum):
    """How much a name can be trusted to identify the entry on its own.

    The UN marks aliases "Good" or "Low"; OFAC marks them "strong" or "weak".
    A LOW name must never raise an alert by itself.
    """

    PRIMARY = "primary"
    GOOD = "good"
    LOW = "low"


class NameType(StrEnum):
    NAME = "name"  # the entry's main name as published
    AKA = "aka"  # also known as
    FKA = "fka"  # formerly known as
    NKA = "nka"  # now known as


@dataclass(frozen=True)
class NamePart:
    """One published part of a name. ``role`` is what the list calls it:
    "given", "family", "middle", "patronymic", or the UN's ordinal fields
    "first", "second", "third", "fourth" (whose meaning varies by culture)."""

    role: str
    value: str


@dataclass(frozen=True)
class Name:
    full: str
    quality: NameQuality = NameQuality.PRIMARY
    type: NameType = NameType.NAME
    parts: tuple[NamePart, ...] = ()
    script: str = ""  # ISO 15924 code: "Latn", "Arab", "Cyrl", "Hani", ...
    note: str | None = None

    def __post_init__(self) -> None:
        if not self.script:
            object.__setattr__(self, "script", detect_script(self.full))


@dataclass(frozen=True)
class DateOfBirth:
    """A date of birth as published: one date, or a range ``start``..``end``.

    ``start`` alone of precision year/month/day covers "1971", "May 1971" and
    an exact day; ``approximate`` carries the UN's APPROXIMATELY and OFAC's
    "circa".
    """

    start: str
    end: str | None = None
    approximate: bool = False
    note: str | None = None

    @property
    def precision(self) -> str:
        return {4: "year", 7: "month", 10: "day"}.get(len(self.start), "unknown")


@dataclass(frozen=True)
class PlaceOfBirth:
    city: str | None = None
    state_province: str | None = None
    country: str | None = None  # ISO alpha-2
    text: str | None = None  # the place as published, when not split into parts


@dataclass(frozen=True)
class Address:
    street: str | None = None
    city: str | None = None
    state_province: str | None = None
    postal_code: str | None = None
    country: str | None = None  # ISO alpha-2
    note: str | None = None


@dataclass(frozen=True)
class Document:
    type: str  # "passport", "national-id", or the list's own wording
    number: str
    country: str | None = None  # issuing country, ISO alpha-2
    issued_on: str | None = None
    expires_on: str | None = None
    note: str | None = None


_PARTS = {
    "names": Name,
    "dates_of_birth": DateOfBirth,
    "places_of_birth": PlaceOfBirth,
    "addresses": Address,
    "documents": Document,
}


@dataclass
class Entry:
    """One listed person, organisation, vessel or aircraft in one list version."""

    id: str  # stable across versions: "un:QDi.430", "ofac:12345"
    source: str  # "un", "ofac-sdn", "ofac-cons", ...
    kind: Kind
    names: list[Name]
    reference: str | None = None  # the list's own reference number
    programmes: list[str] = field(default_factory=list)  # regimes: "1267", "SDGT", ...
    listed_on: str | None = None
    last_updated: list[str] = field(default_factory=list)
    dates_of_birth: list[DateOfBirth] = field(default_factory=list)
    places_of_birth: list[PlaceOfBirth] = field(default_factory=list)
    nationalities: list[str] = field(default_factory=list)  # ISO alpha-2
    documents: list[Document] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    gender: str | None = None
    titles: list[str] = field(default_factory=list)
    designations: list[str] = field(default_factory=list)  # positions held
    remarks: str | None = None
    # Anything else the list publishes (websites, vessel flags, linked entries,
    # nationality strings that name no ISO country, ...): label -> values.
    other: dict[str, list[str]] = field(default_factory=dict)
    raw: str = ""  # the source record, for provenance

    @property
    def primary_name(self) -> str:
        return self.names[0].full if self.names else ""

    def to_dict(self) -> dict[str, Any]:
        """Canonical, JSON-ready form (the store hashes and keeps this)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        values = dict(data)
        for key, part in _PARTS.items():
            values[key] = [_part_from_dict(part, item) for item in values.get(key, [])]
        values["kind"] = Kind(values["kind"])
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def _part_from_dict(cls: type, item: dict[str, Any]) -> Any:
    if cls is Name:
        item = dict(item)
        item["quality"] = NameQuality(item["quality"])
        item["type"] = NameType(item["type"])
        item["parts"] = tuple(NamePart(**p) for p in item.get("parts", ()))
    return cls(**item)


@dataclass
class ParsedList:
    """What a parser returns: one publication of one list."""

    source: str
    published_at: datetime  # timezone-aware, from the file itself
    entries: list[Entry]


_SCRIPT_PREFIXES = (
    ("ARABIC", "Arab"),
    ("CYRILLIC", "Cyrl"),
    ("CJK", "Hani"),
    ("HIRAGANA", "Jpan"),
    ("KATAKANA", "Jpan"),
    ("HANGUL", "Hang"),
    ("HEBREW", "Hebr"),
    ("GREEK", "Grek"),
    ("DEVANAGARI", "Deva"),
    ("THAI", "Thai"),
    ("ETHIOPIC", "Ethi"),
    ("MYANMAR", "Mymr"),
    ("GEORGIAN", "Geor"),
    ("ARMENIAN", "Armn"),
    ("LATIN", "Latn"),
)


def detect_script(text: str) -> str:
    """ISO 15924 code of the first letter's script ("Zyyy" when none)."""
    for char in text:
        if char.isalpha():
            name = unicodedata.name(char, "")
            for prefix, code in _SCRIPT_PREFIXES:
                if name.startswith(prefix):
                    return code
            return "Zzzz"
    return "Zyyy"

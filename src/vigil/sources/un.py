"""The UN Security Council Consolidated List (XML, schema sc-sanctions.xsd).

One file holds every UN sanctions regime: ``INDIVIDUALS/INDIVIDUAL`` records
become persons and ``ENTITIES/ENTITY`` records organisations. Releases differ
in layout (one line per record or indented, quote style, timezone of
``dateGenerated``); the element API below does not care.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

from lxml import etree

from vigil.countries import to_code
from vigil.model import (
    Address,
    DateOfBirth,
    Document,
    Entry,
    Kind,
    Name,
    NamePart,
    NameQuality,
    NameType,
    ParsedList,
    PlaceOfBirth,
)
from vigil.sources import SourceError
from vigil.sources.xml import canonical, parse_xml, read_head

# UN_LIST_TYPE -> the resolution that established the regime's committee.
_PROGRAMMES = {
    "Al-Qaida": "1267",  # ISIL (Da'esh) and Al-Qaida, 1267/1989/2253
    "Taliban": "1988",
    "DPRK": "1718",
    "Iran": "2231",  # see _programme: 1737 again after the 2025 snapback
    "Iraq": "1518",
    "Libya": "1970",
    "Somalia": "751",  # the 751 Committee, renamed "2713 (Al-Shabaab)" in Dec. 2023
    "Sudan": "1591",
    "SouthSudan": "2206",
    "DRC": "1533",
    "CAR": "2127",
    "Yemen": "2140",
    "GB": "2048",  # Guinea-Bissau
    "Haiti": "2653",
}
# Resolution 2231 (2015) replaced the 1737 Committee's regime; the "snapback"
# restored resolution 1737 and its Committee from 28 September 2025, 00:00 GMT.
_SNAPBACK = datetime(2025, 9, 28, tzinfo=UTC)

# Alias QUALITY -> (quality, type). Individuals' aliases are graded "Good" or
# "Low"; entities' aliases are never graded, only "a.k.a." or "f.k.a.", and are
# treated as good. QUALITY is empty only on empty aliases in the real files; an
# unknown or missing grade counts as good, so that no published alias is muted.
_ALIAS_KINDS = {
    "good": (NameQuality.GOOD, NameType.AKA),
    "low": (NameQuality.LOW, NameType.AKA),
    "a.k.a.": (NameQuality.GOOD, NameType.AKA),
    "f.k.a.": (NameQuality.GOOD, NameType.FKA),
}

_NAME_PARTS = (
    ("FIRST_NAME", "first"),
    ("SECOND_NAME", "second"),
    ("THIRD_NAME", "third"),
    ("FOURTH_NAME", "fourth"),
)

# Child elements read into dedicated fields (or deliberately dropped: VERSIONNUM
# is always 1 and the SORT_KEYs are always empty). Any other child with text
# goes into Entry.other under its lower-cased tag (DATAID, SUBMITTED_BY, ...).
_HANDLED = {
    "REFERENCE_NUMBER", "UN_LIST_TYPE", "LIST_TYPE", "LISTED_ON", "LAST_DAY_UPDATED",
    *(tag for tag, _ in _NAME_PARTS), "NAME_ORIGINAL_SCRIPT",
    "INDIVIDUAL_ALIAS", "ENTITY_ALIAS", "INDIVIDUAL_ADDRESS", "ENTITY_ADDRESS",
    "INDIVIDUAL_DATE_OF_BIRTH", "INDIVIDUAL_PLACE_OF_BIRTH", "INDIVIDUAL_DOCUMENT",
    "NATIONALITY", "GENDER", "TITLE", "DESIGNATION", "COMMENTS1",
    "VERSIONNUM", "SORT_KEY", "SORT_KEY_LAST_MOD",
}

_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?")  # xs:date, maybe with a zone
_YEAR = re.compile(r"\d{4}")
_YEAR_RANGE = re.compile(r"(\d{4})\s*-\s*(\d{4})")
_PASSPORT = re.compile(r"passport|passeport|pasaporte", re.IGNORECASE)
_NATIONAL_ID = re.compile(r"national identi(?:fication|ty)", re.IGNORECASE)
# The UN's own wordings of the two normalised types, not worth a note.
_STANDARD_TYPES = {"passport", "national identification number"}


class _UnFormat:
    sources = ("un",)

    def detect(self, path: Path) -> str | None:
        return "un" if b"<CONSOLIDATED_LIST" in read_head(path) else None

    def parse(self, path: Path, source: str) -> ParsedList:
        path = Path(path)
        root = parse_xml(path)
        if root.tag != "CONSOLIDATED_LIST":
            raise SourceError(path, f"root element is <{root.tag}>, not <CONSOLIDATED_LIST>",
                              line=root.sourceline)
        published_at = _published_at(path, root)
        entries: list[Entry] = []
        lines: dict[str, int | None] = {}
        for tag, kind in (("INDIVIDUALS/INDIVIDUAL", Kind.PERSON), ("ENTITIES/ENTITY", Kind.ORGANISATION)):
            for element in root.iterfind(tag):
                entry = _Record(path, element, source, published_at).entry(kind)
                if entry.id in lines:
                    raise SourceError(path, f"duplicate REFERENCE_NUMBER {entry.reference} "
                                      f"(lines {lines[entry.id]} and {element.sourceline})",
                                      line=element.sourceline)
                lines[entry.id] = element.sourceline
                entries.append(entry)
        return ParsedList(source=source, published_at=published_at, entries=entries)


FORMAT = _UnFormat()


def _published_at(path: Path, root: etree._Element) -> datetime:
    """``dateGenerated`` as an aware datetime (UTC if it carries no zone)."""
    value = root.get("dateGenerated")
    if not value:
        raise SourceError(path, "missing dateGenerated on <CONSOLIDATED_LIST>", line=root.sourceline)
    try:
        published = datetime.fromisoformat(value.strip())
    except ValueError:
        raise SourceError(path, f"unreadable dateGenerated {value!r}", line=root.sourceline) from None
    return published if published.tzinfo else published.replace(tzinfo=UTC)


def _programme(list_type: str, published_at: datetime) -> str:
    """The regime of a UN_LIST_TYPE (an unknown one is kept as published)."""
    if list_type == "Iran" and published_at >= _SNAPBACK:
        return "1737"
    return _PROGRAMMES.get(list_type, list_type)


def _clean(text: str | None) -> str | None:
    """Text with its whitespace runs collapsed; None when nothing is left."""
    if text is None:
        return None
    return " ".join(text.split()) or None


def _children(element: etree._Element) -> dict[str, str]:
    """The non-empty texts of a small record's children (alias, address, ...)."""
    return {child.tag: value for child in element if (value := _clean(child.text))}


def _join(*parts: str | None, sep: str = "; ") -> str | None:
    return sep.join(part for part in parts if part) or None


class _Record:
    """Reads one INDIVIDUAL or ENTITY element into an Entry."""

    def __init__(self, path: Path, element: etree._Element, source: str, published_at: datetime):
        self.path = path
        self.element = element
        self.source = source
        self.published_at = published_at
        self.other: dict[str, list[str]] = {}

    def error(self, message: str, element: etree._Element | None = None) -> SourceError:
        element = self.element if element is None else element
        return SourceError(self.path, message, line=element.sourceline)

    def text(self, tag: str) -> str | None:
        return _clean(self.element.findtext(tag))

    def values(self, tag: str) -> list[str]:
        return [value for child in self.element.iterfind(tag) if (value := _clean(child.text))]

    def keep(self, label: str, value: str) -> None:
        self.other.setdefault(label, []).append(value)

    def day(self, child: etree._Element | None) -> str | None:
        """The ISO day of an xs:date element ("1960-01-01-05:00" -> "1960-01-01")."""
        text = (child.text or "").strip() if child is not None else ""
        if not text:
            return None
        day = _iso_day(text)
        if day is None:
            raise self.error(f"invalid date {text!r} in <{child.tag}>", child)
        return day

    def year(self, child: etree._Element | None) -> str | None:
        text = _clean(child.text) if child is not None else None
        if text is not None and not _YEAR.fullmatch(text):
            raise self.error(f"invalid year {text!r} in <{child.tag}>", child)
        return text

    def entry(self, kind: Kind) -> Entry:
        reference = self.text("REFERENCE_NUMBER")
        if reference is None:
            dataid = self.text("DATAID") or "unknown"
            raise self.error(f"<{self.element.tag}> without REFERENCE_NUMBER (DATAID {dataid})")
        list_type = self.text("UN_LIST_TYPE")
        if list_type:
            self.keep("un_list_type", list_type)
        for value in self.values("LIST_TYPE/VALUE"):
            self.keep("list_type", value)
        entry = Entry(
            id=f"{self.source}:{reference}",
            source=self.source,
            kind=kind,
            names=self.names(reference),
            reference=reference,
            programmes=[_programme(list_type, self.published_at)] if list_type else [],
            listed_on=self.day(self.element.find("LISTED_ON")),
            last_updated=[day for value in self.element.iterfind("LAST_DAY_UPDATED/VALUE")
                          if (day := self.day(value))],
            dates_of_birth=self.dates_of_birth(),
            places_of_birth=self.places_of_birth(),
            nationalities=self.nationalities(),
            documents=self.documents(),
            addresses=[address for element in self.element.iterfind(f"{self.element.tag}_ADDRESS")
                       if (address := _address(element))],
            gender=self.gender(),
            titles=self.values("TITLE/VALUE"),
            designations=self.values("DESIGNATION/VALUE"),
            # Whitespace is collapsed: the releases re-wrap and re-indent the
            # same remarks, which is no amendment (the raw record keeps them).
            remarks=_clean(self.element.findtext("COMMENTS1")),
            raw=canonical(self.element),
        )
        self.alias_births(entry)
        self.keep_unhandled()
        entry.other = self.other
        return entry

    def names(self, reference: str) -> list[Name]:
        parts = tuple(NamePart(role, value) for tag, role in _NAME_PARTS if (value := self.text(tag)))
        if not parts:
            raise self.error(f"{reference} has no name (FIRST_NAME etc. are empty)")
        names = [Name(" ".join(part.value for part in parts), parts=parts)]
        original = self.text("NAME_ORIGINAL_SCRIPT")
        if original and original != names[0].full:
            names.append(Name(original, quality=NameQuality.GOOD))
        for alias in self.element.iterfind(f"{self.element.tag}_ALIAS"):
            fields = _children(alias)
            if "ALIAS_NAME" not in fields:
                continue
            quality, type_ = _ALIAS_KINDS.get(fields.get("QUALITY", "").lower(),
                                              (NameQuality.GOOD, NameType.AKA))
            names.append(Name(fields["ALIAS_NAME"], quality=quality, type=type_,
                              note=fields.get("NOTE")))
        return _unique(names)

    def dates_of_birth(self) -> list[DateOfBirth]:
        found = []
        for element in self.element.iterfind("INDIVIDUAL_DATE_OF_BIRTH"):
            kind = _clean(element.findtext("TYPE_OF_DATE"))
            note = _clean(element.findtext("NOTE"))
            if kind == "BETWEEN":
                start, end = self.year(element.find("FROM_YEAR")), self.year(element.find("TO_YEAR"))
                if start is None or start == end:
                    start, end = start or end, None
            else:
                start = self.day(element.find("DATE")) or self.year(element.find("YEAR"))
                end = None
            if start:
                found.append(DateOfBirth(start, end, approximate=kind == "APPROXIMATELY", note=note))
            elif note:  # e.g. "24/06/1402 (Hijri Calendar)": a date only in words
                self.keep("date_of_birth", note)
        return _unique(found)

    def places_of_birth(self) -> list[PlaceOfBirth]:
        found = []
        for element in self.element.iterfind("INDIVIDUAL_PLACE_OF_BIRTH"):
            fields = _children(element)
            if not fields:
                continue
            city, state, country = fields.get("CITY"), fields.get("STATE_PROVINCE"), fields.get("COUNTRY")
            code = to_code(country)
            # STREET, NOTE and a country with no code have no field of their
            # own: then the whole place goes into ``text`` as published.
            partial = "STREET" in fields or "NOTE" in fields or (country and not code)
            text = _join(fields.get("STREET"), city, state, country, fields.get("NOTE"), sep=", ")
            found.append(PlaceOfBirth(city, state, code, text if partial else None))
        return _unique(found)

    def alias_births(self, entry: Entry) -> None:
        """Dates and places of birth published inside INDIVIDUAL_ALIAS elements.

        They belong to that alias, or, when the alias has no name (as in many
        records of the 2024 release), simply to the person.
        """
        for alias in self.element.iterfind("INDIVIDUAL_ALIAS"):
            fields = _children(alias)
            note = f"alias {fields['ALIAS_NAME']}" if "ALIAS_NAME" in fields else None
            born = fields.get("DATE_OF_BIRTH")
            if born and born.lower() != "null":
                self.add_alias_date(entry, born, note)
            country = fields.get("COUNTRY_OF_BIRTH")
            code = to_code(country)
            place = PlaceOfBirth(fields.get("CITY_OF_BIRTH"), None, code,
                                 country if country and not code else None)
            if place != PlaceOfBirth() and place not in entry.places_of_birth:
                entry.places_of_birth.append(place)

    def add_alias_date(self, entry: Entry, text: str, note: str | None) -> None:
        if day := _iso_day(text):
            start, end = day, None
        elif _YEAR.fullmatch(text):
            start, end = text, None
        elif match := _YEAR_RANGE.fullmatch(text):
            start, end = match.groups()
        else:
            self.keep("alias_date_of_birth", _join(text, note and f"({note})", sep=" "))
            return
        if all((known.start, known.end) != (start, end) for known in entry.dates_of_birth):
            entry.dates_of_birth.append(DateOfBirth(start, end, note=note))

    def nationalities(self) -> list[str]:
        codes = []
        for value in self.values("NATIONALITY/VALUE"):
            code = to_code(value)
            if code is None:
                self.keep("nationality", value)
            elif code not in codes:
                codes.append(code)
        return codes

    def documents(self) -> list[Document]:
        found = []
        for element in self.element.iterfind("INDIVIDUAL_DOCUMENT"):
            fields = _children(element)
            issued_on = self.day(element.find("DATE_OF_ISSUE"))
            if "NUMBER" in fields:
                found.append(_document(fields, issued_on))
            elif set(fields) - {"TYPE_OF_DOCUMENT"}:
                # No number field, but often the number in words ("Tunisian
                # passport number L723315 issued on ..."): kept as text.
                self.keep("document", _document_summary(fields, issued_on))
        return _unique(found)

    def gender(self) -> str | None:
        value = self.text("GENDER")
        return None if value is None or value.lower() == "unknown" else value.capitalize()

    def keep_unhandled(self) -> None:
        for child in self.element:
            if child.tag in _HANDLED:
                continue
            values = [_clean(value.text) for value in child.iterfind("VALUE")] or [_clean(child.text)]
            for value in filter(None, values):
                self.keep(child.tag.lower(), value)


def _iso_day(text: str) -> str | None:
    """The day of an xs:date, which may carry a zone ("1960-01-01-05:00")."""
    match = _DATE.fullmatch(text)
    try:
        return date.fromisoformat(match.group(1)).isoformat() if match else None
    except ValueError:
        return None


def _unique(items: list) -> list:
    """The items in order, without exact repeats."""
    found = []
    for item in items:
        if item not in found:
            found.append(item)
    return found


def _document_wording(fields: dict[str, str]) -> str | None:
    """The published type: TYPE_OF_DOCUMENT2 refines TYPE_OF_DOCUMENT ("Passport" +
    "Service passport") unless it is noise (" ", "number: ", a bare number)."""
    refined = fields.get("TYPE_OF_DOCUMENT2")
    if refined and re.search(r"[^\W\d_]", refined) and refined.lower().strip(" :.") != "number":
        return refined.rstrip(" :")
    return fields.get("TYPE_OF_DOCUMENT")


def _document_type(wording: str | None) -> str:
    if wording is None:
        return "unknown"
    if _PASSPORT.search(wording):
        return "passport"
    if _NATIONAL_ID.search(wording):
        return "national-id"
    return wording


def _document(fields: dict[str, str], issued_on: str | None) -> Document:
    wording = _document_wording(fields)
    type_ = _document_type(wording)
    # ISSUING_COUNTRY is the issuing state; COUNTRY_OF_ISSUE is where it was
    # issued (a Tunisian passport issued in Milan, Italy), or the same state.
    issuer, place = fields.get("ISSUING_COUNTRY"), fields.get("COUNTRY_OF_ISSUE")
    code = to_code(issuer or place)
    dropped_wording = wording and type_ != wording and wording.lower() not in _STANDARD_TYPES
    note = _join(
        wording if dropped_wording else None,
        f"issuing country: {issuer or place}" if code is None and (issuer or place) else None,
        f"city of issue: {fields['CITY_OF_ISSUE']}" if "CITY_OF_ISSUE" in fields else None,
        f"country of issue: {place}" if issuer and place and to_code(place) != code else None,
        fields.get("NOTE"),
    )
    return Document(type=type_, number=fields["NUMBER"], country=code, issued_on=issued_on, note=note)


def _document_summary(fields: dict[str, str], issued_on: str | None) -> str:
    """A document without a number, as one line of text."""
    issuer, place = fields.get("ISSUING_COUNTRY"), fields.get("COUNTRY_OF_ISSUE")
    return _join(
        _document_wording(fields),
        fields.get("NOTE"),
        f"date of issue: {issued_on}" if issued_on else None,
        f"issuing country: {issuer}" if issuer else None,
        f"city of issue: {fields['CITY_OF_ISSUE']}" if "CITY_OF_ISSUE" in fields else None,
        f"country of issue: {place}" if place and place != issuer else None,
    ) or ""


def _address(element: etree._Element) -> Address | None:
    fields = _children(element)
    if not fields:
        return None
    country = fields.get("COUNTRY")
    code = to_code(country)
    return Address(
        street=fields.get("STREET"),
        city=fields.get("CITY"),
        state_province=fields.get("STATE_PROVINCE"),
        postal_code=fields.get("ZIP_CODE"),
        country=code,
        note=_join(country if country and not code else None, fields.get("NOTE")),
    )

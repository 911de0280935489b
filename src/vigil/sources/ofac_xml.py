"""OFAC's sdnList XML: the SDN list and the Consolidated (non-SDN) list.

Both lists share one schema. Its namespace changes between releases
("http://tempuri.org/sdnList.xsd", ".../PublicationPreview/exports/XML"), so
elements are found by local name (``{*}``).

Choices made here:

* A person's full name is "lastName, firstName", as OFAC writes it in its
  CSV files and search, so that both formats give the same entry; the parts
  keep the roles. Other kinds publish their whole name in lastName, and get
  no parts.
* Many idList items are not identity documents but facts ("Website",
  "Secondary sanctions risk:", "Listing Date (CMIC)", ...): those go to
  ``Entry.other`` under the published label without its trailing ":" or " -";
  "Gender" goes to ``Entry.gender``; everything else is a ``Document``.
* Country names become ISO codes; a name that maps to none is kept as
  published (in ``other``, or in the note of an address or document).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
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

_ROOT = re.compile(rb"<(?:[\w.-]+:)?sdnList\b")

_KINDS = {
    "Individual": Kind.PERSON,
    "Entity": Kind.ORGANISATION,
    "Vessel": Kind.VESSEL,
    "Aircraft": Kind.AIRCRAFT,
}
_NAME_TYPES = {"a.k.a.": NameType.AKA, "f.k.a.": NameType.FKA, "n.k.a.": NameType.NKA}
_QUALITIES = {"strong": NameQuality.GOOD, "weak": NameQuality.LOW}
_DOCUMENT_TYPES = {"Passport": "passport", "National ID No.": "national-id"}

# idList types that state a fact about the entry rather than identify a document.
_FACT_TYPES = frozenset({
    "Website", "Email Address", "Phone Number", "Fax", "SWIFT/BIC", "BIK (RU)",
    "ISIN", "Equity Ticker", "Issuer Name", "Target Type", "Nationality of Registration", "MMSI",
})
_FACT_PREFIXES = ("Executive Order", "Digital Currency Address", "Vessel", "Other Vessel",
                  "Former Vessel", "Aircraft", "Previous Aircraft")

_VESSEL_LABELS = {
    "callSign": "Vessel Call Sign",
    "vesselType": "Vessel Type",
    "vesselFlag": "Vessel Flag",
    "vesselOwner": "Vessel Owner",
    "tonnage": "Vessel Tonnage",
    "grossRegisteredTonnage": "Vessel Gross Registered Tonnage",
}

# OFAC writes dates as "01 Jan 1962", "Jan 1962" or "1962": (format, ISO length).
_DATE_FORMATS = (("%d %b %Y", 10), ("%b %Y", 7), ("%Y", 4))


class OfacXmlFormat:
    sources = ("ofac-cons", "ofac-sdn")

    def detect(self, path: Path) -> str | None:
        """Which list an sdnList file holds, from its name: both lists share the
        schema and nothing in the head tells them apart. OFAC names the
        Consolidated list's file "consolidated.xml", the SDN list's "sdn.xml"."""
        if not _ROOT.search(read_head(path)):
            return None
        return "ofac-cons" if "cons" in path.name.lower() else "ofac-sdn"

    def parse(self, path: Path, source: str) -> ParsedList:
        root = parse_xml(path)
        if etree.QName(root).localname != "sdnList":
            raise SourceError(path, "not an OFAC sdnList file", line=root.sourceline)
        published_at = _published_at(path, root)
        entries: list[Entry] = []
        first_line: dict[str, int] = {}
        for element in root.iterfind("{*}sdnEntry"):
            entry = _entry(path, element, source)
            if entry.reference in first_line:
                raise SourceError(path, f"duplicate uid {entry.reference} "
                                  f"(first at line {first_line[entry.reference]})",
                                  line=element.sourceline)
            first_line[entry.reference] = element.sourceline
            entries.append(entry)
        return ParsedList(source=source, published_at=published_at, entries=entries)


FORMAT = OfacXmlFormat()


def _any_namespace(path: str) -> str:
    return "/".join(f"{{*}}{step}" for step in path.split("/"))


def _value(element: etree._Element | None) -> str | None:
    """The element's stripped text; None when missing or empty."""
    text = element.text.strip() if element is not None and element.text else ""
    return text or None


def _text(element: etree._Element, path: str) -> str | None:
    return _value(element.find(_any_namespace(path)))


def _texts(element: etree._Element, path: str) -> list[str]:
    return [text for text in map(_value, element.iterfind(_any_namespace(path))) if text]


def _all(element: etree._Element, path: str) -> list[etree._Element]:
    return element.findall(_any_namespace(path))


def _published_at(path: Path, root: etree._Element) -> datetime:
    text = _text(root, "publshInformation/Publish_Date")
    try:
        return datetime.strptime(text or "", "%m/%d/%Y").replace(tzinfo=UTC)
    except ValueError:
        raise SourceError(path, f"missing or unreadable Publish_Date: {text!r}",
                          line=root.sourceline) from None


def _entry(path: Path, element: etree._Element, source: str) -> Entry:
    line = element.sourceline
    uid = _text(element, "uid")
    if uid is None:
        raise SourceError(path, "sdnEntry without uid", line=line)
    sdn_type = _text(element, "sdnType")
    if sdn_type not in _KINDS:
        raise SourceError(path, f"sdnEntry {uid}: unknown sdnType {sdn_type!r}", line=line)
    kind = _KINDS[sdn_type]
    name = _name(element, kind, NameQuality.PRIMARY, NameType.NAME)
    if name is None:
        raise SourceError(path, f"sdnEntry {uid} has no name", line=line)
    title = _text(element, "title")
    entry = Entry(
        id=f"ofac:{uid}",
        source=source,
        kind=kind,
        names=[name, *_aliases(path, element, kind)],
        reference=uid,
        programmes=_texts(element, "programList/program"),
        titles=[title] if title else [],
        remarks=_text(element, "remarks"),
        addresses=[_address(a) for a in _all(element, "addressList/address")],
        raw=canonical(element),
    )
    _add_ids(element, entry)
    _add_countries(element, entry)
    _add_births(element, entry)
    _add_vessel(element, entry)
    return entry


def _add_other(entry: Entry, label: str, value: str) -> None:
    entry.other.setdefault(label, []).append(value)


def _name(element: etree._Element, kind: Kind, quality: NameQuality, type_: NameType) -> Name | None:
    first, last = _text(element, "firstName"), _text(element, "lastName")
    full = ", ".join(part for part in (last, first) if part)
    if not full:
        return None
    parts: tuple[NamePart, ...] = ()
    if kind is Kind.PERSON:
        parts = tuple(NamePart(role, value) for role, value in (("family", last), ("given", first)) if value)
    return Name(full=full, quality=quality, type=type_, parts=parts)


def _aliases(path: Path, element: etree._Element, kind: Kind) -> list[Name]:
    names = []
    for aka in _all(element, "akaList/aka"):
        type_text, category = _text(aka, "type"), _text(aka, "category")
        if type_text not in _NAME_TYPES or category not in _QUALITIES:
            raise SourceError(path, f"aka of unknown type {type_text!r} or category {category!r}",
                              line=aka.sourceline)
        name = _name(aka, kind, _QUALITIES[category], _NAME_TYPES[type_text])
        if name is None:
            raise SourceError(path, "aka without a name", line=aka.sourceline)
        names.append(name)
    return names


def _is_fact(id_type: str) -> bool:
    return (id_type in _FACT_TYPES or id_type.endswith((":", "-")) or "Date" in id_type
            or id_type.startswith(_FACT_PREFIXES))


def _add_ids(element: etree._Element, entry: Entry) -> None:
    for item in _all(element, "idList/id"):
        id_type, number = _text(item, "idType"), _text(item, "idNumber")
        if not id_type or not number:
            continue  # nothing to identify or state; the raw record keeps it
        country = _text(item, "idCountry")
        # A second, different gender is kept in other rather than overwriting the first.
        if id_type == "Gender" and entry.gender in (None, number):
            entry.gender = number
        elif id_type == "Gender" or _is_fact(id_type):
            _add_other(entry, id_type.rstrip(" :-"), f"{number} ({country})" if country else number)
        else:
            entry.documents.append(_document(item, id_type, number, country))


def _document(item: etree._Element, id_type: str, number: str, country: str | None) -> Document:
    issued, expires = _text(item, "issueDate"), _text(item, "expirationDate")
    code, issued_on, expires_on = to_code(country), _iso_date(issued), _iso_date(expires)
    # Published values that could not be normalised stay readable in the note.
    unread = [f"{label}: {text}" for label, text, value in (
        ("country", country, code), ("issued", issued, issued_on), ("expires", expires, expires_on),
    ) if text and not value]
    return Document(type=_DOCUMENT_TYPES.get(id_type, id_type), number=number, country=code,
                    issued_on=issued_on, expires_on=expires_on, note="; ".join(unread) or None)


def _address(element: etree._Element) -> Address:
    street = ", ".join(filter(None, (_text(element, f"address{n}") for n in (1, 2, 3))))
    country, region = _text(element, "country"), _text(element, "region")
    code = to_code(country)
    notes = [f"country: {country}" if country and not code else None,
             f"region: {region}" if region else None]
    return Address(street=street or None, city=_text(element, "city"),
                   state_province=_text(element, "stateOrProvince"),
                   postal_code=_text(element, "postalCode"), country=code,
                   note="; ".join(filter(None, notes)) or None)


def _add_countries(element: etree._Element, entry: Entry) -> None:
    for path, label in (("nationalityList/nationality/country", "Nationality"),
                        ("citizenshipList/citizenship/country", "Citizenship")):
        for text in _texts(element, path):
            code = to_code(text)
            if code is None:
                _add_other(entry, label, text)
            elif code not in entry.nationalities:
                entry.nationalities.append(code)


def _iso_date(text: str | None) -> str | None:
    """ISO date of the precision published, or None if unreadable."""
    for fmt, length in _DATE_FORMATS:
        try:
            return datetime.strptime(text or "", fmt).date().isoformat()[:length]
        except ValueError:
            continue
    return None


def _date_of_birth(text: str) -> DateOfBirth | None:
    """Reads "1962", "01 Jan 1962", "Jan 1962", "circa 1962", "1962 to 1964"; None otherwise."""
    approximate = text.lower().startswith("circa")
    body = text[len("circa"):].strip() if approximate else text
    first, _, last = (part.strip() for part in body.partition(" to "))
    start = _iso_date(first)
    end = _iso_date(last) if last else None
    if start is None or (last and end is None):
        return None
    return DateOfBirth(start=start, end=end, approximate=approximate)


def _add_births(element: etree._Element, entry: Entry) -> None:
    for text in _texts(element, "dateOfBirthList/dateOfBirthItem/dateOfBirth"):
        date = _date_of_birth(text)
        if date is None:
            _add_other(entry, "Date of Birth", text)
        else:
            entry.dates_of_birth.append(date)
    for text in _texts(element, "placeOfBirthList/placeOfBirthItem/placeOfBirth"):
        entry.places_of_birth.append(PlaceOfBirth(country=to_code(text.rpartition(",")[2]), text=text))


def _add_vessel(element: etree._Element, entry: Entry) -> None:
    for tag, label in _VESSEL_LABELS.items():
        text = _text(element, f"vesselInfo/{tag}")
        if text:
            _add_other(entry, label, (to_code(text) or text) if tag == "vesselFlag" else text)

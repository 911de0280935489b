"""The facts OFAC packs into the Remarks column of its legacy SDN CSV files.

OFAC writes each fact as a fragment, the fragments separated by "; " and the
whole closed by a period::

    DOB 12 Mar 1971; POB Riyadh, Saudi Arabia; nationality Palestinian;
    Passport 484824 (Egypt) issued 18 Jan 1984; a.k.a. 'TARIQ'.

``parse_remarks`` turns the fragments it knows into structured facts. A
leading "alt." (an alternative value) is dropped. The labels known here are
OFAC's own wordings, collected from the published files; a fragment with an
unknown label, or free text such as a position held, is returned in
``unparsed`` (the caller keeps the full remarks text anyway).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from vigil.countries import to_code
from vigil.model import DateOfBirth, Document, Name, NameQuality, NameType, PlaceOfBirth

# Labels of facts kept in ``Entry.other`` as text -> the key they are kept under.
# OFAC spells some labels several ways; they share one key.
_OTHER_LABELS = {
    "Linked To:": "Linked To",
    "Additional Sanctions Information -": "Additional Sanctions Information",
    "Secondary sanctions risk:": "Secondary sanctions risk",
    "Transactions Prohibited For Persons Owned or Controlled By U.S. Financial Institutions:":
        "Transactions Prohibited For Persons Owned or Controlled By U.S. Financial Institutions",
    "Executive Order 13846 information:": "Executive Order 13846 information",
    "Executive Order 13662 Directive Determination -":
        "Executive Order 13662 Directive Determination",
    "IFCA Determination -": "IFCA Determination",
    "CAATSA Section 235 Information:": "CAATSA Section 235 Information",
    "Organization Type:": "Organization Type",
    "Organization Established Date": "Organization Established Date",
    "Target Type": "Target Type",
    "Website": "Website",
    "Website:": "Website",
    "Email Address": "Email Address",
    "Email": "Email Address",
    "Phone Number": "Phone Number",
    "Phone No.": "Phone Number",
    "PHONE": "Phone Number",
    "Telephone": "Phone Number",
    "Telephone:": "Phone Number",
    "Telephone No.": "Phone Number",
    "Telephone Number:": "Phone Number",
    "Fax": "Fax",
    "Fax:": "Fax",
    "Fax No.": "Fax",
    "FAX": "Fax",
    "TELEX": "Telex",
    "Chinese Commercial Code": "Chinese Commercial Code",
    "Aircraft Model": "Aircraft Model",
    "Aircraft Operator": "Aircraft Operator",
    "Aircraft Manufacture Date": "Aircraft Manufacture Date",
    "Former Vessel Flag": "Former Vessel Flag",
    "Other Vessel Flag": "Other Vessel Flag",
    "Other Vessel Call Sign": "Other Vessel Call Sign",
    "Other Vessel Type": "Other Vessel Type",
    "Vessel Year of Build": "Vessel Year of Build",
    "Nationality of Registration": "Nationality of Registration",
}
# "Digital Currency Address - XBT", "... - ETH", ...: the label, currency included, is the key.
_CURRENCY_LABEL = r"Digital Currency Address - \w+"
_COUNTRY_KEYS = {"Former Vessel Flag", "Other Vessel Flag", "Nationality of Registration"}
_DATE_KEYS = {"Organization Established Date", "Aircraft Manufacture Date"}

# Labels of identification numbers, kept as ``Document`` with the label as type.
_DOCUMENT_LABELS = (
    "Passport", "Diplomatic Passport", "Passport Booklet", "Passport Booklet:",
    "British National Overseas Passport", "Stateless Person Passport", "Stateless Person ID Card",
    "Refugee ID Card", "Travel Document Number", "Seafarer's Identification Document",
    "National ID No.", "National Foreign ID Number", "Identification Number", "Personal ID Card",
    "Citizen's Card Number", "Kenyan ID No.", "Moroccan Personal ID No.", "Bosnian Personal ID No.",
    "Turkish Identification Number", "Turkish Identificiation Number", "Tazkira National ID Card",
    "UAE Identification", "Numero de Identidad", "CNP (Personal Numerical Code)", "Cedula No.",
    "D.N.I.", "C.U.R.P.", "C.U.R.P. #", "C.U.I.P.", "C.U.I.", "I.F.E.", "Credencial electoral",
    "Electoral Registry No.", "Cartilla de Servicio Militar Nacional", "N.I.E.", "SSN",
    "Driver's License No.", "Pilot License Number", "Birth Certificate Number", "Residency Number",
    "Romanian Permanent Resident CAN", "Immigration No.", "Public Security and Immigration No.",
    "VisaNumberID", "SRE Permit No.", "Tarjeta Profesional",
    "Tax ID No.", "R.F.C.", "R.F.C. #", "RFC", "NIT #", "RUC #", "RIF #", "RTN", "C.U.I.T.",
    "C.I.F.", "US FEIN", "V.A.T. Number", "Italian Fiscal Code", "Italian Fiscal Code:",
    "Fiscal Code", "Romanian Tax Registration", "Paraguayan tax identification number", "RSIN",
    "Numero Unico de Identificacao Tributaria (NUIT)",
    "Registration ID", "Registration Number", "Business Registration Number",
    "Business Registration Document #", "Business Number", "Company Number", "UK Company Number",
    "Commercial Registry Number", "C.R. No.", "Romanian C.R.", "Folio Mercantil No.",
    "Matricula Mercantil No", "Public Registration Number", "Government Gazette Number",
    "Certificate of Incorporation Number", "Chamber of Commerce Number",
    "Dubai Chamber of Commerce Membership No.", "Istanbul Chamber of Comm. No.",
    "Central Registration System Number", "Legal Entity Number", "Enterprise Number",
    "Branch Unit Number", "File Number", "Serial No.", "D-U-N-S Number", "Trade License No.",
    "Tourism License No.", "License", "Registered Charity No.", "LE Number",
    "MSB Registration Number",
    "Afghan Money Service Provider License Number", "United Social Credit Code Certificate (USCCC)",
    "Unified Social Credit Code (USCC)", "SWIFT/BIC", "BIK (RU)",
    "Vessel Registration Identification", "International Maritime Organization No.", "MMSI",
    "Aircraft Manufacturer's Serial Number (MSN)",
    "Aircraft Construction Number (also called L/N or S/N or F/N)",
    "Aircraft Serial Identification",
    "Aircraft Tail Number", "Previous Aircraft Tail Number", "Aircraft Mode S Transponder Code",
)
# The model's own names for the common document types.
_DOCUMENT_TYPES = {"Passport": "passport", "National ID No.": "national-id"}

_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_DATE = r"(?:\d{1,2} )?(?:[A-Z][a-z]{2} )?\d{4}"  # "01 Jan 1960", "Jan 1960", "1960"


def _labels(labels) -> str:
    return "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))


_ALT = re.compile(r"^alt\. ", re.IGNORECASE)
_ALIAS = re.compile(r"([afn])\.k\.a\. '(.+)'")
_DOB = re.compile(rf"DOB (circa )?({_DATE})(?: to ({_DATE})|-(\d{{4}}))?")
_POB = re.compile(r"POB (.+)")
_NATIONALITY = re.compile(r"(nationality|citizen) (.+)")
_GENDER = re.compile(r"Gender (.+)")
_POSITION = re.compile(r"Position: (.+)")
_OTHER = re.compile(rf"({_CURRENCY_LABEL}|{_labels(_OTHER_LABELS)}) (.+)")
_DOCUMENT = re.compile(rf"({_labels(_DOCUMENT_LABELS)}) (.+)")
_DOCUMENT_VALUE = re.compile(
    rf"(.+?)(?: \(([^()]+)\))?(?: issued ({_DATE}))?(?: expires ({_DATE}))?")
_DATE_PARTS = re.compile(r"(?:(\d{1,2}) )?(?:([A-Z][a-z]{2}) )?(\d{4})")
# A final word that keeps its period: "S.A.", "C.V.", "LTD.", ...
_ABBREVIATION = re.compile(r"(?:[A-Za-z]\.){2,}|(?:LTD|LTDA|CO|INC|CORP|JR)\.", re.IGNORECASE)
_NAME_TYPES = {"a": NameType.AKA, "f": NameType.FKA, "n": NameType.NKA}


@dataclass
class RemarkFacts:
    """What the remarks say, in the model's terms. ``names`` are OFAC's weak
    aliases (quality LOW); ``nationalities`` holds nationality and citizenship
    codes (citizenship also under ``other["Citizenship"]``)."""

    names: list[Name] = field(default_factory=list)
    dates_of_birth: list[DateOfBirth] = field(default_factory=list)
    places_of_birth: list[PlaceOfBirth] = field(default_factory=list)
    nationalities: list[str] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    gender: str | None = None
    designations: list[str] = field(default_factory=list)
    other: dict[str, list[str]] = field(default_factory=dict)
    unparsed: list[str] = field(default_factory=list)

    def add_other(self, key: str, value: str) -> None:
        self.other.setdefault(key, []).append(value)


def split_remarks(text: str) -> list[str]:
    """The fragments of a remarks text, without its closing period (which is
    kept when it ends an abbreviation such as "S.A.")."""
    text = text.strip()
    if text.endswith(".") and not _ABBREVIATION.fullmatch(text.rsplit(None, 1)[-1]):
        text = text[:-1]
    return [fragment.strip() for fragment in text.split("; ") if fragment.strip()]


def parse_remarks(text: str | None) -> RemarkFacts:
    facts = RemarkFacts()
    for fragment in split_remarks(text or ""):
        if not _parse_fragment(_ALT.sub("", fragment, count=1), facts):
            facts.unparsed.append(fragment)
    return facts


def _parse_fragment(fragment: str, facts: RemarkFacts) -> bool:
    """Add what one fragment says to ``facts``; False when it is not understood."""
    if match := _ALIAS.fullmatch(fragment):
        facts.names.append(Name(match[2], NameQuality.LOW, _NAME_TYPES[match[1]]))
    elif match := _DOB.fullmatch(fragment):
        return _add_date_of_birth(match, facts)
    elif match := _POB.fullmatch(fragment):
        facts.places_of_birth.append(PlaceOfBirth(country=place_country(match[1]), text=match[1]))
    elif match := _NATIONALITY.fullmatch(fragment):
        _add_nationality(match[1], match[2], facts)
    elif match := _GENDER.fullmatch(fragment):
        facts.gender = match[1]
    elif match := _POSITION.fullmatch(fragment):
        facts.designations.append(match[1])
    elif match := _OTHER.fullmatch(fragment):
        key = _OTHER_LABELS.get(match[1], match[1])
        facts.add_other(key, _other_value(key, match[2]))
    elif match := _DOCUMENT.fullmatch(fragment):
        facts.documents.append(_document(match[1], match[2]))
    else:
        return False
    return True


def _add_date_of_birth(match: re.Match[str], facts: RemarkFacts) -> bool:
    circa, start, end, end_year = match.groups()
    end = end or end_year
    start_iso, end_iso = iso_date(start), iso_date(end) if end else None
    if start_iso is None or (end and end_iso is None):
        return False
    facts.dates_of_birth.append(DateOfBirth(start_iso, end_iso, approximate=bool(circa)))
    return True


def _add_nationality(label: str, value: str, facts: RemarkFacts) -> None:
    code = to_code(value)
    if code is None:
        facts.add_other("Nationality" if label == "nationality" else "Citizenship", value)
        return
    if code not in facts.nationalities:
        facts.nationalities.append(code)
    if label == "citizen":
        facts.add_other("Citizenship", code)


def _other_value(key: str, value: str) -> str:
    if key in _COUNTRY_KEYS:
        return to_code(value) or value
    if key in _DATE_KEYS:
        return iso_date(value) or value
    return value


def _document(label: str, value: str) -> Document:
    number, country, issued, expires = _DOCUMENT_VALUE.fullmatch(value).groups()
    code = to_code(country) if country else None
    return Document(
        type=_DOCUMENT_TYPES.get(label, label.rstrip(":")),
        number=number,
        country=code,
        issued_on=iso_date(issued) if issued else None,
        expires_on=iso_date(expires) if expires else None,
        note=country if country and code is None else None,  # "(Palestinian Authority)"
    )


def place_country(place: str) -> str | None:
    """The country of a place written "City, Region, Country" (the country
    itself may hold a comma: "Pyongyang, Korea, North")."""
    parts = place.split(", ")
    for size in (2, 1):
        if len(parts) >= size and (code := to_code(", ".join(parts[-size:]))):
            return code
    return None


def iso_date(text: str) -> str | None:
    """"01 Jan 1960" -> "1960-01-01", "Jan 1960" -> "1960-01", "1960" -> "1960";
    None for anything else (an unknown month, a day that does not exist)."""
    match = _DATE_PARTS.fullmatch(text)
    if not match:
        return None
    day, month_name, year = match.groups()
    if month_name is None:
        return None if day else year
    month = _MONTHS.get(month_name)
    if month is None:
        return None
    if day:
        try:
            return date(int(year), month, int(day)).isoformat()
        except ValueError:
            return None
    return f"{year}-{month:02d}"

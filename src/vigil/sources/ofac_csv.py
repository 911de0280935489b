"""OFAC's legacy SDN list as a set of CSV files in one folder.

The files are headerless, one record a line, ``-0-`` marking an empty field:

* ``sdn.csv`` (required): ent_num, SDN_Name, SDN_Type, Program, Title,
  Call_Sign, Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks;
* ``add.csv`` (optional): ent_num, add_num, address, city/state/postal code,
  country, add_remarks;
* ``alt.csv`` (optional): ent_num, alt_num, alt_type, alt_name, alt_remarks;
* ``sdn_comments.csv`` (optional): ent_num, the rest of a Remarks text cut at
  the column's length, joined on exactly.

File names are matched case-insensitively. Each file is UTF-8 or, failing
that, Windows-1252 (OFAC's legacy files come from Windows, some ending with a
Ctrl-Z). Rows of add.csv and alt.csv must belong to an entry of sdn.csv;
rows of sdn_comments.csv that do not are skipped, because OFAC's comments
file is not always from the same release (the 2019-01 set carries one that
continues remarks of entries listed years later).

How the records become entries:

* names keep OFAC's form, "LAST, First Middle" for people, with the parts
  recorded as roles "family" and "given" (and "suffix" for "Jr.");
* alt.csv aliases are OFAC's strong aliases (quality GOOD); the a.k.a.s in
  the remarks are its weak ones (quality LOW);
* the remarks are parsed by ``vigil.sources.ofac_remarks`` and kept whole;
* vessel columns go to ``other`` ("Call Sign", "Vessel Type", "Tonnage",
  "Gross Registered Tonnage", "Vessel Flag" as a country code when it names
  one, "Vessel Owner");
* an address keeps the combined city/state/postal code column as ``city``;
  a country that names no ISO country goes to its ``note``;
* the CSV set carries no publication date: ``published_at`` is the date in
  the folder's name (YYYY-MM or YYYY-MM-DD, UTC midnight, the first of the
  month for YYYY-MM), else the newest modification time of the files.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from vigil.countries import to_code
from vigil.model import (
    Address,
    Entry,
    Kind,
    Name,
    NamePart,
    NameQuality,
    NameType,
    ParsedList,
)
from vigil.sources import SourceError
from vigil.sources.ofac_remarks import parse_remarks

SDN, ADD, ALT, COMMENTS = "sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv"
_WIDTHS = {SDN: 12, ADD: 6, ALT: 5, COMMENTS: 2}
_EMPTY = {"-0-", "-0"}  # "-0": the truncated marker ending the 2019-01 add.csv
_KINDS = {"individual": Kind.PERSON, "vessel": Kind.VESSEL, "aircraft": Kind.AIRCRAFT}
_ALIAS_TYPES = {"aka": NameType.AKA, "fka": NameType.FKA, "nka": NameType.NKA}
_VESSEL_COLUMNS = ("Call Sign", "Vessel Type", "Tonnage", "Gross Registered Tonnage",
                   "Vessel Flag", "Vessel Owner")
_FOLDER_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})(?:-(\d{2}))?(?!\d)")


@dataclass
class _Row:
    path: Path
    line: int
    text: str  # the line as published
    fields: list[str]

    @property
    def ent_num(self) -> str:
        return self.fields[0]

    def values(self) -> list[str | None]:
        """The fields, None for the empty marker."""
        return [None if value.strip() in _EMPTY else value for value in self.fields]

    def error(self, message: str) -> SourceError:
        return SourceError(self.path, message, line=self.line)


@dataclass
class _Record:
    """One entry's rows from all four files."""

    sdn: _Row
    rows: dict[str, list[_Row]] = field(default_factory=lambda: {ADD: [], ALT: [], COMMENTS: []})


class OfacCsvFormat:
    sources = ("ofac-sdn",)

    def detect(self, path: Path) -> str | None:
        path = Path(path)
        try:
            if path.is_dir():
                found = any(child.name.lower() == SDN and child.is_file()
                            for child in path.iterdir())
            else:
                found = path.name.lower() == SDN and path.is_file()
        except OSError:
            return None
        return "ofac-sdn" if found else None

    def parse(self, path: Path, source: str) -> ParsedList:
        path = Path(path)
        folder = path if path.is_dir() else path.parent
        files = _files(folder)
        if SDN not in files:
            raise SourceError(folder, "no sdn.csv in this folder")
        records = _records(files)
        return ParsedList(
            source=source,
            published_at=_published_at(folder, list(files.values())),
            entries=[_entry(record, source) for record in records.values()],
        )


FORMAT = OfacCsvFormat()


def _files(folder: Path) -> dict[str, Path]:
    """The set's files present in ``folder``, by lower-case name."""
    files: dict[str, Path] = {}
    try:
        children = sorted(folder.iterdir())
    except OSError as error:
        raise SourceError(folder, f"cannot read folder: {error.strerror}") from None
    for child in children:
        name = child.name.lower()
        if name in _WIDTHS and child.is_file():
            if name in files:
                raise SourceError(folder,
                                  f"two files named {name}: {files[name].name}, {child.name}")
            files[name] = child
    return files


def _records(files: dict[str, Path]) -> dict[str, _Record]:
    records: dict[str, _Record] = {}
    for row in _read_rows(files[SDN], _WIDTHS[SDN]):
        if row.ent_num in records:
            first = records[row.ent_num].sdn.line
            raise row.error(f"ent_num {row.ent_num} is listed twice (first on line {first})")
        records[row.ent_num] = _Record(row)
    for name in (ADD, ALT, COMMENTS):
        if name not in files:
            continue
        for row in _read_rows(files[name], _WIDTHS[name]):
            record = records.get(row.ent_num)
            if record is not None:
                record.rows[name].append(row)
            elif name != COMMENTS:
                raise row.error(f"ent_num {row.ent_num} is not in sdn.csv")
    return records


def _read_rows(path: Path, width: int) -> list[_Row]:
    rows = []
    lines = _decode(path).replace("\r\n", "\n").split("\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            fields = next(csv.reader([line], strict=True))
        except csv.Error as error:
            raise SourceError(path, f"malformed CSV: {error}", line=number) from None
        row = _Row(path, number, line, fields)
        if len(fields) != width:
            raise row.error(f"expected {width} columns, found {len(fields)}")
        if not (row.ent_num.isascii() and row.ent_num.isdigit()):
            raise row.error(f"ent_num {row.ent_num!r} is not a number")
        rows.append(row)
    return rows


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SourceError(path, f"cannot read file: {error.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as error:
            line = data.count(b"\n", 0, error.start) + 1
            byte = data[error.start]
            raise SourceError(path, f"not UTF-8 or Windows-1252 text (byte 0x{byte:02x})",
                              line=line) from None
    return text.removesuffix("\x1a")  # the DOS end-of-file mark


def _published_at(folder: Path, files: list[Path]) -> datetime:
    if match := _FOLDER_DATE.search(folder.resolve().name):
        year, month, day = match.groups()
        try:
            return datetime(int(year), int(month), int(day or 1), tzinfo=UTC)
        except ValueError:
            pass  # "2021-13": not a date after all
    return datetime.fromtimestamp(max(path.stat().st_mtime for path in files), UTC)


def _entry(record: _Record, source: str) -> Entry:
    (ent_num, primary_name, sdn_type, program, title, *vessel, remarks) = record.sdn.values()
    if primary_name is None:
        raise record.sdn.error(f"entry {ent_num} has no name")
    kind = _KINDS.get((sdn_type or "").strip().lower(), Kind.ORGANISATION)
    remarks = "".join(filter(None, [remarks, *(row.values()[1] for row in record.rows[COMMENTS])]))
    facts = parse_remarks(remarks)
    names = [Name(primary_name), *(_alias(row) for row in record.rows[ALT]), *facts.names]
    if kind is Kind.PERSON:
        names = [replace(n, parts=_person_parts(n.full)) for n in names]
    other = {label: [_vessel_value(label, value)]
             for label, value in zip(_VESSEL_COLUMNS, vessel) if value}
    for label, values in facts.other.items():
        other.setdefault(label, []).extend(values)
    return Entry(
        id=f"ofac:{ent_num}",
        source=source,
        kind=kind,
        names=names,
        reference=ent_num,
        programmes=_programmes(program),
        dates_of_birth=facts.dates_of_birth,
        places_of_birth=facts.places_of_birth,
        nationalities=facts.nationalities,
        documents=facts.documents,
        addresses=[address for row in record.rows[ADD] if (address := _address(row))],
        gender=facts.gender,
        titles=[title] if title else [],
        designations=facts.designations,
        remarks=remarks or None,
        other=other,
        raw=_raw(record),
    )


def _programmes(program: str | None) -> list[str]:
    """"SDGT] [IRGC" (OFAC's brackets around a list) -> ["SDGT", "IRGC"]."""
    return [p.strip() for p in re.split(r"\]\s*\[", program.strip(" []"))] if program else []


def _raw(record: _Record) -> str:
    """The entry's lines as published, each after the name of its file."""
    files = [(SDN, [record.sdn]), *record.rows.items()]
    return "\n".join(f"{name}: {row.text}" for name, rows in files for row in rows)


def _alias(row: _Row) -> Name:
    _, _, alias_type, name, note = row.values()
    if name is None:
        raise row.error("alias without a name")
    if (alias_type or "").strip().lower() not in _ALIAS_TYPES:
        raise row.error(f"unknown alias type {alias_type!r} (expected aka, fka or nka)")
    return Name(name, NameQuality.GOOD, _ALIAS_TYPES[alias_type.strip().lower()], note=note)


def _person_parts(full: str) -> tuple[NamePart, ...]:
    """"LAST, First Middle[, Jr.]" -> family, given (, suffix); () for a name
    not written that way."""
    family, comma, rest = full.partition(", ")
    if not comma:
        return ()
    given, comma, suffix = rest.partition(", ")
    parts = [NamePart("family", family), NamePart("given", given)]
    if comma:
        parts.append(NamePart("suffix", suffix))
    return tuple(parts)


def _vessel_value(label: str, value: str) -> str:
    return (to_code(value) or value) if label == "Vessel Flag" else value


def _address(row: _Row) -> Address | None:
    """The address of an add.csv row; None when all its fields are empty."""
    _, _, street, city, country, remarks = row.values()
    if not any((street, city, country, remarks)):
        return None
    code = to_code(country)
    unnamed_country = country if country and code is None else None
    return Address(street=street, city=city, country=code,
                   note="; ".join(filter(None, [unnamed_country, remarks])) or None)

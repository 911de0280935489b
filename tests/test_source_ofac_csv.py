"""OFAC's legacy SDN CSV set (vigil.sources.ofac_csv) and its remarks parser."""

from __future__ import annotations

import csv
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vigil.model import (
    Address,
    DateOfBirth,
    Document,
    Entry,
    Kind,
    NamePart,
    NameQuality,
    NameType,
    ParsedList,
    PlaceOfBirth,
)
from vigil.sources import SourceError, read_list
from vigil.sources.ofac_csv import FORMAT
from vigil.sources.ofac_remarks import iso_date, parse_remarks, place_country, split_remarks

FILES = ("sdn.csv", "add.csv", "alt.csv", "sdn_comments.csv")


@pytest.fixture(scope="module")
def sdn_dir(data_dir: Path) -> Path:
    return data_dir / "ofac-sdn"


@pytest.fixture(scope="module")
def releases(sdn_dir: Path) -> dict[str, ParsedList]:
    return {folder: FORMAT.parse(sdn_dir / folder, "ofac-sdn") for folder in ("2019-01", "2021-07")}


@pytest.fixture(scope="module")
def july_2021(releases: dict[str, ParsedList]) -> dict[str, Entry]:
    return {entry.reference: entry for entry in releases["2021-07"].entries}


@pytest.fixture
def copy(sdn_dir: Path, tmp_path: Path) -> Path:
    """A writable copy of the 2021-07 set (the real files are read-only)."""
    folder = tmp_path / "2021-07"
    folder.mkdir()
    for name in FILES:
        (folder / name).write_bytes((sdn_dir / "2021-07" / name).read_bytes())
    return folder


def _field(path: Path, ent_num: str, column: int) -> str:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(row[column] for row in csv.reader(handle) if row and row[0] == ent_num)


def _replace_line(path: Path, number: int, change) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[number - 1] = change(lines[number - 1])
    path.write_bytes(b"\n".join(lines))


def _insert_line(path: Path, number: int, line: bytes) -> None:
    lines = path.read_bytes().split(b"\n")
    lines.insert(number - 1, line)
    path.write_bytes(b"\n".join(lines))


# --- whole releases ------------------------------------------------------------------------


# 2019-01's sdn.csv has 7,379 rows: its last line has no newline, so `wc -l` says 7,378.
@pytest.mark.parametrize(("folder", "count"), [("2019-01", 7379), ("2021-07", 8976)])
def test_every_row_becomes_one_entry(releases: dict[str, ParsedList], folder: str,
                                     count: int) -> None:
    parsed = releases[folder]
    assert parsed.source == "ofac-sdn"
    assert len(parsed.entries) == count
    assert len({entry.id for entry in parsed.entries}) == count
    assert all(entry.id == f"ofac:{entry.reference}" for entry in parsed.entries)


@pytest.mark.parametrize("folder", ["2019-01", "2021-07"])
def test_entries_survive_a_round_trip(releases: dict[str, ParsedList], folder: str) -> None:
    for entry in releases[folder].entries:
        assert Entry.from_dict(entry.to_dict()) == entry


def test_kinds(july_2021: dict[str, Entry]) -> None:
    kinds = {entry.kind for entry in july_2021.values()}
    assert kinds == set(Kind)
    assert july_2021["15431"].kind is Kind.AIRCRAFT  # EP-GOM
    assert july_2021["306"].kind is Kind.ORGANISATION  # SDN_Type -0-


# --- known entries -------------------------------------------------------------------------


def test_individual_with_facts_from_the_remarks(july_2021: dict[str, Entry]) -> None:
    entry = july_2021["6905"]
    assert entry.kind is Kind.PERSON
    assert entry.primary_name == "ABU ZUBAYDAH"
    assert entry.programmes == ["SDGT"]
    assert entry.dates_of_birth == [DateOfBirth("1971-03-12")]
    assert entry.places_of_birth == [PlaceOfBirth(country="SA", text="Riyadh, Saudi Arabia")]
    assert entry.nationalities == ["PS"]
    assert entry.documents == [Document("passport", "484824", country="EG", issued_on="1984-01-18")]
    assert entry.remarks == ("DOB 12 Mar 1971; POB Riyadh, Saudi Arabia; nationality Palestinian; "
                             "Passport 484824 (Egypt) issued 18 Jan 1984; a.k.a. 'TARIQ'.")


def test_weak_alias_from_the_remarks_is_low_quality(july_2021: dict[str, Entry]) -> None:
    names = july_2021["306"].names  # BANCO NACIONAL DE CUBA, remarks "a.k.a. 'BNC'."
    assert [(n.full, n.quality, n.type) for n in names] == [
        ("BANCO NACIONAL DE CUBA", NameQuality.PRIMARY, NameType.NAME),
        ("NATIONAL BANK OF CUBA", NameQuality.GOOD, NameType.AKA),
        ("BNC", NameQuality.LOW, NameType.AKA),
    ]


def test_strong_aliases_from_alt_csv_keep_their_type(july_2021: dict[str, Entry]) -> None:
    nka = [(n.full, n.quality) for n in july_2021["8244"].names if n.type is NameType.NKA]
    assert nka == [("NUEVO CONTINENTE S.A.", NameQuality.GOOD),
                   ("NUEVOCONTINENTE S.A.", NameQuality.GOOD),
                   ("WWW.NUEVOCONTINENTE.COM.PE", NameQuality.GOOD)]
    fka = july_2021["4307"].names[1]
    assert (fka.full, fka.quality, fka.type) == ("CORTEZ, Oliverio Abril", NameQuality.GOOD,
                                                 NameType.FKA)
    assert fka.parts == (NamePart("family", "CORTEZ"), NamePart("given", "Oliverio Abril"))


def test_person_names_keep_ofac_form_with_parts(july_2021: dict[str, Entry]) -> None:
    name = july_2021["10851"].names[0]
    assert name.full == "DELOS REYES, Feliciano Semborio, Jr."
    assert name.parts == (NamePart("family", "DELOS REYES"),
                          NamePart("given", "Feliciano Semborio"),
                          NamePart("suffix", "Jr."))
    assert july_2021["6905"].names[0].parts == ()  # "ABU ZUBAYDAH": no "LAST, First"
    assert july_2021["306"].names[0].parts == ()  # organisations get none


def test_address(july_2021: dict[str, Entry]) -> None:
    assert july_2021["173"].addresses == [
        Address(street="Ibex House, The Minories", city="London EC3N 1DY", country="GB")]
    assert july_2021["6905"].addresses == []  # its add.csv row is all -0-


def test_vessel_with_its_flag(july_2021: dict[str, Entry]) -> None:
    entry = july_2021["15036"]  # ARTAVIL
    assert entry.kind is Kind.VESSEL
    assert entry.other["Vessel Flag"] == ["IR"]
    assert entry.other["Call Sign"] == ["T2EU4"]
    assert entry.other["Vessel Type"] == ["Crude/Oil Products Tanker"]
    assert entry.other["Tonnage"] == ["99,144"]
    assert entry.other["Gross Registered Tonnage"] == ["56,068"]
    assert entry.other["Former Vessel Flag"] == ["MT", "TV", "None Identified", "TZ"]
    assert Document("Vessel Registration Identification", "IMO 9187629") in entry.documents
    assert Document("MMSI", "572469210") in entry.documents
    weak = [(n.full, n.type) for n in entry.names if n.quality is NameQuality.LOW]
    assert weak == [("ALPHA", NameType.FKA)]
    assert july_2021["4234"].other["Vessel Owner"] == ["Compania Navegacion Golfo S.A."]


@pytest.mark.parametrize("folder", ["2019-01", "2021-07"])
def test_remarks_continue_in_sdn_comments(sdn_dir: Path, releases: dict[str, ParsedList],
                                          folder: str) -> None:
    start = _field(sdn_dir / folder / "sdn.csv", "12300", 11)
    rest = _field(sdn_dir / folder / "sdn_comments.csv", "12300", 1)
    assert len(start) == 1000 and start.endswith("Linked To: PROMO RAI")
    assert rest.startswith("Z S.A.S.")
    entry = next(e for e in releases[folder].entries if e.reference == "12300")
    assert entry.remarks == start + rest
    assert "PROMO RAIZ S.A.S." in entry.other["Linked To"]
    assert entry.other["Linked To"][-1] == "R D I S.A."  # the closing period is the abbreviation's


def test_comments_for_entries_of_another_release_are_skipped(
        sdn_dir: Path, releases: dict[str, ParsedList]) -> None:
    # 2019-01's sdn_comments.csv is from a later release: it continues entry 33854, not listed then.
    assert _field(sdn_dir / "2019-01" / "sdn_comments.csv", "33854", 1)
    references = {entry.reference for entry in releases["2019-01"].entries}
    assert "33854" not in references


def test_truncated_empty_marker_at_the_end_of_2019_add_csv(releases: dict[str, ParsedList]) -> None:
    # The 2019-01 add.csv ends in "-0" (its last bytes are missing): still an empty field.
    entry = next(e for e in releases["2019-01"].entries if e.reference == "26235")
    assert entry.addresses == [Address(city="St. Petersburg", country="RU")]


def test_programmes_are_split(july_2021: dict[str, Entry]) -> None:
    multi = [e.programmes for e in july_2021.values() if len(e.programmes) > 1]
    assert ["IRAN", "SDGT", "IRGC", "IFSR"] in multi
    assert all("[" not in p and "]" not in p for ps in multi for p in ps)


# --- published_at --------------------------------------------------------------------------


def test_published_at_from_the_folder_name(releases: dict[str, ParsedList], tmp_path: Path) -> None:
    assert releases["2021-07"].published_at == datetime(2021, 7, 1, tzinfo=UTC)
    assert releases["2019-01"].published_at == datetime(2019, 1, 1, tzinfo=UTC)
    folder = tmp_path / "sdn-2020-03-15"
    folder.mkdir()
    (folder / "sdn.csv").write_bytes(b'1,"X",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n')
    assert FORMAT.parse(folder, "ofac-sdn").published_at == datetime(2020, 3, 15, tzinfo=UTC)


def test_published_at_from_the_newest_file_without_a_date_in_the_name(copy: Path) -> None:
    folder = copy.rename(copy.parent / "latest")
    for number, name in enumerate(FILES):
        os.utime(folder / name, (1_600_000_000 + number, 1_600_000_000 + number))
    expected = datetime.fromtimestamp(1_600_000_003, UTC)
    assert FORMAT.parse(folder, "ofac-sdn").published_at == expected


# --- bad input -----------------------------------------------------------------------------


def _error(folder: Path) -> SourceError:
    with pytest.raises(SourceError) as caught:
        FORMAT.parse(folder, "ofac-sdn")
    return caught.value


def test_truncated_row(copy: Path) -> None:
    _replace_line(copy / "sdn.csv", 100, lambda line: line[: line.index(b",-0-")])
    error = _error(copy)
    assert (Path(error.path).name, error.line) == ("sdn.csv", 100)
    assert "columns" in str(error)


def test_duplicate_ent_num(copy: Path) -> None:
    line_10 = (copy / "sdn.csv").read_bytes().split(b"\n")[9]
    _insert_line(copy / "sdn.csv", 201, line_10)
    error = _error(copy)
    assert (Path(error.path).name, error.line) == ("sdn.csv", 201)
    assert "twice" in str(error) and "line 10" in str(error)


def test_non_numeric_ent_num(copy: Path) -> None:
    _replace_line(copy / "add.csv", 7, lambda line: b"X" + line)
    error = _error(copy)
    assert (Path(error.path).name, error.line) == ("add.csv", 7)


def test_undecodable_bytes(copy: Path) -> None:
    # 0x81 is neither UTF-8 nor Windows-1252.
    _replace_line(copy / "alt.csv", 5, lambda line: line.replace(b"CRYMSA", b"CRYM\x81SA"))
    error = _error(copy)
    assert (Path(error.path).name, error.line) == ("alt.csv", 5)
    assert "0x81" in str(error)


def test_windows_1252_is_read(copy: Path) -> None:
    _replace_line(copy / "alt.csv", 5, lambda line: line.replace(b"CRYMSA", b"CRYM\xc9SA"))
    entries = {e.reference: e for e in FORMAT.parse(copy, "ofac-sdn").entries}
    assert entries["552"].names[1].full == "CRYM\u00c9SA"


def test_alias_of_an_unknown_entry(copy: Path) -> None:
    _insert_line(copy / "alt.csv", 50, b'99999999,1,"aka","NOBODY",-0- \r')
    error = _error(copy)
    assert (Path(error.path).name, error.line) == ("alt.csv", 50)
    assert "99999999" in str(error)


def test_unknown_alias_type(copy: Path) -> None:
    _replace_line(copy / "alt.csv", 3, lambda line: line.replace(b'"aka"', b'"xyz"'))
    error = _error(copy)
    assert (Path(error.path).name, error.line) == ("alt.csv", 3)


def test_missing_sdn_csv(copy: Path) -> None:
    (copy / "sdn.csv").unlink()
    assert "no sdn.csv" in str(_error(copy))


def test_optional_files_may_be_missing(copy: Path) -> None:
    for name in ("add.csv", "alt.csv", "sdn_comments.csv"):
        (copy / name).unlink()
    entries = {e.reference: e for e in FORMAT.parse(copy, "ofac-sdn").entries}
    assert len(entries) == 8976
    assert entries["173"].addresses == []
    assert [n.full for n in entries["306"].names] == ["BANCO NACIONAL DE CUBA", "BNC"]
    assert len(entries["12300"].remarks) == 1000


# --- detection -----------------------------------------------------------------------------


def test_detect(sdn_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    assert FORMAT.detect(sdn_dir / "2021-07") == "ofac-sdn"
    assert FORMAT.detect(sdn_dir / "2021-07" / "sdn.csv") == "ofac-sdn"
    assert FORMAT.detect(sdn_dir / "2021-07" / "alt.csv") is None
    assert FORMAT.detect(sorted((data_dir / "un").glob("consolidated-*.xml"))[0]) is None
    assert FORMAT.detect(tmp_path) is None
    assert FORMAT.detect(tmp_path / "missing") is None


def test_upper_case_file_names(copy: Path) -> None:
    for name in FILES:
        (copy / name).rename(copy / name.upper())
    assert FORMAT.detect(copy) == "ofac-sdn"
    assert FORMAT.detect(copy / "SDN.CSV") == "ofac-sdn"
    entries = {e.reference: e for e in read_list(copy / "SDN.CSV").entries}
    assert len(entries) == 8976 and entries["173"].addresses  # add.csv found as ADD.CSV


def test_read_list_picks_this_format(sdn_dir: Path) -> None:
    parsed = read_list(sdn_dir / "2019-01")
    assert parsed.source == "ofac-sdn"
    assert len(parsed.entries) == 7379


# --- the remarks parser --------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("DOB 01 Jan 1960", DateOfBirth("1960-01-01")),
    ("DOB 1960", DateOfBirth("1960")),
    ("DOB circa 1960", DateOfBirth("1960", approximate=True)),
    ("DOB Jan 1960", DateOfBirth("1960-01")),
    ("DOB 1960 to 1962", DateOfBirth("1960", "1962")),
    ("DOB 01 Jan 1953 to 31 Dec 1954", DateOfBirth("1953-01-01", "1954-12-31")),
    ("DOB circa 1979-1982", DateOfBirth("1979", "1982", approximate=True)),
    ("alt. DOB Feb 1949", DateOfBirth("1949-02")),
])
def test_remarks_date_of_birth(text: str, expected: DateOfBirth) -> None:
    assert parse_remarks(text).dates_of_birth == [expected]


def test_remarks_impossible_date_is_not_understood() -> None:
    facts = parse_remarks("DOB 31 Feb 1960; DOB 12 Foo 1960")
    assert facts.dates_of_birth == []
    assert facts.unparsed == ["DOB 31 Feb 1960", "DOB 12 Foo 1960"]


@pytest.mark.parametrize(("text", "expected"), [
    ("POB Baghdad, Iraq", PlaceOfBirth(country="IQ", text="Baghdad, Iraq")),
    ("alt. POB Pyongyang, Korea, North",
     PlaceOfBirth(country="KP", text="Pyongyang, Korea, North")),
    ("POB Tripoli", PlaceOfBirth(text="Tripoli")),
])
def test_remarks_place_of_birth(text: str, expected: PlaceOfBirth) -> None:
    assert parse_remarks(text).places_of_birth == [expected]


def test_remarks_nationality_and_citizenship() -> None:
    facts = parse_remarks(
        "nationality Iraq; citizen Iraq; alt. citizen Jordan; nationality Atlantis")
    assert facts.nationalities == ["IQ", "JO"]
    assert facts.other == {"Citizenship": ["IQ", "JO"], "Nationality": ["Atlantis"]}


@pytest.mark.parametrize(("text", "expected"), [
    ("Passport A1234 (Iraq) issued 01 Jan 2000 expires 31 Dec 2009",
     Document("passport", "A1234", "IQ", "2000-01-01", "2009-12-31")),
    ("alt. Passport G 649385 issued 08 Sep 2006 expires 17 Jul 2011",
     Document("passport", "G 649385", None, "2006-09-08", "2011-07-17")),
    ("National ID No. 123 (Norway)", Document("national-id", "123", "NO")),
    ("Cedula No. 16247821 (Colombia)", Document("Cedula No.", "16247821", "CO")),
    ("Identification Number 2.194.575 (Paraguay)",
     Document("Identification Number", "2.194.575", "PY")),
    ("Tax ID No. 100036386 (Serbia)", Document("Tax ID No.", "100036386", "RS")),
    ("SSN 523-33-8386 (United States)", Document("SSN", "523-33-8386", "US")),
    ("Driver's License No. 180839 (Mexico)", Document("Driver's License No.", "180839", "MX")),
    ("Diplomatic Passport 008827 (Iran) issued 1999",
     Document("Diplomatic Passport", "008827", "IR", "1999")),
    ("Tarjeta Profesional 186785 (Abogado) (Colombia)",
     Document("Tarjeta Profesional", "186785 (Abogado)", "CO")),
    ("Matricula Mercantil No 121398 (Manizales)",
     Document("Matricula Mercantil No", "121398", note="Manizales")),
    ("Registration ID 14063277", Document("Registration ID", "14063277")),
])
def test_remarks_documents(text: str, expected: Document) -> None:
    assert parse_remarks(text).documents == [expected]


def test_remarks_gender() -> None:
    assert parse_remarks("DOB 1960; Gender Male.").gender == "Male"
    assert parse_remarks("Gender Female").gender == "Female"


def test_remarks_weak_aliases() -> None:
    names = parse_remarks("a.k.a. 'BNC'; f.k.a. 'AL-QA'IDA'; n.k.a. 'NEW NAME S.A.'.").names
    assert [(n.full, n.quality, n.type) for n in names] == [
        ("BNC", NameQuality.LOW, NameType.AKA),
        ("AL-QA'IDA", NameQuality.LOW, NameType.FKA),
        ("NEW NAME S.A.", NameQuality.LOW, NameType.NKA),
    ]


def test_remarks_other_facts() -> None:
    facts = parse_remarks(
        "Website www.example.com; alt. Website http://example.org; Email Address a@example.com; "
        "Telephone: 0097282851500; Linked To: HIZBALLAH; "
        "Additional Sanctions Information - Subject to Secondary Sanctions; "
        "Digital Currency Address - XBT 149w62rY42aZBox8fGcmqNsXUzSStKeq8C; "
        "Former Vessel Flag Malta; Organization Established Date 17 Dec 2016; "
        "Position: Director, General Intelligence Directorate; Linked To: EXAMPLE CO., LTD.")
    assert facts.other == {
        "Website": ["www.example.com", "http://example.org"],
        "Email Address": ["a@example.com"],
        "Phone Number": ["0097282851500"],
        "Linked To": ["HIZBALLAH", "EXAMPLE CO., LTD."],
        "Additional Sanctions Information": ["Subject to Secondary Sanctions"],
        "Digital Currency Address - XBT": ["149w62rY42aZBox8fGcmqNsXUzSStKeq8C"],
        "Former Vessel Flag": ["MT"],
        "Organization Established Date": ["2016-12-17"],
    }
    assert facts.designations == ["Director, General Intelligence Directorate"]
    assert facts.unparsed == []


def test_remarks_unknown_fragments_are_returned_unparsed() -> None:
    facts = parse_remarks("Major General; DOB 1950; ICTY indictee at large; ; Passport")
    assert facts.dates_of_birth == [DateOfBirth("1950")]
    assert facts.unparsed == ["Major General", "ICTY indictee at large", "Passport"]


def test_remarks_empty() -> None:
    assert parse_remarks(None) == parse_remarks("") == parse_remarks("  ")
    assert parse_remarks(None).unparsed == []


@pytest.mark.parametrize(("text", "fragments"), [
    ("DOB 1960; POB Iraq.", ["DOB 1960", "POB Iraq"]),
    ("Linked To: R D I S.A.", ["Linked To: R D I S.A."]),
    ("Linked To: HAMAS.", ["Linked To: HAMAS"]),
    ("Linked To: X CO.", ["Linked To: X CO."]),
    ("Website www.al-nour.net.", ["Website www.al-nour.net"]),
    ("a.k.a. 'K.A.S.'.", ["a.k.a. 'K.A.S.'"]),
])
def test_split_remarks_closing_period(text: str, fragments: list[str]) -> None:
    assert split_remarks(text) == fragments


def test_iso_date_and_place_country() -> None:
    assert [iso_date(t) for t in ("07 Jul 1966", "Sep 1938", "1947", "30 Feb 1960", "01 1960")] == [
        "1966-07-07", "1938-09", "1947", None, None]
    assert place_country("Kinshasa, Congo, Democratic Republic of the") == "CD"
    assert place_country("Gebang village, Masaran, Sragen, Central Java, Indonesia") == "ID"

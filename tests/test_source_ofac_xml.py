"""OFAC sdnList XML (SDN and Consolidated lists): the real files, and bad input built from them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import OFAC_CONS_FILES, UN_FILES
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
    PlaceOfBirth,
)
from vigil.sources import SourceError, read_list
from vigil.sources.ofac_xml import FORMAT

OLD_2024, NEW_2025 = OFAC_CONS_FILES


@pytest.fixture(scope="module")
def parsed(data_dir):
    return {path: FORMAT.parse(path, "ofac-cons") for path in OFAC_CONS_FILES}


def by_id(parsed_list, entry_id: str) -> Entry:
    return next(e for e in parsed_list.entries if e.id == entry_id)


def test_both_real_files_are_present(data_dir):
    assert [p.name for p in OFAC_CONS_FILES] == ["consolidated-2024-05-06.xml", "consolidated-2025-06-30.xml"]


@pytest.mark.parametrize("path", OFAC_CONS_FILES, ids=lambda p: p.name)
def test_entry_count_is_the_published_record_count(parsed, path):
    record_count = int(re.search(r"<Record_Count>(\d+)</Record_Count>", path.read_text()).group(1))
    entries = parsed[path].entries
    assert len(entries) == record_count == 443
    assert len({e.id for e in entries}) == record_count


def test_published_at(parsed):
    assert parsed[OLD_2024].published_at == datetime(2024, 5, 6, tzinfo=UTC)
    assert parsed[NEW_2025].published_at == datetime(2025, 6, 30, tzinfo=UTC)


def test_source_is_the_one_given(parsed):
    assert {e.source for e in parsed[OLD_2024].entries} == {"ofac-cons"}


def test_person_with_passport(parsed):
    entry = by_id(parsed[OLD_2024], "ofac:26182")
    assert entry.kind is Kind.PERSON
    assert entry.reference == "26182"
    assert entry.names == [Name("KAYAKIRAN, Evren", parts=(NamePart("family", "KAYAKIRAN"), NamePart("given", "Evren")))]
    assert entry.documents == [Document(type="passport", number="U00242309", country="TR")]
    assert entry.gender == "Male"
    assert entry.dates_of_birth == [DateOfBirth(start="1980-02-08")]
    assert entry.nationalities == ["TR"]  # from citizenshipList
    assert entry.addresses == [Address(country="TR")]
    assert entry.programmes == ["FSE-IR"]
    assert entry.other == {}


def test_national_id_and_other_documents_keep_their_wording(parsed):
    entry = by_id(parsed[NEW_2025], "ofac:50476")
    assert entry.primary_name == "MARTELLY, Michel Joseph"
    assert entry.documents == [
        Document(type="national-id", number="0032768386", country="HT"),
        Document(type="Driver's License No.", number="M634550610520", country="US"),
    ]
    assert entry.places_of_birth == [PlaceOfBirth(country="HT", text="Port-au-Prince, Haiti")]


def test_organisation_names_aliases_and_facts(parsed):
    entry = by_id(parsed[OLD_2024], "ofac:17014")
    assert entry.kind is Kind.ORGANISATION
    assert entry.primary_name == "JOINT STOCK COMPANY RUSSIAN AGRICULTURAL BANK"
    assert entry.names[0].parts == ()
    assert entry.names[-1] == Name("RUSAG", quality=NameQuality.LOW, type=NameType.AKA)
    assert Name("ROSSELKHOZBANK", quality=NameQuality.GOOD, type=NameType.AKA) in entry.names
    assert entry.programmes == ["UKRAINE-EO13662", "RUSSIA-EO14024"]
    assert entry.other["Website"] == ["http://www.rshb.ru"]
    assert entry.other["SWIFT/BIC"] == ["RUAGRUMM"]
    assert entry.other["Secondary sanctions risk"] == [
        "Ukraine-/Russia-Related Sanctions Regulations, 31 CFR 589.201 and/or 589.209"]
    assert entry.other["Listing Date (EO 14024 Directive 3)"] == ["24 Feb 2022"]
    assert [d.type for d in entry.documents] == ["Registration Number", "Government Gazette Number"]


def test_formerly_known_as(parsed):
    entry = by_id(parsed[OLD_2024], "ofac:17013")
    assert Name("JSC VTB BANK", quality=NameQuality.GOOD, type=NameType.FKA) in entry.names


def test_address_with_country_code(parsed):
    entry = by_id(parsed[OLD_2024], "ofac:17013")
    assert entry.addresses[0] == Address(street="29, Bolshaya Morskaya str.", city="St. Petersburg",
                                         postal_code="190000", country="RU")
    assert len(entry.addresses) == 9
    assert Document(type="Tax ID No.", number="7702070139", country="RU") in entry.documents
    assert entry.other["BIK (RU)"] == ["044030707", "044525187"]


def test_weak_person_alias_is_low(parsed):
    entry = by_id(parsed[OLD_2024], "ofac:9647")
    weak = [n for n in entry.names if n.quality is NameQuality.LOW]
    assert [n.full for n in weak] == ["ZAHAR, Mahmoud", "AL-ZAHAR, Mahmoud"]
    assert weak[0].parts == (NamePart("family", "ZAHAR, Mahmoud"),)
    assert entry.nationalities == ["PS"]  # "Palestinian"
    assert entry.remarks == "(Linked To: HAMAS)"


def test_places_of_birth(parsed):
    places = {e.id: e.places_of_birth for e in parsed[OLD_2024].entries if e.places_of_birth}
    assert places["ofac:9684"] == [PlaceOfBirth(country="IL", text="Haifa, Israel")]
    assert places["ofac:9643"] == [PlaceOfBirth(country="PS", text="Nablus, West Bank")]
    assert places["ofac:9639"] == [PlaceOfBirth(text="Shati")]


@pytest.mark.parametrize("path", OFAC_CONS_FILES, ids=lambda p: p.name)
def test_kinds(parsed, path):
    kinds = [e.kind for e in parsed[path].entries]
    expected = {OLD_2024: (79, 364), NEW_2025: (80, 363)}[path]
    assert (kinds.count(Kind.PERSON), kinds.count(Kind.ORGANISATION)) == expected


@pytest.mark.parametrize("path", OFAC_CONS_FILES, ids=lambda p: p.name)
def test_facts_are_not_documents(parsed, path):
    document_types = {d.type for e in parsed[path].entries for d in e.documents}
    assert document_types.isdisjoint({"Gender", "Website", "Email Address", "SWIFT/BIC", "ISIN",
                                      "Secondary sanctions risk:", "Organization Established Date",
                                      "Nationality of Registration", "Target Type"})
    assert not any(t.endswith((":", "-")) or "Date" in t for t in document_types)


@pytest.mark.parametrize("path", OFAC_CONS_FILES, ids=lambda p: p.name)
def test_no_empty_strings_and_raw_is_the_record(parsed, path):
    for entry in parsed[path].entries:
        assert "" not in _strings(entry.to_dict())
        assert entry.raw.startswith("<sdnEntry") and f"<uid>{entry.reference}</uid>" in entry.raw


def _strings(value):
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("path", OFAC_CONS_FILES, ids=lambda p: p.name)
def test_round_trip(parsed, path):
    for entry in parsed[path].entries:
        assert Entry.from_dict(entry.to_dict()) == entry


# --- Older namespace, and what the real files happen not to contain ---

ENTRY_XML = """\
<?xml version="1.0" standalone="yes"?>
<sdnList xmlns="http://tempuri.org/sdnList.xsd">
  <publshInformation><Publish_Date>01/02/2019</Publish_Date><Record_Count>3</Record_Count></publshInformation>
  <sdnEntry>
    <uid>1</uid><firstName>Ali</firstName><lastName>SAMPLE</lastName><title>Minister</title>
    <sdnType>Individual</sdnType>
    <programList><program>SDGT</program><program> </program></programList>
    <idList>
      <id><uid>11</uid><idType>Passport</idType><idNumber>P123</idNumber><idCountry>Atlantis</idCountry>
        <issueDate>01 Jan 2010</issueDate><expirationDate>soon</expirationDate></id>
      <id><uid>12</uid><idType>Gender</idType><idNumber>Male</idNumber></id>
      <id><uid>13</uid><idType>Gender</idType><idNumber>Female</idNumber></id>
      <id><uid>14</uid><idType>Additional Sanctions Information -</idType><idNumber>Subject to Secondary Sanctions</idNumber></id>
      <id><uid>15</uid><idType>Phone Number</idType><idNumber>+1 555</idNumber><idCountry>Iran</idCountry></id>
    </idList>
    <akaList><aka><uid>2</uid><type>n.k.a.</type><category>weak</category><lastName>SAMPLE</lastName></aka></akaList>
    <addressList><address><uid>3</uid><address1>1 Road</address1><address3>Block C</address3><city>Town</city>
      <country>Nowhere Land</country><region>North</region></address></addressList>
    <nationalityList><nationality><uid>4</uid><country>Iran</country><mainEntry>true</mainEntry></nationality>
      <nationality><uid>5</uid><country>Sudan/South Sudan</country><mainEntry>false</mainEntry></nationality></nationalityList>
    <citizenshipList><citizenship><uid>6</uid><country>Iran</country><mainEntry>true</mainEntry></citizenship></citizenshipList>
    <dateOfBirthList>
      <dateOfBirthItem><uid>7</uid><dateOfBirth>circa 1962</dateOfBirth><mainEntry>true</mainEntry></dateOfBirthItem>
      <dateOfBirthItem><uid>8</uid><dateOfBirth>1962 to 1964</dateOfBirth><mainEntry>false</mainEntry></dateOfBirthItem>
      <dateOfBirthItem><uid>9</uid><dateOfBirth>Jan 1962</dateOfBirth><mainEntry>false</mainEntry></dateOfBirthItem>
      <dateOfBirthItem><uid>10</uid><dateOfBirth>the sixties</dateOfBirth><mainEntry>false</mainEntry></dateOfBirthItem>
      <dateOfBirthItem><uid>16</uid><dateOfBirth></dateOfBirth><mainEntry>false</mainEntry></dateOfBirthItem>
    </dateOfBirthList>
  </sdnEntry>
  <sdnEntry>
    <uid>20</uid><lastName>SEA STAR</lastName><sdnType>Vessel</sdnType>
    <programList><program>IRAN</program></programList>
    <idList><id><uid>21</uid><idType>Vessel Registration Identification</idType><idNumber>IMO 9187629</idNumber></id></idList>
    <vesselInfo><callSign>9HA123</callSign><vesselType>Crude Oil Tanker</vesselType><vesselFlag>Malta</vesselFlag>
      <vesselOwner>SHIPCO</vesselOwner><tonnage>1000</tonnage><grossRegisteredTonnage>2000</grossRegisteredTonnage></vesselInfo>
  </sdnEntry>
  <sdnEntry><uid>30</uid><lastName>FLYER</lastName><sdnType>Aircraft</sdnType><programList/></sdnEntry>
</sdnList>
"""


@pytest.fixture
def sample(tmp_path) -> Path:
    path = tmp_path / "sdn.xml"
    path.write_text(ENTRY_XML)
    return path


def test_older_namespace_and_sdn_source(sample):
    parsed = read_list(sample)
    assert parsed.source == "ofac-sdn"
    assert parsed.published_at == datetime(2019, 1, 2, tzinfo=UTC)
    assert [e.kind for e in parsed.entries] == [Kind.PERSON, Kind.VESSEL, Kind.AIRCRAFT]


def test_everything_an_individual_can_carry(sample):
    entry = read_list(sample).entries[0]
    assert entry.titles == ["Minister"]
    assert entry.programmes == ["SDGT"]
    assert entry.names[1] == Name("SAMPLE", quality=NameQuality.LOW, type=NameType.NKA,
                                  parts=(NamePart("family", "SAMPLE"),))
    assert entry.documents == [Document(type="passport", number="P123", issued_on="2010-01-01",
                                        note="country: Atlantis; expires: soon")]
    assert entry.gender == "Male"
    assert entry.other == {
        "Gender": ["Female"],
        "Additional Sanctions Information": ["Subject to Secondary Sanctions"],
        "Phone Number": ["+1 555 (Iran)"],
        "Nationality": ["Sudan/South Sudan"],
        "Date of Birth": ["the sixties"],
    }
    assert entry.addresses == [Address(street="1 Road, Block C", city="Town",
                                       note="country: Nowhere Land; region: North")]
    assert entry.nationalities == ["IR"]
    assert entry.dates_of_birth == [
        DateOfBirth(start="1962", approximate=True),
        DateOfBirth(start="1962", end="1964"),
        DateOfBirth(start="1962-01"),
    ]


def test_vessel(sample):
    vessel = read_list(sample).entries[1]
    assert vessel.names == [Name("SEA STAR")]
    assert vessel.documents == []
    assert vessel.other == {
        "Vessel Registration Identification": ["IMO 9187629"],
        "Vessel Call Sign": ["9HA123"],
        "Vessel Type": ["Crude Oil Tanker"],
        "Vessel Flag": ["MT"],
        "Vessel Owner": ["SHIPCO"],
        "Vessel Tonnage": ["1000"],
        "Vessel Gross Registered Tonnage": ["2000"],
    }


# --- Bad input ---


def write_variant(tmp_path: Path, text: str, name: str = "consolidated.xml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def assert_source_error(path: Path, message: str, line: int | None) -> None:
    with pytest.raises(SourceError) as caught:
        FORMAT.parse(path, "ofac-cons")
    assert caught.value.path == str(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)
    assert caught.value.line == line


def test_truncated_file(tmp_path):
    text = OLD_2024.read_text()
    path = write_variant(tmp_path, text[: len(text) // 2])
    with pytest.raises(SourceError) as caught:
        FORMAT.parse(path, "ofac-cons")
    assert "malformed XML" in str(caught.value)
    assert caught.value.line and caught.value.line > 10000


def test_missing_publish_date(tmp_path):
    text = re.sub(r"<Publish_Date>.*?</Publish_Date>", "", OLD_2024.read_text())
    assert_source_error(write_variant(tmp_path, text), "Publish_Date", line=2)


def test_unreadable_publish_date(tmp_path):
    text = OLD_2024.read_text().replace("05/06/2024", "2024-05-06")
    assert_source_error(write_variant(tmp_path, text), "Publish_Date: '2024-05-06'", line=2)


def test_duplicate_uid(tmp_path):
    text = OLD_2024.read_text().replace("<uid>9640</uid>", "<uid>9639</uid>", 1)
    assert_source_error(write_variant(tmp_path, text), "duplicate uid 9639 (first at line 7)", line=46)


def test_entry_without_uid(tmp_path):
    text = OLD_2024.read_text().replace("<uid>9640</uid>", "", 1)
    assert_source_error(write_variant(tmp_path, text), "sdnEntry without uid", line=46)


def test_entry_without_name(tmp_path):
    text = OLD_2024.read_text().replace("<lastName>ABU TEIR</lastName>", "<lastName> </lastName>", 1)
    text = text.replace("<firstName>Mohammed</firstName>", "", 1)
    assert_source_error(write_variant(tmp_path, text), "sdnEntry 9640 has no name", line=46)


def test_unknown_sdn_type(tmp_path):
    text = OLD_2024.read_text().replace("<sdnType>Individual</sdnType>", "<sdnType>Robot</sdnType>", 1)
    assert_source_error(write_variant(tmp_path, text), "unknown sdnType 'Robot'", line=7)


def test_unknown_alias_category(tmp_path):
    text = OLD_2024.read_text().replace("<category>strong</category>", "<category>medium</category>", 1)
    assert_source_error(write_variant(tmp_path, text), "category 'medium'", line=16)  # the <aka>


def test_doctype_with_entity(tmp_path):
    text = OLD_2024.read_text().replace(
        '<?xml version="1.0" standalone="yes"?>',
        '<?xml version="1.0"?>\n<!DOCTYPE sdnList [<!ENTITY boom "BOOM">]>', 1,
    ).replace("<lastName>HANIYA</lastName>", "<lastName>&boom;</lastName>", 1)
    assert_source_error(write_variant(tmp_path, text), "DOCTYPE", line=1)


def test_not_an_sdn_list(tmp_path):
    path = write_variant(tmp_path, "<sdnListing><x/></sdnListing>")
    assert_source_error(path, "not an OFAC sdnList file", line=1)


# --- Detection and the registry ---


def test_detect_real_files(data_dir):
    assert [FORMAT.detect(p) for p in OFAC_CONS_FILES] == ["ofac-cons", "ofac-cons"]


def test_detect_sdn_by_name(tmp_path):
    head = OLD_2024.read_bytes()[:4096]
    assert FORMAT.detect(write_variant(tmp_path, head.decode(), "sdn.xml")) == "ofac-sdn"
    assert FORMAT.detect(write_variant(tmp_path, head.decode(), "CONS_ADVANCED.xml")) == "ofac-cons"


def test_detect_refuses_other_files(tmp_path, data_dir):
    binary = tmp_path / "consolidated.bin"
    binary.write_bytes(bytes(range(256)) * 20)
    assert FORMAT.detect(UN_FILES[0]) is None
    assert FORMAT.detect(tmp_path) is None
    assert FORMAT.detect(binary) is None
    assert FORMAT.detect(tmp_path / "missing.xml") is None


def test_read_list_picks_this_format(data_dir):
    assert read_list(NEW_2025).source == "ofac-cons"
    parsed = read_list(NEW_2025, source="ofac-sdn")
    assert parsed.source == "ofac-sdn"
    assert {e.source for e in parsed.entries} == {"ofac-sdn"}
    assert len(parsed.entries) == 443

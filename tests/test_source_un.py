"""The UN Consolidated List parser, on the four real releases."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import pytest
from conftest import DATA, OFAC_CONS_FILES, OFAC_SDN_FOLDERS, UN_FILES

from vigil.model import DateOfBirth, Entry, Kind, Name, NamePart, NameQuality, NameType, ParsedList
from vigil.sources import SourceError, read_list
from vigil.sources.un import FORMAT

UN = DATA / "un"
RELEASES = ["2017-07-03", "2018-10-29", "2024-09-26", "2026-02-27"]
NEWEST = UN / "consolidated-2026-02-27.xml"


@cache
def parsed(release: str) -> ParsedList:
    return FORMAT.parse(UN / f"consolidated-{release}.xml", "un")


def entry(release: str, reference: str) -> Entry:
    return {e.reference: e for e in parsed(release).entries}[reference]


def test_all_four_releases_are_there(data_dir):
    assert [p.name for p in UN_FILES] == [f"consolidated-{r}.xml" for r in RELEASES]


@pytest.mark.parametrize("release, persons, organisations", [
    ("2017-07-03", 650, 371),
    ("2018-10-29", 703, 390),
    ("2024-09-26", 682, 193),
    ("2026-02-27", 730, 273),
])
def test_counts_of_individuals_and_entities(release, persons, organisations):
    entries = parsed(release).entries
    assert sum(e.kind is Kind.PERSON for e in entries) == persons
    assert sum(e.kind is Kind.ORGANISATION for e in entries) == organisations
    assert len(entries) == persons + organisations


@pytest.mark.parametrize("release, published_at", [
    ("2017-07-03", datetime(2017, 7, 3, 20, 27, 45, 483000, tzinfo=timezone(timedelta(hours=-4)))),
    ("2018-10-29", datetime(2018, 10, 29, 19, 9, 49, 856000, tzinfo=timezone(timedelta(hours=-4)))),
    ("2024-09-26", datetime(2024, 9, 26, 0, 0, 7, 514000, tzinfo=UTC)),
    ("2026-02-27", datetime(2026, 2, 27, 0, 0, 9, 554000, tzinfo=UTC)),
])
def test_published_at_is_the_aware_date_generated(release, published_at):
    result = parsed(release)
    assert result.source == "un"
    assert result.published_at.utcoffset() is not None
    assert result.published_at == published_at
    assert result.published_at.utcoffset() == published_at.utcoffset()


@pytest.mark.parametrize("release", RELEASES)
def test_isil_khorasan_is_listed_from_2019(release):
    ids = {e.id for e in parsed(release).entries}
    if release < "2019":
        assert "un:QDe.161" not in ids
    else:
        isil_k = entry(release, "QDe.161")
        assert isil_k.id == "un:QDe.161"
        assert isil_k.kind is Kind.ORGANISATION
        assert isil_k.listed_on == "2019-05-14"
        assert isil_k.primary_name == "ISLAMIC STATE IN IRAQ AND THE LEVANT - KHORASAN (ISIL-K)"
        assert isil_k.programmes == ["1267"]
        # Entities' aliases are "a.k.a.", never graded: good names.
        assert Name("ISIS-K", quality=NameQuality.GOOD, type=NameType.AKA) in isil_k.names


@pytest.mark.parametrize("release", RELEASES)
def test_ids_are_unique_and_prefixed(release):
    entries = parsed(release).entries
    ids = [e.id for e in entries]
    assert len(set(ids)) == len(ids)
    assert all(e.id == f"un:{e.reference}" and e.source == "un" for e in entries)


@pytest.mark.parametrize("release", RELEASES)
def test_programmes_follow_the_regime(release):
    for e in parsed(release).entries:
        assert len(e.programmes) == 1, e.id
        assert e.other["un_list_type"] == [
            {"QD": "Al-Qaida", "TA": "Taliban"}.get(e.reference[:2], e.other["un_list_type"][0])]
        if e.reference.startswith("QD"):
            assert e.programmes == ["1267"], e.id
        if e.reference.startswith("TAi"):
            assert e.programmes == ["1988"], e.id
        assert e.other["list_type"] == ["UN List"]


def test_iran_regime_is_2231_before_the_snapback_and_1737_after():
    iran_2017 = [e for e in parsed("2017-07-03").entries if e.other["un_list_type"] == ["Iran"]]
    iran_2026 = [e for e in parsed("2026-02-27").entries if e.other["un_list_type"] == ["Iran"]]
    assert iran_2017 and iran_2026
    assert {p for e in iran_2017 for p in e.programmes} == {"2231"}
    assert {p for e in iran_2026 for p in e.programmes} == {"1737"}
    assert not [e for e in parsed("2024-09-26").entries if e.other["un_list_type"] == ["Iran"]]


@pytest.mark.parametrize("release", RELEASES)
def test_arabic_original_script_survives(release):
    anwari = entry(release, "TAi.005")
    assert anwari.primary_name == "MUHAMMAD TAHER ANWARI"
    original = anwari.names[1]
    assert original == Name("محمد طاهر أنوري", quality=NameQuality.GOOD, type=NameType.NAME)
    assert original.script == "Arab"
    assert anwari.names[0].script == "Latn"


def test_primary_name_parts_are_trimmed_and_joined():
    ri = entry("2017-07-03", "KPi.033")  # published as <FIRST_NAME> RI </FIRST_NAME>
    assert ri.names[0] == Name("RI WON HO", parts=(NamePart("first", "RI"), NamePart("second", "WON HO")))
    assert ri.names[0].quality is NameQuality.PRIMARY


def test_alias_qualities():
    djamel = entry("2026-02-27", "QDi.129")
    assert Name("Kalad Belkasam", quality=NameQuality.GOOD, type=NameType.AKA) in djamel.names
    assert Name("Mustafa", quality=NameQuality.LOW, type=NameType.AKA) in djamel.names
    gspc = entry("2017-07-03", "QDe.014")
    assert Name("Le Groupe Salafiste pour La Prédication et le Combat (GSPC)",
                quality=NameQuality.GOOD, type=NameType.FKA) in gspc.names
    for e in parsed("2026-02-27").entries:
        assert all(name.full for name in e.names)


def test_alias_notes_are_kept():
    names = [n for e in parsed("2026-02-27").entries for n in e.names if n.note == "Call sign"]
    assert {n.full for n in names} >= {"Tango Romeo", "Romeo"}


@pytest.mark.parametrize("release", RELEASES)
def test_date_of_birth_between(release):
    assert entry(release, "CDi.030").dates_of_birth == [DateOfBirth("1973", "1974")]


@pytest.mark.parametrize("release", RELEASES)
def test_date_of_birth_approximately(release):
    assert entry(release, "TAi.005").dates_of_birth == [DateOfBirth("1961", approximate=True)]


def test_dates_with_a_zone_are_cut_to_the_day():
    # Published as <LISTED_ON>2015-07-01-04:00</LISTED_ON>, <DATE>1960-01-01-05:00</DATE>.
    ssi_005 = entry("2017-07-03", "SSi.005")
    assert ssi_005.listed_on == "2015-07-01"
    assert ssi_005.dates_of_birth == [DateOfBirth("1960-01-01")]


def test_dates_of_birth_published_only_in_words_are_kept():
    assert entry("2026-02-27", "QDi.291").other["date_of_birth"] == ["24/06/1402 (Hijri Calendar)"]


def test_alias_dates_and_places_of_birth_are_kept():
    djamel = entry("2017-07-03", "QDi.129")
    assert DateOfBirth("1973-08-22", note="alias Ali Barkani") in djamel.dates_of_birth
    assert djamel.dates_of_birth[0] == DateOfBirth("1973-09-28")
    assert {(p.city, p.country) for p in djamel.places_of_birth} >= {("Tiaret", "DZ"), (None, "MA")}


def test_nameless_alias_dates_of_birth_belong_to_the_person():
    # The 2024 release puts two of Mullah Omar's dates of birth in empty aliases.
    assert entry("2024-09-26", "TAi.004").dates_of_birth == [
        DateOfBirth("1966", approximate=True), DateOfBirth("1960"), DateOfBirth("1953")]


@pytest.mark.parametrize("release", RELEASES)
def test_passport(release):
    passport = entry(release, "QDi.096").documents[0]
    assert passport.type == "passport"
    assert passport.number == "L335915"
    assert passport.country == "TN"
    assert passport.issued_on == "1996-11-08"
    assert passport.note == "city of issue: Milan; country of issue: Italy; expired on 7 Nov. 2001"


def test_document_types():
    types = {d.type for e in parsed("2026-02-27").entries for d in e.documents}
    assert {"passport", "national-id", "Birth certificate", "Italian Fiscal Code"} <= types
    assert "Passport" not in types and "National Identification Number" not in types


def test_documents_without_number_are_kept_as_text():
    assert entry("2026-02-27", "QDi.143").other["document"] == [
        "Passport; Tunisian passport number L723315, issued on 5 May 1998, expired on 4 May 2003"]


@pytest.mark.parametrize("release", RELEASES)
def test_nationality_code(release):
    assert entry(release, "TAi.005").nationalities == ["AF"]
    assert entry(release, "KPi.033").nationalities == ["KP"]


def test_nationality_without_a_country_is_kept_as_published():
    unclear = entry("2017-07-03", "SOi.010")
    assert unclear.nationalities == []
    assert unclear.other["nationality"] == ["United States. Also believed to hold Syrian nationality"]
    # a hedged nationality still names its country
    assert entry("2017-07-03", "SOi.009").nationalities == ["ET"]


def test_places_of_birth_and_addresses():
    ssi_001 = entry("2017-07-03", "SSi.001")
    assert [(p.city, p.country, p.text) for p in ssi_001.places_of_birth] == [
        ("Bor", None, "Bor, Sudan/South Sudan")]
    badege = entry("2026-02-27", "CDi.001")
    assert [(a.country, a.note) for a in badege.addresses] == [("RW", "as of early 2016")]


def test_other_fields():
    badege = entry("2026-02-27", "CDi.001")
    assert badege.gender == "Male"
    assert badege.last_updated == ["2016-10-13"]
    assert badege.other["dataid"] == ["6907993"]
    assert badege.remarks.startswith("He fled to Rwanda in March 2013")
    assert badege.raw.startswith("<INDIVIDUAL") and "<REFERENCE_NUMBER>CDi.001</REFERENCE_NUMBER>" in badege.raw
    isil_k = entry("2026-02-27", "QDe.161")  # re-wrapped remarks are not an amendment
    assert isil_k.remarks.startswith("Islamic State of Iraq and the Levant - Khorasan (ISIL - K) was formed on "
                                     "January 10, 2015")
    assert isil_k.remarks.endswith("View-UN-Notices-Individuals")
    anwari = entry("2026-02-27", "TAi.005")
    assert anwari.titles == ["Mullah"]
    assert anwari.designations[0] == "a) Director of Administrative Affairs under the Taliban regime"


def test_gender_is_normalised():
    assert entry("2017-07-03", "KPi.006").gender == "Male"  # published as "MALE"
    assert entry("2017-07-03", "QDi.356").gender == "Female"
    assert entry("2017-07-03", "QDi.060").gender is None  # published as "Unknown"


@pytest.mark.parametrize("release", RELEASES)
def test_round_trip(release):
    for e in parsed(release).entries:
        assert Entry.from_dict(e.to_dict()) == e, e.id
        assert Entry.from_dict(json.loads(json.dumps(e.to_dict()))) == e, e.id


@pytest.mark.parametrize("release", RELEASES)
def test_no_empty_strings_are_stored(release):
    def walk(value, where):
        if isinstance(value, str):
            assert value.strip(), where
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}.{key}")
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, where)

    for e in parsed(release).entries:
        walk(e.to_dict(), e.id)
        assert all(e.other.values()), e.id


def test_layout_does_not_change_unchanged_records():
    # 2018 is one line per record, 2024 indented with other quotes.
    old = {e.reference: e for e in parsed("2018-10-29").entries}
    same = [e for e in parsed("2024-09-26").entries if e.reference in old and e.raw == old[e.reference].raw]
    assert len(same) > 20
    for e in same:
        assert e == old[e.reference], e.id


def test_newest_file_parses_fast():
    start = time.process_time()
    FORMAT.parse(NEWEST, "un")
    assert time.process_time() - start < 1.0


# Detection.

@pytest.mark.parametrize("path", UN_FILES, ids=lambda p: p.name)
def test_detects_un_files(path):
    assert FORMAT.detect(path) == "un"
    assert read_list(path).source == "un"


def test_read_list_picks_this_format():
    result = read_list(NEWEST)
    assert len(result.entries) == 1003
    assert result.entries[0].id == "un:CDi.001"


def test_detect_rejects_other_files(tmp_path):
    assert OFAC_CONS_FILES and OFAC_SDN_FOLDERS
    assert FORMAT.detect(OFAC_CONS_FILES[0]) is None
    assert FORMAT.detect(OFAC_SDN_FOLDERS[0]) is None
    assert FORMAT.detect(OFAC_SDN_FOLDERS[0] / "sdn.csv") is None
    assert FORMAT.detect(UN) is None
    assert FORMAT.detect(tmp_path) is None
    binary = tmp_path / "random.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    assert FORMAT.detect(binary) is None
    assert FORMAT.detect(tmp_path / "missing.xml") is None


# Bad input: built from the real files.

def broken(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "consolidated.xml"
    path.write_text(text, encoding="utf-8")
    return path


def newest_text() -> str:
    return NEWEST.read_text(encoding="utf-8")


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_truncated_file(tmp_path):
    data = NEWEST.read_bytes()
    path = tmp_path / "truncated.xml"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError) as caught:
        FORMAT.parse(path, "un")
    assert caught.value.path == str(path)
    assert caught.value.line and caught.value.line > 1000
    assert str(path) in str(caught.value) and f"line {caught.value.line}" in str(caught.value)


BOMB = "".join(f'<!ENTITY lol{i + 1} "{f"&lol{i};" * 10}">' for i in range(9))


@pytest.mark.parametrize("doctype, body", [
    (f'<!ENTITY lol0 "lol">{BOMB}', "&lol9;"),  # billion laughs
    ('<!ENTITY name "ERIC">', "&name;"),  # harmless, still refused
    ('<!ENTITY passwd SYSTEM "file:///etc/passwd">', "&passwd;"),  # XXE
], ids=["billion-laughs", "internal-entity", "external-entity"])
def test_doctype_and_entities_are_refused(tmp_path, doctype, body):
    path = broken(tmp_path, f'<?xml version="1.0"?><!DOCTYPE CONSOLIDATED_LIST [{doctype}]>'
                            '<CONSOLIDATED_LIST dateGenerated="2026-02-27T00:00:09.554Z">'
                            f"<INDIVIDUALS><INDIVIDUAL><FIRST_NAME>{body}</FIRST_NAME>"
                            "<REFERENCE_NUMBER>QDi.001</REFERENCE_NUMBER></INDIVIDUAL></INDIVIDUALS>"
                            "</CONSOLIDATED_LIST>")
    assert FORMAT.detect(path) == "un"
    with pytest.raises(SourceError) as caught:
        FORMAT.parse(path, "un")
    assert caught.value.line == 1
    assert "root:" not in str(caught.value)


def test_missing_reference_number_names_the_line(tmp_path):
    path = broken(tmp_path, replace_once(newest_text(), "<REFERENCE_NUMBER>CDi.001</REFERENCE_NUMBER>", ""))
    with pytest.raises(SourceError, match="REFERENCE_NUMBER.*6907993") as caught:
        FORMAT.parse(path, "un")
    assert caught.value.line == 4  # the line of <INDIVIDUAL>


def test_duplicate_reference_names_both_lines(tmp_path):
    text = newest_text()
    second_line = text[: text.index("<REFERENCE_NUMBER>CDi.002<")].rfind("<INDIVIDUAL>")
    second_line = text[:second_line].count("\n") + 1
    path = broken(tmp_path, replace_once(text, "<REFERENCE_NUMBER>CDi.002<", "<REFERENCE_NUMBER>CDi.001<"))
    with pytest.raises(SourceError, match=f"CDi.001 .lines 4 and {second_line}") as caught:
        FORMAT.parse(path, "un")
    assert caught.value.line == second_line


def test_record_without_a_name(tmp_path):
    text = replace_once(newest_text(), "<FIRST_NAME>ERIC</FIRST_NAME>", "<FIRST_NAME/>")
    path = broken(tmp_path, replace_once(text, "<SECOND_NAME>BADEGE</SECOND_NAME>", ""))
    with pytest.raises(SourceError, match="CDi.001 has no name") as caught:
        FORMAT.parse(path, "un")
    assert caught.value.line == 4


def test_invalid_date_names_its_line(tmp_path):
    path = broken(tmp_path, replace_once(newest_text(), "CDi.001</REFERENCE_NUMBER>\n      <LISTED_ON>2012-12-31",
                                         "CDi.001</REFERENCE_NUMBER>\n      <LISTED_ON>2012-13-31"))
    with pytest.raises(SourceError, match="invalid date '2012-13-31'") as caught:
        FORMAT.parse(path, "un")
    assert caught.value.line == 11


def test_wrong_encoding(tmp_path):
    # Declared UTF-8, written as Latin-1 (é becomes the lone byte 0xE9).
    text = newest_text()
    assert "é" in text
    path = tmp_path / "latin1.xml"
    path.write_bytes(text.encode("latin-1", errors="replace"))
    with pytest.raises(SourceError, match="encoding") as caught:
        FORMAT.parse(path, "un")
    assert caught.value.path == str(path)


def test_missing_date_generated(tmp_path):
    path = broken(tmp_path, replace_once(newest_text(), ' dateGenerated="2026-02-27T00:00:09.554Z"', ""))
    with pytest.raises(SourceError, match="missing dateGenerated"):
        FORMAT.parse(path, "un")


def test_unreadable_date_generated(tmp_path):
    path = broken(tmp_path, replace_once(newest_text(), 'dateGenerated="2026-02-27T00:00:09.554Z"',
                                         'dateGenerated="yesterday"'))
    with pytest.raises(SourceError, match="dateGenerated"):
        FORMAT.parse(path, "un")


def test_other_root_element_is_refused():
    with pytest.raises(SourceError, match="not <CONSOLIDATED_LIST>"):
        FORMAT.parse(OFAC_CONS_FILES[0], "un")

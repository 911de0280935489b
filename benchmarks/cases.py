"""Shared builders for the matching benchmarks (quality.py, speed.py).

Everything here is built from the real list files in ../shared/data and, for
the false-alert population, from the ``names-dataset`` package (first and
last names with per-country popularity ranks). Nothing is invented by hand.

Recall case sets (each case: a query, the entry it must find, the list
variant it is screened against):

(a) ``alias_cases``, leave one alias out: every good-quality alias (UN
    QUALITY "Good" or "a.k.a."/"f.k.a.") of every entry of the newest UN
    list is a query that must find its entry in a list where that alias has
    been removed. An entry loses at most one alias per round: round r removes
    the r-th good alias of every entry that has one, so there is one list
    variant per round (as many rounds as the most aliases one entry has) and
    every case of a round is screened against that round's variant. An alias
    whose spelling (``spelling``) is the same as one of the names the entry
    keeps is not a case: it is not held out. An alias that holds several
    spellings ("A; B", "Latin (Arabic)") is one case per spelling, and notes
    in it ("(COMBAT NAME)", acronyms) are left out of the query
    (``_spellings``).
(b) ``original_script_cases``: every entry's NAME_ORIGINAL_SCRIPT (Arabic,
    Cyrillic, Chinese) is a query that must find its entry in one list
    variant where every entry's original-script name has been removed.
(c) ``cross_agency_cases``: a person of the OFAC SDN list (2021-07) who
    carries the same passport or national-ID number as a person of the
    newest UN list is the same person. Every OFAC spelling of that person
    (primary name and aliases; the CSV set marks no alias weak) that the UN
    entry does not have is a query that must find the UN entry in the
    unchanged UN list. OFAC's "FAMILY, Given" is put in "Given FAMILY" order,
    as a customer record would have it.

Queries carry the entry's kind and no date of birth; ``Case.year`` is the
year of birth that the "with DOB" variant adds (the listed entry's first
date of birth; for (c) the OFAC record's, i.e. the query side's own data).

The false-alert population (``population``): see its docstring.
"""

from __future__ import annotations

import bisect
import csv
import random
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

from vigil import Query
from vigil.model import Entry, Kind, NameQuality, NameType, ParsedList, detect_script
from vigil.sources import read_list
from vigil.store import ListVersion

BENCHMARKS = Path(__file__).resolve().parent
DATA = BENCHMARKS.parents[1] / "shared" / "data"
CACHE = BENCHMARKS / ".cache"
SEED = 20260227


# --- lists -----------------------------------------------------------------

def newest_lists(data: Path = DATA) -> dict[str, Path]:
    """The newest release of each list: UN, OFAC SDN, OFAC Consolidated."""
    return {
        "un": sorted((data / "un").glob("*.xml"))[-1],
        "ofac-sdn": sorted(p for p in (data / "ofac-sdn").iterdir() if p.is_dir())[-1],
        "ofac-cons": sorted((data / "ofac-consolidated").glob("*.xml"))[-1],
    }


@cache
def load(path: Path) -> ParsedList:
    return read_list(path)


def version(parsed: ParsedList, version_id: int, origin: Path | str) -> ListVersion:
    """A ListVersion for entries read straight from a file (no store)."""
    return ListVersion(
        id=version_id, source=parsed.source, published_at=parsed.published_at,
        published_on=parsed.published_at.date(), imported_at=datetime.now(UTC), content_hash="",
        origin=str(origin), entry_count=len(parsed.entries), counts={},
    )


def screener_input(lists: list[tuple[list[Entry], ListVersion]]) -> list[tuple[Entry, ListVersion]]:
    return [(entry, listed) for entries, listed in lists for entry in entries]


# --- recall cases ------------------------------------------------------------

_NOT_ALNUM = re.compile(r"[\W_]+")


def spelling(text: str) -> tuple[str, ...]:
    """A name's spelling, ignoring case, accents, punctuation and word order:
    "AL-ZAWAHIRI, Ayman" and "Ayman Al Zawahiri" are one spelling."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return tuple(sorted(t for t in _NOT_ALNUM.split(bare) if t))


@dataclass(frozen=True)
class Case:
    query: Query  # names only
    expected: str  # the entry id the query must find
    year: str | None  # the year of birth the "with DOB" variant adds
    round: int  # the list variant it is screened against

    def with_dob(self) -> Query:
        return replace(self.query, dob=self.year)


@dataclass
class CaseSet:
    key: str
    title: str
    cases: list[Case]
    # round -> the entries of the list as the matcher sees them in that round
    variants: dict[int, list[Entry]]
    version: ListVersion

    def rounds(self) -> list[tuple[int, list[Entry], list[Case]]]:
        by_round: dict[int, list[Case]] = defaultdict(list)
        for case in self.cases:
            by_round[case.round].append(case)
        return [(r, self.variants[r], by_round[r]) for r in sorted(by_round)]


def _kind(entry: Entry) -> str:
    return "person" if entry.kind is Kind.PERSON else "organisation"


def _year(entry: Entry) -> str | None:
    for dob in entry.dates_of_birth:
        if dob.start[:4].isdigit():
            return dob.start[:4]
    return None


def _is_good_alias(name) -> bool:
    return name.quality is NameQuality.GOOD and name.type is not NameType.NAME


def _is_original_script(name) -> bool:
    return name.quality is NameQuality.GOOD and name.type is NameType.NAME and name.script != "Latn"


def alias_cases(un: ParsedList, listed: ListVersion) -> CaseSet:
    """(a) leave one alias out; see the module docstring."""
    entries = [e for e in un.entries if e.kind in (Kind.PERSON, Kind.ORGANISATION)]
    cases: list[Case] = []
    removed: dict[int, dict[str, int]] = defaultdict(dict)  # round -> entry id -> index of the name removed
    for entry in entries:
        aliases = [i for i, name in enumerate(entry.names) if _is_good_alias(name)]
        for round_, index in enumerate(aliases, start=1):
            kept = {spelling(n.full) for i, n in enumerate(entry.names) if i != index}
            for number, text in enumerate(_spellings(entry.names[index].full)):
                if spelling(text) in kept or not spelling(text):
                    continue
                removed[round_][entry.id] = index
                query = Query(text, id=f"a{round_}.{number}:{entry.id}", kind=_kind(entry))
                cases.append(Case(query, entry.id, _year(entry), round_))
    variants = {
        round_: [_without(entry, gone.get(entry.id)) for entry in entries]
        for round_, gone in removed.items()
    }
    return CaseSet("a", "leave-one-alias-out (UN)", cases, variants, listed)


def _spellings(alias: str) -> list[str]:
    """The spellings one published alias holds.

    UN aliases sometimes carry more than a name: "Jin Tiesan (金铁三)",
    "Mohammad Islami; Mohamed Islami", "EL PARA (COMBAT NAME)", "Lord's
    Resistance Movement (LRM)". Trailing parenthesised notes in the alias's
    own script (acronyms, notes, reference numbers) are dropped; a trailing
    parenthesised group in another script, or one listing spellings with
    semicolons, gives spellings of its own; spellings separated by
    semicolons are each a spelling. Parentheses inside a name ("Leader (Hong
    Kong) International Trading Limited") stay.
    """
    text, groups = _trailing_groups(alias)
    if not text and groups:
        text, groups = groups[0], groups[1:]
    found = [piece for piece in text.split(";")]
    script = detect_script(text)
    for group in groups:
        if ";" in group or detect_script(group) != script:
            found += [s for piece in group.split(";") for s in _spellings(piece)]
    found = [piece.strip(" ,") for piece in found]
    return list(dict.fromkeys(p for p in found if sum(c.isalpha() for c in p) >= 2 and p.lower() != "original script"))


def _trailing_groups(text: str) -> tuple[str, list[str]]:
    """"Name (a) (b)" -> ("Name", ["b", "a"]); nested parentheses are kept whole."""
    text = text.strip().rstrip(",").strip()
    groups = []
    while text.endswith(")"):
        depth = 0
        for i in range(len(text) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(text[i], 0)
            if depth == 0:
                break
        else:
            break  # unbalanced: leave it as it is
        groups.append(text[i + 1:-1])
        text = text[:i].strip().rstrip(",").strip()
    return text, groups


def original_script_cases(un: ParsedList, listed: ListVersion) -> CaseSet:
    """(b) original script; see the module docstring."""
    entries = [e for e in un.entries if e.kind in (Kind.PERSON, Kind.ORGANISATION)]
    cases: list[Case] = []
    variant: list[Entry] = []
    for entry in entries:
        originals = [i for i, name in enumerate(entry.names) if _is_original_script(name)]
        variant.append(_without(entry, originals[0] if originals else None))
        if originals:
            name = entry.names[originals[0]]
            query = Query(name.full, id=f"b:{entry.id}", kind=_kind(entry))
            cases.append(Case(query, entry.id, _year(entry), 1))
    return CaseSet("b", "original script (UN)", cases, {1: variant}, listed)


_IDENTITY_DOCUMENTS = ("passport", "national-id")


def document_number(number: str) -> str:
    return re.sub(r"[\s\-]", "", number.upper())


def cross_agency_pairs(un: ParsedList, sdn: ParsedList) -> list[tuple[Entry, Entry]]:
    """(UN person, OFAC person) pairs that share a passport or national-ID number."""
    by_number: dict[str, list[Entry]] = defaultdict(list)
    for entry in un.entries:
        if entry.kind is Kind.PERSON:
            for document in entry.documents:
                number = document_number(document.number)
                if document.type in _IDENTITY_DOCUMENTS and len(number) >= 5:
                    by_number[number].append(entry)
    pairs: dict[tuple[str, str], tuple[Entry, Entry]] = {}
    for other in sdn.entries:
        if other.kind is not Kind.PERSON:
            continue
        for document in other.documents:
            if document.type in _IDENTITY_DOCUMENTS:
                for entry in by_number.get(document_number(document.number), ()):
                    pairs[(entry.id, other.id)] = (entry, other)
    return list(pairs.values())


def _natural_order(name) -> str:
    given = " ".join(p.value for p in name.parts if p.role == "given")
    family = " ".join(p.value for p in name.parts if p.role == "family")
    suffix = " ".join(p.value for p in name.parts if p.role not in ("given", "family"))
    if given and family:
        return " ".join(x for x in (given, family, suffix) if x)
    return name.full


def cross_agency_cases(un: ParsedList, sdn: ParsedList, listed: ListVersion) -> CaseSet:
    """(c) cross-agency; see the module docstring."""
    entries = [e for e in un.entries if e.kind in (Kind.PERSON, Kind.ORGANISATION)]
    cases: list[Case] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for entry, other in sorted(cross_agency_pairs(un, sdn), key=lambda p: (p[0].id, p[1].id)):
        known = {spelling(n.full) for n in entry.names}
        for name in other.names:
            if name.quality is NameQuality.LOW:
                continue
            key = spelling(name.full)
            if not key or key in known or (entry.id, key) in seen:
                continue
            seen.add((entry.id, key))
            query = Query(_natural_order(name), id=f"c:{entry.id}:{other.id}:{len(cases)}", kind="person")
            cases.append(Case(query, entry.id, _year(other), 0))
    return CaseSet("c", "cross-agency (OFAC SDN → UN)", cases, {0: entries}, listed)


def sharing_no_word(case_set: CaseSet) -> int:
    """Cases whose query has no word in common with any name the entry keeps
    in its variant (the same spelling ignoring case and accents): beyond the
    reach of spelling, only a date of birth or another name could find them."""
    count = 0
    for _, entries, cases in case_set.rounds():
        words = {e.id: {w for n in e.names for w in spelling(n.full)} for e in entries}
        count += sum(1 for c in cases if not set(spelling(c.query.name)) & words[c.expected])
    return count


def _without(entry: Entry, index: int | None) -> Entry:
    if index is None:
        return entry
    return replace(entry, names=[n for i, n in enumerate(entry.names) if i != index])


# --- the false-alert population ----------------------------------------------

# Country of the customer (ISO alpha-2) -> share of the population, in percent.
# A bank with customers from the regions that sanctions lists concern most.
# Pakistan is not in names-dataset (nor Somalia, Ukraine, North Korea):
# Bangladesh and the United Arab Emirates (where Khan and Ali are among the
# commonest surnames) stand in for South-Asian Muslim names.
COUNTRY_MIX: dict[str, float] = {
    # Arabic names (33)
    "EG": 5, "SA": 4, "IQ": 4, "SY": 4, "YE": 2, "LY": 2, "JO": 2, "SD": 2, "MA": 2, "DZ": 2, "LB": 1, "AE": 3,
    # Persian and Afghan names (8)
    "IR": 5, "AF": 3,
    # Russian and Central Asian names (8)
    "RU": 7, "KZ": 1,
    # Chinese (5), Turkish (5)
    "CN": 5, "TR": 5,
    # South Asian (9)
    "IN": 5, "BD": 4,
    # Nigerian (5)
    "NG": 5,
    # European (24)
    "GB": 4, "DE": 5, "FR": 5, "IT": 3, "ES": 3, "PL": 2, "NL": 2,
    # the Americas (3)
    "US": 2, "MX": 1,
}
# The script a country writes names in when not in Latin letters, where
# names-dataset has names in it.
NATIVE_SCRIPTS = {
    **dict.fromkeys(["EG", "SA", "IQ", "SY", "YE", "LY", "JO", "SD", "LB", "AE", "IR", "AF"], "ARABIC"),
    "RU": "CYRILLIC", "KZ": "CYRILLIC", "CN": "CJK", "IN": "DEVANAGARI", "BD": "BENGALI",
}
NATIVE_SHARE = 0.10  # of the whole population, written in its native script
# Arabic-name countries: this share of people are recorded as given name,
# father's given name, family name (as Arab customer records often are).
THREE_PART_SHARE = 0.5
THREE_PART = {"EG", "SA", "IQ", "SY", "YE", "LY", "JO", "SD", "LB", "AE"}
DOB_FROM, DOB_TO = date(1940, 1, 1), date(2005, 12, 31)


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    dob: str
    country: str
    script: str  # "Latin" or the native script's Unicode name prefix
    gender: str

    def query(self, with_dob: bool = True) -> Query:
        return Query(self.name, id=self.id, kind="person", dob=self.dob if with_dob else None)


def population(size: int = 100_000, seed: int = SEED) -> list[Person]:
    """A synthetic customer file of ``size`` people, cached under .cache/.

    * Country by ``COUNTRY_MIX``; gender 50/50.
    * Names from names-dataset: a first name of that gender and a last name,
      each drawn from the country's names with probability proportional to
      1 / rank (Zipf's law, which name frequencies follow), so a country's
      commonest names are as common here as in a real customer file.
    * Script: ``NATIVE_SHARE`` of all people are written in their country's
      native script (Arabic, Cyrillic, Chinese, Bengali: about 18% of the
      people of those countries), their names drawn from the names-dataset
      names in that script; everyone else in Latin letters, from the
      Latin-letter names. A country for which names-dataset lacks native
      given names of either gender or family names stays Latin (India). Chinese native-script names
      are family name then given name, unspaced; all others given then family.
    * ``THREE_PART_SHARE`` of people from Arabic-name countries get their
      father's given name between theirs and the family name.
    * Date of birth uniform between 1940-01-01 and 2005-12-31.
    * Fixed seed: the same file every time.
    """
    path = CACHE / f"population-{size}-{seed}.tsv"
    # People are drawn one after another, so a smaller population is the
    # start of a larger one: read whichever cached file is large enough.
    cached = sorted((int(p.name.split("-")[1]), p) for p in CACHE.glob(f"population-*-{seed}.tsv"))
    for cached_size, cached_path in cached:
        if cached_size >= size:
            with cached_path.open(encoding="utf-8", newline="") as handle:
                return [Person(*row) for row, _ in zip(csv.reader(handle, delimiter="\t"), range(size))]
    people = _build_population(size, seed)
    CACHE.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        for p in people:
            writer.writerow([p.id, p.name, p.dob, p.country, p.script, p.gender])
    temporary.replace(path)
    return people


class _Draw:
    """Weighted draws (weight 1 / rank) from a ranked list of names."""

    def __init__(self, ranked: list[tuple[int, str]]) -> None:
        ranked.sort()
        self.names = [name for _, name in ranked]
        self.cumulative: list[float] = []
        total = 0.0
        for rank, _ in ranked:
            total += 1.0 / rank
            self.cumulative.append(total)

    def __bool__(self) -> bool:
        return bool(self.names)

    def __call__(self, rng: random.Random) -> str:
        return self.names[bisect.bisect_left(self.cumulative, rng.random() * self.cumulative[-1])]


def _script_of(name: str) -> str | None:
    """"LATIN", the native-script prefix, or None for a name mixing scripts."""
    found = set()
    for char in name:
        if char.isalpha():
            found.add(unicodedata.name(char, "?").split(" ")[0])
        elif char not in " -'":
            return None
    return found.pop() if len(found) == 1 else None


def _usable(name: str) -> bool:
    letters = sum(c.isalpha() for c in name)
    return letters >= 2 and not any(c.isdigit() for c in name)


def _build_population(size: int, seed: int) -> list[Person]:
    from names_dataset import NameDataset  # the bench extra; ~2 GB while loading

    data = NameDataset()
    countries = list(COUNTRY_MIX)
    wanted = set(countries)
    # (country, script, gender or "") -> [(rank, name)]
    ranked: dict[tuple[str, str, str], list[tuple[int, str]]] = defaultdict(list)
    for table, first in ((data.first_names, True), (data.last_names, False)):
        for name, info in table.items():
            ranks = {c: r for c, r in info.get("rank", {}).items() if c in wanted and r}
            if not ranks or not _usable(name):
                continue
            script = _script_of(name)
            if script is None:
                continue
            gender = ""
            if first:
                genders = info.get("gender") or {}
                if not genders:
                    continue
                gender = max(genders, key=genders.get)
            for country, rank in ranks.items():
                if script == "LATIN" or script == NATIVE_SCRIPTS.get(country):
                    ranked[(country, script, gender)].append((rank, name))
    del data
    draws = {key: _Draw(names) for key, names in ranked.items()}

    def draw(country: str, script: str, gender: str) -> _Draw | None:
        found = draws.get((country, script, gender))
        return found if found else None

    native_countries = [c for c in countries if c in NATIVE_SCRIPTS and all(
        draw(c, NATIVE_SCRIPTS[c], g) for g in ("M", "F", ""))]
    native_weight = sum(COUNTRY_MIX[c] for c in native_countries) / sum(COUNTRY_MIX.values())
    native_chance = min(1.0, NATIVE_SHARE / native_weight)

    rng = random.Random(seed)
    weights = [COUNTRY_MIX[c] for c in countries]
    days = (DOB_TO - DOB_FROM).days
    people = []
    for number in range(size):
        country = rng.choices(countries, weights)[0]
        gender = rng.choice("MF")
        native = country in native_countries and rng.random() < native_chance
        script = NATIVE_SCRIPTS[country] if native else "LATIN"
        given = draw(country, script, gender)(rng)
        family = draw(country, script, "")(rng)
        parts = [given]
        if country in THREE_PART and rng.random() < THREE_PART_SHARE:
            parts.append(draw(country, script, "M")(rng))
        parts.append(family)
        if script == "CJK":
            name = family + "".join(parts[:-1])
        else:
            name = " ".join(parts)
        dob = (DOB_FROM + timedelta(days=rng.randrange(days + 1))).isoformat()
        people.append(Person(f"p{number:06d}", name, dob, country, script, gender))
    return people

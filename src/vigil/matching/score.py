"""Scoring a query against one listed entry: features, weights, explanations.

The score is graded evidence. The name sets a ceiling below 1.0 (a perfect
name with nothing else known is not certainty); the date of birth, the
country and identity documents move it up or down from there. Each feature
is a small function returning its contribution and a phrase for the
explanation, so every score says what made it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import pycountry

from vigil.countries import to_code
from vigil.matching.index import document_key
from vigil.matching.names import NameComparison
from vigil.model import DateOfBirth, Entry, Kind, NameQuality


@dataclass(frozen=True)
class Setting:
    value: float
    description: str


SETTINGS = {
    "person_name_ceiling": Setting(0.895, "score of a perfect name match for a person, nothing else known"),
    "organisation_name_ceiling": Setting(0.9, "score of a perfect name match for an organisation"),
    "low_alias_factor": Setting(0.5, "weak/low-quality aliases count this much: they never alert alone"),
    "evidence_full": Setting(1.0, "summed informativeness of matched parts at which a name counts fully"),
    "evidence_floor": Setting(0.55, "what a name made only of common parts counts, at the least"),
    "dob_confirms_name": Setting(0.6, "how much of a common name's restraint an agreeing date of birth lifts"),
    "dob_day": Setting(0.15, "query and listed date of birth agree to the day"),
    "dob_month": Setting(0.09, "... to the month"),
    "dob_year": Setting(0.06, "... to the year"),
    "dob_in_range": Setting(0.03, "the year lies in a listed range, or within an approximate year's"),
    "dob_one_year": Setting(-0.05, "the years differ by one (typos and calendar conversions make this common)"),
    "dob_two_years": Setting(-0.12, "the years differ by two"),
    "dob_mismatch": Setting(-0.45, "the years differ by more than two: strong evidence against"),
    "dob_same_year_other_day": Setting(-0.04, "same year, but a different day or month"),
    "country_match": Setting(0.03, "the query's country is a listed nationality or country"),
    "country_mismatch": Setting(-0.03, "the entry lists countries, none of them the query's"),
    "document_match": Setting(0.97, "score floor when an identity document number matches (decisive)"),
    "document_other_country": Setting(0.15, "same document number, different issuing country: evidence, not proof"),
    "soft_top": Setting(0.9, "above this, evidence adds ever less and the score never reaches 1.0, so that it still ranks"),
}


def setting(name: str) -> float:
    return SETTINGS[name].value


@dataclass(frozen=True)
class QueryFacts:
    """What a query says besides its name, parsed once."""

    dob: tuple[int, int | None, int | None] | None = None  # year, month, day
    country: str | None = None
    document: str | None = None


@dataclass(frozen=True)
class Contribution:
    name: str
    value: float  # the feature's own measure
    contribution: float
    detail: str


_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\s*$")
_DMY = re.compile(r"^\s*(\d{1,2})[./](\d{1,2})[./](\d{4})\s*$")


def parse_dob(text: str | None) -> tuple[int, int | None, int | None] | None:
    """"1971", "1971-05", "1971-05-03" or "03.05.1971"; None when not a date."""
    if not text:
        return None
    if match := _DATE.match(text):
        year, month, day = match.groups()
    elif match := _DMY.match(text):
        day, month, year = match.groups()
    else:
        raise ValueError(f"date of birth {text!r} is not YYYY, YYYY-MM, YYYY-MM-DD or DD.MM.YYYY")
    try:
        date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ValueError(f"date of birth {text!r} is not a real date") from None
    return int(year), int(month) if month else None, int(day) if day else None


def query_facts(dob: str | None, country: str | None, id_number: str | None) -> QueryFacts:
    code = None
    if country:
        code = to_code(country)
        if code is None:
            raise ValueError(f"country {country!r} is not a known country name or ISO code")
    return QueryFacts(parse_dob(dob), code, document_key(id_number) if id_number else None)


@lru_cache(maxsize=100_000)
def _listed_dob(dob: DateOfBirth) -> tuple[int, int, int | None, int | None]:
    """(first year, last year, month, day) of a listed date of birth."""
    parts = [int(p) for p in dob.start.split("-")]
    first = parts[0]
    last = int(dob.end[:4]) if dob.end else first
    month = parts[1] if len(parts) > 1 and not dob.end else None
    day = parts[2] if len(parts) > 2 and not dob.end else None
    return first, last, month, day


def _dob_text(dob: DateOfBirth) -> str:
    text = f"{dob.start[:4]}–{dob.end[:4]}" if dob.end else dob.start
    return f"about {text}" if dob.approximate else text


def birth_years(dob: DateOfBirth) -> tuple[int, int]:
    """The first and last year a listed date of birth allows (an approximate
    date one year either side)."""
    first, last, _, _ = _listed_dob(dob)
    slack = 1 if dob.approximate else 0
    return first - slack, last + slack


def _agreement(query: tuple[int, int | None, int | None], dob: DateOfBirth) -> str:
    """How a query's date of birth agrees with one listed date: the name of
    the setting that gives its contribution."""
    year, month, day = query
    _, _, l_month, l_day = _listed_dob(dob)
    first, last = birth_years(dob)
    distance = 0 if first <= year <= last else min(abs(year - first), abs(year - last))
    if distance == 0 and day and l_day and month == l_month and day == l_day:
        return "dob_day"
    if distance == 0 and month and l_month and month == l_month and (not day or not l_day):
        return "dob_month"
    if distance == 0 and ((month and l_month and month != l_month) or (day and l_day and day != l_day)):
        return "dob_same_year_other_day"
    if distance == 0:
        # A window of several years agrees by chance several times as often.
        return "dob_year" if first == last else "dob_in_range"
    return {1: "dob_one_year", 2: "dob_two_years"}.get(distance, "dob_mismatch")


_AGREEMENT_VALUES = {"dob_day": 1.0, "dob_month": 0.9, "dob_year": 0.8, "dob_in_range": 0.7,
                     "dob_same_year_other_day": 0.5, "dob_one_year": 0.0, "dob_two_years": -0.5, "dob_mismatch": -1.0}


def date_of_birth_contribution(query: QueryFacts, entry: Entry) -> float | None:
    """What the date of birth adds to the score, without the explanation
    (to rule entries out before their names are compared)."""
    if query.dob is None or not entry.dates_of_birth:
        return None
    return max(setting(_agreement(query.dob, dob)) for dob in entry.dates_of_birth)


def date_of_birth(query: QueryFacts, entry: Entry) -> Contribution | None:
    if query.dob is None or not entry.dates_of_birth:
        return None
    agreement, dob = max(((_agreement(query.dob, dob), dob) for dob in entry.dates_of_birth),
                         key=lambda found: setting(found[0]))
    year, month, _ = query.dob
    listed = _dob_text(dob)
    detail = {
        "dob_day": f"born {dob.start}, as listed",
        "dob_month": f"born {year}-{month or 0:02d}, as listed ({listed})",
        "dob_same_year_other_day": f"born in {year} as listed, but on another day (listed {listed})",
        "dob_year": f"born {year}, as listed ({listed})",
        "dob_in_range": f"born {year}, within the years listed ({listed})",
        "dob_one_year": f"born {year}, listed {listed}: one year apart",
        "dob_two_years": f"born {year}, listed {listed}: two years apart",
        "dob_mismatch": f"born {year}, but listed as born {listed}: the dates of birth disagree, which lowers the score",
    }[agreement]
    return Contribution("date_of_birth", _AGREEMENT_VALUES[agreement], setting(agreement), detail)


def listed_countries(entry: Entry) -> set[str]:
    found = set(entry.nationalities)
    found.update(p.country for p in entry.places_of_birth if p.country)
    found.update(a.country for a in entry.addresses if a.country)
    return found


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or (country.name if country else code)


def country(query: QueryFacts, entry: Entry) -> Contribution | None:
    listed = listed_countries(entry)
    if query.country is None or not listed:
        return None
    if query.country in listed:
        return Contribution("country", 1.0, setting("country_match"), f"{_country_name(query.country)}, as listed")
    names = ", ".join(sorted(_country_name(c) for c in listed))
    return Contribution("country", -1.0, setting("country_mismatch"), f"{_country_name(query.country)}, listed: {names}")


def document(query: QueryFacts, entry: Entry) -> Contribution | None:
    if not query.document:
        return None
    for doc in entry.documents:
        if document_key(doc.number) != query.document:
            continue
        if doc.country and query.country and doc.country != query.country:
            return Contribution("document", 0.5, setting("document_other_country"),
                                f"{doc.type} number {doc.number} matches, but it was issued by "
                                f"{_country_name(doc.country)}, not {_country_name(query.country)}")
        return Contribution("document", 1.0, setting("document_match"),
                            f"{doc.type} number {doc.number} matches the listed one (decisive)")
    return None


def _part(tokens) -> str:
    return " ".join(dict.fromkeys(t.original for t in tokens))


def describe_name(comparison: NameComparison, quality: NameQuality) -> str:
    phrases = []
    for match in comparison.matches:
        query, listed = _part(match.query), _part(match.listed)
        sign = "=" if match.how == "same" and query.casefold() == listed.casefold() else "≈"
        note = {"initial": " (initial)", "joined": " (joined)", "acronym": " (acronym)"}.get(match.how, "")
        rarity = " (rare name)" if match.weight >= 0.75 else " (common name)" if match.weight < 0.35 else ""
        phrases.append(f"'{query}' {sign} '{listed}'{note}{rarity}")
    if comparison.unmatched_query:
        phrases.append(f"'{_part(comparison.unmatched_query)}' not in the listed name")
    if comparison.elsewhere:
        phrases.append(f"'{_part(comparison.elsewhere)}' in another of its listed names")
    if comparison.unmatched_listed:
        phrases.append(f"listed '{_part(comparison.unmatched_listed)}' not given")
    if quality is NameQuality.LOW:
        phrases.append("a weak alias, which cannot alert on its own")
    return "; ".join(phrases)


@dataclass(frozen=True)
class Scored:
    score: float
    features: tuple[Contribution, ...]
    explanation: str


def _soft_top(total: float) -> float:
    """A near-perfect name with the listed date of birth sums past 1.0; the
    country must still tell a listed nationality from another one."""
    top = setting("soft_top")
    if total <= top:
        return total
    return top + (1 - top) * (1 - math.exp(-(total - top) / (1 - top)))


def score(comparison: NameComparison, quality: NameQuality, entry: Entry, query: QueryFacts) -> Scored:
    """The entry's score for a query whose best name comparison is given."""
    person = entry.kind is Kind.PERSON
    ceiling = setting("person_name_ceiling" if person else "organisation_name_ceiling")
    floor = setting("evidence_floor")
    strength = min(1.0, floor + (1 - floor) * comparison.evidence / setting("evidence_full"))
    born = date_of_birth(query, entry) if person else None
    if born is not None and born.value > 0.7:
        # A common name with the right date of birth is no longer just a
        # common name; the more precise the date, the more so (a year agrees
        # by chance one time in sixty).
        precision = (born.value - 0.7) / 0.3
        strength += (1 - strength) * setting("dob_confirms_name") * precision
    name_value = comparison.score * strength * (setting("low_alias_factor") if quality is NameQuality.LOW else 1.0)
    features = [Contribution("name", round(comparison.score, 3), name_value * ceiling, describe_name(comparison, quality))]
    features += [found for found in (born, country(query, entry), document(query, entry)) if found]
    total = _soft_top(sum(f.contribution for f in features if f.name != "document"))
    doc = next((f for f in features if f.name == "document"), None)
    if doc is not None:
        total = max(total, doc.contribution) if doc.value == 1.0 else total + doc.contribution
    total = min(max(total, 0.0), 1.0)
    return Scored(round(total, 3), tuple(features), "; ".join(f.detail for f in features if f.detail))

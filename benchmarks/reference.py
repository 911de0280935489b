"""The reference matcher for the benchmarks: nomenklatura's logic-v2.

logic-v2 is the matcher of OpenSanctions' yente screening API. yente finds
candidates in a search index and then scores each one with
``LogicV2.compare(query=entity, result=candidate, config=config)``
(yente/scoring.py); a candidate is a match at yente's default threshold 0.7.
This module does the same with two stand-ins for what yente keeps in
Elasticsearch:

* entities: Vigil entries become FollowTheMoney entities (Person,
  Organization, Vessel, Airplane) with ``name`` (the primary name and the
  original-script name), ``alias`` (good aliases), ``weakAlias`` (low-quality
  aliases), ``firstName``/``lastName`` (where a list splits a name into given
  and family parts), ``birthDate``, ``nationality``, ``passportNumber`` and
  ``idNumber``; queries become an entity of the query's kind (``Person``,
  ``Organization``, or ``LegalEntity`` when unknown) with ``name``, and
  ``birthDate``, ``country``, ``idNumber`` when given.
* candidates: a name-token blocking index. Every name of every entity is
  analysed with the matcher's own name analysis (followthemoney's
  ``entity_names``, the rigour library) and indexed under each part's
  comparable (latinised) form, its metaphone, and each of its name symbols
  (rigour's cross-script name identifiers, e.g. Wikidata ids of given names,
  which is what lets an Arabic-script query find a Latin-script entry).
  Stop-word parts ("al", "bin", ...) are not keys. A query's candidates are
  the entities sharing at least one key with it, ranked by the summed inverse
  document frequency of the shared keys; the best 50 are scored. This stands
  in for yente's index query, which searches the same analysed name fields
  (name parts, phonetics, symbols) and scores the best ``limit`` (5, its
  MATCH_PAGE) x 10 (its MATCH_CANDIDATES) = 50 results of that search.

``ReferenceMatcher.scores`` then scores every candidate with logic-v2 and
returns those at or above the threshold, best first. On the leave-one-alias-out
set, scoring every entry instead (``CANDIDATES = None``, quality.py
``--reference-candidates 0``) finds 9 more of 2,125 cases; on the other two
sets, none.

logic-v2 caches the analysed names of an entity by its id (an lru_cache keyed
on ``EntityProxy.__hash__``, which hashes the id only), so every query and
every variant of a list entity gets its own id here.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from followthemoney import EntityProxy, model
from followthemoney.names import entity_names
from nomenklatura.matching import LogicV2
from nomenklatura.matching.types import ScoringConfig
from rigour.names import NamePartTag

from vigil import Query
from vigil.model import Entry, Kind, NameQuality

ALGORITHM = LogicV2
THRESHOLD = 0.7  # yente's settings.SCORE_THRESHOLD
CANDIDATES = 50  # yente's default limit (MATCH_PAGE, 5) x MATCH_CANDIDATES (10)

_SCHEMATA = {
    Kind.PERSON: "Person",
    Kind.ORGANISATION: "Organization",
    Kind.VESSEL: "Vessel",
    Kind.AIRCRAFT: "Airplane",
}
_QUERY_SCHEMATA = {"person": "Person", "organisation": "Organization", None: "LegalEntity"}
_IDENTITY_DOCUMENTS = ("passport", "national-id")
_query_ids = itertools.count()


def version() -> str:
    from importlib.metadata import version as installed

    return (f"nomenklatura {installed('nomenklatura')}, followthemoney {installed('followthemoney')}, "
            f"rigour {installed('rigour')}")


def config() -> ScoringConfig:
    """The configuration yente scores with when the request sets none."""
    return ALGORITHM.default_config()


def entry_entity(entry: Entry, variant: str = "") -> EntityProxy:
    """The FollowTheMoney entity for a list entry (``variant`` tells apart
    versions of one entry that differ in their names)."""
    schema = _SCHEMATA[entry.kind]
    entity = model.make_entity(schema)
    # The source too: OFAC's SDN and Consolidated lists can both hold an "ofac:N".
    entity.id = f"{entry.source}/{entry.id}#{variant}"
    for name in entry.names:
        if name.quality is NameQuality.LOW:
            prop = "weakAlias"
        elif name.quality is NameQuality.PRIMARY or name.type.value == "name":
            prop = "name"
        else:
            prop = "alias"
        entity.add(prop, name.full, quiet=True)
        if schema == "Person":
            for part in name.parts:
                if part.role == "given":
                    entity.add("firstName", part.value, quiet=True)
                elif part.role == "family":
                    entity.add("lastName", part.value, quiet=True)
    if schema == "Person":
        for dob in entry.dates_of_birth:
            entity.add("birthDate", _dob_values(dob.start, dob.end), quiet=True)
        entity.add("nationality", [c.lower() for c in entry.nationalities], quiet=True)
    for document in entry.documents:
        if schema == "Person" and document.type == "passport":
            entity.add("passportNumber", document.number, quiet=True)
        elif schema == "Person" and document.type == "national-id":
            entity.add("idNumber", document.number, quiet=True)
        elif schema != "Person":
            entity.add("registrationNumber", document.number, quiet=True)
    return entity


def _dob_values(start: str, end: str | None) -> list[str]:
    """A published range "1960".."1962" is every year in it (as OpenSanctions does)."""
    if end and len(start) == 4 and len(end) == 4 and start.isdigit() and end.isdigit() and int(end) - int(start) < 30:
        return [str(year) for year in range(int(start), int(end) + 1)]
    return [start] + ([end] if end else [])


def query_entity(query: Query) -> EntityProxy:
    kind = query.kind.lower() if query.kind else None
    entity = model.make_entity(_QUERY_SCHEMATA.get(kind, "LegalEntity"))
    entity.id = f"q{next(_query_ids)}:{query.id}"
    entity.add("name", query.name)
    if query.dob and entity.schema.name == "Person":
        entity.add("birthDate", query.dob, quiet=True)
    if query.country:
        entity.add("country", query.country.lower(), quiet=True)
    if query.id_number:
        entity.add("idNumber", query.id_number, quiet=True)
    return entity


def blocking_keys(entity: EntityProxy) -> set[str]:
    """The index keys of an entity's names (see the module docstring)."""
    keys: set[str] = set()
    names = entity_names(entity, tuple(p for p in ("name", "alias", "weakAlias", "previousName") if entity.schema.get(p)))
    for name in names:
        for part in name.parts:
            if part.tag == NamePartTag.STOP:
                continue
            keys.add("c:" + part.comparable)
            if part.metaphone:
                keys.add("m:" + part.metaphone)
        for symbol in name.symbols:
            keys.add(f"s:{symbol}")
    return keys


@dataclass(frozen=True)
class RefHit:
    entry_id: str
    score: float


class ReferenceMatcher:
    """logic-v2 over a set of entries, with token-blocked candidates."""

    def __init__(self, entries: Iterable[Entry], variant: str = "") -> None:
        self.config = config()
        self.entities: list[EntityProxy] = []
        self.entry_ids: list[str] = []
        self.index: dict[str, list[int]] = defaultdict(list)
        for entry in entries:
            position = len(self.entities)
            entity = entry_entity(entry, variant)
            self.entities.append(entity)
            self.entry_ids.append(entry.id)
            for key in blocking_keys(entity):
                self.index[key].append(position)

    def candidates(self, entity: EntityProxy) -> list[int]:
        """Positions of the CANDIDATES entities sharing the rarest keys with
        ``entity`` (every entity when CANDIDATES is None: brute force)."""
        size = CANDIDATES
        if size is None:
            return list(range(len(self.entities)))
        found: dict[int, float] = defaultdict(float)
        total = len(self.entities)
        for key in blocking_keys(entity):
            positions = self.index.get(key, ())
            if positions:
                weight = math.log(1 + total / len(positions))
                for position in positions:
                    found[position] += weight
        return sorted(found, key=lambda p: (-found[p], p))[:size]

    def score(self, query: EntityProxy, position: int) -> float:
        return ALGORITHM.compare(query=query, result=self.entities[position], config=self.config).score

    def scores(self, query: Query, threshold: float = THRESHOLD) -> list[RefHit]:
        """Every candidate scoring at least ``threshold``, best first."""
        entity = query_entity(query)
        hits = []
        for position in self.candidates(entity):
            value = self.score(entity, position)
            if value >= threshold:
                hits.append(RefHit(self.entry_ids[position], value))
        hits.sort(key=lambda h: (-h.score, h.entry_id))
        return hits

    def rescore(self, query: Query, positions: Iterable[int]) -> list[tuple[int, float]]:
        """(position, score) of ``query`` against the entities at ``positions`` only, best first."""
        entity = query_entity(query)
        scored = [(p, self.score(entity, p)) for p in positions]
        return sorted(scored, key=lambda h: (-h[1], self.entry_ids[h[0]]))

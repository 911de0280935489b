"""The screening engine: an index over list entries, queried one party at a time."""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import NamedTuple

from vigil.matching.index import CandidateIndex, name_forms
from vigil.matching.names import NameComparison, compare, part_keys
from vigil.matching.normalise import Token, tokenise
from vigil.matching.score import QueryFacts, birth_years, date_of_birth_contribution, query_facts, score, setting
from vigil.model import Entry, Kind, NameQuality
from vigil.screening.query import Feature, Hit, Query
from vigil.store import ListVersion, Store

DEFAULT_THRESHOLD = 0.7
# The most a name can give, and the most everything else but a document can
# add: names that cannot reach the threshold are not scored at all.
MAX_NAME_CEILING = max(setting("person_name_ceiling"), setting("organisation_name_ceiling"))
MAX_OTHER_EVIDENCE = setting("dob_day") + setting("country_match")
MAX_NAME_LENGTH = 1000

_KINDS = {
    None: (False, True),
    "": (False, True),
    "person": (False,),
    "individual": (False,),
    "organisation": (True,),
    "organization": (True,),
    "entity": (True,),
    "company": (True,),
}


class _Best(NamedTuple):
    """An entry's best-matching name for a query, so far."""

    value: float
    comparison: NameComparison
    tokens: tuple[Token, ...]  # the query's name as it matched (one reading of it)
    name_id: int


class Screener:
    """Screens queries against a fixed set of list entries.

    Built once (the candidate index is made here); ``match`` then only reads,
    so threads may share a screener and forked worker processes inherit it.
    """

    def __init__(self, entries: Iterable[tuple[Entry, ListVersion]]) -> None:
        pairs = list(entries)
        self._entry_versions = [version for _, version in pairs]
        self.index = CandidateIndex([entry for entry, _ in pairs])
        # OFAC's SDN and Consolidated lists share one id space: an id is unique per source.
        self._by_id = {(entry.source, entry.id): entry for entry in self.index.entries}
        self._versions = list({v.id: v for v in self._entry_versions}.values())
        # Each entry's birth years, to rule entries out before scoring them.
        self._birth_years = [tuple(map(birth_years, e.dates_of_birth)) for e in self.index.entries]

    @classmethod
    def from_store(cls, store: Store, sources: list[str] | None = None) -> Screener:
        """A screener over the newest version of each stored list (or of ``sources``)."""
        versions = [v for v in newest_versions(store.versions()) if not sources or v.source in sources]
        return cls((entry, version) for version in versions for entry in store.entries(version.id))

    @property
    def versions(self) -> list[ListVersion]:
        return list(self._versions)

    def entry(self, source: str, entry_id: str) -> Entry:
        """An indexed entry (as a hit names it: source and id)."""
        return self._by_id[(source, entry_id)]

    def match(
        self,
        query: Query,
        threshold: float = DEFAULT_THRESHOLD,
        limit: int = 10,
        only: Container[str] | None = None,
        sources: Container[str] | None = None,
    ) -> list[Hit]:
        """Hits scoring at least ``threshold``, best first, at most ``limit``;
        with ``only``, hits on those entry ids alone, with ``sources``, on
        entries of those lists alone (names are still weighed against every
        indexed entry, so scores do not change).

        Raises ValueError for a query that cannot be screened (no name, an
        unknown kind, an unreadable date of birth or country).
        """
        facts = query_facts(query.dob, query.country, query.id_number)
        best: dict[int, _Best] = {}
        min_cover = max(0.0, (threshold - MAX_OTHER_EVIDENCE) / MAX_NAME_CEILING)
        reachable: dict[int, bool] = {}
        for organisation, tokens in self._readings(query):
            name_ids = self.index.candidates(tokens, organisation, min_cover)
            if facts.document:
                # An entry holding the query's document number is scored whatever its names.
                name_ids += [
                    name_id
                    for position in self.index.by_document(query.id_number)
                    for name_id in self.index.name_ids_of(position)
                    if self.index.names[name_id].organisation == organisation
                ]
            for name_id in name_ids:
                listed = self.index.names[name_id]
                entry = self.index.entries[listed.entry]
                if (only is not None and entry.id not in only) or (sources is not None and entry.source not in sources):
                    continue
                if listed.entry not in reachable:
                    reachable[listed.entry] = self._reachable(listed.entry, facts, threshold)
                if not reachable[listed.entry]:
                    continue
                comparison = compare(tokens, listed.tokens, self.index.weight, not organisation)
                # Keep, per entry, the name that matched best (weak aliases count less).
                value = comparison.score * (setting("low_alias_factor") if listed.quality is NameQuality.LOW else 1.0)
                value += 0.001 * comparison.evidence
                if listed.entry not in best or value > best[listed.entry].value:
                    best[listed.entry] = _Best(value, comparison, tokens, name_id)
        hits = []
        for position, (_, comparison, tokens, name_id) in best.items():
            entry = self.index.entries[position]
            listed = self.index.names[name_id]
            if comparison.unmatched_query:
                # Parts this name lacks may be in the entry's other names.
                elsewhere = self.index.part_keys_of(position)
                if any(not part_keys(t).isdisjoint(elsewhere) for t in comparison.unmatched_query):
                    comparison = compare(tokens, listed.tokens, self.index.weight, not listed.organisation, elsewhere)
            quality, matched = listed.quality, listed.full
            scored = score(comparison, quality, entry, facts)
            if scored.score >= threshold:
                version = self._entry_versions[position]
                hits.append(Hit(
                    query_id=query.id, entry_id=entry.id, score=scored.score, matched_name=matched,
                    entry_name=entry.primary_name, kind=str(entry.kind), source=entry.source,
                    reference=entry.reference, version_id=version.id, explanation=scored.explanation,
                    features=tuple(Feature(f.name, f.value, round(f.contribution, 3), f.detail) for f in scored.features),
                ))
        hits.sort(key=lambda h: (-h.score, h.entry_id))
        return hits[:limit]

    def candidates(self, query: Query) -> list[str]:
        """Ids of the entries the index offers for a query, before any scoring
        (what the benchmarks measure the index's recall on)."""
        found = []
        for organisation, tokens in self._readings(query):
            found += [self.index.entries[self.index.names[n].entry].id for n in self.index.candidates(tokens, organisation)]
        return list(dict.fromkeys(found))

    @staticmethod
    def _readings(query: Query) -> list[tuple[bool, tuple[Token, ...]]]:
        """The query's name tokenised once per kind it may be and per form it
        holds ("A; B"); raises ValueError for a name that cannot be screened."""
        name = query.name.strip() if query.name else ""
        if not any(c.isalnum() for c in name):
            raise ValueError(f"query {query.id!r}: the name {query.name!r} has no letters")
        if len(name) > MAX_NAME_LENGTH:
            raise ValueError(f"query {query.id!r}: the name is {len(name):,} characters long (at most {MAX_NAME_LENGTH})")
        kind = query.kind.strip().lower() if query.kind else None
        if kind not in _KINDS:
            raise ValueError(f"query {query.id!r}: unknown kind {query.kind!r} (person or organisation)")
        return [(organisation, tokenise(form, organisation)) for organisation in _KINDS[kind] for form in name_forms(name)]

    def _reachable(self, position: int, facts: QueryFacts, threshold: float) -> bool:
        """Whether a perfect name could still reach the threshold: a birth date
        that clearly disagrees rules most entries out before names are compared."""
        entry = self.index.entries[position]
        if facts.document or facts.dob is None or entry.kind is not Kind.PERSON or not entry.dates_of_birth:
            return True
        best_name = setting("person_name_ceiling") + setting("country_match")
        year = facts.dob[0]
        if not any(first - 2 <= year <= last + 2 for first, last in self._birth_years[position]):
            # more than two years from every listed date: a clear mismatch
            return best_name + setting("dob_mismatch") >= threshold
        return best_name + date_of_birth_contribution(facts, entry) >= threshold


def newest_versions(versions: list[ListVersion]) -> list[ListVersion]:
    """The newest version of each list, from versions ordered by publication within each list."""
    newest: dict[str, ListVersion] = {}
    for version in versions:  # ordered by publication within each source
        newest[version.source] = version
    return list(newest.values())

"""Linking submitted proposals to the list entries that answer them.

When a list version is imported, the entries it adds (those not in the
version published before it of the same list; every entry of a list's first
version) are screened with Vigil's own matcher for each submitted proposal:
every name the proposal gives (and its original-script names), with its birth
dates and nationalities, against the whole version's index (so that names are
weighed as in any screening), hits kept only on the new entries of the
proposal's kind and regime. A proposal is linked to the best entry when one of
its names scores at least ``LINK_THRESHOLD``: higher than the screening
default (0.7), because the link is made without a person looking. A group
whose name shares only common words with an earlier listing ("Islamic State",
"Levant") stays well below it.

Nothing is read beyond one small query when no proposal is waiting: no
difference is computed and no index built.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import product
from typing import Any

from sqlalchemy import inspect

from vigil.cooperation.proposal_drafts import Draft
from vigil.cooperation.proposal_tables import proposals as proposal_rows
from vigil.cooperation.proposals import record_listing, submitted
from vigil.model import Entry
from vigil.screening import Query, Screener
from vigil.screening.query import Hit
from vigil.store import ListVersion, Store

LINK_THRESHOLD = 0.8
REPORTED = 0.5  # a proposal's other names are shown with the link from this score on
FACTS = 3  # birth dates and nationalities tried per name, each


@dataclass(frozen=True)
class MatchedName:
    proposed: str  # as the proposal spells it
    listed: str  # the listed name it matched best
    score: float


@dataclass(frozen=True)
class Listing:
    """Where a proposal's entity was found listed."""

    proposal_id: str
    source: str
    reference: str | None  # the list's own reference, e.g. "QDe.161"
    entry_id: str
    entry_name: str
    listed_on: str | None  # the date the list gives, e.g. "2019-05-14"
    version: int  # the list version that added it
    published_on: str
    score: float
    names: tuple[MatchedName, ...]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["proposal_id"]
        data["names"] = [asdict(n) for n in self.names]
        return data


def link_new_entries(store: Store, version: ListVersion, threshold: float = LINK_THRESHOLD) -> list[Listing]:
    """Link every submitted proposal whose entity ``version`` newly lists; the links made."""
    if not inspect(store.engine).has_table(proposal_rows.name):
        return []
    with store.engine.connect() as conn:
        waiting = submitted(conn)
    if not waiting:
        return []
    added = {entry_id for entry_id, _ in store.diff(version.source, None, str(version.id)).added}
    wanted = {(draft.kind, draft.regime) for _, draft in waiting}
    entries = list(store.entries(version.id))
    new = [e for e in entries if e.id in added and any(str(e.kind) == kind and regime in e.programmes for kind, regime in wanted)]
    if not new:
        return []
    screener = Screener((entry, version) for entry in entries)
    links = []
    for proposal_id, draft in waiting:
        candidates = {e.id for e in new if str(e.kind) == draft.kind and draft.regime in e.programmes}
        listing = find_listing(screener, version, proposal_id, draft, candidates, threshold) if candidates else None
        if listing is not None:
            with store.writer.begin() as conn:
                record_listing(conn, proposal_id, listing.to_dict())
            links.append(listing)
    return links


def find_listing(screener: Screener, version: ListVersion, proposal_id: str, draft: Draft, candidates: set[str],
                 threshold: float = LINK_THRESHOLD) -> Listing | None:
    """The candidate entry that a name of the draft matches best, if one scores at least ``threshold``."""
    best: dict[str, dict[str, Hit]] = {}  # entry id -> proposed name -> its best hit there
    facts = list(product(draft.birth_dates[:FACTS] or [None], draft.nationalities[:FACTS] or [None]))
    for name in dict.fromkeys(draft.names + draft.original_script_names):
        for dob, country in facts:
            query = Query(name, id=proposal_id, kind=draft.kind, dob=dob, country=country)
            for hit in screener.match(query, REPORTED, limit=len(candidates), only=candidates):
                kept = best.setdefault(hit.entry_id, {})
                if name not in kept or hit.score > kept[name].score:
                    kept[name] = hit
    scored = sorted(((max(h.score for h in hits.values()), entry_id) for entry_id, hits in best.items()), key=lambda p: (-p[0], p[1]))
    if not scored or scored[0][0] < threshold:
        return None
    score, entry_id = scored[0]
    entry: Entry = screener.entry(version.source, entry_id)
    hits = sorted(best[entry_id].items(), key=lambda item: -item[1].score)
    return Listing(
        proposal_id=proposal_id, source=entry.source, reference=entry.reference, entry_id=entry.id, entry_name=entry.primary_name,
        listed_on=entry.listed_on, version=version.id, published_on=version.published_on.isoformat(), score=round(score, 3),
        names=tuple(MatchedName(name, hit.matched_name, round(hit.score, 3)) for name, hit in hits),
    )

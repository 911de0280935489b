"""Free-text search over the entries a screener holds.

Ids, references and identity-document numbers are compared exactly once
normalised (upper case, letters and digits only: "qde 161" finds QDe.161);
names are matched by the screener itself, at a lower threshold than
screening, so that one name part in any script finds the entries bearing it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from vigil.matching.index import document_key
from vigil.model import Entry
from vigil.screening import Hit, Query, Screener

NAME_THRESHOLD = 0.5

# Per screener: normalised id or reference -> (entry, "id" or "reference", value).
_KEYS: WeakKeyDictionary[Screener, dict[str, list[tuple[Entry, str, str]]]] = WeakKeyDictionary()


@dataclass
class Found:
    entry: Entry
    score: float = 0.0
    matched: list[dict[str, Any]] = field(default_factory=list)

    def add(self, on: str, value: str, score: float, explanation: str) -> None:
        self.matched.append({"field": on, "value": value, "score": score, "explanation": explanation})
        self.score = max(self.score, score)


@dataclass
class SearchResult:
    items: list[Found]  # best first
    hits: list[Hit]  # the name hits among them, for the audit trail


def _id_keys(screener: Screener) -> dict[str, list[tuple[Entry, str, str]]]:
    keys = _KEYS.get(screener)
    if keys is None:
        keys = defaultdict(list)
        for entry in screener.index.entries:
            keys[document_key(entry.id)].append((entry, "id", entry.id))
            if entry.reference:
                keys[document_key(entry.reference)].append((entry, "reference", entry.reference))
        _KEYS[screener] = keys = dict(keys)
    return keys


def search(
    screener: Screener, text: str, source: str | None = None, kind: str | None = None, programme: str | None = None
) -> SearchResult:
    """Entries whose id, reference, document number or name matches ``text``,
    of ``source``, ``kind`` and ``programme`` when given; exact matches first."""

    def wanted(entry: Entry) -> bool:
        return (
            (source is None or entry.source == source)
            and (kind is None or entry.kind == kind)
            and (programme is None or programme.casefold() in (p.casefold() for p in entry.programmes))
        )

    found: dict[tuple[str, str], Found] = {}

    def record(entry: Entry) -> Found:
        return found.setdefault((entry.source, entry.id), Found(entry))

    key = document_key(text)  # empty for text in other scripts than Latin: names only
    if key:
        for entry, on, value in _id_keys(screener).get(key, []):
            if wanted(entry):
                record(entry).add(on, value, 1.0, f"the {on} {value} is the one searched for")
        for position in screener.index.by_document(text):
            entry = screener.index.entries[position]
            if not wanted(entry):
                continue
            for document in entry.documents:
                if document_key(document.number) == key:
                    record(entry).add("document", document.number, 1.0, f"{document.type} number {document.number} is the one searched for")
    only = {e.id for e in screener.index.entries if wanted(e)} if kind or programme else None
    hits = screener.match(
        Query(text, "search"), NAME_THRESHOLD, len(screener.index.entries), only=only,
        sources={source} if source else None,
    )
    for hit in hits:
        record(screener.entry(hit.source, hit.entry_id)).add("name", hit.matched_name, hit.score, hit.explanation)
    return SearchResult(sorted(found.values(), key=lambda f: (-f.score, f.entry.id)), hits)

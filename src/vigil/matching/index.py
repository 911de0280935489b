"""The candidate index: from a query's name parts to the few listed names
worth scoring, without comparing against the whole list.

Keys are each informative part's folded text and consonant skeleton, and the
same for adjacent parts joined ("abd" + "rahman"); identity document numbers
have their own keys. Built once per set of list entries, in memory.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from vigil.matching.normalise import Role, Token, skeleton, tokenise
from vigil.model import Entry, Kind, NameQuality

# How many listed names a query may score in full, at the most.
MAX_CANDIDATES = 48
# Keys shared by more than this share of all names (e.g. "muhammad") only
# add to names other keys found, or are used when nothing else is.
COMMON_KEY_SHARE = 0.02

_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")


def document_key(number: str) -> str:
    """A document number as compared: upper case, letters and digits only."""
    return _NOT_ALNUM.sub("", number.upper())


@dataclass(frozen=True, slots=True)
class IndexedName:
    entry: int  # position of the entry in the index
    full: str
    quality: NameQuality
    tokens: tuple[Token, ...]


def is_organisation(kind: Kind) -> bool:
    return kind is not Kind.PERSON


def name_keys(tokens: Sequence[Token]) -> dict[str, tuple[Token, ...]]:
    """The index keys of a name, each with the parts it stands for.

    Single parts give their text and skeleton; adjacent parts joined give
    the same; every two parts give a pair key (selective even when both are
    common, as in "Mohammed Omar") and initial keys ("M. Omar").
    """
    keys: dict[str, tuple[Token, ...]] = {}
    informative = [t for t in tokens if t.informative]
    for token in informative:
        if len(token.text) > 1:
            keys["t:" + token.text] = (token,)
            if len(token.skeleton) >= 2:
                keys["s:" + token.skeleton] = (token,)
    for first, second in zip(tokens, tokens[1:]):
        if first.informative or second.informative:
            joined = first.text + second.text
            keys["t:" + joined] = (first, second)
            keys["s:" + skeleton(joined)] = (first, second)
    for i, first in enumerate(informative):
        for second in informative[i + 1 :]:
            if len(first.text) > 1 and len(second.text) > 1:
                keys["b:" + "|".join(sorted((first.text, second.text)))] = (first, second)
            for initial, other in ((first, second), (second, first)):
                if len(other.text) > 1:
                    keys[f"i:{initial.text[0]}|{other.text}"] = (initial, other)
    return keys


class CandidateIndex:
    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = list(entries)
        self.names: list[IndexedName] = []
        postings: dict[str, list[int]] = defaultdict(list)
        self.documents: dict[str, list[int]] = defaultdict(list)
        for position, entry in enumerate(self.entries):
            organisation = is_organisation(entry.kind)
            for name in entry.names:
                tokens = tokenise(name.full, organisation)
                if not any(t.informative for t in tokens):
                    continue
                name_id = len(self.names)
                self.names.append(IndexedName(position, name.full, name.quality, tokens))
                for key in name_keys(tokens):
                    postings[key].append(name_id)
            for document in entry.documents:
                key = document_key(document.number)
                if len(key) >= 4:
                    self.documents[key].append(position)
        self.postings = {key: tuple(ids) for key, ids in postings.items()}
        self.size = max(len(self.names), 1)
        self._common = max(int(self.size * COMMON_KEY_SHARE), 20)
        self._log_size = math.log(self.size + 1)

    def weight(self, token: Token) -> float:
        """How informative a part is, 0..1, from how many listed names share it."""
        if not token.informative:
            return 0.0
        # A spelling the list has is counted as such; any other (a typo, a
        # name written without vowels) by the names sharing its skeleton.
        frequency = len(self.postings.get("t:" + token.text, ())) or len(self.postings.get("s:" + token.skeleton, ()))
        weight = math.log((self.size + 1) / (frequency + 1)) / self._log_size
        weight = min(max(weight, 0.1), 1.0)
        if len(token.text) <= 2:
            weight *= 0.5
        return weight * (0.3 if token.role is Role.GENERIC else 1.0)

    def candidates(self, tokens: Sequence[Token]) -> list[int]:
        """Ids of the listed names most worth scoring against a query name."""
        found: dict[int, float] = defaultdict(float)
        common: list[tuple[tuple[int, ...], float]] = []
        for key, parts in name_keys(tokens).items():
            ids = self.postings.get(key)
            if not ids:
                continue
            weight = sum(self.weight(t) for t in parts) * (0.8 if key.startswith(("s:", "i:")) else 1.0)
            if len(ids) > self._common:
                common.append((ids, weight))
                continue
            for name_id in ids:
                found[name_id] += weight
        for ids, weight in common:
            for name_id in ids:
                if name_id in found or len(found) < MAX_CANDIDATES:
                    found[name_id] += weight
        return sorted(found, key=found.__getitem__, reverse=True)[:MAX_CANDIDATES]

    def by_document(self, number: str) -> list[int]:
        return list(self.documents.get(document_key(number), ()))

"""The candidate index: from a query's name parts to the few listed names
worth scoring, without comparing against the whole list.

Keys are each informative part's folded text and consonant skeleton, and the
same for adjacent parts joined ("abd" + "rahman"); identity document numbers
have their own keys. Built once per set of list entries, in memory.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

from vigil.countries import to_code
from vigil.matching import abjad
from vigil.matching.names import UNMATCHED_QUERY_PENALTY_MANY, UNMATCHED_QUERY_PENALTY_PERSON, part_keys
from vigil.matching.normalise import Role, Token, acronyms, coarse_key, skeleton, tokenise
from vigil.model import Entry, Kind, NameQuality

# How many listed names a query may score in full, at the most.
MAX_CANDIDATES = 48
# Pair keys are made among a name's first parts only: names have a handful
# of parts, and a query of hundreds must not cost tens of thousands of keys.
MAX_PAIRED_PARTS = 10
# Keys shared by more than this share of all names (e.g. "muhammad") only
# add to names other keys found, or are used when nothing else is.
COMMON_KEY_SHARE = 0.01

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
    organisation: bool


_PARENTHESES = re.compile(r"\(([^()]*)\)")


def name_forms(full: str) -> list[str]:
    """The names one published string holds: "A; B" is two names, and
    "AL-QAIDA IN THE ARABIAN PENINSULA (AQAP)" is also "AQAP" and the name
    without it. A country in parentheses ("AL-HARAMAIN FOUNDATION
    (PAKISTAN)", "AERO CONTINENTE (USA) INC.") is no name of its own."""
    forms = []
    for part in full.split(";"):
        part = part.strip()
        if not part:
            continue
        forms.append(part)
        found = [m.strip() for m in _PARENTHESES.findall(part)]
        countries = [m for m in found if to_code(m)]
        inner = [m for m in found if len(m) >= 2 and m not in countries]
        if inner or countries:
            forms.append(_PARENTHESES.sub(" ", part).strip())
            forms.extend(inner)
    return list(dict.fromkeys(f for f in forms if f))


def is_organisation(kind: Kind) -> bool:
    return kind is not Kind.PERSON


def name_keys(tokens: Sequence[Token], pairs_by_sound: bool = True) -> dict[str, tuple[int, ...]]:
    """The index keys of a name, each with the positions of the parts it stands for.

    Single parts give their text and skeleton; adjacent parts joined give
    the same; every two parts give a pair key (selective even when both are
    common, as in "Mohammed Omar") and initial keys ("M. Omar"), and, with
    ``pairs_by_sound``, pair keys of their skeletons.
    """
    keys: dict[str, tuple[int, ...]] = {}
    informative = [i for i, t in enumerate(tokens) if t.informative]
    sounds = {i: _sounds(tokens[i]) for i in informative}
    for i in informative:
        token = tokens[i]
        # "Elkaddafi" is also found as "Kaddafi" (but "Alfred" not as "Fred")
        for text in (token.text, token.text[2:]) if _glued(token) else (token.text,):
            if len(text) > 1:
                keys["t:" + text] = (i,)
                if coarse := coarse_key(text) if not token.abjad else "":
                    keys["c:" + coarse] = (i,)
        for sound in sounds[i]:
            keys["s:" + sound] = (i,)
    for i in range(len(tokens) - 1):
        first, second = tokens[i], tokens[i + 1]
        if first.informative or second.informative:
            joined = first.text + second.text
            keys["t:" + joined] = (i, i + 1)
            keys["s:" + skeleton(joined)] = (i, i + 1)
    for initials in acronyms(tuple(tokens)):
        keys["t:" + initials] = tuple(informative)
    paired = informative[:MAX_PAIRED_PARTS]
    for n, i in enumerate(paired):
        for j in paired[n + 1 :]:
            first, second = tokens[i].text, tokens[j].text
            if len(first) > 1 and len(second) > 1:
                keys["b:" + "|".join(sorted((first, second)))] = (i, j)
            if len(second) > 1:
                keys[f"i:{first[0]}|{second}"] = (i, j)
            if len(first) > 1:
                keys[f"i:{second[0]}|{first}"] = (i, j)
            if pairs_by_sound:
                # The pair by sound: "محمد احمدی" and "Mohammad Ahmadi", both common.
                for pair in product(sounds[i], sounds[j]):
                    keys["p:" + "|".join(sorted(pair))] = (i, j)
    return keys


def _glued(token: Token) -> bool:
    return token.glued_article and len(token.text) >= 7


def _sounds(token: Token) -> tuple[str, ...]:
    """A part's consonant skeletons: its own, and for a part in Arabic
    script those of its likely Latin spellings."""
    found = {token.skeleton, *(abjad.readings(token.original) if token.abjad else ())}
    if _glued(token):
        found.add(skeleton(token.text[2:]))
    return tuple(sorted(sound for sound in found if len(sound) >= 2))


class CandidateIndex:
    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = list(entries)
        self.names: list[IndexedName] = []
        # Kept apart by kind: a person is screened against people only.
        postings: dict[bool, dict[str, list[int]]] = {False: defaultdict(list), True: defaultdict(list)}
        self.documents: dict[str, list[int]] = defaultdict(list)
        self._entry_names: dict[int, list[int]] = defaultdict(list)
        for position, entry in enumerate(self.entries):
            organisation = is_organisation(entry.kind)
            for name in entry.names:
                for form in name_forms(name.full):
                    tokens = tokenise(form, organisation)
                    if not any(t.informative for t in tokens):
                        continue
                    name_id = len(self.names)
                    self.names.append(IndexedName(position, name.full, name.quality, tokens, organisation))
                    self._entry_names[position].append(name_id)
                    for key in name_keys(tokens):
                        postings[organisation][key].append(name_id)
            for document in entry.documents:
                key = document_key(document.number)
                if len(key) >= 4:
                    self.documents[key].append(position)
        self.postings = {kind: {key: tuple(ids) for key, ids in keys.items()} for kind, keys in postings.items()}
        self._entry_of = tuple(name.entry for name in self.names)
        # How many names of either kind share a key: how common a name part is.
        self._frequency: dict[str, int] = defaultdict(int)
        for keys in self.postings.values():
            for key, ids in keys.items():
                self._frequency[key] += len(ids)
        self.size = max(len(self.names), 1)
        common = max(int(self.size * COMMON_KEY_SHARE), 20)
        self._common_sets = {
            kind: {key: frozenset(ids) for key, ids in keys.items() if len(ids) > common}
            for kind, keys in self.postings.items()
        }
        self._log_size = math.log(self.size + 1)
        self._weights: dict[Token, float] = {}
        self._entry_part_keys: dict[int, frozenset[str]] = {}

    def weight(self, token: Token) -> float:
        """How informative a part is, 0..1, from how many listed names share it."""
        found = self._weights.get(token)
        if found is None:
            found = self._weights[token] = self._weight(token)
        return found

    def _weight(self, token: Token) -> float:
        if not token.informative:
            return 0.0
        # A spelling the list has is counted as such; any other (a typo, a
        # name written without vowels) by the names sharing its skeleton.
        frequency = self._frequency.get("t:" + token.text) or self._frequency.get("s:" + token.skeleton, 0)
        weight = math.log((self.size + 1) / (frequency + 1)) / self._log_size
        weight = min(max(weight, 0.1), 1.0)
        if len(token.text) <= 2:
            weight *= 0.5
        return weight * (0.3 if token.role is Role.GENERIC else 1.0)

    def candidates(self, tokens: Sequence[Token], organisation: bool, min_cover: float = 0.0) -> list[int]:
        """Ids of the listed names (of people, or of organisations) most worth
        scoring against a query name.

        ``min_cover``: skip names whose keys reach less than this share of the
        query's informativeness; their score could not reach the threshold.
        """
        weights = [self.weight(t) for t in tokens]
        postings, common_sets = self.postings[organisation], self._common_sets[organisation]
        found: dict[int, float] = defaultdict(float)
        covered: dict[int, int] = defaultdict(int)  # bit mask of the query parts reached
        common = []
        spans: dict[tuple[int, ...], tuple[float, int]] = {}  # parts -> (weight, bit mask)
        # Pairs by sound are for queries in Arabic script; others have their pairs by spelling.
        for key, parts in name_keys(tokens, pairs_by_sound=any(t.abjad for t in tokens)).items():
            ids = postings.get(key)
            if not ids:
                continue
            span = spans.get(parts)
            if span is None:
                span = spans[parts] = (sum(weights[i] for i in parts), sum(1 << i for i in parts))
            weight, mask = span
            if key[0] in "sipc":
                weight *= 0.8
            if key in common_sets:
                common.append((key, weight, mask))
                continue
            for name_id in ids:
                found[name_id] += weight
                covered[name_id] |= mask
        # The most selective first: "Mohammad Ahmadi" as a pair before either name.
        for key, weight, mask in sorted(common, key=lambda c: len(postings[c[0]])):
            # A common key only adds to names other keys found, unless too few were.
            reached = found.keys() & common_sets[key]
            if len(found) < MAX_CANDIDATES:
                reached.update(postings[key][: MAX_CANDIDATES - len(found)])
            for name_id in reached:
                found[name_id] += weight
                covered[name_id] |= mask
        # Parts a name lacks but another name of its entry has count nothing
        # against it (names.compare, "elsewhere"): the entry's parts count.
        entry_of = self._entry_of
        by_entry: dict[int, int] = defaultdict(int)
        for name_id, mask in covered.items():
            by_entry[entry_of[name_id]] |= mask
        cover = {mask: self._best_cover(weights, mask) for mask in set(by_entry.values())}
        kept = [n for n in found if cover[by_entry[entry_of[n]]] >= min_cover]
        return heapq.nlargest(MAX_CANDIDATES, kept, key=found.__getitem__)

    @staticmethod
    def _best_cover(weights: list[float], mask: int) -> float:
        """The best query cover a listed name can reach when its keys reached
        the query parts in ``mask``: the parts left count in full against a
        name matched in one part, in part against one matched in two or more,
        as names.compare counts them (at the least, a person's)."""
        total = sum(weights) or 1.0
        reached = sum(w for i, w in enumerate(weights) if mask >> i & 1)
        if not reached:
            return 0.0
        parts = mask.bit_count()
        penalty = UNMATCHED_QUERY_PENALTY_MANY if parts >= 3 else UNMATCHED_QUERY_PENALTY_PERSON if parts == 2 else 1.0
        return reached / (reached + penalty * (total - reached))

    def name_ids_of(self, position: int) -> list[int]:
        return self._entry_names.get(position, [])

    def part_keys_of(self, position: int) -> frozenset[str]:
        """The keys (``names.part_keys``) of every part of every name of an entry."""
        found = self._entry_part_keys.get(position)
        if found is None:
            tokens = {t for n in self.name_ids_of(position) for t in self.names[n].tokens if t.informative}
            found = self._entry_part_keys[position] = frozenset().union(*map(part_keys, tokens))
        return found

    def by_document(self, number: str) -> list[int]:
        return list(self.documents.get(document_key(number), ()))

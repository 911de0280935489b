"""Comparing two names token by token: alignment, similarity, coverage.

A query name and a listed name are aligned part by part regardless of order
("Laden Usama bin" ≈ "Usama bin Laden"); a part may also match two adjacent
parts joined ("Abdurrahman" ≈ "Abd al-Rahman"), and an initial matches the
part it abbreviates. Each part weighs what it tells: a rare family name
more than "Muhammad", particles and legal forms almost nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

from vigil.matching import abjad
from vigil.matching.normalise import (
    Role,
    Token,
    acronyms,
    joined_skeleton,
    letters_folded,
    skeleton,
    vowel_pattern,
)

# Below this similarity two parts do not match at all.
MIN_PART_SIMILARITY = 0.75
# ... for two parts in Arabic script, whose few letters are all consonants
# and long vowels: one letter more or less is another name.
ABJAD_MIN_SIMILARITY = 0.85
# Parts joined, against one part spelled alike: how close their letters must be.
JOINED_MIN_LETTERS = 0.7
# What an initial ("M.") is worth against the part it may abbreviate.
INITIAL_SIMILARITY = 0.5
# An organisation's acronym against its full name.
ACRONYM_SIMILARITY = 0.9
# ... a listed acronym of three letters against the initials of a query's
# words: one three-word name in a few dozen has the initials of one of the
# thousand-odd listed acronyms ("AQUA SHIPPING LTD." and "ASL"), so they
# alone cannot alert.
SHORT_ACRONYM_SIMILARITY = 0.6
SHORT_ACRONYM = 3
# How much listed parts the query does not give count against the score:
# people are often screened with fewer names than the list gives (a father's
# and grandfather's name), and organisations without the descriptors the
# list adds ("Foundation (Pakistan)", "Engineering Institute").
UNMATCHED_LISTED_PENALTY_PERSON = 0.25
UNMATCHED_LISTED_PENALTY_ORGANISATION = 0.15
# The penalty grows faster than the share of the listed name left out: one
# part of three missing (a grandfather's name) costs less than the share
# says, three of four more; half the name missing costs the penalty itself.
# A one-word query ("Yakutumba") is held to the share.
UNMATCHED_LISTED_EXPONENT = 1.5
# ... when a name matches in one part only.
SINGLE_PART_LISTED_PENALTY = 0.35
# A name that matches in two parts or more may carry parts the list lacks (a
# middle name, a branch or a descriptor: "Kish", "Revolutionary"): such extra
# query parts count this much (an organisation's more: "HONG KONG" is two
# parts, and a place), and less again when three names or more match ("Umar
# Muhammad Khalil Mustafa" for "Tahir Muhammad Khalil Mustafa al-Bayati";
# generic words do not count as names). A query matching in one part only
# is held to all of its parts.
UNMATCHED_QUERY_PENALTY_PERSON = 0.2
UNMATCHED_QUERY_PENALTY_ORGANISATION = 0.4
UNMATCHED_QUERY_PENALTY_MANY = 0.1

Weigh = Callable[[Token], float]
_NO_VOWELS = str.maketrans("", "", "aeiouwy")


@dataclass(frozen=True, slots=True)
class PartMatch:
    query: tuple[Token, ...]
    listed: tuple[Token, ...]
    similarity: float
    weight: float  # the listed side's informativeness, 0..1
    how: str  # "same", "spelling", "script", "similar", "initial", "joined", "acronym"


@dataclass(frozen=True, slots=True)
class NameComparison:
    score: float  # 0..1: how well the two names cover each other
    evidence: float  # the summed weight of matched query parts: how much the match says
    matches: tuple[PartMatch, ...]
    unmatched_query: tuple[Token, ...]
    unmatched_listed: tuple[Token, ...]
    # Query parts not in this name but in another name of the same entry
    # ("Alfred Yekatom Saragba": "Saragba" is in "Alfred Saragba").
    elsewhere: tuple[Token, ...] = ()


def part_similarity(query: Token, listed: Token) -> tuple[float, str]:
    """How alike a query part and a listed part are, 0..1, and how."""
    similarity, how = _similarity(query, listed)
    if not similarity:
        # An article glued on ("ELKADDAFI", "Alzawahiri") is tried without it.
        if query.glued_article:
            similarity, how = _similarity(_without_article(query), listed)
        elif listed.glued_article:
            similarity, how = _similarity(query, _without_article(listed))
    return similarity, how


@lru_cache(maxsize=200_000)
def _without_article(token: Token) -> Token:
    text = token.text[2:]
    return Token(token.original, text, skeleton(text), token.role)


def _similarity(query: Token, listed: Token) -> tuple[float, str]:
    if query.text == listed.text:
        return 1.0, "same"
    if query.abjad != listed.abjad:
        return _script_similarity(query, listed)
    if query.abjad:
        return _same_script_similarity(query, listed)
    if query.skeleton == listed.skeleton:
        if letters_folded(query.text) == letters_folded(listed.text):
            return 0.92, "spelling"  # the same vowels, alike consonants: Korean "Cho" ≈ "Jo"
        elif len(query.skeleton) >= 2 and (pattern := vowel_pattern(query.text)) == vowel_pattern(listed.text):
            # The vowels must fall in the same places too: "Obeida" ≈ "Ubaydah",
            # but not "Omar" ≈ "Mire", "Ahmadi" ≈ "Ahmad", "Mahmoud" ≈
            # "Muhammad" or "Mendoza" ≈ "Mendez"; and a name of one syllable is
            # its vowel ("Nur" ≈ "Nor", "Chol" ≈ "Chul", but "Zheng" is not "Zhang").
            if pattern.count("a") >= 2 or _o_as_u(query.text) == _o_as_u(listed.text):
                return (0.92 if len(query.skeleton) >= 3 else 0.85), "spelling"
    elif query.coarse and query.coarse == listed.coarse:
        return 0.85, "spelling"  # "Gaddafi" ≈ "Qadhafi", "Kazim" ≈ "Kadhim"
    if len(query.text) == 1 or len(listed.text) == 1:
        short, long_ = (query, listed) if len(query.text) == 1 else (listed, query)
        if len(long_.text) > 1 and long_.text[0] == short.text[0]:
            return INITIAL_SIMILARITY, "initial"
        return 0.0, ""
    best = Levenshtein.normalized_similarity(query.text, listed.text, score_cutoff=MIN_PART_SIMILARITY)
    return (best, "similar") if best >= MIN_PART_SIMILARITY else (0.0, "")


def _o_as_u(text: str) -> str:
    return letters_folded(text).replace("o", "u")


def _script_similarity(query: Token, listed: Token) -> tuple[float, str]:
    """An Arabic-script part against a Latin one, letter by letter."""
    word, latin = (query, listed) if query.abjad else (listed, query)
    if Levenshtein.normalized_similarity(word.text.translate(_NO_VOWELS), latin.text.translate(_NO_VOWELS)) < 0.4:
        return 0.0, ""  # too far apart to be worth aligning letter by letter
    similarity = abjad.similarity(word.original, latin.text)
    if similarity == 1.0 and query.abjad and len(latin.skeleton) >= 2:
        return 1.0, "script"  # every letter as a Latin spelling writes it
    # One consonant ("Ali" for علي) is little to go on; a query with vowels
    # meets a listed original-script name only on consonants, and the
    # entry's Latin names say more.
    similarity = min(similarity * 0.95, 0.85)
    return (similarity, "script") if similarity >= MIN_PART_SIMILARITY else (0.0, "")


def _same_script_similarity(query: Token, listed: Token) -> tuple[float, str]:
    """Two parts in Arabic script: their letters are their spelling, long
    vowels included (محمود is not محمد, nor حسين حسن, nor حامد حمد)."""
    similarity = Levenshtein.normalized_similarity(query.text, listed.text, score_cutoff=ABJAD_MIN_SIMILARITY)
    return (similarity, "similar") if similarity else (0.0, "")


def _joined_similarity(query: Token, listed: Token) -> float:
    """Parts joined against one part: close in letters, not only in
    consonants and the places of vowels ("Lei Chen" and "Walijan" share only
    "l-j-n")."""
    if not (query.abjad or listed.abjad) and abs(len(query.text) - len(listed.text)) > 4:
        return 0.0
    similarity, how = part_similarity(query, listed)
    if similarity < 0.85:
        return 0.0
    if how == "spelling" and Levenshtein.normalized_similarity(query.text, listed.text) < JOINED_MIN_LETTERS:
        return 0.0  # "Lee Yuqing" is not "Lukwang", nor "Hissene (Abd)oulaye" "Hussainy"
    return similarity


@lru_cache(maxsize=500_000)
def _joined(first: Token, second: Token) -> Token:
    text = first.text + second.text
    abjad = first.abjad or second.abjad
    # Original-script parts keep their letter-by-letter consonants.
    consonants = joined_skeleton(first.skeleton, second.skeleton) if abjad else skeleton(text)
    return Token(f"{first.original} {second.original}", text, consonants, Role.NAME, abjad=abjad)


@dataclass(frozen=True, slots=True)
class _Pairing:
    query: tuple[int, ...]  # positions in the query name
    listed: tuple[int, ...]  # positions in the listed name
    similarity: float
    weight: float
    how: str


def _pairings(query: Sequence[Token], listed: Sequence[Token], weigh: Weigh) -> list[_Pairing]:
    """Every plausible pairing of query parts with listed parts."""
    found = []
    for i, q in enumerate(query):
        if not q.informative:
            continue
        for j, e in enumerate(listed):
            if e.informative:
                similarity, how = part_similarity(q, e)
                if similarity:
                    # A spelling tells as much as the commoner of the two:
                    # "Mohamed" ≈ "Muhammadi" is no rare family name.
                    weight = weigh(e) if how == "same" else min(weigh(e), weigh(q))
                    found.append(_Pairing((i,), (j,), similarity, weight, how))
    # One part against two parts joined, either way round.
    for i, q in enumerate(query):
        if q.informative and len(q.text) >= 5:
            for positions, joined in _joins(listed):
                if similarity := _joined_similarity(q, joined):
                    weight = max(weigh(listed[j]) for j in positions)
                    found.append(_Pairing((i,), positions, similarity, weight, "joined"))
    for j, e in enumerate(listed):
        if e.informative and len(e.text) >= 5:
            for positions, joined in _joins(query):
                if similarity := _joined_similarity(joined, e):
                    found.append(_Pairing(positions, (j,), similarity, weigh(e), "joined"))
    found += _acronyms(query, listed, weigh)
    return found


def _acronyms(query: Sequence[Token], listed: Sequence[Token], weigh: Weigh) -> list[_Pairing]:
    """A part that is the other name's initials ("TDG" for "Technology and
    Development Group"), either way round."""
    found = []
    for side, other, flip in ((query, listed, False), (listed, query, True)):
        if flip and not any(t.role is Role.NAME for t in other):
            continue  # generic words alone ("Global Trading Company") are no one's full name
        initials = acronyms(tuple(other))
        for i, token in enumerate(side):
            if token.informative and token.text in initials:
                spanned = tuple(j for j, t in enumerate(other) if t.informative)
                pair = (spanned, (i,)) if flip else ((i,), spanned)
                # An acronym tells as much as it is rare; its words may be generic.
                short = flip and len(token.original) <= SHORT_ACRONYM  # as written: "KKBC" folds to "kbc"
                similarity = SHORT_ACRONYM_SIMILARITY if short else ACRONYM_SIMILARITY
                found.append(_Pairing(*pair, similarity, weigh(token), "acronym"))
    return found


_JOINABLE = (Role.NAME, Role.PARTICLE, Role.GENERIC)


@lru_cache(maxsize=200_000)
def _joins(tokens: tuple[Token, ...]) -> tuple[tuple[tuple[int, ...], Token], ...]:
    """Adjacent parts joined ("Abd" + "Rahman"), and two parts around an
    article joined without it ("Nur al-Din" as "Nuruddin")."""
    found = [
        ((i, i + 1), _joined(tokens[i], tokens[i + 1]))
        for i in range(len(tokens) - 1)
        if tokens[i].role in _JOINABLE and tokens[i + 1].role in _JOINABLE
    ]
    found += [
        ((i, i + 1, i + 2), _joined(tokens[i], tokens[i + 2]))
        for i in range(len(tokens) - 2)
        if tokens[i + 1].role is Role.PARTICLE and tokens[i].informative and tokens[i + 2].informative
    ]
    return tuple(found)


def compare(
    query: Sequence[Token], listed: Sequence[Token], weigh: Weigh, person: bool = False,
    elsewhere: Container[str] = (),
) -> NameComparison:
    """Align two tokenised names greedily, the most telling pairs first.

    ``elsewhere``: the keys (``part_keys``) of the parts of the entry's other
    names; a query part not in this name but among them does not count
    against the match.
    """
    query, listed = tuple(query), tuple(listed)  # hashable: the parts' joins and acronyms are remembered
    used_q: set[int] = set()
    used_e: set[int] = set()
    chosen: list[_Pairing] = []
    for pairing in sorted(_pairings(query, listed, weigh), key=lambda p: (p.similarity * p.weight, p.similarity), reverse=True):
        if used_q.isdisjoint(pairing.query) and used_e.isdisjoint(pairing.listed):
            used_q.update(pairing.query)
            used_e.update(pairing.listed)
            chosen.append(pairing)
    matches = tuple(
        PartMatch(tuple(query[i] for i in p.query), tuple(listed[j] for j in p.listed), p.similarity, p.weight, p.how)
        for p in chosen
    )
    unmatched_q = tuple(t for i, t in enumerate(query) if t.informative and i not in used_q)
    unmatched_e = tuple(t for j, t in enumerate(listed) if t.informative and j not in used_e)
    found_elsewhere = tuple(t for t in unmatched_q if not part_keys(t).isdisjoint(elsewhere))
    if found_elsewhere:
        unmatched_q = tuple(t for t in unmatched_q if t not in found_elsewhere)
    evidence = sum(m.similarity * m.weight for m in matches)
    partial = sum((1 - m.similarity) * m.weight for m in matches)
    extra = sum(weigh(t) for t in unmatched_q)
    if sum(1 for m in matches if any(t.role is Role.NAME for t in m.listed)) >= 3:
        extra *= UNMATCHED_QUERY_PENALTY_MANY
    elif len(matches) >= 2:
        extra *= UNMATCHED_QUERY_PENALTY_PERSON if person else UNMATCHED_QUERY_PENALTY_ORGANISATION
    query_cover = _cover(evidence, partial + extra)
    listed_cover = _cover(evidence, partial + sum(weigh(t) for t in unmatched_e))
    # One name of a person's several ("Haji Salam" for "Allawi, Salam"), or
    # one word of an organisation's (a single character of 長安海連技術有限公司
    # for "Zheng Zhang"), is weak evidence, unless it is all the query has
    # ("Hambali"); a part in another of the entry's names is a second one.
    mononym = sum(1 for t in query if t.role is not Role.PARTICLE) == 1
    single = len(matches) + len(found_elsewhere) == 1 and not mononym
    if single:
        penalty = SINGLE_PART_LISTED_PENALTY
    else:
        penalty = UNMATCHED_LISTED_PENALTY_PERSON if person else UNMATCHED_LISTED_PENALTY_ORGANISATION
    missing = 1 - listed_cover
    if not mononym:
        missing = (2 * missing) ** UNMATCHED_LISTED_EXPONENT / 2
    score = query_cover * (1 - penalty * missing)
    return NameComparison(score, evidence, matches, unmatched_q, unmatched_e, found_elsewhere)


@lru_cache(maxsize=200_000)
def part_keys(token: Token) -> frozenset[str]:
    """What a part is recognised by in another name: its spelling and its
    consonants."""
    return frozenset((f"t:{token.text}", f"s:{token.skeleton}") if len(token.skeleton) >= 2 else (f"t:{token.text}",))


def _cover(matched: float, missing: float) -> float:
    return matched / (matched + missing) if matched else 0.0


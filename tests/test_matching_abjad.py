"""Arabic-script words against the Latin spellings the lists give them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conftest import UN_FILES
from vigil.matching.abjad import readings, similarity
from vigil.matching.names import part_similarity
from vigil.matching.normalise import tokenise
from vigil.model import NameType
from vigil.screening import DEFAULT_THRESHOLD, Query, Screener
from vigil.sources import read_list
from test_matching import _version


# Spellings from the UN list, each of a letter anyascii reads one way only.
@pytest.mark.parametrize(("word", "latin"), [
    ("كاظم", "Kathim"), ("كاظم", "Kazim"),  # ظ as th or z
    ("فضل", "Fazal"),  # ض as z
    ("قاسمي", "Gasmi"),  # ق as g
    ("عكاشة", "Akkacha"),  # ش as ch, ة unwritten
    ("لكحل", "Lakhal"),  # ك then ح, not خ
    ("مشهداني", "Mashhadani"),  # ش then ه
    ("لونيسي", "Lounici"),  # a soft c
    ("الله", "Ullah"),  # two lams, one l when doubles fold
    ("وثيق", "Wassiq"),  # ث as s
    ("حسين", "Hussein"), ("حسين", "Husayn"),  # ي as ei or ay
])
def test_customary_spellings_match(word, latin):
    (token,) = tokenise(latin)
    assert similarity(word, token.text) == 1.0
    # and the index finds the word by the Latin name's skeleton
    assert token.skeleton in readings(word)


@pytest.mark.parametrize(("word", "latin"), [
    ("حمود", "Ahmed"),  # Hammoud: opens with a consonant, and و is a long vowel
    ("جمال", "Kamal"),  # ج is never k
    ("محمد", "Ahmad"),
    ("علي", "Ola"),  # ي is not written as a
    ("احمد", "Hamid"),  # opens with alif: a vowel in Latin letters
    ("محمد", "Mohammadi"),  # a final i is a ي
    ("زياد", "Sayed"),  # ز is z
])
def test_other_names_do_not(word, latin):
    (arabic,), (token,) = tokenise(word), tokenise(latin)
    assert part_similarity(arabic, token)[0] == 0.0


@pytest.mark.parametrize(("first", "second", "same"), [
    ("حمود", "احمد", False),  # Hammoud, Ahmad
    ("محمود", "محمد", False),  # Mahmoud, Muhammad
    ("حسين", "حسن", False),  # Husayn, Hasan
    ("حامد", "حمد", False),  # Hamid, Hamad: alif is a long vowel too
    ("سالم", "اسلام", False),  # Salim, Islam
    ("مصطفى", "مصطفي", True),  # alif maksura written as ya
    ("سلیمان", "سليمان", True),  # Persian and Arabic ya
    ("أحمد", "احمد", True),  # hamza written or not
])
def test_two_words_in_arabic_script_differ_by_their_long_vowels(first, second, same):
    (a,), (b,) = tokenise(first), tokenise(second)
    assert part_similarity(a, b)[0] == (1.0 if same else 0.0)


def test_original_script_names_find_their_entry_without_it():
    """Every UN entry with an Arabic-script name, that name removed from the
    list: most are still found by it, among them the spellings above."""
    parsed = read_list(UN_FILES[-1])
    cases, entries = [], []
    for entry in parsed.entries:
        arabic = [n for n in entry.names if n.type is NameType.NAME and n.script == "Arab"]
        if arabic:
            cases.append((arabic[0].full, entry.id, str(entry.kind)))
            entry = replace(entry, names=[n for n in entry.names if n is not arabic[0]])
        entries.append(entry)
    version = _version(1, parsed.source, entries)
    screener = Screener((entry, version) for entry in entries)
    found = {
        expected for name, expected, kind in cases
        if expected in [h.entry_id for h in screener.match(Query(name, kind=kind), threshold=DEFAULT_THRESHOLD)]
    }
    assert len(found) >= 0.85 * len(cases)
    # كاظم (Kathim), فضل (Fazal), قاسمي (Gasmi), الله (Ullah) in these entries' names
    assert {"un:IQi.049", "un:TAi.023", "un:QDi.251", "un:TAi.020"} <= found

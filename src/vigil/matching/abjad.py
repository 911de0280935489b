"""Arabic-script words against their Latin spellings.

Arabic and Persian script write consonants and long vowels only, and each
letter has several customary Latin spellings: ظ is "z", "dh", "th" or "d",
ق is "q", "k" or "g", ش is "sh", "ch" or "s", and ع, ة or a long vowel often
leave no trace at all. A generic transliteration (anyascii) picks one
spelling per letter, so كاظم becomes "kdhm" and misses "Kazim" and
"Kathim". Here each letter carries the spellings Latin names actually use,
and a word is compared with a Latin name by aligning letters to spellings.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import product

from vigil.matching.normalise import DOUBLES, SOFT_C, skeleton

# Each letter's Latin spellings, the commonest first; "" where it may be
# left unwritten (long vowels, hamza, ayn, ta marbuta).
SPELLINGS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys("أإآءئؤٱ", ("",)),
    "ا": ("a", "e", "aa", ""), "ى": ("a", "i", "y", ""), "ة": ("", "h", "t", "a"),
    "ب": ("b", "p"), "ت": ("t",), "ث": ("th", "s", "t"),
    "ج": ("j", "g", "dj", "dzh", "zh"), "ح": ("h", ""), "خ": ("kh", "h", "x", "ch", "k"),
    "د": ("d",), "ذ": ("dh", "z", "d", "th"), "ر": ("r",), "ز": ("z",), "س": ("s",),
    "ش": ("sh", "ch", "s", "sch"), "ص": ("s",), "ض": ("d", "dh", "z"), "ط": ("t",),
    "ظ": ("z", "dh", "th", "d"), "ع": ("",), "غ": ("gh", "g", "r", "rh"), "ف": ("f", "v"),
    "ق": ("q", "k", "g", "c", "gh"), "ك": ("k", "c", "ck"), "ل": ("l",), "م": ("m",), "ن": ("n",),
    "ه": ("h", ""), "و": ("w", "v", "u", "o", "ou", "oo", "aw", "ow", "au", ""),
    "ي": ("y", "i", "e", "ee", "ey", "ei", "ai", "ay", ""),
    # Persian, Urdu and Pashto letters
    "پ": ("p", "b"), "چ": ("ch", "tch", "j", "c"), "ژ": ("zh", "j", "z"), "گ": ("g", "k"),
    "ک": ("k", "c"), "ۀ": ("h", ""), "ہ": ("h", ""), "ھ": ("h", ""), "ٹ": ("t",), "ڈ": ("d",),
    "ڑ": ("r", "d"), "ں": ("n", ""), "ځ": ("dz", "z", "j"), "څ": ("ts", "s"), "ږ": ("zh", "g", "j"),
    "ښ": ("sh", "kh", "x"), "ګ": ("g",), "ڼ": ("n",),
}
# Persian ی stands for both ي and ى ("Essa" عیسی).
SPELLINGS.update(dict.fromkeys("یېۍے", (*SPELLINGS["ي"], "a")))
# Leaving a letter unwritten costs this much where it is customary but not
# the rule: ح and ه are usually written "h", و and ي as a vowel or w/y.
_H_LETTERS = frozenset("حهہھۀں")
_UNWRITTEN_COST = dict.fromkeys(_H_LETTERS | frozenset("ويیېۍے"), 0.3)
# Alif is a long vowel after a word's first letter ("Sher" is not شراع),
# unless it opens the article run into a word (نورالدین, "Nooruddin").
_INNER_ALIF_UNWRITTEN_COST = 0.3
# A Latin letter with no Arabic counterpart: short vowels are not written in
# Arabic script; a w or y, or an "h" ending a word ("Hamzah") or spelling
# out a vowel, costs less than a consonant.
_EXTRA_LATIN_COST = {**dict.fromkeys("aeiou", 0.0), "h": 0.5, "w": 0.2, "y": 0.2}
# ... but a Latin name ending in i or y ends in ي ("Mohammadi" is not محمد).
_FINAL_I_COST = 1.0
# A word opening with alif or ayn opens with a vowel in Latin letters
# ("Ahmad" أحمد, not "Hamid"), and one opening with a consonant with a
# consonant ("Hammoud" حمود, not "Ahmed"), though less strictly: an article
# may be run into it ("Essabar" الصبار).
_OPENING_VOWEL = frozenset("اأإآعء")
_OPENING_CONSONANT_COST = 1.0
_OPENING_ARTICLE_COST = 0.5
_VOWELS = frozenset("aeiou")
MAX_READINGS = 32


def _letters(word: str) -> tuple[list[str], set[int]]:
    """The word's letters, a letter written twice once: Latin spellings
    fold doubled letters (الله is "ullah", folded "ulah"); and the
    positions where a word starts (in two words joined, "مطيع الله")."""
    letters, starts = [], set()
    for i, char in enumerate(word):
        if char in SPELLINGS:
            if not i or word[i - 1] not in SPELLINGS:
                starts.add(len(letters))
            if not letters or char != letters[-1]:
                letters.append(char)
    return letters, starts


@lru_cache(maxsize=200_000)
def similarity(word: str, latin: str) -> float:
    """How well a Latin spelling (lowercase, as tokenised) renders an
    Arabic-script word, 0..1: one minus the cost of the best alignment of
    letters to spellings, over the longer side's consonants."""
    letters, starts = _letters(word)
    spelled = DOUBLES.sub(r"\1", SOFT_C.sub("s", latin))
    written = sum(1 for letter in letters if "" not in SPELLINGS[letter])
    consonants = sum(1 for c in spelled if c not in _VOWELS)
    if not letters or not consonants:
        return 0.0
    rows, cols = len(letters), len(spelled)
    inf = float("inf")
    cost = [[inf] * (cols + 1) for _ in range(rows + 1)]
    opens_with_vowel = letters[0] in _OPENING_VOWEL
    if opens_with_vowel == (spelled[0] in _VOWELS):
        cost[0][0] = 0.0
    else:
        cost[0][0] = _OPENING_CONSONANT_COST if opens_with_vowel else _OPENING_ARTICLE_COST
    extra = [_EXTRA_LATIN_COST.get(c, 1.0) for c in spelled]
    if spelled[-1] in "iy" and len(spelled) > 1:
        extra[-1] = _FINAL_I_COST
    for j in range(1, cols + 1):
        cost[0][j] = cost[0][j - 1] + extra[j - 1]
    for i in range(1, rows + 1):
        letter = letters[i - 1]
        spellings = SPELLINGS[letter]
        if "" not in spellings:
            unwritten = 1.0
        elif letter == "ا" and i - 1 not in starts and letters[i:i + 1] != ["ل"]:
            unwritten = _INNER_ALIF_UNWRITTEN_COST
        else:
            unwritten = _UNWRITTEN_COST.get(letter, 0.0)
        for j in range(cols + 1):
            best = cost[i - 1][j] + unwritten
            if j:
                best = min(best, cost[i - 1][j - 1] + 1.0, cost[i][j - 1] + extra[j - 1])
                for spelling in spellings:
                    if spelling and j >= len(spelling) and spelled.endswith(spelling, 0, j):
                        best = min(best, cost[i - 1][j - len(spelling)])
            cost[i][j] = best
    return max(0.0, 1.0 - cost[rows][cols] / max(written, consonants))


@lru_cache(maxsize=100_000)
def readings(word: str) -> frozenset[str]:
    """The consonant skeletons (as ``normalise.skeleton`` gives them) of the
    word's likely Latin spellings, for finding candidates by index key.
    Ambiguous letters are expanded first to last until MAX_READINGS."""
    found = {""}
    for letter in _letters(word)[0]:
        # Skeletons have no vowels; ح and ه are read as written.
        options = tuple(dict.fromkeys("".join(c for c in o if c not in _VOWELS) for o in SPELLINGS[letter]))
        if letter in _H_LETTERS:
            options = tuple(filter(None, options))
        if len(found) * len(options) > MAX_READINGS:
            options = options[:1]
        found = {reading + option for reading, option in product(found, options)}
    return frozenset(filter(None, (skeleton(reading) for reading in found)))

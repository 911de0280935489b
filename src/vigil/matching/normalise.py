"""Names to comparable tokens: any script to Latin, spelling variants folded,
particles, honorifics and legal forms told apart from the names themselves.

Pure functions, no I/O. The two keys a token carries:

* ``text``: the Latin form, lowercased, with common spelling variants folded
  (Osama → usama, Mohammed → muhammad, -off → -ov);
* ``skeleton``: its consonants only, similar ones folded (q/k, j/g, p/b, v/f,
  dh/z, ...), doubled ones single. Arabic and Persian script do not write
  short vowels, so a transliterated محمد is "mhmd": skeletons are how it
  meets "Mohammed".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from anyascii import anyascii


class Role(StrEnum):
    NAME = "name"
    PARTICLE = "particle"  # al, bin, ibn, abu, abd, ould, van, de, ...
    HONORIFIC = "honorific"  # Sheikh, Mullah, Haji, Dr, Maulavi, Qari, ...
    LEGAL = "legal"  # LLC, Ltd, SARL, Foundation, Organisation, ...
    GENERIC = "generic"  # words common in organisation names: trading, global, ...


@dataclass(frozen=True, slots=True)
class Token:
    original: str  # the token as written (before transliteration)
    text: str
    skeleton: str
    role: Role
    abjad: bool = False  # written in a script without short vowels (Arabic, Persian, Hebrew)
    informative: bool = field(init=False, compare=False)  # a name part, not a particle, title or legal form
    coarse: str = field(init=False, compare=False, repr=False)  # coarse_key(text), for Latin letters
    # "Alzawahiri", "Elkaddafi": an Arabic article written onto the name.
    glued_article: bool = field(init=False, compare=False, repr=False)
    _hash: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "informative", self.role in (Role.NAME, Role.GENERIC))
        glued = not self.abjad and len(self.text) >= 6 and self.text[:2] in ("al", "el")
        object.__setattr__(self, "glued_article", glued)
        object.__setattr__(self, "coarse", "" if self.abjad else coarse_key(self.text))
        # Tokens key the matcher's caches millions of times per second: hash once.
        object.__setattr__(self, "_hash", hash((self.original, self.text, self.skeleton, self.role, self.abjad)))

    def __hash__(self) -> int:
        return self._hash


PARTICLES = frozenset(
    "al el ul ad ar as at az ash an ed ud ur us ut uz un ush er es et ez en esh bin ben ibn bint bent abu abou abo ab abd "
    "ould wuld walad ag bu da de del della der di du la le van von ten ter mac mc".split()
)
HONORIFICS = frozenset(
    "sheikh shaikh shaykh sheik cheikh shaik mullah mulla molla mollah haji hajji hadji alhaj alhajj "
    "hajj dr doctor prof professor maulavi maulawi mawlawi maulvi moulavi mawlavi molvi maulana "
    "mawlana qari mufti imam hafiz hafez sayyid syed seyed seyyed sayyed seyyid mr mrs ms miss sir lord general gen colonel col "
    "major maj captain capt lieutenant lt brigadier commander cmdr admiral sergeant sgt engineer eng "
    "ustadh ustaz amir emir".split()
)
LEGAL_FORMS = frozenset(
    "llc ltd limited inc incorporated corp corporation co company cie sarl sa sas sarlu gmbh ag kg "
    "plc llp lp jsc ojsc pjsc cjsc ooo zao oao pao ao bv nv srl spa sl sae pvt pte pty fze fzco fzc "
    "fzllc wll est establishment foundation fondation organisation organization org association "
    "society trust group holding holdings enterprise enterprises partnership cooperative coop "
    "bhd sdn tic as aps ab oy kft sp zoo anstalt stiftung verein ev ltda eirl sarl sprl bvba".split()
)
GENERIC_WORDS = frozenset(
    "trading trade international intl global general services service industries industrial "
    "commercial commerce import export investment investments development company the of and for "
    "in on at to management consulting logistics shipping transport marine maritime technology "
    "technologies solutions systems resources energy petroleum oil gas bank financial finance "
    "exchange network front movement party brigade brigades battalion army islamic national united "
    "new world center centre institute charity charitable relief welfare humanitarian fund".split()
)

# Common spelling variants → one form. Applied after the generic rules in
# ``_fold``, so only forms those rules leave different need listing.
def _variants(*groups: str) -> dict[str, str]:
    """Each group: the canonical form first, then its variants."""
    table = {}
    for group in groups:
        canonical, *_ = forms = group.split()
        table.update(dict.fromkeys(forms, canonical))
    return table


VARIANTS = _variants(
    "usama osama osamah usamah",
    "muhammad mohammed mohammad mohamed mohamad muhammed muhamed mohd mhd mahomed mohamud muhamad "
    "mouhamed mouhammad mukhammad mukhammed magomed mehmet mehmed mochammad mochamad muchammad",
    "ladin laden",
    "ahmad ahmed akhmed akhmad achmed",
    "husayn husein husain hussein hussain hosein hossein hosain huseyn",
    "hasan hassan khasan",
    "abdallah abdullah abdulla abdalla abdellah abdollah",
    "yusuf yusef yousef yousif yusif yosef josef",
    "umar omar omer",
    "uthman usman osman othman",
    "mahmud mahmood",
    "mustafa mostafa mustapha mustafah",
    "ibrahim ebrahim ibragim",
    "ismail ismael esmail ismayil",
    "khalid khaled",
    "said saeed sayed saied sayid saiid",
    "sulayman sulaiman suleiman sulejman soliman sleiman",
    "jamal gamal djamal",
    "qasim kasim qassim kassem qasem kasem",
    "nasir naser nasser nassir nacer",
    "yahya yahia yehia yahyah",
    "ayman aiman aymen",
    "abu abou abo",
    "bin ben ibn",
    "bint bent",
    "al el ul",
    "abd abdul abdel abdal abdoul abdu abdou abdur abdus",
    "ould wuld walad",
    "john jon johnn",
    "aisha ayesha aysha aishah aicha ayisha",
)
# Particles as anyascii writes them from Arabic and Persian script.
ARABIC_SCRIPT_PARTICLES = {"l": "al", "bn": "bin", "bnt": "bint", "bw": "abu", "bd": "abd", "wld": "ould"}

# "Abdurrahman", "Abdul Rahman", "Abdelrahman", "Abd al-Rahman": the servant-of
# prefix with its article, glued or not. Split off so all become abd + rahman.
_ABD_PREFIX = re.compile(r"^abd(?:u|ou|e|a|o)?(?:l|(\w)(?=\1))?(?=\w{3,}$)")
_CJK = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
# The Arabic article written joined to its noun: الرحمن → ال رحمن.
_ARABIC_ARTICLE = re.compile(r"(?<![\w\u0600-\u06ff])ال(?=[\u0600-\u06ff]{2,})(?!له(?![\u0600-\u06ff]))")
_ARABIC_ABD = re.compile(r"(?<![\w\u0600-\u06ff])عبد(?=ال)")
_ABJAD = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")  # Hebrew, Arabic, Syriac, Thaana
_NON_WORD = re.compile(r"[^a-z0-9 ]+")
# Hyphens and dashes of every kind ("ash-Sham—Khorasan") separate words.
_SPLIT = re.compile(r"[\s\-\u2010-\u2015\u2212_/,.;:()\[\]{}\"“”„«»]+")
_APOSTROPHES = re.compile(r"['`ʿʾ’‘ʻʼ´]")

# Skeleton folding: digraphs first, then single letters. Vowels and the
# semi-vowels w/y (Arabic و/ي write long vowels) are dropped.
_DIGRAPHS = (("kh", "h"), ("gh", "j"), ("sh", "s"), ("ch", "j"), ("zh", "j"), ("dj", "j"), ("dh", "z"),
             ("th", "t"), ("ph", "f"), ("ck", "k"), ("ts", "s"), ("tz", "s"))
_LETTERS = str.maketrans({"q": "k", "c": "k", "g": "j", "p": "b", "v": "f", "x": "k"})
SOFT_C = re.compile(r"c(?=[eiy])")  # Lounici, Cisse: a soft c is an s
_VOWEL_RUNS = re.compile(r"[aeiouyw]+")
DOUBLES = re.compile(r"(.)\1+")


def _prepare(name: str) -> str:
    """NFKC; Arabic-script articles and "servant of" split from their noun
    (الرحمن → ال رحمن, عبدالله → عبد الله); Han and Hangul, written without
    spaces, one syllable per word."""
    text = unicodedata.normalize("NFKC", name)
    text = _ARABIC_ABD.sub("عبد ", text)
    text = _ARABIC_ARTICLE.sub("ال ", text)
    return _CJK.sub(lambda m: f" {m.group()} ", text)


def _latin(text: str) -> str:
    """Any script to lowercase ASCII letters and digits."""
    return _NON_WORD.sub("", _APOSTROPHES.sub("", anyascii(text).casefold()))


_DIPHTHONG_Y = re.compile(r"(?<=\w)([ae])y(?=[^aeiouy]|$)")
_FINAL_Y = re.compile(r"(?<=[^aeiouy])y$")


def _fold(text: str) -> str:
    """Generic spelling folds, then the variants table."""
    folded = text.replace("ou", "u").replace("ee", "i").replace("oo", "u").replace("ph", "f")
    folded = re.sub(r"(?<=\w{3})(?:off|ow)$", "ov", folded)
    folded = re.sub(r"(?<=\w{3})eff$", "ev", folded)
    # The diphthong as ay or ai, ey or ei ("Zubayr", "Zubair"; "Heydar",
    # "Heidar"), and a final y after a consonant as i ("Bukhory", "Bukhori").
    folded = _DIPHTHONG_Y.sub(r"\1i", folded)
    folded = _FINAL_Y.sub("i", folded)
    folded = DOUBLES.sub(r"\1", folded)
    return VARIANTS.get(text) or VARIANTS.get(folded) or folded


@lru_cache(maxsize=200_000)
def letters_folded(text: str) -> str:
    """Soft c, digraphs and similar consonants folded; vowels kept."""
    text = SOFT_C.sub("s", text)
    for digraph, letter in _DIGRAPHS:
        text = text.replace(digraph, letter)
    return text.translate(_LETTERS)


def _consonants(text: str) -> str:
    return _VOWEL_RUNS.sub("", letters_folded(text))


def _finish(consonants: str) -> str:
    consonants = DOUBLES.sub(r"\1", consonants)
    return consonants[:-1] if len(consonants) > 2 and consonants.endswith("h") else consonants


@lru_cache(maxsize=200_000)
def vowel_pattern(text: str) -> str:
    """Consonants folded as in skeletons, each run of vowels as one "a":
    where a name has vowels, not which ("Obeida" and "Ubaydah" agree)."""
    return _finish(_VOWEL_RUNS.sub("a", letters_folded(text)))


@lru_cache(maxsize=200_000)
def skeleton(text: str) -> str:
    return _finish(_consonants(text))


# Coarser still, for Latin spellings of Arabic and Persian names, which
# differ in exactly these letters: ق as q, k or g; ذ, ظ and ض as dh, th, z or
# d; ش as sh or ch; ح, ه and ع as h or nothing ("Qadhafi", "Gaddafi",
# "Ghathafi"; "Kadhim", "Kazim").
_COARSE_DIGRAPHS = (("dzh", "j"), ("dj", "j"), ("gh", "k"), ("kh", "k"), ("sh", "s"), ("ch", "s"),
                    ("th", "d"), ("dh", "d"), ("ph", "f"))
_COARSE_LETTERS = str.maketrans({"q": "k", "c": "k", "g": "k", "z": "d", "p": "b", "v": "f", "h": None})


@lru_cache(maxsize=200_000)
def coarse_key(text: str) -> str:
    """Consonants folded coarsely, each run of vowels (and w, y) as one "a";
    "" for a part of fewer than three consonants, too short to say much."""
    text = SOFT_C.sub("s", text)
    for digraph, letter in _COARSE_DIGRAPHS:
        text = text.replace(digraph, letter)
    pattern = DOUBLES.sub(r"\1", _VOWEL_RUNS.sub("a", text.translate(_COARSE_LETTERS)))
    return pattern if len(pattern) - pattern.count("a") >= 3 else ""


def joined_skeleton(*skeletons: str) -> str:
    """The skeleton of parts written together, from theirs (no new digraphs)."""
    return _finish("".join(skeletons))


def _abjad_skeleton(word: str) -> str:
    """Letter by letter, so that two letters never read as one digraph
    (صح is s + h, not ش "sh")."""
    return _finish("".join(_consonants(_latin(letter)) for letter in word))


_ACRONYM_SKIPS = frozenset("and of the for in on at to de du des la le et y".split())


@lru_cache(maxsize=200_000)
def acronyms(tokens: tuple[Token, ...]) -> frozenset[str]:
    """The initials a name may be abbreviated to, three letters or more:
    legal forms in or out ("Technology and Development Group Limited" →
    "tdg", "tdgl"; "Korea Kwangson Banking Corporation" → "kkbc")."""
    words = [t for t in tokens if (t.informative or t.role is Role.LEGAL) and not t.abjad and t.text not in _ACRONYM_SKIPS]
    while words and words[-1].role is Role.LEGAL and len(words) > 1 and words[-2].role is Role.LEGAL:
        words.pop()  # "Group Limited": the last legal form is seldom abbreviated
    forms = {
        "".join(t.text[0] for t in words),
        "".join(t.text[0] for t in words if t.role is not Role.LEGAL),
    }
    return frozenset(DOUBLES.sub(r"\1", form) for form in forms if len(form) >= 3)  # folded as parts are


def _role(text: str, is_organisation: bool) -> Role:
    if text in HONORIFICS and not is_organisation:
        return Role.HONORIFIC
    if text in LEGAL_FORMS and is_organisation:
        return Role.LEGAL
    if text in PARTICLES or VARIANTS.get(text) in PARTICLES:
        return Role.PARTICLE
    if text in GENERIC_WORDS and is_organisation:
        return Role.GENERIC
    return Role.NAME


# A word in Arabic script is spelled letter by letter, its long vowels
# included: alif (which anyascii leaves out) as "a", so that سالم (Salim) is
# not سلم, nor حامد (Hamid) حمد; alif maksura as ya (مصطفى, مصطفي).
_ABJAD_SPELLING = str.maketrans({**dict.fromkeys("اأإآٱ", "a"), "ى": "ي"})


def _abjad_token(original: str) -> Token:
    """A word written without vowels: only the particles are recognisable;
    "mr" from عمر is Umar, not an honorific."""
    particle = ARABIC_SCRIPT_PARTICLES.get(_latin(original))
    if particle:
        return Token(original, particle, _abjad_skeleton(original), Role.PARTICLE, abjad=True)
    return Token(original, _latin(original.translate(_ABJAD_SPELLING)), _abjad_skeleton(original), Role.NAME, abjad=True)


def _token(original: str, text: str, is_organisation: bool) -> Token:
    role = _role(text, is_organisation)
    folded = _fold(text) if role is not Role.LEGAL else text
    return Token(original, folded, skeleton(folded), role)


@lru_cache(maxsize=100_000)
def tokenise(name: str, is_organisation: bool = False) -> tuple[Token, ...]:
    """A name as tokens, in order. Organisations get legal forms and generic
    words marked; people get honorifics marked."""
    tokens: list[Token] = []
    for original in _SPLIT.split(_prepare(name)):
        if _ABJAD.search(original):
            if _latin(original):
                tokens.append(_abjad_token(original))
            continue
        for word in _latin(original).split():
            prefix = _ABD_PREFIX.match(word)
            if prefix and word not in VARIANTS:
                tokens.append(_token(original, "abd", is_organisation))
                word = word[prefix.end():]
            tokens.append(_token(original, word, is_organisation))
    return tuple(tokens)

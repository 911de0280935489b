"""Country names, as the lists write them, to ISO 3166-1 alpha-2 codes."""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

# Names and adjectives the lists use that pycountry does not know.
_ALIASES = {
    "russia": "RU",
    "former soviet union": "SU",
    "ussr": "SU",
    "soviet union": "SU",
    "korea, north": "KP",
    "north korea": "KP",
    "rpdc": "KP",
    "dprk": "KP",
    "korea, south": "KR",
    "south korea": "KR",
    "democratic republic of the congo": "CD",
    "congo, democratic republic of the": "CD",
    "congo, republic of the": "CG",
    "republic of the congo": "CG",
    "turkey": "TR",
    "burma": "MM",
    "palestinian": "PS",
    "palestinian territories": "PS",
    "state of palestine": "PS",
    "west bank": "PS",
    "gaza": "PS",
    "gaza strip": "PS",
    "palestine": "PS",
    "drc": "CD",
    "bosnia-herzegovina": "BA",
    "bosnia": "BA",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "st. kitts & nevis": "KN",
    "macedonia, the former yugoslav republic of": "MK",
    "cabo verde": "CV",
    "region: gaza": "PS",
    "kosovo": "XK",
    "cote d ivoire": "CI",
    "ivory coast": "CI",
    "netherlands antilles": "AN",
    "man, isle of": "IM",
    "hong kong special administrative region": "HK",
    "china, hong kong special administrative region": "HK",
    "macau": "MO",
    "brunei": "BN",
    "libyan arab jamahiriya": "LY",
    "region: crimea": "UA",
    "crimea": "UA",
    "syria": "SY",
    "iran": "IR",
    "laos": "LA",
    "vietnam": "VN",
    "tanzania": "TZ",
    "bolivia": "BO",
    "venezuela": "VE",
    "moldova": "MD",
    "macedonia": "MK",
    "czech republic": "CZ",
    "swaziland": "SZ",
    "cape verde": "CV",
    "east timor": "TL",
    "vatican city": "VA",
    "micronesia": "FM",
    "united states of america": "US",
    "usa": "US",
    "uk": "GB",
}

_DEMONYMS = {
    "afghan": "AF",
    "algerian": "DZ",
    "american": "US",
    "australian": "AU",
    "azerbaijani": "AZ",
    "bahraini": "BH",
    "bangladeshi": "BD",
    "belgian": "BE",
    "british": "GB",
    "canadian": "CA",
    "chadian": "TD",
    "chinese": "CN",
    "danish": "DK",
    "egyptian": "EG",
    "emirati": "AE",
    "eritrean": "ER",
    "ethiopian": "ET",
    "french": "FR",
    "german": "DE",
    "indian": "IN",
    "indonesian": "ID",
    "iranian": "IR",
    "iraqi": "IQ",
    "italian": "IT",
    "jordanian": "JO",
    "kazakh": "KZ",
    "kenyan": "KE",
    "kuwaiti": "KW",
    "kyrgyz": "KG",
    "lebanese": "LB",
    "libyan": "LY",
    "malaysian": "MY",
    "malian": "ML",
    "mauritanian": "MR",
    "moroccan": "MA",
    "nigerian": "NG",
    "nigerien": "NE",
    "pakistani": "PK",
    "filipino": "PH",
    "qatari": "QA",
    "russian": "RU",
    "saudi": "SA",
    "saudi arabian": "SA",
    "somali": "SO",
    "spanish": "ES",
    "sudanese": "SD",
    "swedish": "SE",
    "syrian": "SY",
    "tajik": "TJ",
    "tunisian": "TN",
    "turkish": "TR",
    "turkmen": "TM",
    "ugandan": "UG",
    "uzbek": "UZ",
    "yemeni": "YE",
}

# Words around a country that say something about it but are not part of it.
_NOISE = re.compile(
    r"^(?:possibly|probably|believed to be)\s+|\((?:[^)]*)\)|\b(?:believed|by birth|citizenship|"
    r"nationality|passport|withdrawn|revoked|in custody|until|as at|as of)\b.*$",
    re.IGNORECASE,
)


def _clean(text: str) -> str:
    text = " ".join(text.split()).strip(" .;,")
    if text.lower().startswith("the "):
        text = text[4:]
    if text.lower().endswith(", the"):
        text = text[:-5]
    return text


@lru_cache(maxsize=4096)
def to_code(text: str | None) -> str | None:
    """ISO alpha-2 code of a country name, ISO code or nationality adjective.

    Returns None when the text names no single country ("undetermined",
    "Sudan/South Sudan"); callers keep such text as published.
    """
    if not text:
        return None
    cleaned = _clean(text)
    for candidate in (cleaned, _clean(_NOISE.sub("", cleaned))):
        if not candidate:
            continue
        key = candidate.lower()
        if key in _ALIASES:
            return _ALIASES[key]
        if key in _DEMONYMS:
            return _DEMONYMS[key]
        try:
            return pycountry.countries.lookup(candidate).alpha_2
        except LookupError:
            pass
        try:
            return pycountry.historic_countries.lookup(candidate).alpha_2
        except LookupError:
            pass
    return None

"""Normalisation of personal names for search and duplicate detection.

``name_tokens(text)`` turns a name written in Arabic or Latin script (or both) into a list of
*search tokens*; ``search_key(text)`` joins them with single spaces. Two spellings of the
same name give the same key, so that the registry finds "محمد العلوي" typed "مُحَمَّد
العلويّ" and "Mohammed El Alaoui" typed "Muhammad Alaoui". The key is for machines only,
never shown to users. ``search_key`` is idempotent: ``search_key(search_key(x)) ==
search_key(x)`` (the pipeline is applied until nothing changes). Changing a rule here
changes the stored keys: run ``idmaj refresh_name_keys`` afterwards.

Both scripts, first: invisible formatting characters (right-to-left marks, zero-width
joiners) are removed; Arabic-Indic digits (٠١٢ / ۰۱۲) become 0 1 2; anything that is neither
a letter nor a digit separates tokens.

Arabic script, letter by letter:
  أ إ آ ٱ ٲ ٳ ٵ → ا; ة → ه; ى → ي; ؤ → و; ئ → ي; Persian ی → ي, ک → ك; hamza ء removed;
  harakat and the other marks (U+064B–U+065F), superscript alef (U+0670) and tatweel
  (U+0640) removed; compatibility forms (presentation forms, ligatures) decomposed.
  Word joins: "عبد", "ابو", "بو", "بن" (and "ابن", taken as "بن") are joined to the next word
  ("عبد الله" = "عبدالله", "بن علي" = "بنعلي"), "الدين" to the previous one ("نور الدين" =
  "نورالدين").

Latin script (after lower case and accents stripped, so "El-Fassi" gives "el fassi"):
  * Abdel: "abd el x", "abd al x", "abd er x", "abdel x", "abdul x", "abdoul x" and the
    joined forms ("abdelkader", "abdulkader", "abderrahim", "abdessamad") all give
    "abdel" + x ("abdelkader", "abdelrahim", "abdelsamad");
  * articles: el, al, ell, elle, l standing alone are dropped ("El Alaoui" = "Alaoui"), and
    so are the assimilated ones before their letter ("Es Saidi" = "Saidi") and at the start
    of a word ("Essaidi", "Ennaji", "Ezzahra" = "Saidi", "Naji", "Zahra"), unless nothing
    else is left;
  * word joins: ben / bin / ibn, bou, bel, abou joined to the next word ("Ben Ali" = "Benali"
    = "Bin Ali"); eddine to the previous one ("Nour Eddine" = "Noureddine");
  * letters: o → u and w → u (covers ou / u / w: "Youssef" = "Yusef", "Oualid" = "Walid"),
    y → i ("Zaynab" = "Zainab"), q → k, ph → f, th → t, dj → j, sh → ch, c before e or i
    → s ("Lahcen" = "Lahsen"), then double letters collapsed ("Mohammed" = "Mohamed");
  * endings: a silent final e dropped ("Amine" = "Amin", "Asmae" = "Asma"), -ah → -a
    ("Fatimah" = "Fatima");
  * Mohamed / Mohammed / Muhammad / Mohamad / Mouhamed / Muhammed → one key ("muhamed"), its
    beginnings "Mohamm" / "Muhame" → "muham"; Ahmad → "ahmed".
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold_digits", "is_arabic", "name_tokens", "same_name", "search_key"]

# -- both scripts ----------------------------------------------------------------------------
_DIGITS = {
    **{0x0660 + i: str(i) for i in range(10)},  # Arabic-Indic
    **{0x06F0 + i: str(i) for i in range(10)},  # Extended (Persian) Arabic-Indic
}


def fold_digits(text: str) -> str:
    """Arabic-Indic digits as ASCII digits ("٢٠٢٦" → "2026"): for numbers typed on an
    Arabic keyboard (committal numbers, CINs)."""
    return text.translate(_DIGITS)


# -- Arabic --------------------------------------------------------------------------------
_ARABIC_MAP = str.maketrans(
    {
        **dict.fromkeys("أإآٱٲٳٵ", "ا"),
        "ة": "ه",
        "ى": "ي",
        "ؤ": "و",
        "ئ": "ي",
        "ی": "ي",  # Persian yeh
        "ک": "ك",  # keheh
        "ء": None,
        "ـ": None,  # tatweel
        "ٰ": None,  # superscript alef
        **{chr(c): None for c in range(0x064B, 0x0660)},  # harakat, hamza and other marks
        **_DIGITS,
    }
)
_ARABIC_LETTER = re.compile(r"[\u0600-\u06FF]")
_AR_JOIN_NEXT = {"عبد", "ابو", "بو", "بن", "ابن"}
_AR_JOIN_PREVIOUS = {"الدين"}


def is_arabic(token: str) -> bool:
    """Whether a token is written in Arabic script (it holds an Arabic letter)."""
    return bool(_ARABIC_LETTER.search(token))


_is_arabic = is_arabic


# -- Latin ---------------------------------------------------------------------------------
_ARTICLES = {"el", "al", "ell", "elle", "ele", "l"}  # compared after folding
_SUN_ARTICLES = {"ech", "ed", "en", "er", "es", "et", "ez", "ach", "ad", "an", "ar", "as", "at"}
_ABD_LINKS = _ARTICLES | _SUN_ARTICLES | {"ul", "ou", "u"}
_ABD_WORDS = {"abd", "abdel", "abdal", "abdul", "abdoul"}
_JOIN_NEXT = {"ben", "bin", "ibn", "bou", "bu", "bel", "abou", "abu", "aboul", "abul"}
_JOIN_PREVIOUS = {"eddine", "eddin", "edine", "edin", "addine", "uddin", "eddyne", "ddine"}
_ABD_JOINED = re.compile(r"^abd(?:el|al|ul|oul|ou|u)(?=.)")
# "abderrahim", "abderahim", "abdessamad": Abd + the article assimilated to a sun letter
_ABD_SUN = re.compile(r"^abd[aeu]?(ch|sh|[dnrstz])\1?(?=..)")
# "essaidi", "ennaji", "ezzahra", "ellouzi": the article assimilated, at the start of a word
_SUN_WORD = re.compile(r"^e(ch|sh|[dnrstzl])\1(?=..)")
# a leading article of the word after "abd": "abd elkader", "abd allah"
_LEADING_ARTICLE = re.compile(r"^(?:el|al|ul)(?=...)")
_CANONICAL = {"muhamad": "muhamed", "ahmad": "ahmed", "muhama": "muham"}
_MUHAMED = re.compile(r"^muham[ae]d$")
_DOUBLE = re.compile(r"(.)\1+")
_SOFT_C = re.compile(r"c(?=[ei])")
_LETTERS = (("ph", "f"), ("th", "t"), ("dj", "j"), ("sh", "ch"), ("q", "k"))
_VOWELS = str.maketrans({"o": "u", "w": "u", "y": "i"})


def _fold_latin(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def _latin_token(t: str) -> str:
    if t.isdigit():
        return t
    m = _ABD_JOINED.match(t) or _ABD_SUN.match(t)
    if m:
        t = "abdel" + (m.group(1) if m.groups() else "") + t[m.end() :]
    elif t not in _JOIN_PREVIOUS:
        t = _strip_sun_article(t)
    for a, b in _LETTERS:
        t = t.replace(a, b)
    t = _SOFT_C.sub("s", t.translate(_VOWELS))
    t = _DOUBLE.sub(r"\1", t)
    if t.endswith("e") and len(t) >= 4:
        t = t[:-1]
    if t.endswith("ah") and len(t) > 3:
        t = t[:-1]
    if _MUHAMED.match(t):
        t = "muhamed"
    return _CANONICAL.get(t, t)


def _strip_sun_article(t: str) -> str:
    """ "ennaji" → "naji", "echchafii" → "chafii"."""
    m = _SUN_WORD.match(t)
    return t[1 + len(m.group(1)) :] if m else t


def _strip_article(t: str) -> str:
    stripped = _strip_sun_article(t)
    return stripped if stripped != t else _LEADING_ARTICLE.sub("", t)


def _join(tokens: list[str]) -> list[str]:
    """Join the words that are one name: Abd + name, Ben + name, name + Eddine (Latin),
    عبد / ابو / بو / بن + name, name + الدين (Arabic); drop an assimilated article standing
    before its own letter ("es saidi")."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        rest = tokens[i + 1 :]
        arabic = _is_arabic(t)
        if arabic:
            if t in _AR_JOIN_NEXT and rest and _is_arabic(rest[0]):
                out.append(("بن" if t == "ابن" else t) + rest[0])
                i += 2
                continue
            if t in _AR_JOIN_PREVIOUS and out and _is_arabic(out[-1]):
                out[-1] += t
                i += 1
                continue
            out.append(t)
            i += 1
            continue
        nxt = rest[0] if rest and not _is_arabic(rest[0]) else None
        if t in _ABD_WORDS:
            if nxt is None:
                out.append(t)
                i += 1
            elif t == "abd" and nxt in _ABD_LINKS:
                after = rest[1] if len(rest) > 1 and not _is_arabic(rest[1]) else None
                out.append("abdel" + (after or ""))
                i += 3 if after else 2
            else:
                out.append("abdel" + _strip_article(nxt))
                i += 2
        elif t in _JOIN_NEXT and nxt is not None and nxt not in _ARTICLES:
            out.append(("ben" if t in ("bin", "ibn") else t) + nxt)
            i += 2
        elif t in _JOIN_PREVIOUS and out and not _is_arabic(out[-1]):
            out[-1] += t
            i += 1
        elif t in _SUN_ARTICLES and nxt is not None and nxt.startswith(t[1:]):
            i += 1  # "es saidi": the article before its own letter
        else:
            out.append(t)
            i += 1
    return out


def _once(tokens: list[str]) -> list[str]:
    tokens = _join(tokens)
    tokens = [t if _is_arabic(t) else _latin_token(t) for t in tokens]
    kept = [t for t in tokens if t not in _ARTICLES]
    return kept or tokens


def _tokens(text: str) -> list[str]:
    # Invisible formatting characters (RLM, ZWNJ, ...) are not separators: remove them.
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = _fold_latin(text.translate(_ARABIC_MAP)).translate(_ARABIC_MAP).lower()
    # Anything that is neither a letter nor a digit separates tokens.
    text = "".join(c if (c.isalpha() or c.isdigit()) else " " for c in text)
    tokens = text.split()
    for _ in range(10):
        again = _once(tokens)
        if again == tokens:
            break
        tokens = again
    return tokens


def name_tokens(text: str | None) -> list[str]:
    """The normalised search tokens of a name (Arabic and/or Latin script)."""
    if not text:
        return []
    tokens = _tokens(text)
    # Unicode folding is not always stable in one pass (e.g. a compatibility character that
    # decomposes to an upper-case letter): run until the key maps to itself.
    for _ in range(5):
        again = _tokens(" ".join(tokens))
        if again == tokens:
            break
        tokens = again
    return tokens


def search_key(text: str | None) -> str:
    """The normalised search key of a name: its tokens joined by single spaces."""
    return " ".join(name_tokens(text))


def same_name(a: str | None, b: str | None) -> bool:
    """Whether two names have the same tokens, in any order ("Alaoui Mohamed")."""
    ta, tb = name_tokens(a), name_tokens(b)
    return bool(ta) and sorted(ta) == sorted(tb)

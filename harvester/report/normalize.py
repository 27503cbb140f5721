"""Text normalisation: script (OpenCC), widths, spaces, cruft. Pure functions over strings."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from harvester.report.templates import CRUFT

SIMPLIFIED = "simplified"
TRADITIONAL = "traditional"

_CJK = re.compile(r"[\u4e00-\u9fff]")
_SPACES = re.compile(r"[ \t\u00a0\u3000\u2002\u2003\u2009\u200b\ufeff]+")
_ALL_SPACE = re.compile(r"\s+")
# A space between two CJK characters, or between CJK and a digit, is layout, not content.
_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff\d]) +(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff]) +(?=\d)")


@lru_cache(maxsize=1)
def _t2s():
    import opencc  # native wheel; imported lazily so `harvester --help` stays fast

    try:
        return opencc.OpenCC("t2s")
    except Exception:  # pragma: no cover - older bindings want the file name
        return opencc.OpenCC("t2s.json")


@lru_cache(maxsize=1)
def _traditional_only() -> re.Pattern[str]:
    """The CJK characters OpenCC's t2s changes (Traditional forms), as one character class."""
    block = "".join(chr(c) for c in range(0x4E00, 0xA000))
    converted = _t2s().convert(block)
    if len(converted) != len(block):  # pragma: no cover - t2s is character-for-character here
        return re.compile("|".join(sorted({a for a, b in zip(block, converted) if a != b})))
    return re.compile(_char_class(a for a, b in zip(block, converted) if a != b))


def _char_class(chars) -> str:
    """A regex character class of the given characters, as ranges."""
    codes = sorted({ord(c) for c in chars})
    parts, i = [], 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        parts.append(re.escape(chr(codes[i])) + ("-" + re.escape(chr(codes[j])) if j > i else ""))
        i = j + 1
    return "[" + "".join(parts) + "]" if parts else "(?!)"


def detect_script(text: str, sample: int = 20000) -> str:
    """`traditional` when a noticeable share of the CJK text is in Traditional forms.

    A few characters change even in Simplified text (variants), hence the threshold. Counting the
    Traditional-only characters with one regex costs a fraction of converting and comparing."""
    chunk = text[:sample]
    changed = len(_traditional_only().findall(chunk))
    if changed < 5:
        return SIMPLIFIED
    cjk = len(_CJK.findall(chunk))
    if cjk < 20:
        return SIMPLIFIED
    return TRADITIONAL if changed >= cjk * 0.02 else SIMPLIFIED


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


@lru_cache(maxsize=1)
def _nfkc_tables() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(characters of the BMP that NFKC changes, characters whose NFKC depends on neighbours:
    combining marks, conjoining and compatibility Hangul jamo, anything outside the BMP)."""
    changing, contextual = [], []
    for code in range(0xA0, 0x10000):
        if 0xD800 <= code < 0xE000:
            continue
        ch = chr(code)
        mapped = unicodedata.normalize("NFKC", ch)
        if unicodedata.combining(ch) or (mapped and unicodedata.combining(mapped[0])) or 0x1100 <= code < 0x1200 \
                or 0x3130 <= code < 0x3190 or 0xA960 <= code < 0xA980 or 0xD7B0 <= code < 0xD800:
            contextual.append(ch)
        elif mapped != ch:
            changing.append(ch)
    return re.compile(_char_class(changing)), re.compile(_char_class(contextual)[:-1] + "\U00010000-\U0010ffff]")


def nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), touching only the characters NFKC changes.

    CPython's NFKC walks every character (≈ 0.3 µs per CJK character); a report holds a few
    hundred that change (full-width punctuation). Mapping each on its own equals normalising the
    string unless a character composes with its neighbours: then the whole string is normalised."""
    changing, contextual = _nfkc_tables()
    if contextual.search(text):
        return unicodedata.normalize("NFKC", text)
    return changing.sub(_nfkc_match, text)


@lru_cache(maxsize=4096)
def _nfkc_char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch)


def _nfkc_match(m: re.Match[str]) -> str:
    return _nfkc_char(m.group())


def normalize_text(text: str) -> str:
    """NFKC (full-width digits and punctuation), one kind of space, no cruft; newlines kept."""
    text = nfkc(text)
    text = CRUFT.sub(" ", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _SPACES.sub(" ", text)


def squash(text: str) -> str:
    """All whitespace removed: the form labels are matched in. (str.split splits on the same
    Unicode whitespace as the regex \\s, at a fraction of the cost on the hot path.)"""
    return "".join(text.split())


def tidy(text: str) -> str:
    """One line of display text: spaces collapsed, layout gaps inside CJK runs removed."""
    text = _ALL_SPACE.sub(" ", text).strip()
    return _CJK_GAP.sub("", text)

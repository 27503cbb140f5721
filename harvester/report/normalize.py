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


def detect_script(text: str, sample: int = 20000) -> str:
    """`traditional` when converting to Simplified changes a noticeable share of the CJK text.

    A few characters change even in Simplified text (variants), hence the threshold.
    """
    chunk = text[:sample]
    cjk = len(_CJK.findall(chunk))
    if cjk < 20:
        return SIMPLIFIED
    converted = _t2s().convert(chunk)
    changed = sum(map(str.__ne__, chunk, converted))
    return TRADITIONAL if changed >= max(5, cjk * 0.02) else SIMPLIFIED


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def normalize_text(text: str) -> str:
    """NFKC (full-width digits and punctuation), one kind of space, no cruft; newlines kept."""
    if not unicodedata.is_normalized("NFKC", text):  # the quick check is far cheaper than normalising
        text = unicodedata.normalize("NFKC", text)
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

"""Cells → tokens → value runs: the step between a document's lines and the statutory tables.

Every layout the corpus shows (HTML grids, pipes, tabs, one cell per line, Markdown with
detached labels, text with cells glued together) is reduced here to one thing: a sequence of
*runs*, each a list of value tokens with the label printed in front of it (or none).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from harvester.report.document import MERGED, Line
from harvester.report.normalize import squash
from harvester.report.templates import NUMBERING_TAIL

EMPTY_MARKS = {"", "/", "-", "—", "--", "——", "－", "\\", "－－", "―"}
_VALUE = re.compile(r"^(?P<num>[-+]?\d[\d,]*(?:\.\d+)?)(?P<unit>万元|元|万|件|条|个|项|次)?"
                    r"(?:\((?P<remark>[^)]*)\))?$")
_UNITS = ("万元", "元", "万")
MAX_INTEGER_DIGITS = 15  # beyond, a float loses digits and no statutory count or amount is that large
_NUMBER_CHARS = set("0123456789.,")
_PLACEHOLDER = re.compile(r"^(?:数据|数值|列|栏|字段|column|col|data|field)_?\d{1,2}$", re.I)


def trailing_numbers(text: str) -> tuple[str, list[str]] | None:
    """Split numeric material off the end of a text cell: "行政许可 97" → ("行政许可", ["97"]),
    "规范性文件898989" → ("规范性文件", ["898989"]), "…数量230 000023" → (…, ["230", "000023"]).

    A backward scan, linear in the cell's length (a regex with nested repeats backtracks
    exponentially on long digit runs — the fuzz tests found it).
    """
    end = len(text.rstrip())
    pieces: list[str] = []
    while True:
        stop = end
        if stop and text[stop - 1] == ")":  # "86000元(罚没收入)"
            opening = text.rfind("(", max(0, stop - 40), stop)
            if opening < 0:
                break
            stop = opening
        for unit in _UNITS:
            if text.endswith(unit, 0, stop):
                stop -= len(unit)
                break
        start = stop
        while start and text[start - 1] in _NUMBER_CHARS:
            start -= 1
        if start == stop or not any(c.isdigit() for c in text[start:stop]):
            break
        pieces.append(text[start:end])
        end = start
        while end and text[end - 1].isspace():
            end -= 1
    label = text[:end]
    if not pieces or not label or label[-1] in "/.,":
        return None
    return label, pieces[::-1]


@dataclass
class Token:
    kind: str  # "text" | "value" | "empty"
    text: str
    number: float | int | None = None
    unit: str | None = None
    remark: str | None = None
    splittable: bool = False  # came from text, not a cell: may hold several glued values


@dataclass
class Run:
    label: str | None  # squashed label printed in front of the values, or None
    tokens: list[Token] = field(default_factory=list)
    vertical: bool = False  # one cell per line

    @property
    def numbers(self) -> int:
        return sum(t.kind == "value" for t in self.tokens)


def parse_number(text: str) -> int | float:
    text = text.replace(",", "")
    return float(text) if "." in text else int(text)


def _integer_digits(num: str) -> int:
    whole = num.split(".", 1)[0]
    return len(whole) - whole.count(",") - (whole[:1] in "+-")


def classify(cell: str) -> Token:
    s = squash(cell)
    if s in EMPTY_MARKS:
        return Token("empty", s)
    if _PLACEHOLDER.match(s):  # an OCR/LLM tool's column names (数据1 … 数据7): headers, not values
        return Token("text", s)
    m = _VALUE.match(s)
    if m:
        num = m.group("num")
        if len(num) > MAX_INTEGER_DIGITS and _integer_digits(num) > MAX_INTEGER_DIGITS:  # a value position whose number is not read
            return Token("value", s, None, m.group("unit"), m.group("remark"))
        try:
            return Token("value", s, parse_number(num), m.group("unit"), m.group("remark"))
        except ValueError:
            pass
    return Token("text", s)


def expand(cell: str) -> list[Token]:
    """A cell → tokens. A text cell ending in numbers becomes a label and its values.

    Cells recur (the statutory labels, "0", "1"): their reading is cached, the tokens are new."""
    if len(cell) > 200:
        return _expand(cell)
    return [Token(*t) for t in _expanded(cell)]


@lru_cache(maxsize=32768)
def _expanded(cell: str) -> tuple[tuple, ...]:
    return tuple((t.kind, t.text, t.number, t.unit, t.remark, t.splittable) for t in _expand(cell))


def _expand(cell: str) -> list[Token]:
    tok = classify(cell)
    if tok.kind != "text" or _PLACEHOLDER.match(tok.text):
        return [tok]
    split = trailing_numbers(cell.strip())
    if split is None:
        return [tok]
    label, nums = split
    # "…国家秘密00000002.其他法律…" was cut before the "2." of the next label upstream;
    # here a label's own numbering ("第(一)项") never ends in digits, so nothing to undo.
    out = [Token("text", squash(label))]
    for piece in nums:
        t = classify(piece)
        if t.kind == "value":
            t.splittable = True
        out.append(t)
    return out


def runs_of(lines: list[Line]) -> list[Run]:
    """Value runs with their labels.

    Row mode (a line holding several cells): a run is the values after a label in that line;
    a run that starts the line has no label (its label was printed elsewhere: detached).
    Cell-per-line mode (a line of one cell): values on consecutive lines form one run whose
    label is the text on the line just before it.
    """
    runs: list[Run] = []
    vertical: Run | None = None
    pending_label: list[str] = []
    for line in lines:
        cells = [c for c in line if c is not MERGED]
        if not cells:
            continue
        tokens = [t for c in cells for t in expand(c)]
        if len(tokens) == 1:
            tok = tokens[0]
            if tok.kind == "text":
                vertical = None
                pending_label = [tok.text]
                continue
            if vertical is None:
                if tok.kind == "empty" and not pending_label:
                    continue  # a stray empty cell between blocks, not a row
                vertical = Run(pending_label[-1] if pending_label else None, vertical=True)
                runs.append(vertical)
                pending_label = []
            vertical.tokens.append(tok)
            continue
        vertical = None
        pending_label = []
        label = ""
        current: Run | None = None
        for tok in tokens:
            if tok.kind == "text":
                label = label + tok.text if current is None else tok.text
                current = None
                continue
            if current is None:
                current = Run(label or None)
                runs.append(current)
                label = ""
            current.tokens.append(tok)
        if current is not None and current.tokens[-1].splittable:
            vertical = current  # "3.补正后申请内容仍不明确0" then the other six cells one per line
    return runs


@lru_cache(maxsize=None)
def searchable(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """An anchored label pattern → one that finds the label inside glued text."""
    src = pattern.pattern.replace("^", "").replace("$", r"(?=[\d\s]|$)")
    return re.compile(src)


def split_glued_line(text: str, patterns: list[re.Pattern[str]]) -> list[str]:
    """Cut one long line of glued cells before every label occurrence (with its numbering)."""
    starts = set()
    for pat in patterns:
        for m in pat.finditer(text):
            start = m.start()
            # the numbering is at most 3 characters: look back that far only (linear, not O(n²))
            head = NUMBERING_TAIL.search(text, max(0, start - 3), start)
            if head:
                start = head.start()
            starts.add(start)
    cuts = sorted(s for s in starts if s > 0)
    if not cuts:
        return [text]
    pieces, prev = [], 0
    for cut in cuts:
        if cut > prev:
            pieces.append(text[prev:cut])
            prev = cut
    pieces.append(text[prev:])
    return [p.strip() for p in pieces if p.strip()]

"""Lines → the three statutory tables. Table 二 is read in `read_table2`, 三 in `read_table3`,
四 in `read_table4`; `find_regions` says where each one is in the document."""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any, Callable

from harvester.report.cells import MAX_INTEGER_DIGITS, Run, Token, runs_of, searchable, split_glued_line
from harvester.report.document import Line
from harvester.report.normalize import squash
from harvester.report.templates import (
    SECTION_HEADINGS, TABLE2_ROWS, TABLE2_START, TABLE3_ANCHOR, TABLE3_COLUMNS, TABLE3_HEADING,
    TABLE3_ROWS, TABLE4_END, TABLE4_FIELDS, TABLE4_GROUPS, TABLE4_HEADING, TEMPLATE_2019,
    TEMPLATE_2021, TEMPLATE_MARKERS, T3_OTHER_2021, T3_RESULT_ROWS, Row,
)

MAX_GLUED_DIGITS = 60  # longer digit runs are not table cells: never try to split them
MAX_DIGITS_PER_VALUE = 9
# Search steps per glued run: enough for every real table row (a few thousand), and a hostile
# document of glued rows stays within seconds, not minutes.
SPLIT_BUDGET = 30_000


# ---------------------------------------------------------------- glued text
def _glue_patterns() -> list[re.Pattern[str]]:
    pats = [searchable(r.label) for rows in TABLE2_ROWS.values() for r in rows]
    pats += [searchable(r.label) for rows in TABLE3_ROWS.values() for r in rows]
    pats += [TABLE2_START, TABLE4_HEADING, re.compile(r"第二十条第")]
    # any numbering that opens a label: "2.其他…", "(三)不予公开", "三、本年度办理结果"
    pats += [re.compile(r"\d[.、](?=[\u4e00-\u9fff“\"])"), re.compile(r"(?<!第)\([一二三四五六七]\)"),
             re.compile(r"[一二三四五六]、(?=[\u4e00-\u9fff])")]
    pats += [re.compile(p.pattern.lstrip("^")) for p in SECTION_HEADINGS.values()]
    return pats


_GLUE_PATTERNS = _glue_patterns()


def unglue(lines: list[Line]) -> list[Line]:
    """Long one-cell lines that hold several table labels (an archiver's textContent dump)
    are cut before each label, so every row starts a line of its own."""
    out: list[Line] = []
    for line in lines:
        if len(line) == 1 and line[0] and len(line[0]) > 120 and TABLE3_ANCHOR.search(squash(line[0])):
            out.extend([piece] for piece in split_glued_line(line[0], _GLUE_PATTERNS))
        else:
            out.append(line)
    return out


def split_digits(pieces: list[str], count: int, valid: Callable[[list[int]], bool],
                 budget: int = SPLIT_BUDGET) -> tuple[list[int] | None, int]:
    """Split runs of glued digits into exactly `count` numbers that satisfy `valid`.

    Each piece (digits with known boundaries around it) becomes one or more numbers without
    leading zeros. Returns (the unique solution or None, number of solutions found, max 2).
    """
    solutions, complete = candidate_splits(pieces, count, valid, limit=2, budget=budget)
    if not complete:
        return None, 2
    return (solutions[0] if len(solutions) == 1 else None), len(solutions)


def candidate_splits(pieces: list[str], count: int, valid: Callable[[list[int]], bool], limit: int = 64,
                     budget: int = SPLIT_BUDGET) -> tuple[list[list[int]], bool]:
    """Up to `limit` splits of the glued digits into `count` numbers satisfying `valid`, and whether
    the search was complete (neither the limit nor the step budget cut it short)."""
    if sum(len(p) for p in pieces) > MAX_GLUED_DIGITS or not all(p.isdigit() for p in pieces):
        return [], True
    solutions: list[list[int]] = []
    steps = 0
    # digits still to place after each piece: prunes every branch that leaves too few or too many
    after = [sum(len(p) for p in pieces[i + 1:]) for i in range(len(pieces))]

    def parts_of(piece: str, start: int, acc: list[int], rest: list[str], left: int):
        nonlocal steps
        steps += 1
        if steps > budget or len(solutions) >= limit:
            return
        if start == len(piece):
            go(rest, acc, left)
            return
        remaining = len(piece) - start + after[len(pieces) - len(rest) - 1]
        if left <= 0 or remaining < left or remaining > left * MAX_DIGITS_PER_VALUE:
            return
        for end in range(start + 1, min(len(piece), start + MAX_DIGITS_PER_VALUE) + 1):
            chunk = piece[start:end]
            if len(chunk) > 1 and chunk[0] == "0":
                break
            parts_of(piece, end, acc + [int(chunk)], rest, left - 1)

    def go(rest: list[str], acc: list[int], left: int):
        if not rest:
            if left == 0 and valid(acc):
                solutions.append(acc)
            return
        if sum(len(p) for p in rest) < left or len(rest) > left:
            return
        parts_of(rest[0], 0, acc, rest[1:], left)

    go(pieces, [], count)
    return solutions, steps <= budget and len(solutions) < limit


def glued_candidates(tokens: list[Token], count: int, valid: Callable[[list[int]], bool]) -> list[list[int]] | None:
    """All splits of a short run of glued digits (None: the run is not glued, or too ambiguous)."""
    if len(tokens) >= count or not any(t.splittable for t in tokens):
        return None
    found, complete = candidate_splits([t.text for t in tokens if t.kind == "value"], count, valid)
    return found if complete else None


# ---------------------------------------------------------------- runs → values
def run_values(tokens: list[Token], count: int, what: str, warnings: list[str],
               valid: Callable[[list[int]], bool] = lambda v: True) -> list[Token | None]:
    """Exactly `count` value tokens (None = empty) from a run, positions kept."""
    values = _run_values(tokens, count, what, warnings, valid)
    for tok in values:
        if tok is not None and tok.number is None:
            warnings.append(f"{what}: number {tok.text[:20]}… of {len(tok.text)} characters is beyond "
                            f"{MAX_INTEGER_DIGITS} digits; left null")
    return values


def _run_values(tokens: list[Token], count: int, what: str, warnings: list[str],
                valid: Callable[[list[int]], bool]) -> list[Token | None]:
    tokens = list(tokens)
    while len(tokens) > count and tokens[0].kind == "empty":
        tokens.pop(0)
    if len(tokens) >= count:
        return [t if t.kind == "value" else None for t in tokens[:count]]
    if any(t.splittable for t in tokens):
        pieces = [t.text for t in tokens if t.kind == "value"]
        numbers, found = split_digits(pieces, count, valid)
        if numbers is not None:
            return [Token("value", str(n), n) for n in numbers]
        why = "no split satisfies the row sums" if found == 0 else "several splits are possible"
        warnings.append(f"{what}: glued digits {' '.join(pieces)!r} cannot be split with certainty "
                        f"({why}); left null")
        return [None] * count
    if count > 1 and tokens:
        # a cell floated away (an annotation printed above the table, a lost column): which one is
        # unknown, and a value must never land in its neighbour's column
        warnings.append(f"{what}: {len(tokens)} of {count} cells found and which column is missing is "
                        f"unknown; the row is left null")
        return [None] * count
    warnings.append(f"{what}: {len(tokens)} of {count} cells found; the missing ones are null")
    return [None] * count


def number(tok: Token | None) -> int | float | None:
    return None if tok is None else tok.number


def money_wan_yuan(tok: Token | None, what: str, warnings: list[str]) -> float | None:
    """元 → 万元; 万/万元 or no unit (the column says 万元) as printed; always a float (one type per column)."""
    if tok is None or tok.number is None:
        return None
    value = float(tok.number)
    if tok.unit == "元":
        value = round(value / 10000, 8)
    if tok.remark:
        warnings.append(f"{what}: remark ({tok.remark}) printed with the amount, kept out of the number")
    return value


# ---------------------------------------------------------------- regions
@dataclass
class Regions:
    table2: tuple[int, int] | None
    table3: tuple[int, int] | None
    table4: tuple[int, int] | None


def _first(keys: list[str], pattern: re.Pattern[str], start: int = 0, end: int | None = None,
           max_len: int = 10_000) -> int | None:
    for i in range(start, len(keys) if end is None else end):
        if len(keys[i]) <= max_len and pattern.search(keys[i]):
            return i
    return None


def find_regions(keys: list[str]) -> Regions:
    """`keys` are the lines squashed to text. Each table is a (start, end) slice of lines."""
    anchor = _first(keys, TABLE3_ANCHOR, max_len=200)
    t3 = t4 = t2 = None
    if anchor is not None:
        start3 = anchor
        for i in range(anchor - 1, max(-1, anchor - 8), -1):
            if TABLE3_HEADING.search(keys[i]) and len(keys[i]) < 200:
                start3 = i
        head4 = _first(keys, TABLE4_HEADING, anchor + 1, max_len=300)
        end3 = head4 if head4 is not None else (_first(keys, TABLE4_END, anchor + 1) or len(keys))
        t3 = (start3, end3)
        if head4 is not None:
            end4 = _first(keys, TABLE4_END, head4 + 1, max_len=300)
            t4 = (head4, end4 if end4 is not None else min(len(keys), head4 + 80))
        limit = start3
    else:
        limit = len(keys)
    start2 = _first(keys, TABLE2_START, 0, limit, max_len=300)
    if start2 is not None:
        t2 = (start2, limit)
    return Regions(t2, t3, t4)


def detect_template(keys: list[str], regions: Regions, year: int | None) -> str | None:
    """Which statutory template the tables follow: table 二's header words decide."""
    for region in (regions.table2, regions.table3):
        if region:
            text = "".join(keys[region[0]:region[1]])
            for template in (TEMPLATE_2021, TEMPLATE_2019):
                if TEMPLATE_MARKERS[template].search(text):
                    return template
    if regions.table2 or regions.table3:
        if year is not None:
            return TEMPLATE_2021 if year >= 2021 else TEMPLATE_2019
    return None


# ---------------------------------------------------------------- table 二
def read_table2(lines: list[Line], template: str, warnings: list[str]) -> dict[str, Any] | None:
    rows = TABLE2_ROWS[template]
    found: dict[str, list[Token | None]] = {}
    for run in runs_of(lines):
        if not run.label:
            continue
        row = next((r for r in rows if r.label.search(_strip_numbering(run.label))), None)
        if row is None or row.key in found:
            continue
        found[row.key] = run_values(run.tokens, len(row.fields), f"table 2 row {row.key}", warnings)
    if not found:
        return None
    table: dict[str, Any] = {}
    for row in rows:
        cells = found.get(row.key)
        if cells is None:
            warnings.append(f"table 2 row {row.key} not found; its fields are null")
            cells = [None] * len(row.fields)
        table[row.key] = {
            f: (money_wan_yuan(c, f"table 2 {row.key}", warnings) if f in row.money else number(c))
            for f, c in zip(row.fields, cells)
        }
    return table


def _strip_numbering(label: str) -> str:
    return re.sub(r"^(\d[.、]|\([一二三四五六七八九十\d]\)|[一二三四五六七八九十][、.])", "", label)


# ---------------------------------------------------------------- table 三
def _t3_valid(values: list[int]) -> bool:
    return values[6] == sum(values[:6])


def table3_rows(text: str, template: str) -> tuple[Row, ...]:
    """The rows this report prints: a 2021 report may still print the single 2019 (六) row."""
    has_2021_other = any(r.label.search(text) or searchable(r.label).search(text) for r in T3_OTHER_2021[:2])
    return TABLE3_ROWS[TEMPLATE_2021 if has_2021_other else TEMPLATE_2019]


_LABEL_KEYS: dict[tuple[str, int], int | None] = {}  # the statutory labels recur in every report


def _label_key(label: str, rows: tuple[Row, ...]) -> int | None:
    """The row whose label ends last in the label text ("(三)不予公开1.属于国家秘密" → 1.)."""
    key = (label, id(rows))  # rows: one of the module-level TABLE3_ROWS tuples, never freed
    if key not in _LABEL_KEYS:
        if len(_LABEL_KEYS) > 20_000:
            _LABEL_KEYS.clear()
        _LABEL_KEYS[key] = _find_label_key(label, rows)
    return _LABEL_KEYS[key]


def _find_label_key(label: str, rows: tuple[Row, ...]) -> int | None:
    best, best_end = None, -1
    for i, row in enumerate(rows):
        for m in (row.label.search(label), searchable(row.label).search(label)):
            if m and m.end() > best_end:
                best, best_end = i, m.end()
    return best


def read_table3(lines: list[Line], template: str, warnings: list[str]) -> dict[str, Any] | None:
    text = "".join(squash(c) for line in lines for c in line if c)
    rows = table3_rows(text, template)
    assigned: dict[int, Run] = {}
    last = -1
    for run in runs_of(lines):
        index = _label_key(run.label, rows) if run.label else None
        if index is None:
            # no label of ours: a detached row, in statutory order — if it is a whole row
            if len(run.tokens) < 7 and not any(t.splittable for t in run.tokens):
                continue
            if run.numbers == 0:
                continue
            index = last + 1
            if index >= len(rows):
                continue
        elif run.vertical and len(run.tokens) < 4:
            continue  # a stray number under a wrapped label, not a row of seven cells
        if index in assigned and (assigned[index].numbers or not run.numbers):
            continue  # keep the first reading; a header cell (总计) must not shadow the real row
        assigned[index] = run
        last = index
    if not assigned:
        return None
    out_rows: dict[str, list] = {}
    ambiguous: dict[str, list[list[int]]] = {}
    for i, row in enumerate(rows):
        run = assigned.get(i)
        if run is None:
            warnings.append(f"table 3 row {row.key} not found; its cells are null")
            out_rows[row.key] = [None] * 7
            continue
        candidates = glued_candidates(run.tokens, 7, _t3_valid)
        if candidates is not None and len(candidates) > 1:
            ambiguous[row.key] = candidates  # several splits fit the row sum: the table decides
            out_rows[row.key] = [None] * 7
            continue
        if candidates is not None and len(candidates) == 1:
            out_rows[row.key] = list(candidates[0])
            continue
        cells = run_values(run.tokens, 7, f"table 3 row {row.key}", warnings, _t3_valid)
        out_rows[row.key] = [number(c) for c in cells]
    if ambiguous:
        _resolve_with_identities(out_rows, ambiguous, warnings)
    return {"columns": list(TABLE3_COLUMNS), "rows": out_rows}


MAX_COMBINATIONS = 20_000


def _t3_identities(rows: dict[str, list], keys: set[str]) -> bool:
    """The column identities of table 三 that involve `keys` and can be checked all hold:
    the 勾稽 balance (new + carried over = total + carried forward) and the results total
    (the result rows add up to (七)总计), column by column."""
    results = [k for k in T3_RESULT_ROWS if k in rows]
    identities = [(("new", "carried_over"), ("total", "carried_forward")), (tuple(results), ("total",))]
    for left, right in identities:
        if not keys & set(left + right):
            continue
        for c in range(7):
            values = [rows[k][c] if k in rows else None for k in left + right]
            if any(v is None for v in values):
                continue
            if sum(values[:len(left)]) != sum(values[len(left):]):
                return False
    return True


def _resolve_with_identities(rows: dict[str, list], ambiguous: dict[str, list[list[int]]],
                             warnings: list[str]) -> None:
    """Glued rows with several row-sum splits: keep a split only when exactly one combination of
    them satisfies every identity of the table that can be checked; otherwise they stay null."""
    keys = list(ambiguous)
    combinations = 1
    for k in keys:
        combinations *= len(ambiguous[k])
    fitting: list[tuple[list[int], ...]] = []
    if combinations <= MAX_COMBINATIONS:
        for combo in itertools.product(*(ambiguous[k] for k in keys)):
            trial = {**rows, **dict(zip(keys, combo))}
            if _t3_identities(trial, set(keys)):
                fitting.append(combo)
                if len(fitting) > 1:
                    break
    if len(fitting) == 1:
        rows.update(dict(zip(keys, fitting[0])))
        return
    why = "no combination satisfies" if combinations <= MAX_COMBINATIONS and not fitting else \
        "several combinations satisfy" if fitting else "too many combinations for"
    for k in keys:
        warnings.append(f"table 3 row {k}: glued digits with several splits; {why} the table's identities "
                        f"(balance, results total); left null")


# ---------------------------------------------------------------- table 四
def _t4_valid(values: list[int]) -> bool:
    return all(values[g * 5 + 4] == sum(values[g * 5:g * 5 + 4]) for g in range(3))


def read_table4(lines: list[Line], warnings: list[str]) -> dict[str, Any] | None:
    tokens: list[Token] = []
    for run in runs_of(lines):
        if run.label and len(run.label) > 80 and TABLE4_HEADING.search(run.label) is None:
            continue  # a sentence of narrative ending in a number
        if not tokens and not run.numbers:
            continue  # the empty cells of the two header rows
        tokens.extend(run.tokens)
        if len(tokens) >= 15 and not any(t.splittable for t in tokens):
            break
    if not any(t.kind == "value" for t in tokens):
        return None
    cells = run_values(tokens, 15, "table 4", warnings, _t4_valid)
    return {g: [number(c) for c in cells[i * 5:(i + 1) * 5]] for i, g in enumerate(TABLE4_GROUPS)}


__all__ = ["find_regions", "detect_template", "read_table2", "read_table3", "read_table4", "unglue",
           "split_digits", "TABLE4_FIELDS"]

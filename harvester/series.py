"""Cross-year checks over each agency's series of records (pure: plain records in, findings out).

An agency's reports must agree with one another from one year to the next; agencies get this
wrong, and nothing in a single report shows it. Like the parser's `checks`, these rules report
what the documents say and never repair a number. Each finding is a plain dict:

    {"code", "agency", "region", "year", "previous_year", "table", "row", "column",
     "expected", "found", "record_id", "previous_record_id"}

Codes (checked only between consecutive years that both have exactly one record, and only where
every number the rule needs is present; a gap or an empty cell is not a failure):

| code | rule |
|---|---|
| `CARRIED_OVER` | table 三 `carried_over` (上年结转) of year Y ≠ `carried_forward` (结转下年度) of year Y−1, per column |
| `IN_FORCE` | table 二 `in_force` (现行有效件数) of Y ≠ `in_force` of Y−1 + `issued` (制发) − `repealed` (废止) of Y, for 规章 and 规范性文件 (template 2021 in both years) |
| `JUMP` | a headline figure (JUMP_FIGURES) changes by a factor of at least JUMP_FACTOR between Y−1 and Y while the larger value is at least JUMP_FLOOR; from 0 counts as infinite factor. `expected` is Y−1's value, `found` Y's |
| `DUPLICATE_YEAR` | the series holds more than one record for a year (e.g. two spellings of one agency); that year is left out of the other rules |
"""
from __future__ import annotations

import unicodedata
from collections import defaultdict
from typing import Any, Iterable

from harvester.report.templates import TABLE3_COLUMNS, TABLE4_FIELDS

# A jump is a change by this factor or more …
JUMP_FACTOR = 10.0
# … where the larger of the two values is at least this (3 → 40 requests is not news; 30 → 400 is).
JUMP_FLOOR = 50
# The headline figures watched for jumps: (record key, row, column), as in the long export table.
JUMP_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("requests", "new", "total"),
    ("requests", "total", "total"),
    ("requests", "carried_forward", "total"),
    ("active_disclosure", "licensing", "decisions"),
    ("active_disclosure", "penalties", "decisions"),
    ("active_disclosure", "enforcement", "decisions"),
    ("active_disclosure", "fees", "amount_wan_yuan"),
    ("review_litigation", "review", "total"),
    ("review_litigation", "litigation_direct", "total"),
    ("review_litigation", "litigation_after_review", "total"),
)
IN_FORCE_ROWS = ("regulations", "normative_documents")
SERIES_CODES = ("CARRIED_OVER", "IN_FORCE", "JUMP", "DUPLICATE_YEAR")


def normalise_agency(name: str | None) -> str | None:
    """The agency as series are grouped by: NFKC, all whitespace removed (no fuzzy matching)."""
    if not isinstance(name, str) or not name:
        return None
    return "".join(unicodedata.normalize("NFKC", name).split()) or None


def series_key(record: dict[str, Any]) -> tuple[str, str] | None:
    """(region, normalised agency); None for a record that names no agency or year."""
    agency = normalise_agency(record.get("agency"))
    if agency is None or not isinstance(record.get("year"), int):
        return None
    return (normalise_agency(record.get("region")) or "", agency)


def group_series(records: Iterable[dict[str, Any]]) -> dict[tuple[str, str], dict[int, list[dict[str, Any]]]]:
    """{(region, agency): {year: [records]}}; records without agency or year are left out."""
    series: dict[tuple[str, str], dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        key = series_key(record)
        if key is not None:
            series[key][record["year"]].append(record)
    return series


def cell(record: dict[str, Any], table: str, row: str, column: str) -> float | int | None:
    """One statutory cell of a record by (table, row, column) names; None when absent or empty."""
    data = record.get(table)
    if not isinstance(data, dict):
        return None
    if table == "requests":
        values = (data.get("rows") or {}).get(row)
        index = TABLE3_COLUMNS.index(column) if column in TABLE3_COLUMNS else None
    elif table == "review_litigation":
        values = data.get(row)
        index = TABLE4_FIELDS.index(column) if column in TABLE4_FIELDS else None
    else:
        fields = data.get(row)
        value = fields.get(column) if isinstance(fields, dict) else None
        return value if _is_number(value) else None
    if not isinstance(values, list) or index is None or index >= len(values):
        return None
    return values[index] if _is_number(values[index]) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finding(code: str, key: tuple[str, str], now: dict[str, Any], before: dict[str, Any] | None,
             table: str | None, row: str | None, column: str | None, expected: Any, found: Any) -> dict[str, Any]:
    return {"code": code, "agency": key[1], "region": key[0] or None, "year": now["year"],
            "previous_year": before["year"] if before else None, "table": table, "row": row, "column": column,
            "expected": expected, "found": found, "record_id": now.get("id"),
            "previous_record_id": before.get("id") if before else None}


def check_carried_over(key, before, now) -> list[dict[str, Any]]:
    out = []
    for column in TABLE3_COLUMNS:
        forward = cell(before, "requests", "carried_forward", column)
        over = cell(now, "requests", "carried_over", column)
        if forward is not None and over is not None and forward != over:
            out.append(_finding("CARRIED_OVER", key, now, before, "requests", "carried_over", column, forward, over))
    return out


def check_in_force(key, before, now) -> list[dict[str, Any]]:
    out = []
    for row in IN_FORCE_ROWS:
        last = cell(before, "active_disclosure", row, "in_force")
        issued, repealed, in_force = (cell(now, "active_disclosure", row, f)
                                      for f in ("issued", "repealed", "in_force"))
        if None in (last, issued, repealed, in_force):
            continue
        expected = last + issued - repealed
        if expected != in_force:
            out.append(_finding("IN_FORCE", key, now, before, "active_disclosure", row, "in_force", expected, in_force))
    return out


def is_jump(previous: float, current: float) -> bool:
    """The JUMP rule on two values (see the module docstring)."""
    low, high = sorted((abs(previous), abs(current)))
    return high >= JUMP_FLOOR and (low == 0 or high / low >= JUMP_FACTOR)


def check_jumps(key, before, now) -> list[dict[str, Any]]:
    out = []
    for table, row, column in JUMP_FIGURES:
        previous, current = cell(before, table, row, column), cell(now, table, row, column)
        if previous is not None and current is not None and is_jump(previous, current):
            out.append(_finding("JUMP", key, now, before, table, row, column, previous, current))
    return out


PAIR_RULES = (check_carried_over, check_in_force, check_jumps)


def series_checks(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every cross-year finding of a dump, ordered by agency, year, code."""
    findings: list[dict[str, Any]] = []
    for key, by_year in group_series(records).items():
        for year, same in by_year.items():
            if len(same) > 1:
                findings += [_finding("DUPLICATE_YEAR", key, r, None, None, None, None, None, len(same)) for r in same]
        for year in sorted(by_year):
            before, now = by_year.get(year - 1), by_year[year]
            if before is None or len(before) != 1 or len(now) != 1:
                continue
            for rule in PAIR_RULES:
                findings += rule(key, before[0], now[0])
    findings.sort(key=lambda f: (f["region"] or "", f["agency"], f["year"], SERIES_CODES.index(f["code"])))
    return findings

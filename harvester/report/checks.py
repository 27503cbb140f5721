"""The consistency rules of the record contract, computed on what was read (never repaired)."""
from __future__ import annotations

from typing import Any

from harvester.report.templates import T3_RESULT_ROWS, TABLE3_COLUMNS, TABLE4_GROUPS


def _failure(code: str, row: str | None, column: str | None, expected: Any, found: Any) -> dict[str, Any]:
    return {"code": code, "row": row, "column": column, "expected": expected, "found": found}


def _complete(values) -> bool:
    return all(isinstance(v, (int, float)) for v in values)


def check_table3(table: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not table:
        return []
    rows: dict[str, list] = table["rows"]
    out = []
    for key, values in rows.items():  # T3_ROW_TOTAL: the six applicant columns add up to total
        if _complete(values) and sum(values[:6]) != values[6]:
            out.append(_failure("T3_ROW_TOTAL", key, "total", sum(values[:6]), values[6]))
    results = [rows[k] for k in T3_RESULT_ROWS if k in rows]
    for c, column in enumerate(TABLE3_COLUMNS):
        parts = [r[c] for r in results]
        total = rows.get("total", [None] * 7)[c]
        if results and _complete(parts + [total]) and sum(parts) != total:
            out.append(_failure("T3_RESULTS_TOTAL", None, column, sum(parts), total))
        side = [rows.get(k, [None] * 7)[c] for k in ("new", "carried_over", "total", "carried_forward")]
        if _complete(side) and side[0] + side[1] != side[2] + side[3]:
            out.append(_failure("T3_BALANCE", None, column, side[0] + side[1], side[2] + side[3]))
    return out


def check_table4(table: dict[str, Any] | None) -> list[dict[str, Any]]:
    out = []
    for group in TABLE4_GROUPS if table else ():
        values = table[group]
        if _complete(values) and sum(values[:4]) != values[4]:
            out.append(_failure("T4_TOTAL", group, "total", sum(values[:4]), values[4]))
    return out


def check_missing(template: str, tables: dict[str, Any]) -> list[dict[str, Any]]:
    if template not in ("2019", "2021"):
        return []
    # expected/found stay number-or-null in every check, so the dump loads with one type per column.
    return [_failure("TABLE_MISSING", name, None, None, None) for name, t in tables.items() if t is None]


def run_checks(template: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    tables = {k: record.get(k) for k in ("active_disclosure", "requests", "review_litigation")}
    return (check_missing(template, tables) + check_table3(record.get("requests"))
            + check_table4(record.get("review_litigation")))

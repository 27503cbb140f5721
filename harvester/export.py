"""Flat tables from the JSONL dump, for analysts: CSV, Parquet or one DuckDB file.

Four tables, built once as Arrow tables and written by pyarrow (CSV, Parquet) or DuckDB:

- `wide`: one row per record (agency-year): identity, provenance, check counts, then one column
  per statutory cell, named `{t2|t3|t4}__{row}__{column}` after the record's own keys
  (`t3__carried_over__total`, `t2__fees__amount_wan_yuan`). The names are derived from the
  templates in harvester/report/templates.py (both templates' cells, in statutory order), so they
  change only when the contract does. Counts are int64, money (万元) float64.
- `long`: one row per statutory cell a record has (table, row, column, value): the table analysts
  pivot. `table` is the record key (`active_disclosure`, `requests`, `review_litigation`).
- `checks`: the record's own failed consistency rules, one row each.
- `series_checks`: the cross-year findings (harvester.series), one row each.
"""
from __future__ import annotations

import contextlib
import gc
import json
import os
import pathlib
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from harvester.jsonl import current_umask
from harvester.report.templates import TABLE2_ROWS, TABLE3_COLUMNS, TABLE3_ROWS, TABLE4_FIELDS, TABLE4_GROUPS
from harvester.series import series_checks

FORMATS = ("csv", "parquet", "duckdb")
TABLE_PREFIX = {"active_disclosure": "t2", "requests": "t3", "review_litigation": "t4"}
DUMP_IN_CRAWL = pathlib.Path("reports") / "records.jsonl"


class ExportError(Exception):
    """Bad input or output for the export: one line for the user."""


@dataclass(frozen=True)
class StatutoryCell:
    """One cell of a statutory table, as the record names it."""

    table: str        # record key: active_disclosure | requests | review_litigation
    row: str
    column: str
    money: bool       # 万元 (float) rather than a count
    templates: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{TABLE_PREFIX[self.table]}__{self.row}__{self.column}"


def _union_in_order(sequences: Iterable[Iterable[str]]) -> list[str]:
    """Keys of several ordered sequences; a key new in a later sequence goes just before the next key
    of its own sequence already placed (at the end if none), so each sequence's order is kept."""
    merged: list[str] = []
    for seq in map(list, sequences):
        for i, key in enumerate(seq):
            if key not in merged:
                following = next((k for k in seq[i + 1:] if k in merged), None)
                merged.insert(merged.index(following) if following else len(merged), key)
    return merged


def statutory_cells() -> list[StatutoryCell]:
    """Every cell of both templates, in statutory order: the wide table's value columns."""
    cells: list[StatutoryCell] = []
    rows2 = {t: {r.key: r for r in rows} for t, rows in TABLE2_ROWS.items()}
    for row in _union_in_order(rows2[t].keys() for t in rows2):
        fields = _union_in_order(rows2[t][row].fields for t in rows2 if row in rows2[t])
        for field in fields:
            having = tuple(t for t in rows2 if row in rows2[t] and field in rows2[t][row].fields)
            money = any(field in rows2[t][row].money for t in having)
            cells.append(StatutoryCell("active_disclosure", row, field, money, having))
    rows3 = {t: [r.key for r in rows] for t, rows in TABLE3_ROWS.items()}
    for row in _union_in_order(rows3.values()):
        having = tuple(t for t in rows3 if row in rows3[t])
        cells += [StatutoryCell("requests", row, column, False, having) for column in TABLE3_COLUMNS]
    for group in TABLE4_GROUPS:
        cells += [StatutoryCell("review_litigation", group, f, False, tuple(TABLE2_ROWS)) for f in TABLE4_FIELDS]
    return cells


def record_cells(record: dict[str, Any]) -> Iterable[tuple[str, str, str, Any]]:
    """(table, row, column, value) of every statutory cell the record has (value None when empty)."""
    t2 = record.get("active_disclosure")
    if isinstance(t2, dict):
        for row, fields in t2.items():
            if isinstance(fields, dict):
                for column, value in fields.items():
                    yield "active_disclosure", row, column, value
    t3 = record.get("requests")
    if isinstance(t3, dict):
        for row, values in (t3.get("rows") or {}).items():
            if isinstance(values, list):
                yield from (("requests", row, c, v) for c, v in zip(TABLE3_COLUMNS, values))
    t4 = record.get("review_litigation")
    if isinstance(t4, dict):
        for group in TABLE4_GROUPS:
            if isinstance(t4.get(group), list):
                yield from (("review_litigation", group, f, v) for f, v in zip(TABLE4_FIELDS, t4[group]))


# ---------------------------------------------------------------- reading the dump
@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Millions of small acyclic objects (JSON records, cells): the cycle collector only re-scans them;
    pausing it makes loading and building ≈40 % faster (measured on 10,000 records)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def dump_path(src: str | os.PathLike) -> pathlib.Path:
    """SRC as given: a crawl folder (its reports/records.jsonl) or a dump file."""
    path = pathlib.Path(src)
    if path.is_dir():
        if not (path / DUMP_IN_CRAWL).is_file():
            raise ExportError(f"{src} is a folder without {DUMP_IN_CRAWL} (not a crawl output folder)")
        return path / DUMP_IN_CRAWL
    if not path.exists():
        raise ExportError(f"no such file or folder: {src}")
    return path


def load_dump(src: str | os.PathLike) -> tuple[list[dict[str, Any]], int]:
    """(records, unreadable lines) of a dump; unreadable lines are counted, not fatal."""
    path = dump_path(src)
    records, bad = [], 0
    try:
        with no_cyclic_gc(), open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    obj = None
                if isinstance(obj, dict):
                    records.append(obj)
                else:
                    bad += 1
    except UnicodeDecodeError:
        raise ExportError(f"{path} is not a UTF-8 JSON Lines dump") from None
    except OSError as exc:
        raise ExportError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not records:
        raise ExportError(f"no records in {path}" + (f" ({bad} unreadable lines)" if bad else ""))
    return records, bad


# ---------------------------------------------------------------- building the tables
IDENTITY = ("id", "agency", "region", "year", "template", "title", "published", "script")
PROVENANCE = {"source_url": "url", "content_type": "content_type", "fetched_at": "fetched_at",
              "warc_file": "warc_file", "warc_offset": "warc_offset", "warc_record_id": "warc_record_id"}


def _number(value: Any) -> float | int | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _column(values: list, kind: Any) -> Any:
    """An Arrow array of one type; a value of another JSON type (a malformed dump) becomes text or null,
    so one odd line never stops the export."""
    import pyarrow as pa

    if kind == pa.string():
        values = [v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in values]
    elif kind == pa.int64():
        values = [v if isinstance(v, int) and not isinstance(v, bool) else None for v in values]
    else:
        values = [_number(v) for v in values]
    return pa.array(values, kind)


def build_tables(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The four Arrow tables (wide, long, checks, series_checks) of a list of records."""
    import pyarrow as pa
    import pyarrow.compute as pc

    findings = series_checks(records)
    findings_per_record: dict[str, int] = {}
    for f in findings:
        findings_per_record[f["record_id"]] = findings_per_record.get(f["record_id"], 0) + 1

    cells = statutory_cells()
    wide: dict[str, list] = {k: [] for k in (*IDENTITY, *PROVENANCE, "attachment_urls", "checks_failed",
                                            "check_codes", "series_findings", "warnings")}
    slot = {(c.table, c.row, c.column): i for i, c in enumerate(cells)}
    value_rows: list[list[Any]] = []   # per record, its values in the order of `cells`
    long: dict[str, list] = {k: [] for k in ("record", "table", "row", "column", "value")}   # record: its index
    checks: dict[str, list] = {k: [] for k in ("id", "agency", "year", "code", "row", "column", "expected", "found")}
    for r in records:
        source = r.get("source") if isinstance(r.get("source"), dict) else {}
        for key in IDENTITY:
            wide[key].append(r.get(key))
        for column, key in PROVENANCE.items():
            wide[column].append(source.get(key))
        wide["attachment_urls"].append(" ".join(a.get("url") or "" for a in source.get("attachments") or []
                                                if isinstance(a, dict)) or None)
        failed = [c for c in r.get("checks") or [] if isinstance(c, dict)]
        wide["checks_failed"].append(len(failed))
        wide["check_codes"].append(",".join(sorted({str(c.get("code")) for c in failed})) or None)
        wide["series_findings"].append(findings_per_record.get(r.get("id"), 0))
        wide["warnings"].append(len(r.get("warnings") or []))
        own = [(table, row, column, _number(value)) for table, row, column, value in record_cells(r)]
        row_values: list[Any] = [None] * len(cells)
        for table, row, column, value in own:
            i = slot.get((table, row, column))
            if i is not None:
                row_values[i] = value
        long["record"] += [len(value_rows)] * len(own)
        value_rows.append(row_values)
        for k, part in zip(("table", "row", "column", "value"), zip(*own) if own else ((), (), (), ())):
            long[k] += part
        for c in failed:
            for k in checks:
                checks[k].append(r.get(k) if k in ("id", "agency", "year") else c.get(k))
    values = dict(zip((c.name for c in cells), zip(*value_rows) if value_rows else [()] * len(cells)))

    string, int64, double = pa.string(), pa.int64(), pa.float64()
    wide_types = {"year": int64, "warc_offset": int64, "checks_failed": int64, "series_findings": int64,
                  "warnings": int64}
    columns = {k: _column(v, wide_types.get(k, string)) for k, v in wide.items()}
    for c in cells:
        # counts are int64; a count printed with decimals (never seen) widens its column, losing nothing
        column = pa.array(values[c.name], double)
        integral = not c.money and pc.all(pc.equal(pc.floor(column), column)).as_py() is not False
        columns[c.name] = column.cast(int64) if integral else column
    # the long table's identity columns: the wide ones (already made safe) repeated per cell
    per_cell = pa.array(long.pop("record"), int64)
    long_table = pa.table({**{k: columns[k].take(per_cell) for k in ("id", "agency", "year")},
                           **{k: pa.array(v, string) for k, v in long.items() if k != "value"},
                           "value": pa.array(long["value"], double)})
    series_types = {"year": int64, "previous_year": int64, "expected": double, "found": double}
    series_columns = ("code", "agency", "region", "year", "previous_year", "table", "row", "column",
                      "expected", "found", "record_id", "previous_record_id")
    return {
        "wide": pa.table(columns),
        "long": long_table,
        "checks": pa.table({k: _column(v, {"year": int64, "expected": double, "found": double}.get(k, string))
                            for k, v in checks.items()}),
        "series_checks": pa.table({k: _column([f[k] for f in findings], series_types.get(k, string))
                                   for k in series_columns}),
    }


# ---------------------------------------------------------------- writing
def write_atomic(path: pathlib.Path, write: Callable[[str], None]) -> None:
    """Write through a temporary file beside `path` and rename it over: never half-written."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())   # mkstemp makes 0600; the published export follows the umask
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def refuse_to_replace(source: pathlib.Path | None, target: pathlib.Path) -> None:
    """An output file must never replace the dump it is made from (a mistyped --out)."""
    if source is not None and target.is_file() and source.is_file() and os.path.samefile(source, target):
        raise ExportError(f"{target} is the dump being read; choose another --out")


def _is_duckdb_file(path: pathlib.Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(12)
    return not head or head[8:12] == b"DUCK"   # an empty file holds nothing to lose


def write_tables(tables: dict[str, Any], fmt: str, out: str | os.PathLike,
                 source: pathlib.Path | None = None) -> list[pathlib.Path]:
    """Write the tables as `fmt`; CSV and Parquet: one file per table in the folder OUT; DuckDB: one
    file OUT holding the four tables (it replaces only an earlier DuckDB file). Returns the paths
    written. Nothing replaces `source`, the dump read."""
    out = pathlib.Path(out)
    if fmt == "duckdb":
        if out.is_dir():
            raise ExportError(f"{out} is a folder; --format duckdb writes one file")
        if not out.parent.is_dir():
            raise ExportError(f"cannot write {out}: no such folder {out.parent}")
        refuse_to_replace(source, out)
        if out.is_file() and not _is_duckdb_file(out):
            raise ExportError(f"{out} exists and is not a DuckDB database; not replaced")
        write_atomic(out, lambda tmp: _write_duckdb(tables, tmp))
        return [out]
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file; --format {fmt} writes a folder of {fmt} files")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in tables:
        refuse_to_replace(source, out / f"{name}.{fmt}")
    for name, table in tables.items():
        path = out / f"{name}.{fmt}"
        write_atomic(path, lambda tmp, t=table: _write_file(t, fmt, tmp))
        written.append(path)
    return written


def _write_file(table: Any, fmt: str, path: str) -> None:
    if fmt == "csv":
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path, compression="zstd")
    else:
        raise ExportError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")


def _write_duckdb(tables: dict[str, Any], path: str) -> None:
    import duckdb

    os.unlink(path)  # duckdb opens an empty file as a corrupt database; let it create its own
    try:
        con = duckdb.connect(path)
        try:
            for name, table in tables.items():
                con.register("arrow_source", table)
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM arrow_source')
                con.unregister("arrow_source")
        finally:
            con.close()
    except duckdb.Error as exc:
        raise ExportError(f"cannot write {path}: {str(exc).splitlines()[0]}") from None
    if os.path.exists(path + ".wal"):
        os.unlink(path + ".wal")


def export(src: str | os.PathLike, fmt: str, out: str | os.PathLike) -> dict[str, Any]:
    """Read the dump at SRC, write its tables as `fmt` to OUT; a summary of what was written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    records, bad = load_dump(src)
    with no_cyclic_gc():
        tables = build_tables(records)
    try:
        paths = write_tables(tables, fmt, out, source=dump_path(src))
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
    return {"records": len(records), "unreadable_lines": bad, "paths": [str(p) for p in paths],
            **{f"{name}_rows": t.num_rows for name, t in tables.items()}}

"""`harvester export SRC --format csv|parquet|duckdb --out PATH`: the dump as flat tables
(wide, long, checks, series_checks; see harvester/export.py and the README's "For data users")."""
from __future__ import annotations

import sys
import time


def register(sub) -> None:
    from harvester.export import FORMATS

    p = sub.add_parser("export", help="the dump as flat tables: CSV, Parquet or a DuckDB file",
                       description="Write the records of a crawl folder (OUT/reports/records.jsonl) or of a "
                                   "dump file as four tables: wide (one row per agency-year, a column per "
                                   "statutory cell), long (agency, year, table, row, column, value), "
                                   "checks and series_checks (cross-year findings).")
    p.add_argument("src", metavar="SRC", help="crawl output folder or records.jsonl dump")
    p.add_argument("--format", required=True, choices=FORMATS,
                   help="csv / parquet: a folder of one file per table; duckdb: one database file")
    p.add_argument("--out", required=True, metavar="PATH", help="output folder (csv, parquet) or file (duckdb)")
    p.set_defaults(func=run)


def run(args) -> int:
    from harvester.cli import CommandError
    from harvester.export import ExportError, export

    started = time.monotonic()
    try:
        s = export(args.src, args.format, args.out)
    except ExportError as exc:
        raise CommandError(str(exc)) from None
    if s["unreadable_lines"]:
        print(f"harvester export: warning: {s['unreadable_lines']} unreadable lines skipped", file=sys.stderr)
    print(f"records {s['records']}, wide rows {s['wide_rows']}, long rows {s['long_rows']}, "
          f"failed checks {s['checks_rows']}, cross-year findings {s['series_checks_rows']}, "
          f"{time.monotonic() - started:.2f} s")
    print("\n".join(s["paths"]))
    return 0

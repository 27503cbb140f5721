"""Export and report-page time on a large synthetic dump (N records made from the corpus records: each
synthetic agency gets a six-year series 2019-2024 with the corpus record of the right template),
next to reading the same dump with json.loads (the floor) and DuckDB's own JSON → Parquet
(a tool's raw conversion), same run. Prints numbers, asserts nothing.

    .venv/bin/python benchmarks/export.py [--records 10000]
"""
from __future__ import annotations

import argparse
import copy
import json
import pathlib
import shutil
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "tests" / "fixtures" / "corpus"


def synthetic_records(n: int) -> list[dict]:
    """n records: agencies 0,1,2,… each with years 2019-2024 (2019 template up to 2020, 2021 after)."""
    from harvester.report import parse_document
    from harvester.report.record import record_id

    docs = sorted(p for p in CORPUS.glob("*/*") if not p.name.endswith((".json", ".jsonl")) and p.name != "SOURCES.md")
    parsed = [parse_document(p.read_bytes(), name=p.name) for p in docs]
    by_template = {t: [r for r in parsed if r["template"] == t and r["requests"]] for t in ("2019", "2021")}
    out = []
    for i in range(n):
        agency_no, year = divmod(i, 6)
        year += 2019
        pool = by_template["2019" if year < 2021 else "2021"]
        r = copy.deepcopy(pool[agency_no % len(pool)])
        r["agency"] = f"{r['agency'] or '某机关'}{agency_no}"
        r["year"] = year
        r["id"] = record_id(r["agency"], year, "")
        r["source"].update(url=f"http://127.0.0.2/nb/{agency_no}/{year}.html", fetched_at="2026-01-01T00:00:00Z",
                           warc_file="bench-00000.warc.gz", warc_offset=i * 1000, warc_record_id=f"<urn:uuid:{i}>")
        out.append(r)
    return out


def timed(label: str, fn) -> float:
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    print(f"{label:<44} {elapsed:8.2f} s")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import duckdb

    from harvester.export import export, load_dump
    from harvester.cli import main as cli

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        dump = tmp / "records.jsonl"
        dump.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in synthetic_records(args.records)),
                        encoding="utf-8")
        print(f"dump: {args.records} records, {dump.stat().st_size / 1e6:.1f} MB")
        # the machine is shared: every measurement runs ROUNDS times, interleaved, and the best is kept
        best: dict[str, float] = {}
        summary: dict = {}
        jobs = {
            "json.loads of every line (floor)": lambda: load_dump(dump),   # the export's own reader, nothing else
            "duckdb read_json_auto → parquet (reference)": lambda: duckdb.sql(
                f"COPY (SELECT * FROM read_json_auto('{dump}')) TO '{tmp / 'raw.parquet'}' (FORMAT parquet)"),
            **{f"harvester export --format {fmt}": (lambda fmt=fmt, target=target: summary.update(export(dump, fmt, target)))
               for fmt, target in (("parquet", tmp / "pq"), ("duckdb", tmp / "x.duckdb"), ("csv", tmp / "csv"))},
            "harvester report (HTML page)": lambda: cli(["report", str(dump), "--out", str(tmp / "r.html")]),
        }
        for _ in range(args.rounds):
            for label, job in jobs.items():
                best[label] = min(best.get(label, float("inf")), timed(label, job))
        print(f"wide rows {summary['wide_rows']}, long rows {summary['long_rows']}, "
              f"cross-year findings {summary['series_checks_rows']}, page {(tmp / 'r.html').stat().st_size / 1e6:.1f} MB")
        floor, raw = best["json.loads of every line (floor)"], best["duckdb read_json_auto → parquet (reference)"]
        print(f"best of {args.rounds}:")
        for label, seconds in best.items():
            print(f"  {label:<44} {seconds:6.2f} s   ×{seconds / floor:4.1f} floor   ×{seconds / raw:4.1f} duckdb raw")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

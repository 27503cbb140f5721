"""Replay throughput and peak memory, against the parser's own speed measured in the same run.

    .venv/bin/python benchmarks/replay.py [--pages 2000] [--scale 10] [--wget 200]

1. crawls the simulator's large portal (one ~15 MB WARC, `--pages` report pages);
2. the parser alone: the same report captures parsed in this process for a few seconds (docs/s on
   one core); the target for replay is ≥ 0.9 × that × the cores;
3. `harvester replay` of the crawl's WARC (recorded decisions, one parser process per core):
   records/s and peak memory (RSS of the replay process, and of its largest worker);
4. the same archive made `--scale` times bigger by repeating every record with new record ids
   (copies of the crawl's files): memory should stay flat;
5. foreign WARCs, replayed by the real crawl engine: the crawl's WARC with `--rerun`, and a WARC
   GNU wget wrote of `--wget` report pages (skipped when wget is missing).
Prints numbers, asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The replay process's own peak is VmHWM (/proc/self/status): ru_maxrss survives exec(), so it would
# report this benchmark's own size. Workers (forked, no exec): the largest child's ru_maxrss.
PEAK = ("import re, resource, sys; from harvester.cli import main; rc = main(sys.argv[1:]); "
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1); "
        "print('PEAK', hwm, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)")


def run_replay(args: list[str]) -> tuple[float, int, int, int, str, float]:
    """(seconds, records in the dump, peak RSS KiB of replay, of its largest child, stdout, CPU
    seconds of replay and its workers)."""
    out = pathlib.Path(args[args.index("--out") + 1])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", PEAK, "replay", "-q", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=7200)
    seconds = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode:
        raise SystemExit(f"replay failed: {proc.stderr[-2000:]}")
    peak = next(l for l in proc.stderr.splitlines() if l.startswith("PEAK")).split()
    records = sum(1 for l in (out / "reports" / "records.jsonl").open(encoding="utf-8") if l.strip())
    return seconds, records, int(peak[1]), int(peak[2]), proc.stdout, cpu


def summary_value(stdout: str, label: str) -> int:
    return int(next(l for l in stdout.splitlines() if l.startswith(label)).split()[-1])


def parser_rate(warc_dir: pathlib.Path, seconds: float) -> tuple[float, int, float]:
    """The parser alone over the crawl's report captures (as replay hands them over), one core:
    (docs/s, report captures, CPU seconds per doc)."""
    from harvester.replay import ReplayReport, _first_record_info, _is_report, _iter_file, _job, parse_job

    jobs, waiting, report = [], {}, ReplayReport()
    for path in sorted(warc_dir.glob("*.warc.gz")):
        for kind, obj in _iter_file(_first_record_info(str(path)), report):
            if kind == "capture":
                waiting[obj.record_id] = obj
                continue
            capture = waiting.pop(obj.capture_id, None)
            if _is_report(obj, capture, report) and capture.rectype == "response":
                jobs.append(_job(obj, capture, capture))
    parse_job(jobs[0])   # warm-up: imports, OpenCC dictionaries
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        for job in jobs:
            parse_job(job)
            n += 1
            if time.perf_counter() - start >= seconds:
                break
    return n / (time.perf_counter() - start), len(jobs), (time.process_time() - cpu) / n


def scaled_copy(src: list[pathlib.Path], dst: pathlib.Path, copies: int) -> int:
    """`copies` copies of every file, every record with a new record id (links kept consistent)."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.warcwriter import WARCWriter

    dst.mkdir(parents=True)
    for path in src:
        shutil.copy(path, dst / path.name)
    links = ("WARC-Record-ID", "WARC-Concurrent-To", "WARC-Refers-To", "WARC-Warcinfo-ID")
    for n in range(1, copies):
        ns = uuid.uuid5(uuid.NAMESPACE_URL, f"copy-{n}")
        for path in src:
            name = path.name.replace(".warc.gz", f"-copy{n:03d}.warc.gz")
            with open(path, "rb") as fin, open(dst / name, "wb") as fout:
                writer = WARCWriter(fout, gzip=True, warc_version="WARC/1.1")
                for record in ArchiveIterator(fin):
                    for header in links:
                        old = record.rec_headers.get_header(header)
                        if old:
                            record.rec_headers.replace_header(header, f"<urn:uuid:{uuid.uuid5(ns, old)}>")
                    if record.rec_type == "warcinfo":
                        record.rec_headers.replace_header("WARC-Filename", name)
                    writer.write_record(record)
    return sum(p.stat().st_size for p in dst.glob("*.warc.gz"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--scale", type=int, default=10, help="the bigger archive: this many copies")
    ap.add_argument("--wget", type=int, default=200, help="report pages fetched by wget for the foreign WARC")
    ap.add_argument("--parse-seconds", type=float, default=8.0)
    args = ap.parse_args()
    from harvester.registry import write_registry
    from harvester.sim import start_simulator

    cores = os.cpu_count() or 1
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-replay-"))
    sim = start_simulator(large_pages=args.pages, base_ip_start=200)
    try:
        portal = sim.portal("large")
        registry = tmp / "registry.jsonl"
        write_registry([portal.registry_row()], registry)
        crawl = tmp / "crawl"
        proc = subprocess.run([sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry),
                               "--out", str(crawl), "--loopback", "-s", "LOG_LEVEL=WARNING"],
                              cwd=ROOT, capture_output=True, text=True, timeout=3600)
        if proc.returncode:
            raise SystemExit(f"crawl failed: {proc.stderr[-2000:]}")
        wget_warc = None
        if args.wget and shutil.which("wget"):
            recs = [json.loads(l) for l in (crawl / "reports" / "records.jsonl").open(encoding="utf-8") if l.strip()]
            urls = tmp / "urls.txt"
            urls.write_text("\n".join(r["source"]["url"] for r in recs[: args.wget]) + "\n")
            (tmp / "wget").mkdir()
            subprocess.run(["wget", "--quiet", "--tries=3", "--input-file", str(urls), "--directory-prefix",
                            str(tmp / "wget-files"), "--warc-file", str(tmp / "wget" / "wget")],
                           capture_output=True, timeout=1800)
            wget_warc = tmp / "wget" / "wget.warc.gz"
    finally:
        sim.stop()
    try:
        warcs = sorted((crawl / "warc").glob("*.warc.gz"))
        nbytes = sum(p.stat().st_size for p in warcs)
        crawled = sum(1 for l in (crawl / "reports" / "records.jsonl").open(encoding="utf-8") if l.strip())
        print(f"large portal: {portal.n_lists} list pages + {portal.n_details} report pages; "
              f"{len(warcs)} WARC file(s), {nbytes / 1e6:.1f} MB; {crawled} records; {cores} cores")

        rate, n_reports, parse_cpu = parser_rate(crawl / "warc", args.parse_seconds)
        target = 0.9 * rate * cores
        print(f"parser alone, one core: {rate:.1f} docs/s over the {n_reports} report captures; "
              f"target for replay: 0.9 x {rate:.1f} x {cores} = {target:.1f} records/s")

        rows = []
        s, recs, peak, child, out, cpu = run_replay([str(crawl / "warc"), "--out", str(tmp / "r1")])
        parsed = summary_value(out, "reports replayed")
        rows.append(("our WARC, recorded decisions", nbytes, parsed, s, peak, child, recs, cpu))
        big = tmp / "big"
        big_bytes = scaled_copy(warcs, big, args.scale)
        s, recs, peak, child, out, cpu = run_replay([str(big), "--out", str(tmp / "r2")])
        rows.append((f"the same x{args.scale} (new record ids)", big_bytes, summary_value(out, "reports replayed"),
                     s, peak, child, recs, cpu))
        s, recs, peak, child, out, cpu = run_replay([str(crawl / "warc"), "--out", str(tmp / "r3"), "--rerun"])
        rows.append(("our WARC --rerun (crawl engine)", nbytes, summary_value(out, "reports replayed"),
                     s, peak, child, recs, cpu))
        if wget_warc is not None and wget_warc.exists():
            s, recs, peak, child, out, cpu = run_replay([str(wget_warc), "--out", str(tmp / "r4")])
            rows.append(("foreign: GNU wget WARC (crawl engine)", wget_warc.stat().st_size,
                         summary_value(out, "reports replayed"), s, peak, child, recs, cpu))
        # CPU per record against the parser's CPU per document: what replay spends beyond parsing,
        # whatever else the machine runs (records/s needs idle cores to mean anything)
        print(f"{'run':<40}{'MB':>8}{'parsed':>8}{'s':>8}{'rec/s':>8}{'x target':>9}{'peak MB':>9}"
              f"{'worker MB':>10}{'records':>8}{'CPU/rec':>9}")
        for name, size, parsed, s, peak, child, recs, cpu in rows:
            print(f"{name:<40}{size / 1e6:>8.1f}{parsed:>8}{s:>8.1f}{parsed / s:>8.1f}{parsed / s / target:>9.2f}"
                  f"{peak / 1024:>9.1f}{child / 1024:>10.1f}{recs:>8}{cpu / max(parsed, 1) / parse_cpu:>8.2f}x")
        print(f"CPU/rec: CPU seconds of replay and its workers per report parsed, over the parser's own "
              f"({parse_cpu * 1000:.2f} ms/doc); 1.00 = nothing spent beyond parsing")
        print(f"memory: x{args.scale} archive / x1 archive = {rows[1][4] / rows[0][4]:.2f} (replay process peak RSS)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

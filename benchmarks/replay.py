"""Replay throughput on the simulator's large portal: `harvester replay` over the WARCs of one crawl,
next to `warcio index` over the same files (reference: reading every record, no parsing), same run.
Prints numbers, asserts nothing.

    .venv/bin/python benchmarks/replay.py [--pages 2000]
"""
from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=2000)
    args = ap.parse_args()
    from harvester.registry import write_registry
    from harvester.sim import start_simulator

    sim = start_simulator(large_pages=args.pages)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-replay-"))
    try:
        portal = sim.portal("large")
        registry = tmp / "registry.jsonl"
        write_registry([portal.registry_row()], registry)
        crawl = tmp / "crawl"
        proc = subprocess.run([sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry),
                               "--out", str(crawl), "--loopback", "-s", "LOG_LEVEL=WARNING"],
                              cwd=ROOT, capture_output=True, text=True, timeout=1800)
        if proc.returncode:
            raise SystemExit(f"crawl failed: {proc.stderr[-2000:]}")
    finally:
        sim.stop()
    try:
        warcs = sorted((crawl / "warc").glob("*.warc.gz"))
        nbytes = sum(p.stat().st_size for p in warcs)
        crawled = sum(1 for l in (crawl / "reports" / "records.jsonl").open(encoding="utf-8") if l.strip())
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "harvester.cli", "replay", "-q", str(crawl / "warc"),
                               "--out", str(tmp / "replay")], cwd=ROOT, capture_output=True, text=True,
                              timeout=1800)
        replay_s = time.monotonic() - t0
        if proc.returncode:
            raise SystemExit(f"replay failed: {proc.stderr[-2000:]}")
        replayed = sum(1 for l in (tmp / "replay" / "reports" / "records.jsonl").open(encoding="utf-8")
                       if l.strip())
        warcio = shutil.which("warcio", path=str(pathlib.Path(sys.executable).parent)) or shutil.which("warcio")
        t0 = time.monotonic()
        idx = subprocess.run([warcio, "index", *map(str, warcs)], capture_output=True, text=True, timeout=1800)
        index_s = time.monotonic() - t0
        n_index = len(idx.stdout.splitlines())
        n_resp = sum(1 for l in idx.stdout.splitlines() if json.loads(l).get("warc-type") == "response")
        print(f"large portal: {portal.n_lists} list pages + {portal.n_details} details; "
              f"{len(warcs)} WARC files, {nbytes} bytes, {n_index} records ({n_resp} responses)")
        print(f"{'run':<34}{'items':>8}{'seconds':>10}{'items/s':>10}{'MB/s':>8}")
        print(f"{'harvester replay (records)':<34}{replayed:>8}{replay_s:>10.2f}{replayed / replay_s:>10.1f}"
              f"{nbytes / 1e6 / replay_s:>8.1f}")
        print(f"{'harvester replay (responses)':<34}{n_resp:>8}{replay_s:>10.2f}{n_resp / replay_s:>10.1f}"
              f"{nbytes / 1e6 / replay_s:>8.1f}")
        print(f"{'warcio index (WARC records)':<34}{n_index:>8}{index_s:>10.2f}{n_index / index_s:>10.1f}"
              f"{nbytes / 1e6 / index_s:>8.1f}")
        print(f"records: crawl {crawled}, replay {replayed}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

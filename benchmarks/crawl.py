"""Crawl throughput on the simulator's large portal: WARC capture on vs off (same run), and
`wget --mirror --warc-file` on the same site as the reference. Prints numbers, asserts nothing.

    .venv/bin/python benchmarks/crawl.py [--pages 2000]

Each harvester crawl runs `harvester crawl --loopback` in its own process (a Twisted reactor runs
once per process). wget cannot run the TRS createPageHTML script, so it is given every list page
(index.html, index_1.html, …) as input and recurses one level into the details from there.
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


def harvester_crawl(registry: pathlib.Path, out: pathlib.Path, warc: bool) -> dict:
    cmd = [sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry), "--out", str(out),
           "--loopback", "-s", "LOG_LEVEL=WARNING"] + ([] if warc else ["--no-warc"])
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if proc.returncode:
        raise SystemExit(f"crawl failed: {proc.stderr[-2000:]}")
    data = json.loads((out / "crawl-stats.json").read_text(encoding="utf-8"))
    s, stats = data["summary"], data["stats"]
    secs = float(stats.get("elapsed_time_seconds") or s["elapsed_s"])
    return {"pages": s["pages"], "reports": s["reports"], "seconds": secs, "pps": s["pages"] / secs,
            "warc_bytes": s["warc_bytes"]}


def wget_mirror(sim, portal, out: pathlib.Path) -> dict | None:
    wget = shutil.which("wget")
    if not wget:
        print("wget not installed (apt-get install wget): reference skipped")
        return None
    from harvester.sim.trs import COL
    urls = [portal.url(COL + "index.html")] + [portal.url(f"{COL}index_{i}.html") for i in range(1, portal.n_lists)]
    listfile = out / "urls.txt"
    out.mkdir(parents=True, exist_ok=True)
    listfile.write_text("\n".join(urls) + "\n")
    cmd = [wget, "--mirror", "--level=1", "--no-parent", "--quiet", "--warc-file", str(out / "wget"),
           "--no-warc-keep-log", "-P", str(out / "files"), "-i", str(listfile)]
    n0 = len(sim.request_log)
    t0 = time.monotonic()
    subprocess.run(cmd, timeout=1800)
    secs = time.monotonic() - t0
    pages = sum(1 for x in sim.request_log[n0:] if x["path"] != "/robots.txt")
    warc = sum(p.stat().st_size for p in out.glob("wget*.warc*"))
    return {"pages": pages, "seconds": secs, "pps": pages / secs, "warc_bytes": warc}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=2000)
    args = ap.parse_args()
    from harvester.sim import start_simulator

    sim = start_simulator(large_pages=args.pages)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    try:
        portal = sim.portal("large")
        from harvester.registry import write_registry
        registry = tmp / "registry.jsonl"
        write_registry([portal.registry_row()], registry)
        print(f"large portal: {portal.n_lists} list pages + {portal.n_details} details on {portal.host}")
        rows = [("harvester, WARC off", harvester_crawl(registry, tmp / "nowarc", warc=False)),
                ("harvester, WARC on", harvester_crawl(registry, tmp / "warc", warc=True))]
        ref = wget_mirror(sim, portal, tmp / "wget")
        if ref:
            rows.append(("wget --mirror --warc-file", ref))
        print(f"{'run':<28}{'pages':>8}{'seconds':>10}{'pages/s':>10}{'WARC bytes':>14}")
        for name, r in rows:
            print(f"{name:<28}{r['pages']:>8}{r['seconds']:>10.2f}{r['pps']:>10.1f}{r['warc_bytes']:>14}")
        off, on = rows[0][1], rows[1][1]
        print(f"WARC on / off throughput ratio: {on['pps'] / off['pps']:.2f}")
        if ref:
            print(f"harvester (WARC on) / wget throughput ratio: {on['pps'] / ref['pps']:.2f}")
        print(f"reports found: WARC off {off['reports']}, WARC on {on['reports']}, expected {portal.n_details}")
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

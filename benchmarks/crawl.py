"""Crawl throughput on the simulator's large portal: WARC capture on vs off (same run), and
`wget --mirror --warc-file` on the same site as the reference. Prints numbers, asserts nothing.

    .venv/bin/python benchmarks/crawl.py [--pages 2000]
    .venv/bin/python benchmarks/crawl.py --render [--pages 420]   # rendered pages/s, peak memory

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


# --- rendered pages (the browser) next to plain fetches ----------------------------------------------
def _pss(pid: int) -> int:
    """Proportional set size in bytes (shared pages divided among their users), 0 if gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree_rss(pid: int) -> int:
    """Memory of a process and all its descendants (the crawl, Playwright's driver, Chromium's
    processes), as the sum of their PSS: shared libraries are not counted once per process."""
    import os

    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += _pss(p)
        todo += children.get(p, [])
    return total


def crawl_with_peak_memory(registry: pathlib.Path, out: pathlib.Path, *extra: str) -> dict:
    """`harvester crawl --loopback --no-warc`, sampling the process tree's memory (PSS) every 0.1 s."""
    cmd = [sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry), "--out", str(out),
           "--loopback", "--no-warc", "-s", "LOG_LEVEL=WARNING", *extra]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.1)
    if proc.returncode:
        raise SystemExit(f"crawl failed: {proc.stderr.read()[-2000:]}")
    data = json.loads((out / "crawl-stats.json").read_text(encoding="utf-8"))
    stats = data["stats"]
    return {"pages": data["summary"]["pages"], "rendered": stats.get("render/pages", 0),
            "seconds": float(stats.get("elapsed_time_seconds") or data["summary"]["elapsed_s"]), "peak_rss": peak}


def render_main() -> None:
    """The large portal crawled twice in the same run: plain, then with the registry hint
    `browser` (every list page also rendered in Chromium). Rendered pages/s = rendered pages /
    the extra seconds they cost; peak memory of the whole process tree."""
    ap = argparse.ArgumentParser(description="rendered pages/s and peak memory next to plain fetches")
    ap.add_argument("--render", action="store_true")
    ap.add_argument("--pages", type=int, default=420, help="large-portal pages (1 list page per 20 details)")
    args = ap.parse_args()
    from harvester.registry import write_registry
    from harvester.sim import start_simulator

    sim = start_simulator(large_pages=args.pages)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-render-"))
    try:
        portal = sim.portal("large")
        plain_row = portal.registry_row()
        browser_row = portal.registry_row()
        browser_row["hints"]["browser"] = True
        write_registry([plain_row], tmp / "plain.jsonl")
        write_registry([browser_row], tmp / "browser.jsonl")
        # Scrapy's own handler, no browser at all: what Playwright's idle driver costs a crawl
        no_browser = crawl_with_peak_memory(tmp / "plain.jsonl", tmp / "nobrowser", "-s", "RENDER_ENABLED=False",
                                            "-s", "DOWNLOAD_HANDLERS={}")
        plain = crawl_with_peak_memory(tmp / "plain.jsonl", tmp / "plain")
        rendered = crawl_with_peak_memory(tmp / "browser.jsonl", tmp / "browser")
        extra = max(rendered["seconds"] - plain["seconds"], 1e-6)
        print(f"large portal: {portal.n_lists} list pages + {portal.n_details} details on {portal.host}")
        print(f"{'run':<34}{'pages':>7}{'rendered':>10}{'seconds':>9}{'pages/s':>9}{'peak MiB (PSS)':>16}")
        for name, r in (("plain fetches, no browser handler", no_browser), ("plain fetches", plain),
                        ("lists also rendered (hint browser)", rendered)):
            print(f"{name:<34}{r['pages']:>7}{r['rendered']:>10}{r['seconds']:>9.2f}"
                  f"{r['pages'] / r['seconds']:>9.1f}{r['peak_rss'] / 2**20:>16.0f}")
        rps = rendered["rendered"] / extra
        print(f"rendered pages/s (rendered pages / extra seconds): {rps:.2f}; "
              f"plain fetches/s: {plain['pages'] / plain['seconds']:.1f}; "
              f"ratio plain/rendered per page: {(plain['pages'] / plain['seconds']) / rps:.0f}x")
        print(f"peak memory ratio (rendered / plain): {rendered['peak_rss'] / max(plain['peak_rss'], 1):.2f}")
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    render_main() if "--render" in sys.argv else main()

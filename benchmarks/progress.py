"""Cost of the progress extension (harvester.progress). Prints numbers, asserts nothing.

    .venv/bin/python benchmarks/progress.py [--pages 1000] [--rounds 3]

1. Per page, in one process: Scrapy's signal dispatch of the four signals a report page raises
   (request_scheduled, request_left_downloader, response_received, item_scraped) with and without
   the extension connected, and one progress line over 146 portals.
2. End to end: the simulator's large portal crawled with the extension disabled and enabled (plain
   lines every second), alternating; wall time of each `harvester crawl --loopback` subprocess. With
   the extension disabled the crawl writes no run summary, so its exit status is not checked.
"""
from __future__ import annotations

import argparse
import re
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS = {
    "extension disabled": ["-s", 'EXTENSIONS={"harvester.progress.CrawlProgress": null}'],
    "extension, lines every 1 s": ["-s", "PROGRESS=lines", "-s", "PROGRESS_INTERVAL=1"],
}


def crawl(registry: pathlib.Path, out: pathlib.Path, extra: list[str]) -> tuple[float, float]:
    """(wall seconds of the subprocess, Scrapy's elapsed_time_seconds from its closing stats dump)."""
    cmd = [sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry), "--out", str(out),
           "--loopback", "-s", "LOG_LEVEL=INFO", *extra]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    wall = time.monotonic() - t0
    found = re.search(r"'elapsed_time_seconds': ([0-9.]+)", proc.stderr)
    return wall, float(found.group(1)) if found else float("nan")


def per_page(n: int = 20000) -> None:
    from scrapy import Request, signals
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from harvester.progress import CrawlProgress, PortalTally
    from harvester.registry import Portal
    from harvester.spiders.discovery import DiscoverySpider

    portals = [Portal(f"p{i}", (f"http://h{i}.gov.cn/",), (f"h{i}.gov.cn",)) for i in range(146)]
    spider = DiscoverySpider(portals=portals)
    pages = [HtmlResponse(f"http://h{i % 146}.gov.cn/{i}", body=b"x",
                          request=Request(f"http://h{i % 146}.gov.cn/{i}", meta={"portal": i % 146}))
             for i in range(n)]
    crawler = get_crawler(DiscoverySpider, {"DUMP_PATH": None})

    def dispatch() -> float:
        send = crawler.signals.send_catch_log
        t0 = time.perf_counter()
        for resp in pages:
            send(signals.request_scheduled, request=resp.request, spider=spider)
            send(signals.request_left_downloader, request=resp.request, spider=spider)
            send(signals.response_received, response=resp, request=resp.request, spider=spider)
            send(signals.item_scraped, item={"record": {"id": resp.url}}, response=resp, spider=spider)
        return (time.perf_counter() - t0) / n * 1e6

    without = dispatch()
    ext = CrawlProgress.from_crawler(crawler)     # connects its handlers, as in a crawl
    ext.mode = "off"
    ext.portals = [PortalTally(p.agency, p.entry_urls[0]) for p in portals]
    with_ext = dispatch()
    t0 = time.perf_counter()
    for _ in range(100):
        ext.progress_line()
    line_ms = (time.perf_counter() - t0) / 100 * 1e3
    print(f"signal dispatch per page: {without:.1f} us without, {with_ext:.1f} us with the extension "
          f"(+{with_ext - without:.1f} us); one progress line over 146 portals: {line_ms:.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    per_page()
    from harvester.registry import write_registry
    from harvester.sim import start_simulator

    sim = start_simulator(base_ip_start=200, large_pages=args.pages)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-progress-"))
    try:
        registry = tmp / "registry.jsonl"
        write_registry([sim.portal("large").registry_row()], registry)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
        for n in range(args.rounds):
            for name, extra in VARIANTS.items():
                out = tmp / f"{n}-{len(times[name])}-{name[:9]}"
                times[name].append(crawl(registry, out, extra))
                shutil.rmtree(out, ignore_errors=True)
        for name, runs in times.items():
            print(f"{name:<28} crawl median {statistics.median(c for _, c in runs):6.2f} s, "
                  f"wall median {statistics.median(w for w, _ in runs):6.2f} s  "
                  f"(crawl s: {', '.join(f'{c:.2f}' for _, c in runs)})")
        base, on = (statistics.median(c for _, c in runs) for runs in times.values())
        print(f"crawl time with / without the extension: {on / base:.3f}")
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

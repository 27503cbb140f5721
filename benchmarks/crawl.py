"""Crawl throughput: the harvester (discovery, WARC capture, parsing every report in the process
pool, durable dump) against a plain Scrapy spider that only fetches the same pages, in the same run,
from the same static server. Prints pages/s and ratios; asserts nothing.

    .venv/bin/python benchmarks/crawl.py [--pages 2000] [--rounds 3] [--no-nginx]
    .venv/bin/python benchmarks/crawl.py --render [--pages 420]   # rendered pages/s, peak memory

The Python simulator serves 60–100 pages/s at most, which would make both crawls measure the
simulator. So the simulator's large TRS portal (list pages + report pages) is copied to a folder
and served by nginx (Debian's nginx-light; our own config on a free loopback port, started and
stopped here). Without nginx (`--no-nginx`, or nginx missing) both crawls run against the
simulator. Each crawl runs in its own process (one Twisted reactor per process), rounds alternate
the two crawls so load from other processes hits both alike; the ratio is the median of the
per-round ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from urllib.parse import urlsplit

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NGINX_HOST = "127.0.0.250"

# The plain spider: the same settings (concurrency, robots.txt, User-Agent, Accept-Encoding), the
# same URLs, nothing done with the bodies.
FETCH_ONLY = r'''
import json, sys, time
import scrapy
from scrapy.crawler import CrawlerProcess
from harvester.crawl import crawl_settings

class FetchOnly(scrapy.Spider):
    name = "fetch_only"
    async def start(self):
        for url in json.load(open(sys.argv[1])):
            yield scrapy.Request(url, callback=self.parse)
    def parse(self, response):
        return None

s = crawl_settings(sys.argv[2], loopback=True, warc=False)
for name in ("ITEM_PIPELINES", "SPIDER_MIDDLEWARES", "EXTENSIONS"):
    s.set(name, {}, priority="cmdline")
s.set("SCHEDULER", "scrapy.core.scheduler.Scheduler", priority="cmdline")
s.set("DOWNLOADER_MIDDLEWARES", {}, priority="cmdline")
# plain Scrapy: its own resolver and download handlers (no address policy, no browser handler)
s.set("TWISTED_DNS_RESOLVER", "scrapy.resolver.CachingThreadedResolver", priority="cmdline")
s.set("DOWNLOAD_HANDLERS", {}, priority="cmdline")
s.set("LOG_LEVEL", "WARNING", priority="cmdline")
process = CrawlerProcess(s)
crawler = process.create_crawler(FetchOnly)
process.crawl(crawler)
t0 = time.monotonic()
process.start()
stats = crawler.stats.get_stats()
print(json.dumps({"pages": stats.get("downloader/response_count", 0), "seconds": time.monotonic() - t0}))
'''


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def mirror(portal, folder: pathlib.Path) -> list[str]:
    """Copy the large portal's robots.txt, list pages and report pages; return their paths."""
    from harvester.sim.trs import COL

    paths = ["/robots.txt", COL + "index.html"] + [f"{COL}index_{i}.html" for i in range(1, portal.n_lists)]
    paths += [portal.detail_path(i) for i in range(portal.n_details)]
    for path in paths:
        with urllib.request.urlopen(portal.url(path), timeout=60) as resp:
            data = resp.read()
        target = folder / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return paths


def start_nginx(docroot: pathlib.Path, work: pathlib.Path) -> tuple[subprocess.Popen, int]:
    port = free_port(NGINX_HOST)
    conf = work / "nginx.conf"
    conf.write_text(f"""
daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ text/html html; text/plain txt; }}
    default_type application/octet-stream;
    charset utf-8;
    access_log off;
    sendfile on;
    keepalive_requests 100000;
    client_body_temp_path {work}/tmp; proxy_temp_path {work}/tmp; fastcgi_temp_path {work}/tmp;
    uwsgi_temp_path {work}/tmp; scgi_temp_path {work}/tmp;
    server {{
        listen {NGINX_HOST}:{port};
        root {docroot};
    }}
}}
""")
    (work / "tmp").mkdir(exist_ok=True)
    proc = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-p", str(work)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((NGINX_HOST, port), timeout=1):
                return proc, port
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"nginx did not start: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.1)
    raise SystemExit("nginx did not start within 30 s")


def run_measured(cmd: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    """The finished process and the CPU seconds it and its descendants (parse workers) used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return proc, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def harvester_crawl(registry: pathlib.Path, out: pathlib.Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry), "--out", str(out),
           "--loopback", "-s", "LOG_LEVEL=WARNING"]
    proc, cpu = run_measured(cmd)
    if proc.returncode:
        raise SystemExit(f"crawl failed: {proc.stderr[-2000:]}")
    data = json.loads((out / "crawl-stats.json").read_text(encoding="utf-8"))
    s, stats = data["summary"], data["stats"]
    if not s["pages"]:
        raise SystemExit(f"the harvester fetched nothing: {proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    secs = float(stats.get("elapsed_time_seconds") or s["elapsed_s"])
    return {"pages": s["pages"], "records": s["records"], "seconds": secs, "pps": s["pages"] / secs,
            "warc_bytes": s["warc_bytes"], "cpu": cpu}


def fetch_only(urls: list[str], work: pathlib.Path) -> dict:
    listfile = work / "urls.json"
    listfile.write_text(json.dumps(urls))
    out = work / "fetch-only"
    shutil.rmtree(out, ignore_errors=True)
    proc, cpu = run_measured([sys.executable, "-c", FETCH_ONLY, str(listfile), str(out)])
    if proc.returncode:
        raise SystemExit(f"fetch-only spider failed: {proc.stderr[-2000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    if not r["pages"]:
        raise SystemExit(f"the fetch-only spider fetched nothing: {proc.stderr[-2000:]}")
    return {"pages": r["pages"], "seconds": r["seconds"], "pps": r["pages"] / r["seconds"], "cpu": cpu}


def parse_only(bodies: list[tuple[str, bytes]]) -> dict:
    """The parser's bound: the same report pages through the same process pool, no crawl at all."""
    from harvester.parsepool import ParsePool

    pool = ParsePool()
    try:
        pool.parse({"url": bodies[0][0], "body": bodies[0][1], "content_type": "text/html; charset=utf-8"})  # start workers
        t0 = time.monotonic()
        futures = [pool.submit({"url": url, "body": body, "content_type": "text/html; charset=utf-8"})
                   for url, body in bodies]
        for future in futures:
            future.result()
        secs = time.monotonic() - t0
    finally:
        pool.close()
    return {"docs": len(bodies), "seconds": secs, "workers": pool.workers}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-nginx", action="store_true", help="crawl the Python simulator instead")
    args = ap.parse_args()
    from harvester.registry import portal_row, write_registry
    from harvester.sim import start_simulator

    sim = start_simulator(large_pages=args.pages)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    tmp.chmod(0o755)   # nginx workers run as an unprivileged user when started by root
    nginx = None
    try:
        portal = sim.portal("large")
        row = portal.registry_row()
        base = portal.base_url.rstrip("/")
        server = "simulator"
        if not args.no_nginx and (shutil.which("nginx") or pathlib.Path("/usr/sbin/nginx").exists()):
            docroot = tmp / "site"
            paths = mirror(portal, docroot)
            nginx, port = start_nginx(docroot, tmp)
            base = f"http://{NGINX_HOST}:{port}"
            row = portal_row(agency=row["agency"], region=row.get("region"), level=row.get("level"),
                             entry_urls=[base + urlsplit(u).path for u in row["entry_urls"]],
                             allowed_hosts=[NGINX_HOST], hints=row["hints"], provenance=row.get("provenance"),
                             verified=False)
            server = f"nginx on {NGINX_HOST}:{port} (static copy)"
        else:
            from harvester.sim.trs import COL
            paths = [COL + "index.html"] + [f"{COL}index_{i}.html" for i in range(1, portal.n_lists)]
            paths += [portal.detail_path(i) for i in range(portal.n_details)]
        urls = [base + p for p in paths if p != "/robots.txt"]
        reports = [portal.detail_path(i) for i in range(portal.n_details)]
        if server == "simulator":
            bodies = [(portal.url(p), urllib.request.urlopen(portal.url(p), timeout=60).read()) for p in reports]
        else:
            bodies = [(base + p, (docroot / p.lstrip("/")).read_bytes()) for p in reports]
        registry = tmp / "registry.jsonl"
        write_registry([row], registry)
        print(f"large portal: {portal.n_lists} list pages + {portal.n_details} report pages, served by {server}")
        print(f"{'run':<46}{'pages':>7}{'records':>9}{'seconds':>9}{'pages/s':>9}{'CPU s':>8}")
        ratios, cpu_ratios, bounds, ceilings = [], [], [], []
        cores = os.cpu_count() or 1
        for n in range(1, args.rounds + 1):
            plain = fetch_only(urls, tmp)
            full = harvester_crawl(registry, tmp / "out")
            alone = parse_only(bodies)
            ratios.append(full["pps"] / plain["pps"])
            # the best the crawl can do: fetching (plain spider) or parsing (pool alone), the slower
            bounds.append(max(plain["seconds"], alone["seconds"]) / full["seconds"])
            cpu_ratios.append(full["cpu"] / plain["cpu"])
            # the CPU ceiling on this machine: fetching costs at least what the plain spider spent,
            # parsing at least what the pool alone spent (its workers busy on every core), and
            # both share the same cores; no crawl that parses can be faster than that
            parse_cpu = alone["seconds"] * alone["workers"]
            ceilings.append(plain["pages"] / ((plain["cpu"] + parse_cpu) / cores) / plain["pps"])
            print(f"{f'round {n}: plain Scrapy, fetch only':<46}{plain['pages']:>7}{'-':>9}"
                  f"{plain['seconds']:>9.2f}{plain['pps']:>9.1f}{plain['cpu']:>8.1f}")
            print(f"{f'round {n}: harvester (WARC + parse + dump)':<46}{full['pages']:>7}{full['records']:>9}"
                  f"{full['seconds']:>9.2f}{full['pps']:>9.1f}{full['cpu']:>8.1f}   ratio {ratios[-1]:.2f}")
            label = f"round {n}: parse pool alone ({alone['workers']} workers)"
            print(f"{label:<46}{alone['docs']:>7}{alone['docs']:>9}{alone['seconds']:>9.2f}"
                  f"{alone['docs'] / alone['seconds']:>9.1f}")
        print(f"harvester / plain fetch-only throughput: median {statistics.median(ratios):.2f} "
              f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
        print(f"harvester time vs its bound max(fetch only, parse alone): median {statistics.median(bounds):.2f} "
              f"(rounds: {', '.join(f'{r:.2f}' for r in bounds)})")
        print(f"ceiling on {cores} cores for any crawl that also parses (plain's fetch CPU + the pool's parse CPU, "
              f"shared): median {statistics.median(ceilings):.2f} x plain "
              f"(rounds: {', '.join(f'{r:.2f}' for r in ceilings)}); harvester / ceiling: median "
              f"{statistics.median(ratios) / statistics.median(ceilings):.2f}")
        print(f"CPU seconds of the crawl process, harvester / plain fetch-only: median "
              f"{statistics.median(cpu_ratios):.2f} (discovery, WARC, journals; parse workers not all counted)")
    finally:
        if nginx is not None:
            nginx.send_signal(signal.SIGQUIT)
            try:
                nginx.wait(timeout=30)
            except subprocess.TimeoutExpired:
                nginx.kill()
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

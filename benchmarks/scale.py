"""Politeness at scale: many simulated hosts, each with a per-host delay; does the crawl's speed come
from crawling many hosts at once while each host sees at most its limit?

    .venv/bin/python benchmarks/scale.py [--hosts 500] [--more-hosts 1000] [--delay 4] [--workers 1 2]

A light dedicated server (one asyncio process, one listening socket per host 127.0.X.Y, one port)
serves per host a 年报 column page linking 2–6 report pages (host i: 2 + i % 5). Each run is
`harvester crawl --loopback` with DOWNLOAD_DELAY = the per-host delay (no jitter, one request per
host at a time), WARC capture and parsing on. Printed per run:

* ratio = ideal / actual, where ideal = the largest host's pages × the delay (the least time a
  crawl that respects the delay can take; robots.txt not counted) and actual = from the first
  page request the server saw to one delay after the last (process start-up and the workers'
  idle wait at the end excluded; the crawl's own elapsed time is printed too);
* peak memory (Scrapy's memusage/max of each worker), at two host counts with the same number
  of reports in all (500 hosts × 2–6 reports, 1000 hosts × 1–3);
* throughput (pages/s) with 1 and 2 worker processes (2 workers share a Redis frontier that
  hands a host's next request to whichever worker asks once the host's delay has passed);
* the smallest gap between two requests to one host, as the server saw it.
Numbers vary with the machine's load: compare the runs of one invocation. Asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def host_ip(i: int) -> str:
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


def reports_of(i: int, n_hosts: int) -> int:
    """2–6 reports per host at 500 hosts (2,000 in all); as many reports in all at any host count."""
    per_500 = 2 + i % 5
    return max(1, round(per_500 * 500 / n_hosts)) if n_hosts > 500 else per_500


# --- the light server -------------------------------------------------------------------------

def _page(title: str, body: str) -> bytes:
    return (f'<html><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><h1>{title}</h1>{body}</body></html>").encode()


def route(i: int, n_hosts: int, path: str) -> tuple[int, bytes]:
    if path == "/":
        links = "".join(f'<li><a href="/nb/t{k}.html">第{i}区第{k}街道2023年政府信息公开工作年度报告</a></li>'
                        for k in range(reports_of(i, n_hosts)))
        return 200, _page("政府信息公开年报", f"<ul>{links}</ul>")
    if path.startswith("/nb/t") and path.endswith(".html"):
        k = path[5:-5]
        title = f"第{i}区第{k}街道2023年政府信息公开工作年度报告"
        return 200, _page(title, "<p>一、总体情况。本年度依法主动公开政府信息。</p>" * 20)
    return 404, _page("404", "")


async def _serve(n_hosts: int, port: int, log_path: str) -> None:
    log: list[tuple[int, float]] = []

    def handler_for(i: int):
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    line = await reader.readline()
                    if not line:
                        break
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    path = line.split()[1].decode("latin-1")
                    if path != "/robots.txt":
                        log.append((i, time.monotonic()))
                    status, body = route(i, n_hosts, path)
                    writer.write(b"HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
                                 b"Content-Length: %d\r\n\r\n" % (status, b"OK" if status == 200 else b"Not Found",
                                                                  len(body)) + body)
                    await writer.drain()
            except (ConnectionError, IndexError):
                pass
            finally:
                writer.close()
        return handle

    servers = [await asyncio.start_server(handler_for(i), host_ip(i), port, backlog=64) for i in range(n_hosts)]
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)     # until the benchmark closes our stdin
    for s in servers:
        s.close()
    pathlib.Path(log_path).write_text(json.dumps(log))


def start_server(n_hosts: int, log_path: pathlib.Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(n_hosts), str(port), str(log_path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc, port


def stop_server(proc: subprocess.Popen, log_path: pathlib.Path) -> list[tuple[int, float]]:
    proc.stdin.close()
    proc.wait(timeout=120)
    return json.loads(log_path.read_text())


# --- the runs ---------------------------------------------------------------------------------

def write_registry(path: pathlib.Path, n_hosts: int, port: int) -> None:
    from harvester.registry import portal_row, write_registry as write

    write((portal_row(agency=f"第{i}区人民政府", region="测试", level="county",
                      entry_urls=[f"http://{host_ip(i)}:{port}/"], hints={"allow_private": True})
           for i in range(n_hosts)), path)


def start_redis(folder: pathlib.Path) -> tuple[subprocess.Popen, str]:
    import redis

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(600):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    return proc, f"redis://127.0.0.1:{port}/0"


def run(n_hosts: int, delay: float, workers: int, tmp: pathlib.Path) -> dict:
    out = tmp / f"out-{n_hosts}-{workers}"
    log_path = tmp / f"log-{n_hosts}-{workers}.json"
    server, port = start_server(n_hosts, log_path)
    redis_proc = None
    try:
        registry = tmp / f"registry-{n_hosts}.jsonl"
        write_registry(registry, n_hosts, port)
        settings = ["-s", f"DOWNLOAD_DELAY={delay}", "-s", "DOWNLOAD_DELAY_JITTER=0",
                    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "CONCURRENT_REQUESTS=512",
                    "-s", "LOG_LEVEL=WARNING", "-s", "REDIS_IDLE_CLOSE=3"]
        cmd = [sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry), "--out", str(out),
               "--loopback", *settings]
        if workers > 1:
            redis_proc, url = start_redis(tmp)
            cmds = [cmd + ["--redis", url, "--crawl-id", f"bench-{n_hosts}", "--worker", f"w{w}"] for w in range(workers)]
        else:
            cmds = [cmd]
        t0 = time.monotonic()
        procs = [subprocess.Popen(c, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for c in cmds]
        for p in procs:
            _, err = p.communicate(timeout=3600)
            if p.returncode:
                raise SystemExit(f"crawl failed: {err[-2000:]}")
        wall = time.monotonic() - t0
    finally:
        log = stop_server(server, log_path)
        if redis_proc:
            redis_proc.terminate()
            redis_proc.wait()
    stats_files = [out / "crawl-stats.json"] if workers == 1 else [out / f"crawl-stats-w{w}.json" for w in range(workers)]
    stats = [json.loads(f.read_text(encoding="utf-8"))["stats"] for f in stats_files]
    per_host: dict[int, list[float]] = {}
    for i, t in log:
        per_host.setdefault(i, []).append(t)
    largest = max(len(v) for v in per_host.values())
    gaps = [b - a for ts in per_host.values() for a, b in zip(sorted(ts), sorted(ts)[1:])]
    times = [t for _, t in log]
    actual = max(times) - min(times) + delay
    elapsed = max(float(s["elapsed_time_seconds"]) for s in stats)
    ideal = largest * delay
    pages = len(log)
    records = sum(1 for line in (out / "reports" / "records.jsonl").read_text(encoding="utf-8").splitlines() if line.strip())
    return {"hosts": n_hosts, "workers": workers, "pages": pages, "records": records, "largest_host_pages": largest,
            "ideal_s": round(ideal, 1), "actual_s": round(actual, 1), "crawl_s": round(elapsed, 1),
            "wall_s": round(wall, 1),
            "ratio": round(ideal / actual, 3), "pages_per_s": round(pages / actual, 1),
            "peak_mem_mb": round(max(s.get("memusage/max", 0) for s in stats) / 2**20, 1),
            "min_gap_s": round(min(gaps), 3) if gaps else None}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        asyncio.run(_serve(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=500)
    ap.add_argument("--more-hosts", type=int, default=1000, help="second host count, for memory (0: skip)")
    ap.add_argument("--delay", type=float, default=4.0, help="per-host delay, seconds")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for w in args.workers:
            runs.append(run(args.hosts, args.delay, w, pathlib.Path(tmp)))
            print(json.dumps(runs[-1]), flush=True)
        if args.more_hosts:
            runs.append(run(args.more_hosts, args.delay, 1, pathlib.Path(tmp)))
            print(json.dumps(runs[-1]), flush=True)
    print(f"\nper-host delay {args.delay} s, one request per host at a time; ideal = largest host's pages × delay")
    print(f"{'hosts':>6} {'workers':>7} {'pages':>6} {'ideal s':>8} {'actual s':>9} {'ratio':>6} {'pages/s':>8} "
          f"{'crawl s':>8} {'peak MB':>8} {'min gap s':>9}")
    for r in runs:
        print(f"{r['hosts']:>6} {r['workers']:>7} {r['pages']:>6} {r['ideal_s']:>8} {r['actual_s']:>9} {r['ratio']:>6} "
              f"{r['pages_per_s']:>8} {r['crawl_s']:>8} {r['peak_mem_mb']:>8} {r['min_gap_s']:>9}")
    one = [r for r in runs if r["workers"] == 1]
    if len(one) == 2:
        print(f"memory at {one[1]['hosts']} vs {one[0]['hosts']} hosts: {one[1]['peak_mem_mb'] / one[0]['peak_mem_mb']:.2f}×")


if __name__ == "__main__":
    main()

"""A crawl that loses nothing, end to end against the simulator on loopback (subprocess crawls):
`kill -9` at random points then the same command gives the uninterrupted crawl's dump; a full disk
stops the crawl with one line and nothing written is damaged; a hostile slow document does not
hold up the others."""
from __future__ import annotations

import http.server
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import CRAWL_TIMEOUT, ROOT, hostile_table, run_cli_crawl, wait_for

LARGE_PAGES = 300


def crawl_cmd(registry: pathlib.Path, out: pathlib.Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry), "--out", str(out),
            "--loopback", "-s", "LOG_LEVEL=INFO", *extra]


def dump_of(out: pathlib.Path) -> dict[str, dict]:
    """The dump keyed by id, without what differs between two crawls of the same pages: fetch
    times and WARC pointers."""
    def strip(src: dict) -> dict:
        return {k: v for k, v in src.items() if k not in ("fetched_at", "warc_file", "warc_offset", "warc_record_id")}

    got = {}
    for line in (out / "reports" / "records.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        rec["source"] = strip(rec["source"])
        rec["source"]["attachments"] = [strip(a) for a in rec["source"].get("attachments") or []]
        got[rec["id"]] = rec
    return got


def journal_lines(path: pathlib.Path) -> int:
    try:
        with open(path, "rb") as fh:
            return fh.read().count(b"\n")
    except FileNotFoundError:
        return 0


def fetched_urls(log: list[dict]) -> set[tuple[str, str]]:
    """What the crawl itself fetched: not robots.txt, not the browser's own loads of a rendered page
    and its sub-resources (Chromium sends Sec-Fetch-* headers; Scrapy does not)."""
    return {(e["host"], e["path"]) for e in log
            if e["path"] != "/robots.txt" and not any(h.lower().startswith("sec-fetch-") for h in e["headers"])}


def journal_requests(path: pathlib.Path) -> tuple[dict[str, tuple[str, str]], set[str]]:
    """The frontier journal as {id: (host, path)} of accepted requests and the ids finished."""
    import base64
    import pickle
    import zlib
    from urllib.parse import urlsplit

    accepted, done = {}, set()
    for line in path.read_bytes().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue   # the line the kill cut
        if "req" in entry:
            url = urlsplit(pickle.loads(zlib.decompress(base64.b64decode(entry["req"])))["url"])
            accepted[entry["id"]] = (url.hostname, url.path + (f"?{url.query}" if url.query else ""))
        elif entry.get("done"):
            done.add(entry["id"])
    return accepted, done


def unfinished_urls(path: pathlib.Path) -> dict[str, set] | None:
    if not path.exists():   # the crawl finished before the kill
        return None
    accepted, done = journal_requests(path)
    return {"all": set(accepted.values()), "unfinished": {u for i, u in accepted.items() if i not in done}}


def check_refetches(log: list[dict], before: set, unfinished: dict[str, set] | None) -> set:
    """URLs this run fetched again that the frontier knew; each must have been unfinished at the
    kill. (A browser's sub-resources are not the frontier's, so not counted.)"""
    if unfinished is None:
        return set()
    again = (fetched_urls(log) & before) & unfinished["all"]
    assert again <= unfinished["unfinished"], sorted(again - unfinished["unfinished"])[:5]
    return again


@pytest.fixture(scope="module")
def sim_large(tmp_path_factory):
    from harvester.registry import write_registry
    from harvester.sim import start_simulator

    sim = start_simulator(base_ip_start=20, large_pages=LARGE_PAGES, slow_seconds=1.0)
    tmp = tmp_path_factory.mktemp("resume")
    registry = tmp / "registry.jsonl"
    write_registry(sim.registry_rows(), registry)   # the large portal included
    try:
        yield sim, registry, tmp
    finally:
        sim.stop()


@pytest.mark.slow
def test_kill_9_at_random_points_then_the_same_command_gives_the_same_dump(sim_large):
    sim, registry, tmp = sim_large
    ref = tmp / "uninterrupted"
    sim.clear_log()
    sim.reset_flaky()
    proc = run_cli_crawl(registry, ref)
    assert proc.returncode == 0, proc.stderr[-3000:]
    want, ref_pages = dump_of(ref), fetched_urls(sim.request_log)
    assert len(want) >= 12 + LARGE_PAGES * 0.9
    assert not (ref / "job").exists()                     # a finished crawl leaves no job behind

    out = tmp / "killed"
    rng = random.Random(int(os.environ.get("RESUME_SEED", "0")) or time.time_ns())
    sim.clear_log()
    sim.reset_flaky()
    kills, refetched, fetched_before, unfinished = 0, set(), set(), None
    # the frontier journal: two lines per page (accepted, finished); kill across the whole crawl
    for lo, hi in ((10, 150), (150, 400), (400, 600)):
        point = rng.randint(lo, hi)
        start = len(sim.request_log)
        crawler = subprocess.Popen(crawl_cmd(registry, out), cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: crawler.poll() is not None or journal_lines(out / "job" / "frontier.jsonl") >= point,
                     cap=CRAWL_TIMEOUT, what=f"{point} frontier lines")
        finally:
            if crawler.poll() is None:
                crawler.send_signal(signal.SIGKILL)
                kills += 1
            crawler.wait(timeout=60)
        refetched |= check_refetches(sim.request_log[start:], fetched_before, unfinished)
        fetched_before |= fetched_urls(sim.request_log[start:])
        unfinished = unfinished_urls(out / "job" / "frontier.jsonl")
    assert kills >= 2, "the crawl finished before it could be killed: raise LARGE_PAGES"
    start = len(sim.request_log)
    proc = run_cli_crawl(registry, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resumed: requests seen before" in proc.stdout
    stats = json.loads((out / "crawl-stats.json").read_text(encoding="utf-8"))["stats"]
    assert "frontier/unserializable" not in stats   # every request pickled into the journal
    refetched |= check_refetches(sim.request_log[start:], fetched_before, unfinished)
    got = dump_of(out)

    assert sorted(got) == sorted(want)
    for rid in want:
        assert got[rid] == want[rid], rid
    # fetched again: only requests the frontier had not finished when the crawl was killed (in the
    # downloader, or fetched and waiting for the parse pool: checked per kill above), never the
    # crawl from the start
    assert len(refetched) < len(ref_pages) / 2, (len(refetched), len(ref_pages))
    assert not (out / "job").exists()
    assert not list((out / "reports").glob("*.journal")) and not (out / "state.jsonl.journal").exists()

    # every WARC is valid: the killed runs' `.open` files were recovered when the next run started
    warcs = sorted((out / "warc").glob("*.warc.gz"))
    assert warcs and not list((out / "warc").glob("*.open"))
    check = subprocess.run([str(pathlib.Path(sys.executable).parent / "warcio"), "check", *map(str, warcs)],
                           capture_output=True, text=True, timeout=CRAWL_TIMEOUT)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]


def mount_tmpfs(path: pathlib.Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    return proc.returncode == 0


def test_disk_full_stops_the_crawl_with_one_line_and_damages_nothing(sim_large):
    sim, registry, tmp = sim_large
    disk = tmp / "small-disk"
    if not mount_tmpfs(disk, "1m"):
        pytest.skip("cannot mount a tmpfs here (needs root and mount rights)")
    try:
        out = disk / "out"
        t0 = time.monotonic()
        proc = run_cli_crawl(registry, out)
        took = time.monotonic() - t0
        assert proc.returncode == 2, proc.stderr[-3000:]
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith("harvester crawl: output failed, crawl stopped:") and "No space left" in last
        assert "Traceback" not in proc.stderr, proc.stderr[proc.stderr.find("Traceback") - 1500:][:6000]
        assert "OUTPUT FAILED" in proc.stdout
        # stopped promptly: far from every page of the portal
        assert took < CRAWL_TIMEOUT
        pages = int(next(line.split()[-1] for line in proc.stdout.splitlines() if line.strip().startswith("pages fetched")))
        assert pages < LARGE_PAGES / 2
        # nothing already written is damaged: every line of every JSONL file reads back
        for path in list(out.rglob("*.jsonl")) + list(out.rglob("*.journal")):
            data = path.read_bytes()
            body = data if data.endswith(b"\n") else data.rsplit(b"\n", 1)[0]   # a cut tail is dropped on reading
            for line in body.decode("utf-8").splitlines():
                json.loads(line)
        # and the crawl resumes once there is room again
        roomy = tmp / "after-full"
        subprocess.run(["cp", "-a", str(out), str(roomy)], check=True)
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
    proc = run_cli_crawl(registry, roomy)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(dump_of(roomy)) >= 12 + LARGE_PAGES * 0.9


# --- a hostile slow document among normal ones -----------------------------------------------------
HOSTILE_ROWS = 30000   # a 26 MB table: ≈ 2.8 s of parsing on an idle core (killed at the 1 s limit)


class HostileServer(http.server.ThreadingHTTPServer):
    daemon_threads = True


def hostile_server(host: str):
    body = hostile_table(HOSTILE_ROWS)
    served: list[float] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/nianbao/hostile.html":
                served.append(time.time())
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:   # the portal's home page: nothing to follow
                page = b"<html><head><title>home</title></head><body>home</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

    server = HostileServer((host, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, served


def test_a_hostile_slow_document_does_not_hold_up_the_others(tmp_path):
    from harvester.registry import portal_row, write_registry
    from harvester.sim import start_simulator

    timeout = 1.0
    sim = start_simulator(base_ip_start=40)
    server, served = hostile_server("127.0.0.39")
    try:
        home = f"http://127.0.0.39:{server.server_address[1]}/"
        url = home + "nianbao/hostile.html"
        hostile = portal_row(agency="测试县人民政府", region="测试", level="county-district", entry_urls=[home],
                             allowed_hosts=["127.0.0.39"],
                             hints={"allow_private": True, "known_report_urls": [url]},
                             provenance={"source": "tests", "evidence": "hostile document", "seen_year": None},
                             verified=False)
        registry = tmp_path / "registry.jsonl"
        # HTML reports only: a PDF may take seconds to parse on a busy machine, an HTML report ms
        html_rows = [r for r in sim.registry_rows() if "'attachments'" not in r["hints"]["notes"]]
        write_registry([hostile] + html_rows, registry)
        proc = run_cli_crawl(registry, tmp_path / "out", "-s", f"PARSE_TIMEOUT={timeout}")
        assert proc.returncode == 0, proc.stderr[-3000:]
        records = list(dump_of(tmp_path / "out").values())
        limited = [r for r in records if any("time limit" in w for w in r["warnings"])]
        assert [r["source"]["url"] for r in limited] == [url]
        assert limited[0]["warnings"][-1].startswith("not parsed: time limit of 1 s exceeded")
        # every normal report was parsed (the pool survived the killed worker)
        expected = [e for e in sim.expected_reports(include_large=False) if e["portal"] != "attachments"]
        parsed = {r["source"]["url"] for r in records if r["requests"] is not None}
        assert {e["url"] for e in expected} <= parsed
        assert len(records) == len({(e["agency"], e["year"]) for e in expected}) + 1
        assert len(served) == 1                      # fetched once, its limit did not cost a retry
        stats = json.loads((tmp_path / "out" / "crawl-stats.json").read_text(encoding="utf-8"))
        assert stats["summary"]["parse_limits"] == 1
    finally:
        server.shutdown()
        sim.stop()

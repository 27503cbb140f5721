"""Scale-out on a real Redis: two worker processes share one frontier and duplicate filter
(scrapy-redis against Scrapy 2.19); every report is captured exactly once, no URL is fetched
twice, each worker writes its own WARCs, and the dumps merge into one line per agency-year."""
from __future__ import annotations

import collections
import json
import pathlib
import shutil
import socket
import subprocess
import sys
import time

import pytest

from conftest import CRAWL_TIMEOUT, ROOT

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server not installed (tools/system-deps.sh)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A private redis-server on loopback: no persistence, its own folder, stopped at the end."""
    import redis

    folder = tmp_path_factory.mktemp("redis")
    port = _free_port()
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 60
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=60)


def _worker(registry, out, redis_url, worker, *extra):
    return subprocess.Popen([sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry), "--out", str(out),
                             "--loopback", "--redis", redis_url, "--crawl-id", "test-crawl", "--worker", worker,
                             "-s", "REDIS_IDLE_CLOSE=4", *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory, redis_url):
    from harvester.sim import start_simulator

    tmp = tmp_path_factory.mktemp("workers")
    sim = start_simulator(large_pages=200, slow_seconds=0.5)
    try:
        registry = tmp / "registry.jsonl"
        sim.write_registry(registry)
        out = tmp / "out"
        # a worker takes every request its concurrency allows and an idle one polls the shared
        # frontier on Scrapy's 5 s engine heartbeat, so with 13 hosts one unbounded worker could
        # take all of them; 4 requests each make the second worker's share certain
        procs = {w: _worker(registry, out, redis_url, w, "-s", "CONCURRENT_REQUESTS=4") for w in ("w1", "w2")}
        results = {w: p.communicate(timeout=CRAWL_TIMEOUT) for w, p in procs.items()}
        for w, p in procs.items():
            assert p.returncode == 0, (w, results[w][1][-3000:])
        yield {"out": out, "log": list(sim.request_log), "expected": sim.expected_reports(),
               "stats": {w: json.loads((out / f"crawl-stats-{w}.json").read_text(encoding="utf-8")) for w in procs}}
    finally:
        sim.stop()


def _records(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_both_workers_took_part(two_workers):
    for w, s in two_workers["stats"].items():
        assert s["stats"].get("scheduler/dequeued/redis", 0) > 0, w
        assert s["summary"]["pages"] > 0, w


def test_a_worker_that_finds_the_frontier_taken_is_not_a_failure(two_workers, redis_url):
    """A worker joining when the others have taken every request fetches nothing: its run is ok
    (exit 0), not "no page could be fetched", and the merged dump is unchanged."""
    out = two_workers["out"]
    before = _records(out / "reports" / "records.jsonl")
    proc = _worker(out.parent / "registry.jsonl", out, redis_url, "late")
    stdout, stderr = proc.communicate(timeout=CRAWL_TIMEOUT)
    assert proc.returncode == 0, stderr[-3000:]
    summary = json.loads((out / "run-summary-late.json").read_text(encoding="utf-8"))
    assert summary["pages"] == 0 and summary["status"] == "ok" and "other workers" in summary["note"]
    assert _records(out / "reports" / "records.jsonl") == before


def test_every_report_captured_exactly_once(two_workers):
    out = two_workers["out"]
    merged = _records(out / "reports" / "records.jsonl")
    ids = [r["id"] for r in merged]
    assert len(ids) == len(set(ids))
    exp = two_workers["expected"]
    twins = {t: e["url"] for e in exp for t in e.get("twins", [])}
    urls = [twins.get(r["source"]["url"], r["source"]["url"]) for r in merged]
    assert sorted(urls) == sorted(e["url"] for e in exp)
    per_worker = [_records(out / "reports" / f"records-{w}.jsonl") for w in ("w1", "w2")]
    captured = [r["source"]["url"] for part in per_worker for r in part]
    assert len(captured) == len(set(captured)) == len(exp)       # no report captured by both


def test_no_url_fetched_twice(two_workers):
    # robots.txt: each worker reads it to obey it; a page rendered in the browser is fetched once more
    # by Chromium itself (Sec-Fetch-* headers), outside the frontier, as in a one-process crawl
    log = [e for e in two_workers["log"] if e["path"] != "/robots.txt"
           and not any(h.lower().startswith("sec-fetch-") for h in e["headers"])]
    seen = collections.Counter((e["host"], e["path"]) for e in log)
    failed_first = {(e["host"], e["path"]) for e in log if e["status"] == 500}   # the simulator's 500-once page
    twice = {k: n for k, n in seen.items() if n > 1 and not (k in failed_first and n == 2)}
    assert twice == {}
    assert len(failed_first) <= 1


def test_each_worker_writes_its_own_warcs_and_index(two_workers):
    from warcio.archiveiterator import ArchiveIterator

    out = two_workers["out"]
    for w in ("w1", "w2"):
        files = list((out / "warc").glob(f"harvester-{w}-*.warc.gz"))
        assert files, w
        with open(files[0], "rb") as fh:
            assert any(r.rec_type == "response" for r in ArchiveIterator(fh))
    index = (out / "index.cdxj").read_text(encoding="utf-8").splitlines()
    parts = sum(len((out / f"index-{w}.cdxj").read_text(encoding="utf-8").splitlines()) for w in ("w1", "w2"))
    assert len(index) == parts and index == sorted(index)


def test_merge_command_is_idempotent(two_workers, capsys):
    from harvester.cli import main

    out = two_workers["out"]
    before = (out / "reports" / "records.jsonl").read_bytes()
    assert main(["merge", str(out)]) == 0
    assert "records (one per agency-year)" in capsys.readouterr().out
    assert (out / "reports" / "records.jsonl").read_bytes() == before


def test_same_worker_id_twice_is_refused(tmp_path, redis_url):
    from harvester.distributed import worker_lock
    from harvester.crawl import CrawlError

    with worker_lock(tmp_path, "w1"):
        with pytest.raises(CrawlError, match="already running"):
            with worker_lock(tmp_path, "w1"):
                pass


def test_unreachable_redis_is_one_clear_error(tmp_path):
    from harvester.sim import start_simulator

    with start_simulator() as sim:
        registry = tmp_path / "r.jsonl"
        sim.write_registry(registry)
        p = _worker(registry, tmp_path / "out", f"redis://127.0.0.1:{_free_port()}/0", "w1")
        _, err = p.communicate(timeout=CRAWL_TIMEOUT)
    assert p.returncode == 2
    assert err.strip().splitlines()[-1].startswith("harvester crawl: cannot use Redis at redis://127.0.0.1:")
    assert not (tmp_path / "out" / "warc").exists() or not list((tmp_path / "out" / "warc").iterdir())


def _wait_pop(queue, cap: float = 60.0):
    deadline = time.monotonic() + cap
    while time.monotonic() < deadline:
        request = queue.pop()
        if request is not None:
            return request
        time.sleep(0.02)
    raise AssertionError("nothing popped")


def _queue(server, key: str, worker: str = "w1"):
    """A HostPacedQueue of worker `worker`: 1 s per-host delay, no early hand-out."""
    import scrapy
    from scrapy.utils.test import get_crawler

    from harvester.distributed import HostPacedQueue

    spider = scrapy.Spider(name="t")
    spider.crawler = get_crawler(settings_dict={"FRONTIER_HOST_DELAY": 1.0, "FRONTIER_PACING_HORIZON": 0,
                                                "WORKER_ID": worker})
    queue = HostPacedQueue(server, spider, key)
    queue.hold_popped = True      # as HeldRequests sets it in a crawl
    return queue


@pytest.fixture
def frontier(redis_url, request):
    """A HostPacedQueue on the real Redis (its own keys per test)."""
    import redis

    return _queue(redis.Redis.from_url(redis_url), f"frontier-{request.node.name}:requests")


def test_frontier_one_request_per_host_per_delay(frontier):
    import scrapy

    for url in ("http://a.gov.cn/1", "http://a.gov.cn/2", "http://b.gov.cn/1"):
        frontier.push(scrapy.Request(url))
    assert len(frontier) == 3
    first, second = frontier.pop(), frontier.pop()
    assert {first.url, second.url} == {"http://a.gov.cn/1", "http://b.gov.cn/1"}   # other hosts go on
    assert frontier.pop() is None          # a.gov.cn: its request is out, not yet reported sent
    t_sent = time.monotonic()
    frontier.sent(first.url)
    frontier.sent(second.url)
    third = _wait_pop(frontier)
    assert third.url == "http://a.gov.cn/2" and time.monotonic() - t_sent >= 1.0 - 0.05
    assert len(frontier) == 0


def test_frontier_hold_keeps_every_worker_off_the_host(frontier):
    """A Retry-After seen by one worker (hold_host) holds the host for whichever worker pops next,
    and a later 'sent' of another request does not shorten the hold."""
    import scrapy

    frontier.push(scrapy.Request("http://a.gov.cn/1"))
    frontier.sent(frontier.pop().url)
    t_hold = time.monotonic()
    frontier.hold_host("http://a.gov.cn/1", 2.5)
    frontier.push(scrapy.Request("http://a.gov.cn/1", dont_filter=True))
    frontier.sent("http://a.gov.cn/other")
    assert frontier.pop() is None
    assert _wait_pop(frontier).url == "http://a.gov.cn/1"
    assert time.monotonic() - t_hold >= 2.5 - 0.05


# --- at-least-once hand-out: a killed worker loses nothing -----------------------------------------
def test_popping_holds_the_request_and_finishing_releases_it(frontier):
    """Real Redis: a pop records the request in the worker's held hash (the queue's own entry), a
    retry pushed for it takes over, finishing releases it, and a dead worker's hold goes back into
    the frontier exactly once however many workers reclaim it."""
    import scrapy
    from scrapy_redis import picklecompat

    from harvester.frontier import FinishTracker

    held = frontier.held_key(frontier.worker)
    for url in ("http://a.gov.cn/1", "http://b.gov.cn/1"):
        request = scrapy.Request(url)
        FinishTracker.assign_id(request)
        frontier.push(request)
    first, second = frontier.pop(), frontier.pop()
    entries = {k.decode(): picklecompat.loads(v) for k, v in frontier.server.hgetall(held).items()}
    assert sorted(e["url"] for e in entries.values()) == ["http://a.gov.cn/1", "http://b.gov.cn/1"]
    assert frontier.holders() == {frontier.worker: 2} and len(frontier) == 0

    # the duplicate filter is checked and filled in the same step as the push
    assert frontier.push(scrapy.Request("http://c.gov.cn/1"), "seen-" + held, "fp-c1")
    assert not frontier.push(scrapy.Request("http://c.gov.cn/1"), "seen-" + held, "fp-c1")
    third = frontier.pop()
    assert third.url == "http://c.gov.cn/1" and len(frontier) == 0 and frontier.server.hlen(held) == 3
    assert frontier.release(FinishTracker.key(third)) and frontier.server.hlen(held) == 2
    retry = first.replace(dont_filter=True)        # a retry carries its original's id (meta is copied)
    frontier.push(retry)
    assert frontier.server.hlen(held) == 1 and len(frontier) == 1   # the retry replaced the hold
    assert frontier.release(FinishTracker.key(second)) and frontier.server.hlen(held) == 0
    assert not frontier.release(FinishTracker.key(second))          # finished once

    frontier.sent(first.url)
    again = _wait_pop(frontier)
    assert again.url == "http://a.gov.cn/1" and frontier.server.hlen(held) == 1
    # this worker dies before sending it: two others reclaim its hold at the same time; it is queued
    # once, and its host waits a delay (1 s), not the rest of the lease (60 s) it would never end
    others = [_queue(frontier.server, frontier.key, worker) for worker in ("w2", "w3")]
    assert not others[0].is_alive(frontier.worker)
    assert sum(q.requeue_held(frontier.worker) for q in others) == 1
    assert frontier.server.hlen(held) == 0 and len(frontier) == 1
    t_requeued = time.monotonic()
    assert _wait_pop(others[0], cap=30).url == "http://a.gov.cn/1" and others[0].holders() == {"w2": 1}
    assert time.monotonic() - t_requeued >= 1.0 - 0.05


def _held(redis_url: str, crawl_id: str, worker: str) -> dict[str, str]:
    """What `worker` holds: hold → URL."""
    import redis
    from scrapy_redis import picklecompat

    client = redis.Redis.from_url(redis_url)
    return {k.decode(): picklecompat.loads(v)["url"] for k, v in client.hgetall(f"{crawl_id}:held:{worker}").items()}


def _log_key(url: str) -> tuple[str, str]:
    from urllib.parse import urlsplit

    u = urlsplit(url)
    return u.hostname, u.path + (f"?{u.query}" if u.query else "")


def _kill_holding(proc, redis_url, crawl_id, worker, journal, min_records: int) -> dict[str, str]:
    """SIGKILL `proc` at a moment it holds requests and has dumped `min_records` reports: it is
    stopped (SIGSTOP) while looked at, so what is seen is what it held when killed."""
    import signal

    from conftest import wait_for
    from test_resume import journal_lines

    seen: dict[str, str] = {}

    def holding_now() -> bool:
        if proc.poll() is not None:
            raise AssertionError("the worker finished before it could be killed: raise large_pages")
        if journal_lines(journal) < min_records or not _held(redis_url, crawl_id, worker):
            return False
        proc.send_signal(signal.SIGSTOP)
        seen.update(_held(redis_url, crawl_id, worker))
        if seen:
            proc.send_signal(signal.SIGKILL)
            return True
        proc.send_signal(signal.SIGCONT)
        return False

    wait_for(holding_now, cap=CRAWL_TIMEOUT, what=f"{worker} holding requests after {min_records} reports")
    proc.wait(timeout=60)
    return seen


@pytest.fixture(scope="module")
def killed_workers(tmp_path_factory, redis_url):
    """The simulator crawled three ways: uninterrupted (one worker); worker k1 killed with kill -9
    while it holds requests, then the same command again; worker k2 killed and never back, worker
    k3 started instead (k2's liveness key lasts REDIS_WORKER_TTL=6 s after the kill; k3 looks for
    dead workers every 6/3 s)."""
    from harvester.sim import start_simulator

    tmp = tmp_path_factory.mktemp("killed")
    sim = start_simulator(base_ip_start=40, large_pages=300, slow_seconds=0.5)
    registry = tmp / "registry.jsonl"
    sim.write_registry(registry)

    def crawl(crawl_id: str, worker: str, *extra: str):
        with open(tmp / f"{crawl_id}-{worker}.log", "a") as log:
            return subprocess.Popen([sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry),
                                     "--out", str(tmp / crawl_id), "--loopback", "--redis", redis_url,
                                     "--crawl-id", crawl_id, "--worker", worker, "-s", "REDIS_IDLE_CLOSE=4", *extra],
                                    cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)

    def finish(proc, crawl_id: str, worker: str) -> dict:
        proc.wait(timeout=CRAWL_TIMEOUT)
        assert proc.returncode == 0, (tmp / f"{crawl_id}-{worker}.log").read_text(encoding="utf-8")[-3000:]
        return json.loads((tmp / crawl_id / f"crawl-stats-{worker}.json").read_text(encoding="utf-8"))["stats"]

    runs: dict[str, dict] = {}
    try:
        t0 = time.monotonic()
        stats = finish(crawl("resume-ref", "r1"), "resume-ref", "r1")
        runs["ref"] = {"out": tmp / "resume-ref", "stats": stats, "seconds": time.monotonic() - t0}
        for crawl_id, killed, again in (("resume-same", "k1", "k1"), ("resume-other", "k2", "k3")):
            sim.clear_log()
            sim.reset_flaky()
            t0 = time.monotonic()
            proc = crawl(crawl_id, killed, "-s", "REDIS_WORKER_TTL=6")
            journal = tmp / crawl_id / "reports" / f"records-{killed}.jsonl.journal"
            held = _kill_holding(proc, redis_url, crawl_id, killed, journal, 40)
            run = {"out": tmp / crawl_id, "held": held, "before": list(sim.request_log),
                   "killed_after_s": time.monotonic() - t0}
            sim.clear_log()
            t0 = time.monotonic()
            run["stats"] = finish(crawl(crawl_id, again, "-s", "REDIS_WORKER_TTL=6"), crawl_id, again)
            run["after_s"] = time.monotonic() - t0
            run["after"] = list(sim.request_log)
            run["held_at_end"] = {w: _held(redis_url, crawl_id, w) for w in (killed, again)}
            runs[crawl_id.removeprefix("resume-")] = run
        yield {"runs": runs, "expected": sim.expected_reports()}
    finally:
        sim.stop()


def _refetched(run: dict) -> set[tuple[str, str]]:
    """What the crawl after the kill fetched again that the killed worker had fetched (its retry of
    the simulator's 500-once page is not a second fetch)."""
    from test_resume import fetched_urls

    retried = {(e["host"], e["path"]) for e in run["before"] if e["status"] == 500}
    return (fetched_urls(run["after"]) & fetched_urls(run["before"])) - retried


@pytest.mark.slow
@pytest.mark.parametrize("case", ["same", "other"])
def test_a_killed_worker_loses_nothing(killed_workers, case):
    """kill -9 while holding requests, then the same command again ("same") or another worker
    ("other", once the dead one's liveness key expired): the merged dump is the uninterrupted
    crawl's, every report once; only requests held at the kill are fetched again; every WARC is
    valid; nothing is left held."""
    from test_resume import dump_of

    run, ref = killed_workers["runs"][case], killed_workers["runs"]["ref"]
    held = run["held"]
    assert held, "killed while holding nothing"
    got, want = dump_of(run["out"]), dump_of(ref["out"])
    assert sorted(got) == sorted(want)
    for rid in want:
        assert got[rid] == want[rid], rid
    expected = killed_workers["expected"]
    twins = {t: e["url"] for e in expected for t in e.get("twins", [])}
    urls = [twins.get(r["source"]["url"], r["source"]["url"]) for r in _records(run["out"] / "reports" / "records.jsonl")]
    assert sorted(urls) == sorted(e["url"] for e in expected)          # every report, once

    refetched = _refetched(run)
    assert refetched <= {_log_key(url) for url in held.values()}, sorted(refetched)[:5]
    assert len(refetched) <= len(held)
    stat = "frontier/restored" if case == "same" else "frontier/reclaimed"
    assert run["stats"].get(stat) == len(held), (stat, run["stats"].get(stat), len(held))
    for stats in (run["stats"], ref["stats"]):
        assert "frontier/held_stale" not in stats     # every request handed out was seen finished
    assert run["held_at_end"] == {run_w: {} for run_w in run["held_at_end"]}
    print(f"\nMEASURE {case}: killed after {run['killed_after_s']:.1f} s holding {len(held)} request(s); "
          f"{len(refetched)} fetched again; crawl after the kill {run['after_s']:.1f} s; "
          f"uninterrupted crawl {ref['seconds']:.1f} s")

    warcs = sorted((run["out"] / "warc").glob("*.warc.gz"))
    assert warcs and not list((run["out"] / "warc").glob("*.open"))   # the killed one's was recovered
    check = subprocess.run([str(pathlib.Path(sys.executable).parent / "warcio"), "check", *map(str, warcs)],
                           capture_output=True, text=True, timeout=CRAWL_TIMEOUT)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]

"""Scale-out on a real Redis: two worker processes share one frontier and duplicate filter
(scrapy-redis against Scrapy 2.19); every report is captured exactly once, no URL is fetched
twice, each worker writes its own WARCs, and the dumps merge into one line per agency-year."""
from __future__ import annotations

import collections
import json
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
        procs = {w: _worker(registry, out, redis_url, w) for w in ("w1", "w2")}
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
    return HostPacedQueue(server, spider, key)


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

    retry = first.replace(dont_filter=True)        # a retry carries its original's id (meta is copied)
    frontier.push(retry)
    assert frontier.server.hlen(held) == 1 and len(frontier) == 1   # the retry replaced the hold
    assert frontier.release(FinishTracker.key(second)) and frontier.server.hlen(held) == 0
    assert not frontier.release(FinishTracker.key(second))          # finished once

    frontier.sent(first.url)
    again = _wait_pop(frontier)
    assert again.url == "http://a.gov.cn/1" and frontier.server.hlen(held) == 1
    frontier.sent(again.url)
    # this worker dies (its request went out, no answer handled): two others reclaim its hold at the same time; it is queued once
    others = [_queue(frontier.server, frontier.key, worker) for worker in ("w2", "w3")]
    assert not others[0].is_alive(frontier.worker)
    assert sum(q.requeue_held(frontier.worker) for q in others) == 1
    assert frontier.server.hlen(held) == 0 and len(frontier) == 1
    assert _wait_pop(others[0]).url == "http://a.gov.cn/1" and others[0].holders() == {"w2": 1}

"""One URL must not decide the crawl's length: a Retry-After makes that *host* wait while the other
hosts go on, and a Retry-After past RETRY_AFTER_MAX gives the URL up at once (counted)."""
from __future__ import annotations

import json
import subprocess
import sys
import time

from loopserver import LoopServer

from conftest import CRAWL_TIMEOUT, ROOT

SPIDER = """
import json, sys
import scrapy
from scrapy.crawler import CrawlerProcess
from harvester.crawl import crawl_settings

urls, overrides = json.loads(sys.argv[2]), json.loads(sys.argv[3])

class Fetch(scrapy.Spider):
    name = "fetch"
    scope = {"127.0.0.2": (0, True), "127.0.0.3": (0, True)}    # host -> (portal, allow_private)
    async def start(self):
        for u in urls:
            yield scrapy.Request(u, errback=self.failed)
    def parse(self, response):
        self.crawler.stats.inc_value("test/ok")
    def failed(self, failure):
        self.crawler.stats.inc_value("test/failed")

s = crawl_settings(sys.argv[1], loopback=True, warc=False, overrides=overrides)
s.set("ITEM_PIPELINES", {}, priority="cmdline")
p = CrawlerProcess(s)
c = p.create_crawler(Fetch)
p.crawl(c)
p.start()
print(json.dumps(c.stats.get_stats(), default=str))
"""


def crawl(tmp_path, urls, **overrides) -> tuple[dict, float]:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", SPIDER, str(tmp_path / "out"), json.dumps(urls), json.dumps(overrides)],
                          cwd=ROOT, capture_output=True, text=True, timeout=CRAWL_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), time.monotonic() - t0


def slow_pages(path):
    if path == "/robots.txt":
        return 404, {}, b""
    time.sleep(0.2)
    return 200, {}, b"<html>ok</html>"


def test_retry_after_holds_only_that_host(tmp_path):
    wait = 3
    served = []

    def throttled(path):
        if path == "/robots.txt":
            return 404, {}, b""
        served.append(path)
        if len(served) == 1:
            return 429, {"Retry-After": str(wait)}, b"<html>429 Too Many Requests</html>"
        return 200, {}, b"<html>ok</html>"

    with LoopServer(throttled, "127.0.0.2") as a, LoopServer(slow_pages, "127.0.0.3") as b:
        urls = [f"http://127.0.0.2:{a.port}/report.html"] + [f"http://127.0.0.3:{b.port}/p{i}" for i in range(30)]
        stats, _ = crawl(tmp_path, urls, CONCURRENT_REQUESTS_PER_DOMAIN=1)
        (t429, _, s1), (t_retry, _, s2) = [e for e in a.log if e[1] == "/report.html"]
        b_times = [t for t, p, _ in b.log if p != "/robots.txt"]
    assert (s1, s2) == (429, 200)
    assert t_retry - t429 >= wait                       # the host waited as told
    assert any(t429 < t < t429 + wait for t in b_times)  # … while the other host went on
    assert stats["test/ok"] == 31 and "test/failed" not in stats
    assert stats["retry/count"] == 1


def test_retry_after_past_the_cap_gives_the_url_up(tmp_path):
    def day(path):
        if path == "/robots.txt":
            return 404, {}, b""
        return 429, {"Retry-After": "86400"}, b"<html>429 Too Many Requests</html>"

    with LoopServer(day, "127.0.0.2") as a, LoopServer(slow_pages, "127.0.0.3") as b:
        urls = [f"http://127.0.0.2:{a.port}/report.html"] + [f"http://127.0.0.3:{b.port}/p{i}" for i in range(5)]
        stats, elapsed = crawl(tmp_path, urls, RETRY_AFTER_MAX=30)
        assert a.paths().count("/report.html") == 1        # asked once, not retried
    assert stats["retry/retry_after_exceeded"] == 1
    assert stats["test/failed"] == 1 and stats["test/ok"] == 5
    assert "retry/count" not in stats
    assert elapsed < 30 * 3     # the old behaviour held the crawl for 3 capped waits (180 s)

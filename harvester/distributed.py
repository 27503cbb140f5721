"""Scale-out: any number of worker processes, on any number of machines, join one crawl in Redis.

    harvester crawl --redis redis://host:6379/0 --crawl-id nb-2026 --worker w1 --out OUT

* The frontier (request queue) and the duplicate filter live in Redis (scrapy-redis scheduler and
  dupe filter, keys ``{crawl-id}:requests`` / ``{crawl-id}:dupefilter``), so a URL is fetched by
  one worker once, whichever worker found it. Every worker runs the spider's `start()`: the
  entry URLs a second worker yields are duplicates and are dropped. The keys persist
  (SCHEDULER_PERSIST): a killed worker's frontier is still there, and running the same command
  again resumes; a new crawl takes a new ``--crawl-id``.
* Each worker writes its own files into OUT, named by its id: WARCs ``harvester-{worker}-…``,
  ``index-{worker}.cdxj``, ``reports/records-{worker}.jsonl``, ``state-{worker}.jsonl``,
  ``crawl-stats-{worker}.json``; so workers on one machine may share OUT, and folders from
  several machines can be copied into one.
* `merge_outputs(OUT)` (run by every worker when it finishes, under a lock, and by
  ``harvester merge OUT``) writes ``reports/records.jsonl`` with one line per agency-year (the
  richer record wins, as within one crawl) and ``index.cdxj`` from all the workers' files.
* `SharedFrontierIdle` keeps an idle worker alive while another worker is still busy (it may
  still add requests to the shared frontier); every worker stops once all have been idle for
  REDIS_IDLE_CLOSE seconds and the frontier is empty.

Politeness across workers: the frontier is one queue per host (`HostPacedQueue`), and a host's
next request is handed out only once DOWNLOAD_DELAY has passed since any worker took the last one
(decided in Redis, on Redis' clock), so a host sees one request per delay however many workers
crawl it; each worker's own per-host slot limits still apply on top.
"""
from __future__ import annotations

import fcntl
import logging
import os
import pathlib
import re
import time
from contextlib import contextmanager
from typing import Any, Iterator

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured

from harvester.jsonl import read_jsonl

logger = logging.getLogger(__name__)

WORKER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
CRAWL_ID = WORKER_ID


def check_id(value: str, what: str) -> str:
    if not WORKER_ID.fullmatch(value or ""):
        raise ValueError(f"{what} must be 1-64 letters, digits, '.', '_' or '-' (got {value!r})")
    return value


def worker_paths(out: pathlib.Path, worker: str) -> dict[str, str]:
    """The per-worker output files (settings name → path)."""
    return {"WARC_PREFIX": f"harvester-{worker}",
            "WARC_CDXJ_PATH": str(out / f"index-{worker}.cdxj"),
            "DUMP_PATH": str(out / "reports" / f"records-{worker}.jsonl"),
            "CRAWL_STATE_PATH": str(out / f"state-{worker}.jsonl")}


def redis_settings(redis_url: str, crawl_id: str, out: pathlib.Path, worker: str) -> dict[str, Any]:
    """Settings that make this process one worker of a shared crawl (EXTENSIONS and
    DOWNLOADER_MIDDLEWARES are additions to the project's)."""
    check_id(crawl_id, "crawl id")
    check_id(worker, "worker id")
    # Redis is this crawl's frontier: the one-process crash-safe journal (harvester.frontier, one
    # per OUT/job) would be shared by every worker writing into OUT, so it is off here
    extensions = {"harvester.distributed.SharedFrontierIdle": 500, "harvester.frontier.Frontier": None}
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_QUEUE_CLASS": "harvester.distributed.HostPacedQueue",
        "SCHEDULER_PERSIST": True,     # a finishing worker must not flush what the others still use
        "SCHEDULER_QUEUE_KEY": f"{crawl_id}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{crawl_id}:dupefilter",
        "REDIS_URL": redis_url,
        "REDIS_CRAWL_ID": crawl_id,
        "WORKER_ID": worker,
        "EXTENSIONS": extensions,
        # last before the WARC capture (950): after robots.txt and the scope check, so the wait
        # ends right before the request goes out
        "DOWNLOADER_MIDDLEWARES": {"harvester.middlewares.pacing.FrontierPacingMiddleware": 900},
        **worker_paths(out, worker),
    }


def join_shared_crawl(settings, redis_url: str, crawl_id: str, worker: str | None, out: pathlib.Path,
                      overrides: dict[str, Any] | None) -> tuple[str, Any]:
    """Make `settings` those of one worker of the shared crawl; (worker id, the worker's lock)."""
    import socket

    from harvester.crawl import CrawlError

    worker = worker or socket.gethostname()
    try:
        shared = redis_settings(redis_url, crawl_id, out.resolve(), worker)
    except ValueError as exc:
        raise CrawlError(str(exc)) from None
    check_redis(redis_url)
    for name in ("EXTENSIONS", "DOWNLOADER_MIDDLEWARES"):
        shared[name] = {**settings.getdict(name), **shared[name]}
    settings.update({k: v for k, v in shared.items() if k not in (overrides or {})}, priority="cmdline")
    # the per-host delay is kept by the shared frontier, for all workers together
    settings.set("FRONTIER_HOST_DELAY", settings.getfloat("DOWNLOAD_DELAY"), priority="cmdline")
    settings.set("DOWNLOAD_DELAY", 0, priority="cmdline")
    return worker, worker_lock(out, worker)


def check_redis(redis_url: str) -> None:
    """Fail early, in one line, when Redis cannot be reached (before Scrapy starts)."""
    import redis

    from harvester.crawl import CrawlError

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=10).ping()
    except (redis.RedisError, ValueError) as exc:
        raise CrawlError(f"cannot use Redis at {redis_url}: {exc}") from None


@contextmanager
def worker_lock(out: pathlib.Path, worker: str) -> Iterator[None]:
    """One process per worker id and output folder (two would write the same files)."""
    from harvester.crawl import CrawlError

    path = out / f".worker-{worker}.lock"
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CrawlError(f"worker {worker!r} is already running on {out} (give each worker its own --worker)") from None
        yield


# The shared frontier keeps one queue per host and hands a host's next request out only when the
# host's delay (DOWNLOAD_DELAY) has passed since the last one any worker took: the per-host limit
# holds across all workers. All in Lua, on Redis' clock, so workers on many machines agree.
#   KEYS: base  ARGV: host, priority, request  |  base:host:<h> zset (score -priority),
#   base:ready zset host → earliest next time, base:next hash host → next time of an idle host,
#   base:count total queued, base:hold hash host → until when the host asked to be left alone.
# Shared by the scripts: Redis' clock, and setting a host's next turn (in `ready` while it has
# queued requests, else in `next` for when it gets one), optionally only if later than now.
_LUA = """
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1e6
end
local function set_turn(base, host, at, only_later)
  local current = redis.call('ZSCORE', base .. ':ready', host)
  if current then
    if not only_later or tonumber(current) < at then redis.call('ZADD', base .. ':ready', at, host) end
  elseif not only_later or tonumber(redis.call('HGET', base .. ':next', host) or '0') < at then
    redis.call('HSET', base .. ':next', host, at)
  end
end
"""
_PUSH = _LUA + """
local base, host = KEYS[1], ARGV[1]
redis.call('ZADD', base .. ':host:' .. host, ARGV[2], ARGV[3])
redis.call('INCR', base .. ':count')
if not redis.call('ZSCORE', base .. ':ready', host) then
  local nxt = tonumber(redis.call('HGET', base .. ':next', host) or '0')
  redis.call('ZADD', base .. ':ready', math.max(now(), nxt), host)
end
return 1
"""
#   KEYS: base  ARGV: host, delay  — the request handed out for host went out (or was dropped)
#   now: the host's next turn is now + delay (not before a hold, below)
_SENT = _LUA + """
local base, host = KEYS[1], ARGV[1]
local hold = tonumber(redis.call('HGET', base .. ':hold', host) or '0')
set_turn(base, host, math.max(now() + tonumber(ARGV[2]), hold), false)
return 1
"""
#   KEYS: base  ARGV: host, seconds  — the host asked to wait (Retry-After, backoff): its next turn
#   is at least now + seconds, for every worker
_HOLD = _LUA + """
local base, host = KEYS[1], ARGV[1]
local until_ = now() + tonumber(ARGV[2])
if tonumber(redis.call('HGET', base .. ':hold', host) or '0') < until_ then
  redis.call('HSET', base .. ':hold', host, until_)
end
set_turn(base, host, until_, true)
return 1
"""
#   KEYS: base  ARGV: delay, horizon, lease  →  {request, seconds to wait} or nil
#   Until that request is reported sent, the host's next turn is a lease away (one request per
#   host in flight across all workers; a worker that dies holding one delays its host by the lease).
_POP = _LUA + """
local base = KEYS[1]
local delay, horizon, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local first = redis.call('ZRANGE', base .. ':ready', 0, 0, 'WITHSCORES')
if #first == 0 then return nil end
local host, at = first[1], tonumber(first[2])
local t_now = now()
if at > t_now + horizon then return nil end
local q = base .. ':host:' .. host
local item = redis.call('ZRANGE', q, 0, 0)
if #item == 0 then
  redis.call('ZREM', base .. ':ready', host)
  return nil
end
redis.call('ZREMRANGEBYRANK', q, 0, 0)
redis.call('DECR', base .. ':count')
local start = math.max(at, t_now)
if redis.call('ZCARD', q) == 0 then
  redis.call('ZREM', base .. ':ready', host)
  redis.call('HSET', base .. ':next', host, start + delay + lease)
else
  redis.call('ZADD', base .. ':ready', start + delay + lease, host)
end
return {item[1], tostring(start - t_now)}
"""


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "").lower()


class HostPacedQueue:
    """scrapy-redis queue (SCHEDULER_QUEUE_CLASS) with one queue per host, paced across workers.

    A popped request carries ``frontier_not_before`` (this process' monotonic clock): its host's
    turn, at most FRONTIER_PACING_HORIZON ahead, waited out by `FrontierPacingMiddleware`, which
    reports when the request really went out (`sent`): only then does the host's next turn start
    counting (one request per host in flight across all workers; FRONTIER_LEASE seconds if its
    worker never reports). The per-host delay is FRONTIER_HOST_DELAY (the crawl's DOWNLOAD_DELAY)."""

    def __init__(self, server, spider, key: str, serializer=None):
        from scrapy_redis import picklecompat

        self.server = server
        self.spider = spider
        self.key = key % {"spider": spider.name}
        self.serializer = serializer or picklecompat
        settings = spider.crawler.settings
        self.delay = settings.getfloat("FRONTIER_HOST_DELAY")
        self.horizon = min(self.delay, settings.getfloat("FRONTIER_PACING_HORIZON", 5.0))
        self.lease = settings.getfloat("FRONTIER_LEASE", 60.0)
        self._push = server.register_script(_PUSH)
        self._pop = server.register_script(_POP)
        self._sent = server.register_script(_SENT)
        self._hold = server.register_script(_HOLD)

    def __len__(self) -> int:
        return int(self.server.get(f"{self.key}:count") or 0)

    def push(self, request) -> None:
        host = _host(request.url)
        data = self.serializer.dumps(request.to_dict(spider=self.spider))
        self._push(keys=[self.key], args=[host, -request.priority, data])

    def pop(self, timeout: float = 0):
        from scrapy.utils.request import request_from_dict

        got = self._pop(keys=[self.key], args=[self.delay, self.horizon, self.lease])
        if not got:
            return None
        request = request_from_dict(self.serializer.loads(got[0]), spider=self.spider)
        request.meta["frontier_not_before"] = time.monotonic() + float(got[1])
        return request

    def sent(self, url: str) -> None:
        """The request handed out for url's host went out now (or was dropped): its next turn."""
        self._sent(keys=[self.key], args=[_host(url), self.delay])

    def hold_host(self, url: str, seconds: float) -> None:
        """Every worker leaves url's host alone for `seconds` (a Retry-After or a retry backoff)."""
        self._hold(keys=[self.key], args=[_host(url), seconds])

    def clear(self) -> None:
        for key in self.server.scan_iter(f"{self.key}:*"):
            self.server.delete(key)


class SharedFrontierIdle:
    """Keep an idle worker open while the shared frontier has requests or another worker is busy."""

    BEAT_EVERY = 1.0

    def __init__(self, crawler, server, crawl_id: str, worker: str, idle_close: float):
        self.crawler = crawler
        self.server = server
        self.key = f"{crawl_id}:busy"
        self.count_key = f"{crawler.settings.get('SCHEDULER_QUEUE_KEY')}:count"
        self.worker = worker
        self.idle_close = idle_close
        self._last_beat = 0.0

    @classmethod
    def from_crawler(cls, crawler):
        url = crawler.settings.get("REDIS_URL")
        if not url:
            raise NotConfigured("no REDIS_URL")
        from scrapy_redis.connection import get_redis_from_settings

        ext = cls(crawler, get_redis_from_settings(crawler.settings), crawler.settings["REDIS_CRAWL_ID"],
                  crawler.settings["WORKER_ID"], crawler.settings.getfloat("REDIS_IDLE_CLOSE", 10.0))
        for signal in (signals.request_scheduled, signals.response_received, signals.item_scraped):
            crawler.signals.connect(ext.busy, signal=signal)
        crawler.signals.connect(ext.idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.busy, signal=signals.spider_opened)
        return ext

    def _now(self) -> float:
        seconds, micros = self.server.time()     # Redis' clock: the same for every machine
        return seconds + micros / 1e6

    def busy(self, *args, **kwargs) -> None:
        if time.monotonic() - self._last_beat >= self.BEAT_EVERY:
            self._last_beat = time.monotonic()
            self.server.hset(self.key, self.worker, self._now())

    def idle(self, *args, **kwargs) -> None:
        if int(self.server.get(self.count_key) or 0):
            raise DontCloseSpider("the shared frontier has requests")
        now = self._now()
        beats = {k.decode(): float(v) for k, v in self.server.hgetall(self.key).items()}
        others = [w for w, t in beats.items() if w != self.worker and now - t < self.idle_close]
        if others:
            logger.info("idle, waiting: worker(s) %s still busy", ", ".join(sorted(others)))
            raise DontCloseSpider("another worker is busy")


def merge_outputs(out: str | os.PathLike) -> dict[str, int]:
    """Merge every worker's dump and CDXJ index in OUT into OUT/reports/records.jsonl and
    OUT/index.cdxj (atomic writes, under OUT/.merge.lock). One line per agency-year."""
    from harvester.jsonl import write_jsonl_atomic
    from harvester.pipelines.dump import RecordDump

    out = pathlib.Path(out)
    (out / "reports").mkdir(parents=True, exist_ok=True)
    with open(out / ".merge.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        parts = sorted((out / "reports").glob("records-*.jsonl"))
        merged = RecordDump(out / "reports" / "records.jsonl")
        read = 0
        for part in parts:
            for record in read_jsonl(str(part)):
                if record.get("id"):
                    read += 1
                    merged.add(record)
        write_jsonl_atomic(merged.path, merged.records.values())
        lines: list[str] = []
        for index in sorted(out.glob("index-*.cdxj")):
            lines += [line for line in index.read_text(encoding="utf-8").splitlines() if line.strip()]
        if lines:
            tmp = out / ".index.cdxj.tmp"
            tmp.write_text("".join(f"{line}\n" for line in sorted(lines)), encoding="utf-8")
            os.replace(tmp, out / "index.cdxj")
    return {"workers": len(parts), "records_read": read, "records": len(merged.records),
            "cdxj_lines": len(lines)}

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
* A killed worker loses nothing (`HeldRequests`, at-least-once hand-out): what a worker takes from
  the frontier is held in Redis under its id (``{crawl-id}:held:{worker}``) until finished in the
  one-process frontier's sense (`harvester.frontier.FinishTracker`); the same command again puts
  it back into the frontier, and so does any worker once the dead one's liveness key
  (``{crawl-id}:alive:{worker}``, REDIS_WORKER_TTL) has expired.

Politeness across workers: the frontier is one queue per host (`HostPacedQueue`), and a host's
next request is handed out only once DOWNLOAD_DELAY has passed since any worker took the last one
(decided in Redis, on Redis' clock), so a host sees one request per delay however many workers
crawl it; each worker's own per-host slot limits still apply on top.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import pathlib
import re
import socket
import time
from contextlib import contextmanager
from typing import Any, Iterator

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler

from harvester.frontier import FinishTracker, request_dict
from harvester.jsonl import JOURNAL_SUFFIX, journal_path, read_jsonl

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
    # held requests (at-least-once hand-out) take its place: HeldRequests is its FinishTracker
    extensions = {"harvester.distributed.SharedFrontierIdle": 500, "harvester.frontier.Frontier": None,
                  "harvester.distributed.HeldRequests": 0}
    return {
        "SCHEDULER": "harvester.distributed.SharedFrontierScheduler",
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
local function push(base, host, score, item)
  redis.call('ZADD', base .. ':host:' .. host, score, item)
  redis.call('INCR', base .. ':count')
  if not redis.call('ZSCORE', base .. ':ready', host) then
    local nxt = tonumber(redis.call('HGET', base .. ':next', host) or '0')
    redis.call('ZADD', base .. ':ready', math.max(now(), nxt), host)
  end
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
#   KEYS: base, held, seen  ARGV: host, priority, request, hold, fingerprint  →  1 pushed, 0 seen
#   A fingerprint ('' for dont_filter) joins the duplicate filter in the same step as the push: a
#   worker killed between the two would leave a URL marked seen that nobody fetches. A retry or
#   redirect releases the hold ('' for none) of the request it replaces (it is in the frontier again).
_PUSH = _LUA + """
if ARGV[5] ~= '' and redis.call('SADD', KEYS[3], ARGV[5]) == 0 then return 0 end
push(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
if ARGV[4] ~= '' then redis.call('HDEL', KEYS[2], ARGV[4]) end
return 1
"""
#   KEYS: base, held  ARGV: hold, host, priority, delay  — a held request back into the frontier,
#   once; if its host is still waiting for it to be sent (base:lease host → hold), it never will be:
#   the host's next turn is a delay from now instead of the rest of the lease
_REQUEUE = _LUA + """
local base, host = KEYS[1], ARGV[2]
local item = redis.call('HGET', KEYS[2], ARGV[1])
if not item then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
push(base, host, ARGV[3], item)
if redis.call('HGET', base .. ':lease', host) == ARGV[1] then
  redis.call('HDEL', base .. ':lease', host)
  local hold = tonumber(redis.call('HGET', base .. ':hold', host) or '0')
  set_turn(base, host, math.max(now() + tonumber(ARGV[4]), hold), false)
end
return 1
"""
#   KEYS: base  ARGV: host, delay  — the request handed out for host went out (or was dropped)
#   now: the host's next turn is now + delay (not before a hold, below)
_SENT = _LUA + """
local base, host = KEYS[1], ARGV[1]
redis.call('HDEL', base .. ':lease', host)
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
#   KEYS: base, held  ARGV: delay, horizon, lease, hold ('1': record it)  →  {request, seconds to wait} or nil
#   Until that request is reported sent, the host's next turn is a lease away (one request per
#   host in flight across all workers; a worker that dies holding one delays its host by the lease).
#   The request is recorded in the worker's `held` hash (sha1 of the entry → the entry) in the same
#   step: a worker killed before finishing it loses nothing (HeldRequests).
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
local hold = redis.sha1hex(item[1])
if ARGV[4] == '1' then redis.call('HSET', KEYS[2], hold, item[1]) end
redis.call('HSET', base .. ':lease', host, hold)
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
    worker never reports). The per-host delay is FRONTIER_HOST_DELAY (the crawl's DOWNLOAD_DELAY).

    Hand-out is at least once: a popped request stays in ``{crawl-id}:held:{worker}`` until
    `release` (it is finished) or a push of the retry or redirect that replaces it; what a killed
    worker held goes back into the frontier with `requeue_held` (`HeldRequests` decides when)."""

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
        self.crawl_id = settings.get("REDIS_CRAWL_ID") or self.key.rsplit(":", 1)[0]
        self.worker = settings.get("WORKER_ID") or "default"
        self.hold_popped = False              # on when something releases holds (HeldRequests)
        self.holding: dict[str, str] = {}     # request id → its entry in this worker's held hash
        self._push = server.register_script(_PUSH)
        self._pop = server.register_script(_POP)
        self._sent = server.register_script(_SENT)
        self._hold = server.register_script(_HOLD)
        self._requeue = server.register_script(_REQUEUE)

    def held_key(self, worker: str) -> str:
        return f"{self.crawl_id}:held:{worker}"

    def alive_key(self, worker: str) -> str:
        return f"{self.crawl_id}:alive:{worker}"

    def __len__(self) -> int:
        return int(self.server.get(f"{self.key}:count") or 0)

    def push(self, request, seen_key: str | None = None, fingerprint: str | None = None) -> bool:
        """Queue `request`; with `fingerprint`, only if it is new to the duplicate filter set
        `seen_key` (checked and added in the same step). False when it was seen."""
        host = _host(request.url)
        data = self.serializer.dumps(request_dict(request, self.spider))
        replaced = self.holding.get(FinishTracker.key(request), "")   # a retry or redirect
        pushed = self._push(keys=[self.key, self.held_key(self.worker), seen_key or f"{self.key}:unused"],
                            args=[host, -request.priority, data, replaced, fingerprint or ""])
        if pushed and replaced:
            del self.holding[FinishTracker.key(request)]
        return bool(pushed)

    def pop(self, timeout: float = 0):
        from scrapy.utils.request import request_from_dict

        got = self._pop(keys=[self.key, self.held_key(self.worker)],
                        args=[self.delay, self.horizon, self.lease, "1" if self.hold_popped else ""])
        if not got:
            return None
        request = request_from_dict(self.serializer.loads(got[0]), spider=self.spider)
        if self.hold_popped:
            self.holding[FinishTracker.assign_id(request)] = hashlib.sha1(got[0]).hexdigest()
        request.meta["frontier_not_before"] = time.monotonic() + float(got[1])
        return request

    def release(self, rid: str | None) -> bool:
        """The request `rid` handed to this worker is finished: no longer held."""
        hold = self.holding.pop(rid, None) if rid is not None else None
        if hold is None:
            return False
        self.server.hdel(self.held_key(self.worker), hold)
        return True

    def requeue_held(self, worker: str) -> int:
        """Put every request `worker` holds back into the frontier (each entry moved once, even
        with several workers reclaiming at the same time); the number moved."""
        key, moved = self.held_key(worker), 0
        if worker == self.worker:
            self.holding.clear()
        for hold, data in self.server.hgetall(key).items():
            try:
                entry = self.serializer.loads(data)
                host, score = _host(entry["url"]), -int(entry.get("priority") or 0)
            except Exception as exc:    # left in place, said: nothing is dropped silently
                logger.warning("held request %s of worker %s unreadable (%s): left in %s", hold, worker, exc, key)
                continue
            moved += self._requeue(keys=[self.key, key], args=[hold, host, score, self.delay])
        return moved

    def holders(self) -> dict[str, int]:
        """Worker id → number of requests it holds (workers holding none are left out)."""
        prefix = self.held_key("")
        counts = {}
        for key in self.server.scan_iter(f"{prefix}*"):
            n = self.server.hlen(key)
            if n:
                counts[key.decode()[len(prefix):]] = n
        return counts

    def drop_held(self) -> int:
        """Forget what this worker holds (the number dropped)."""
        self.holding.clear()
        return self.server.pipeline().hlen(self.held_key(self.worker)).delete(self.held_key(self.worker)).execute()[0]

    def beat(self, token: str, ttl: float) -> None:
        """This worker is alive for `ttl` seconds more."""
        self.server.set(self.alive_key(self.worker), token, px=max(1, int(ttl * 1000)))

    def is_alive(self, worker: str) -> bool:
        return bool(self.server.exists(self.alive_key(worker)))

    def leave(self) -> None:
        self.server.delete(self.alive_key(self.worker))

    def sent(self, url: str) -> None:
        """The request handed out for url's host went out now (or was dropped): its next turn."""
        self._sent(keys=[self.key], args=[_host(url), self.delay])

    def hold_host(self, url: str, seconds: float) -> None:
        """Every worker leaves url's host alone for `seconds` (a Retry-After or a retry backoff)."""
        self._hold(keys=[self.key], args=[_host(url), seconds])

    def clear(self) -> None:
        for key in self.server.scan_iter(f"{self.key}:*"):
            self.server.delete(key)


class HeldRequests(FinishTracker):
    """At-least-once hand-out in a shared crawl (an extension): a request this worker took from the
    frontier is held in Redis under its id until it is finished in the one-process frontier's sense
    (`FinishTracker`: response archived and its callback's output handled, or failed for good).

    * At start (the same command again), whatever this worker id still holds goes back into the
      frontier; so does what any dead worker holds (no ``{crawl-id}:alive:{worker}`` key: a live
      worker refreshes it every REDIS_WORKER_TTL / 3 seconds), at start, at every refresh and
      whenever idle.
    * An idle worker waits while another worker holds requests: a dead one's are reclaimed once
      its key expires (at most REDIS_WORKER_TTL seconds after it died).
    Stats: ``frontier/restored`` (this worker's, at start), ``frontier/reclaimed`` (dead workers'),
    ``frontier/held_stale`` (held although the engine was idle: never finished, dropped)."""

    def __init__(self, crawler, ttl: float):
        super().__init__(crawler)
        self.ttl = ttl
        self.token = f"{socket.gethostname()}:{os.getpid()}"
        self.queue: HostPacedQueue | None = None
        self._beat = None

    @classmethod
    def from_crawler(cls, crawler) -> "HeldRequests":
        if not crawler.settings.get("REDIS_URL"):
            raise NotConfigured("no REDIS_URL")
        ext = cls(crawler, crawler.settings.getfloat("REDIS_WORKER_TTL", 60.0))
        ext.connect_item_signals(crawler)
        crawler.signals.connect(ext.request_dropped, signal=signals.request_dropped)
        crawler.signals.connect(ext.idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def attach(self, queue) -> None:
        """The scheduler's queue, before anything is popped: announce this worker, take back what
        it held when it was killed, reclaim dead workers' requests."""
        from twisted.internet import task

        if not isinstance(queue, HostPacedQueue):
            logger.warning("SCHEDULER_QUEUE_CLASS is not HostPacedQueue: a killed worker loses its requests")
            return
        self.queue = queue
        queue.hold_popped = True
        queue.beat(self.token, self.ttl)
        self._beat = task.LoopingCall(self.tick)
        self._beat.start(self.ttl / 3, now=False)
        restored = queue.requeue_held(queue.worker)
        if restored:
            logger.info("resuming: %d request(s) this worker held when it stopped are back in the frontier", restored)
            self.crawler.stats.set_value("frontier/restored", restored)
        self.reclaim()

    def tick(self) -> None:
        """Every REDIS_WORKER_TTL / 3 s: this worker is alive; dead ones' requests are reclaimed
        (also while busy: what they held may be what this worker's hosts are waiting for)."""
        import redis

        try:
            self.queue.beat(self.token, self.ttl)
            self.reclaim()
        except redis.RedisError as exc:   # said, and tried again at the next tick
            logger.warning("shared frontier: Redis unavailable for the liveness beat: %s", exc)

    def reclaim(self) -> dict[str, int]:
        """Requeue what dead workers hold; worker → requests it still holds (after reclaiming)."""
        holders = {}
        for worker, n in self.queue.holders().items():
            if worker == self.queue.worker:
                continue
            if not self.queue.is_alive(worker):
                moved = self.queue.requeue_held(worker)
                if moved:
                    logger.info("worker %s is gone: its %d held request(s) are back in the frontier", worker, moved)
                    self.crawler.stats.inc_value("frontier/reclaimed", moved)
                n -= moved
            if n > 0:
                holders[worker] = n
        return holders

    def done(self, rid: str | None) -> None:
        if self.queue is not None:
            self.queue.release(rid)

    def request_dropped(self, request, spider=None) -> None:
        # a redirect to a URL already seen: the request it replaces is finished (its target is
        # someone else's); a new request dropped as a duplicate was never held
        self.done(self.key(request))

    def idle(self, spider=None) -> None:
        if self.queue is None:
            return
        stale = self.queue.drop_held()     # the engine is idle: nothing it took is still open
        if stale:
            logger.warning("%d held request(s) were never reported finished; dropped", stale)
            self.crawler.stats.inc_value("frontier/held_stale", stale)
        holders = self.reclaim()
        if len(self.queue):
            raise DontCloseSpider("dead workers' requests are back in the frontier")
        if holders:
            logger.info("idle, waiting: worker(s) %s hold requests",
                        ", ".join(f"{w} ({n})" for w, n in sorted(holders.items())))
            raise DontCloseSpider("another worker holds requests")

    def spider_closed(self, spider=None, reason=None) -> None:
        if self._beat is not None and self._beat.running:
            self._beat.stop()
        if self.queue is not None:
            self.queue.leave()     # what it still holds (stopped early) is anyone's to reclaim


class SharedFrontierScheduler(Scheduler):
    """scrapy-redis' scheduler whose requests carry an id (`FinishTracker`) and are held by the
    worker that popped them until finished (`HeldRequests`)."""

    tracker: HeldRequests | None = None

    @classmethod
    def from_crawler(cls, crawler):
        scheduler = super().from_crawler(crawler)
        scheduler.tracker = crawler.get_extension(HeldRequests)
        return scheduler

    def open(self, spider):
        result = super().open(spider)
        if self.tracker is not None:
            self.tracker.attach(self.queue)
        return result

    def enqueue_request(self, request) -> bool:
        if self.tracker is None:
            return super().enqueue_request(request)
        self.tracker.assign_id(request)       # before the push: the id travels with the request
        if isinstance(self.df, RFPDupeFilter) and isinstance(self.queue, HostPacedQueue):
            fingerprint = None if request.dont_filter else self.df.request_fingerprint(request)
            accepted = self.queue.push(request, self.df.key, fingerprint)
            if not accepted:
                self.df.log(request, self.spider)
            elif self.stats:
                self.stats.inc_value("scheduler/enqueued/redis")
        else:
            accepted = super().enqueue_request(request)
        self.tracker.child_scheduled(request)
        return accepted


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


def worker_dumps(out: pathlib.Path) -> list[pathlib.Path]:
    """Every worker's dump in OUT/reports, including a killed worker's that exists only as its
    journal (records-W.jsonl.journal: it never came back to consolidate it)."""
    names = {p.name for p in (out / "reports").glob("records-*.jsonl")}
    names |= {p.name.removesuffix(JOURNAL_SUFFIX) for p in (out / "reports").glob(f"records-*.jsonl{JOURNAL_SUFFIX}")}
    return [out / "reports" / name for name in sorted(names)]


def _read_vanishing(path: str) -> list[dict[str, Any]]:
    """A worker's dump journal, or nothing if it is deleted meanwhile (that worker finished)."""
    try:
        return list(read_jsonl(path))
    except FileNotFoundError:
        return []


def merge_outputs(out: str | os.PathLike) -> dict[str, int]:
    """Merge every worker's dump (with its journal: what a killed worker dumped) and CDXJ index in
    OUT into OUT/reports/records.jsonl and OUT/index.cdxj (atomic writes, under OUT/.merge.lock).
    One line per agency-year."""
    from harvester.jsonl import write_jsonl_atomic
    from harvester.pipelines.dump import RecordDump

    out = pathlib.Path(out)
    (out / "reports").mkdir(parents=True, exist_ok=True)
    with open(out / ".merge.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        parts = worker_dumps(out)
        merged = RecordDump(out / "reports" / "records.jsonl")
        read = 0
        for part in parts:
            # the journal first: a finishing worker writes its dump, then deletes the journal
            for record in [*_read_vanishing(journal_path(str(part))), *read_jsonl(str(part))]:
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

"""A crawl frontier that survives ``kill -9``: the same command continues where the crawl stopped.

Why not Scrapy's ``JOBDIR`` alone: its disk queues write their size header, and the scheduler its
``active.json``, only when the crawl closes cleanly, and ``requests.seen`` is buffered, so after a
``kill -9`` the restored queue is empty and the crawl starts over (measured: 93–100 % of requests
redone). Here every request the scheduler accepts is appended to ``OUT/job/frontier.jsonl``
(flushed per line, so a killed process loses nothing the kernel has), and so is the end of its
processing: its callback (or errback) ran, every item it yielded went through the pipelines (the
dump has it), every request it yielded was accepted. On start, a leftover journal gives the
scheduler back its seen set and the requests not finished: only what was in flight is fetched
again. A crawl that finishes removes the folder, so the next scheduled crawl starts afresh.

When a request is finished is decided by `FinishTracker`, shared with the Redis crawl, whose
store is Redis instead of the journal (`harvester.distributed.HeldRequests`).

Pieces (named in ``harvester.settings``): the extension `Frontier` (setting ``FRONTIER_DIR``;
``harvester.crawl.crawl_settings`` sets ``OUT/job``), the scheduler `ResumableScheduler`, the spider
middleware `FrontierSpiderMiddleware` (priority 0: sees the final output of callbacks and errbacks)
and the downloader middleware `FrontierFailureMiddleware` (priority 1: sees failures no middleware
recovered). Requests must pickle: callbacks are spider methods, meta is plain data. Stats:
``frontier/restored``, ``frontier/seen``, ``frontier/unserializable``.
"""
from __future__ import annotations

import base64
import logging
import os
import pickle
import shutil
import uuid
import weakref
import zlib
from typing import Any

from scrapy import Request, signals
from scrapy.core.scheduler import Scheduler
from scrapy.exceptions import NotConfigured
from scrapy.utils.request import request_from_dict

from harvester.jsonl import Journal, OutputError, dumps_line, read_jsonl, write_jsonl_atomic

logger = logging.getLogger(__name__)

JOURNAL_NAME = "frontier.jsonl"
ID_META = "frontier_id"   # the request's journal id (set when the scheduler accepts it)


def _method_name(spider, func: Any) -> Any:
    """The name of the spider method `func` is (a bound method of `spider`); other values as they are."""
    if not callable(func):
        return func
    name = getattr(func, "__name__", "")
    if getattr(getattr(spider, name, None), "__func__", None) is not getattr(func, "__func__", func):
        raise ValueError(f"{func!r} is not a method of the spider")
    return name


def request_dict(request: Request, spider) -> dict[str, Any]:
    """What ``Request.to_dict(spider=…)`` gives (``request_from_dict`` reads it back), with the
    callback and errback found by name: ``to_dict`` scans every member of the spider with
    ``inspect.getmembers`` for each of them (0.3 ms a request, measured: the largest single cost
    of journalling)."""
    d = {"url": request.url, "callback": _method_name(spider, request.callback),
         "errback": _method_name(spider, request.errback), "headers": dict(request.headers)}
    for attr in request.attributes:
        d.setdefault(attr, getattr(request, attr))
    if type(request) is not Request:
        d["_class"] = f"{type(request).__module__}.{type(request).__name__}"
    return d


class FinishTracker:
    """Decides when a request is finished: its callback's (or errback's) output consumed, every
    item it yielded through the pipelines, every request it yielded accepted by the scheduler; or
    it failed for good. Subclasses record that in their store (`done`): the journal here, Redis in
    a shared crawl (`harvester.distributed.HeldRequests`). The middlewares below find the one
    extension of this kind with `crawler.get_extension(FinishTracker)`."""

    def __init__(self, crawler=None):
        self.crawler = crawler
        self.open_work: dict[str, int] = {}   # request id → callback, items, child requests still open
        self.parents: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # child request → parent id

    def connect_item_signals(self, crawler) -> None:
        # an item that was not stored (output failed) or failed in a pipeline leaves its request
        # unfinished: a resumed crawl fetches it again
        for sig in (signals.item_scraped, signals.item_dropped):
            crawler.signals.connect(self.item_done, signal=sig)

    @staticmethod
    def key(request) -> str | None:
        """The request's id. Not its fingerprint: a page asked again on purpose (rendered in the
        browser, dont_filter) has its parent's fingerprint. Retries and redirects copy meta, so
        they carry the id of the request they replace."""
        return request.meta.get(ID_META)

    @staticmethod
    def assign_id(request) -> str:
        return request.meta.setdefault(ID_META, uuid.uuid4().hex[:16])

    def done(self, rid: str | None) -> None:
        raise NotImplementedError

    def work_started(self, request) -> str | None:
        """One more piece of work (the callback, an item, a child request) open for `request`."""
        rid = self.key(request)
        if rid is not None:
            self.open_work[rid] = self.open_work.get(rid, 0) + 1
        return rid

    def child_yielded(self, child, parent) -> None:
        """A callback yielded `child`: its parent is not finished before the scheduler has it."""
        rid = self.work_started(parent)
        if rid is not None:
            self.parents[child] = rid

    def child_scheduled(self, child) -> None:
        rid = self.parents.pop(child, None)
        if rid is not None:
            self.work_finished(rid)

    def work_finished(self, rid: str | None) -> None:
        n = self.open_work.get(rid)
        if n is None:
            return
        if n <= 1:
            del self.open_work[rid]
            self.done(rid)
        else:
            self.open_work[rid] = n - 1

    def item_done(self, item=None, response=None, spider=None, exception=None, **kwargs) -> None:
        from harvester.outputfailure import NotStored

        if isinstance(exception, NotStored):
            return
        request = getattr(response, "request", None)
        if request is not None:
            self.work_finished(self.key(request))


class Frontier(FinishTracker):
    """The journal of accepted and finished requests (an extension; `crawler.get_extension(Frontier)`)."""

    def __init__(self, directory: str, crawler=None):
        super().__init__(crawler)
        self.directory = directory
        self.path = os.path.join(directory, JOURNAL_NAME)
        self.journal = Journal(self.path, batch=1024, interval=5.0)
        self.live: set[str] = set()
        self.failed = False

    @classmethod
    def from_crawler(cls, crawler) -> "Frontier":
        directory = crawler.settings.get("FRONTIER_DIR")
        if not directory:
            raise NotConfigured("FRONTIER_DIR is not set")
        ext = cls(os.fspath(directory), crawler)
        ext.connect_item_signals(crawler)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def fingerprint(self, request) -> str:
        return self.crawler.request_fingerprinter.fingerprint(request).hex()

    # -- restore ----------------------------------------------------------------------------------
    def restore(self, spider) -> tuple[set[bytes], list]:
        """(seen fingerprints, unfinished requests) of a leftover journal; the journal is compacted."""
        seen: dict[str, None] = {}
        pending: dict[str, tuple[str, str]] = {}
        for line in read_jsonl(self.path):
            rid = line.get("id")
            if not rid:
                continue
            if line.get("fp"):
                seen[line["fp"]] = None
            if "req" in line:
                pending[rid] = (line.get("fp") or "", line["req"])
            elif line.get("done"):
                pending.pop(rid, None)
        requests = []
        for rid, (fp, blob) in list(pending.items()):
            try:
                requests.append(request_from_dict(pickle.loads(zlib.decompress(base64.b64decode(blob))), spider=spider))
            except Exception as exc:   # a callback renamed since: the URL is fetched again from its page
                logger.warning("frontier: request %s not restorable (%s)", rid, exc)
                seen.pop(fp, None)
                del pending[rid]
        if seen:
            try:
                write_jsonl_atomic(self.path, [{"id": "seen", "fp": fp} for fp in seen]
                                   + [{"id": rid, "fp": fp, "req": blob} for rid, (fp, blob) in pending.items()])
            except OutputError as exc:
                self._failed(exc)
            logger.info("frontier: resuming a killed crawl: %d requests seen, %d to fetch again (%s)",
                        len(seen), len(requests), self.path)
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.set_value("frontier/seen", len(seen))
            self.crawler.stats.set_value("frontier/restored", len(requests))
        self.live = set(pending)
        return {bytes.fromhex(fp) for fp in seen}, requests

    # -- journal ----------------------------------------------------------------------------------
    def _write(self, obj: dict[str, Any]) -> None:
        if self.failed:
            return
        try:
            self.journal.append(dumps_line(obj))
        except OutputError as exc:
            self._failed(exc)

    def _failed(self, exc: OutputError) -> None:
        self.failed = True
        from harvester.outputfailure import output_failed

        output_failed(self.crawler, exc)

    def accepted(self, request, spider=None) -> bool:
        """Journal an accepted request; False when it cannot be pickled (kept in memory only)."""
        rid = self.assign_id(request)
        try:
            blob = base64.b64encode(zlib.compress(pickle.dumps(request_dict(request, spider), protocol=4))).decode("ascii")
        except Exception as exc:
            logger.warning("frontier: %s cannot be saved (%s): lost if the crawl is killed", request.url, exc)
            if self.crawler is not None and self.crawler.stats is not None:
                self.crawler.stats.inc_value("frontier/unserializable")
            return False
        self.live.add(rid)
        self._write({"id": rid, "fp": self.fingerprint(request), "req": blob})
        return True

    def done(self, rid: str | None) -> None:
        if rid in self.live:
            self.live.discard(rid)
            self._write({"id": rid, "done": True})

    def spider_closed(self, spider=None, reason=None) -> None:
        try:
            self.journal.close()
        except OutputError as exc:
            self._failed(exc)
        if reason == "finished" and not self.failed:
            shutil.rmtree(self.directory, ignore_errors=True)


def _frontier(crawler) -> FinishTracker:
    frontier = crawler.get_extension(FinishTracker)
    if frontier is None:
        raise NotConfigured("no FinishTracker extension (FRONTIER_DIR not set, no shared crawl)")
    return frontier


class ResumableScheduler(Scheduler):
    """Scrapy's scheduler (memory queues, priorities) whose accepted requests are journaled, and
    which starts from a leftover journal's unfinished requests and seen set."""

    def open(self, spider):
        result = super().open(spider)
        self.frontier = self.crawler.get_extension(Frontier) if self.crawler is not None else None
        if self.frontier is None:
            return result
        seen, requests = self.frontier.restore(spider)
        fingerprints = getattr(self.df, "_fingerprints", None)
        if isinstance(fingerprints, set):
            fingerprints.update(seen)
        for request in requests:
            super().enqueue_request(request.replace(dont_filter=True) if not request.dont_filter else request)
        return result

    def enqueue_request(self, request) -> bool:
        accepted = super().enqueue_request(request)
        if self.frontier is not None:
            if accepted:   # a retry or redirect carries its original's id and replaces its entry
                self.frontier.accepted(request, self.spider)
            self.frontier.child_scheduled(request)
        return accepted


class FrontierSpiderMiddleware:
    """Spider middleware (priority 0): a request is finished when its callback's (or errback's)
    output is consumed, the items it yielded went through the pipelines and the requests it
    yielded reached the scheduler."""

    def __init__(self, frontier: FinishTracker):
        self.frontier = frontier

    @classmethod
    def from_crawler(cls, crawler):
        return cls(_frontier(crawler))

    def process_spider_output(self, response, result, spider=None):
        request = response.request
        rid = self.frontier.work_started(request)
        try:
            for out in result:
                self._track(out, request)
                yield out
        finally:
            self.frontier.work_finished(rid)

    async def process_spider_output_async(self, response, result, spider=None):
        request = response.request
        rid = self.frontier.work_started(request)
        try:
            async for out in result:
                self._track(out, request)
                yield out
        finally:
            self.frontier.work_finished(rid)

    def _track(self, out: Any, request) -> None:
        # the engine may take outputs from a queue after the callback ended: each one is open work
        # until the pipelines finished it (item signals) or the scheduler has it (child request)
        if isinstance(out, Request):
            self.frontier.child_yielded(out, request)
        elif out is not None:
            self.frontier.work_started(request)


class FrontierFailureMiddleware:
    """Downloader middleware (priority 1, the last to see an exception): a failure nothing
    recovered (no retry left, refused by robots.txt or scope) finishes its request."""

    def __init__(self, frontier: FinishTracker):
        self.frontier = frontier

    @classmethod
    def from_crawler(cls, crawler):
        return cls(_frontier(crawler))

    def process_exception(self, request, exception, spider=None):
        self.frontier.done(self.frontier.key(request))
        return None

"""Waits out a request's turn at its host, as handed out by the shared frontier (Redis crawls).

`harvester.distributed.HostPacedQueue` gives a host's next request to a worker up to
FRONTIER_PACING_HORIZON seconds before the host's delay has passed, with its turn in
``request.meta["frontier_not_before"]``; this middleware (the last before the WARC capture) waits
until then and tells the frontier when the request really went out, which starts the host's next
turn. A request dropped before (robots.txt, scope) is reported too, so its host is not held. The
wait is bounded by the horizon (≤ the delay), so a request holds a concurrency place only briefly.
"""
from __future__ import annotations

from time import monotonic

from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future


class FrontierPacingMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        if "HostPacedQueue" not in str(crawler.settings.get("SCHEDULER_QUEUE_CLASS")):
            raise NotConfigured("no paced shared frontier")
        return cls(crawler)

    async def process_request(self, request, spider=None):
        not_before = request.meta.pop("frontier_not_before", None)
        if not_before is None:
            return None     # robots.txt and other requests that did not come from the frontier
        wait = not_before - monotonic()
        if wait > 0:
            from twisted.internet import reactor, task

            await maybe_deferred_to_future(task.deferLater(reactor, wait, lambda: None))
        self._report(request)
        return None

    def process_exception(self, request, exception, spider=None):
        if request.meta.pop("frontier_not_before", None) is not None:
            self._report(request)     # refused before it was sent: release the host's turn
        return None

    def _report(self, request) -> None:
        queue = getattr(self.crawler.engine.scheduler if self.crawler.engine else None, "queue", None)
        if queue is not None:
            queue.sent(request.url)

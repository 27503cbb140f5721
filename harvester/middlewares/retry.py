"""Retries with exponential backoff that believe a server's Retry-After, and make the *host* wait.

A retry never sleeps inside the middleware (a sleeping request holds one of the crawl's global
concurrency places): the retried request goes back to the scheduler and the host's downloader
slot is closed until the wait is over, so that host's requests wait while every other host goes
on. The n-th retry of a request waits RETRY_BACKOFF_BASE * 2**(n-1) s (capped at
RETRY_BACKOFF_MAX); a 429/503 ``Retry-After`` is believed up to RETRY_AFTER_MAX. A server that
asks for more (``Retry-After: 86400``) does not get to decide the crawl's length: that URL is
given up at once, logged and counted (``retry/retry_after_exceeded``; the spider's errback
counts it as a failed fetch). A connection the address policy refused is never retried. A body
that ended early (DOWNLOAD_FAIL_ON_DATALOSS off: it reaches the WARC flagged as truncated) is
retried like a 500.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from time import monotonic
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from harvester.netpolicy import POLICY
from harvester.resolver import LOOKUP_ERRORS

logger = logging.getLogger(__name__)

# A slot with no download delay never looks at `lastseen`; a throttled slot gets this tiny
# delay so Scrapy's own delay check holds it until the wait is over.
_MIN_SLOT_DELAY = 0.001


def retry_after_seconds(value: bytes | None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _truncated(request, response) -> bool:
    """The body ended early: Scrapy's `dataloss` flag, or the WARC capture found it cut short."""
    return "dataloss" in response.flags or bool((request.meta.get("warc") or {}).get("truncated"))


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware whose waits close the host's downloader slot instead of holding the crawl."""

    def __init__(self, settings, crawler=None):
        super().__init__(settings)
        self.crawler = crawler
        self.base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.cap = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 300.0)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings, crawler)

    def process_response(self, request, response, spider=None):
        if _truncated(request, response) and not request.meta.get("dont_retry"):
            # a body cut short (stored with WARC-Truncated) is a transient failure: ask again; when
            # the retries are used up, the truncated response goes on (its record gets a warning)
            self._count("retry/truncated")
            return self._retry(request, "truncated body") or response
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        if wait is not None and response.status in self.retry_http_codes and not request.meta.get("dont_retry"):
            if wait > self.retry_after_max:
                self._count("retry/retry_after_exceeded")
                logger.warning("giving up %s: HTTP %d asks to retry after %.0f s (RETRY_AFTER_MAX %.0f s)",
                               request.url, response.status, wait, self.retry_after_max)
                return response
            request.meta["retry_after"] = wait
        return super().process_response(request, response)

    def process_exception(self, request, exception, spider=None):
        if isinstance(exception, LOOKUP_ERRORS) and POLICY.refused_address(urlsplit(request.url).hostname or ""):
            return None     # refused by the address policy: a retry would be refused again
        return super().process_exception(request, exception)

    def _retry(self, request, reason):
        new = super()._retry(request, reason)
        if new is not None:
            n = new.meta.get("retry_times", 1)
            wait = max(min(self.cap, self.base * 2 ** (n - 1)), request.meta.get("retry_after") or 0)
            new.meta.pop("retry_after", None)
            self.hold_host(request, wait)
        return new

    def hold_host(self, request, seconds: float) -> None:
        """Keep the request's downloader slot (its host) closed for `seconds` from now; in a shared
        crawl, tell the shared frontier too, so no other worker takes that host meanwhile."""
        engine = getattr(self.crawler, "engine", None) if self.crawler else None
        downloader = getattr(engine, "downloader", None)
        if downloader is None or seconds <= 0:
            return
        frontier = getattr(engine.scheduler, "queue", None)
        if hasattr(frontier, "hold_host"):
            frontier.hold_host(request.url, seconds)
        slot = downloader.slots.get(downloader.get_slot_key(request))
        if slot is None:
            return
        # Scrapy releases a slot's next request when delay - now + lastseen <= 0
        slot.lastseen = max(slot.lastseen, monotonic() + seconds)
        slot.delay = max(slot.delay, _MIN_SLOT_DELAY)
        self._count("retry/host_wait_seconds", seconds)

    def _count(self, key: str, value: float = 1) -> None:
        if self.crawler is not None and self.crawler.stats is not None:
            self.crawler.stats.inc_value(key, value)

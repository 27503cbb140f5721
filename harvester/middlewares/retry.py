"""Retries with exponential backoff that believe a server's Retry-After."""
from __future__ import annotations

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.utils.defer import maybe_deferred_to_future


def retry_after_seconds(value: bytes | None) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    from email.utils import parsedate_to_datetime
    from datetime import datetime, timezone

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware whose n-th retry waits RETRY_BACKOFF_BASE * 2**(n-1) s (capped at RETRY_BACKOFF_MAX)."""

    def __init__(self, settings):
        super().__init__(settings)
        self.base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.cap = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)

    def process_response(self, request, response, spider=None):
        # a server that says when to come back (429/503 Retry-After) is believed, up to the cap
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        if wait is not None:
            request.meta["retry_after"] = min(self.cap, wait)
        return super().process_response(request, response)

    def _retry(self, request, reason):
        new = super()._retry(request, reason)
        if new is not None:
            n = new.meta.get("retry_times", 1)
            backoff = min(self.cap, self.base * 2 ** (n - 1))
            new.meta["retry_delay"] = max(backoff, new.meta.pop("retry_after", 0) or 0)
        return new

    async def process_request(self, request, spider=None):
        delay = request.meta.pop("retry_delay", 0)
        if delay:
            from twisted.internet import reactor, task
            await maybe_deferred_to_future(task.deferLater(reactor, delay, lambda: None))
        return None

"""Conditional re-requests: report pages and attachments captured before are asked with
If-None-Match / If-Modified-Since from the crawl state (`harvester.state.CrawlState`).

Downloader middleware (priority 120, after scope and robots.txt): it runs when the request is
about to be downloaded, not when it was scheduled, so a request restored from a crawl's JOBDIR after
a crash uses what the state learnt since. Sets ``meta["prev_capture"]`` (the WARC capture middleware
writes a revisit record for a 304 or an identical payload) and lets a 304 reach the callback.
Only requests with ``meta["role"]`` in ("detail", "attachment") and a ``state_key`` are
considered. Stats: ``recrawl/conditional``.
"""
from __future__ import annotations

from scrapy.exceptions import NotConfigured

from harvester.state import CrawlState


class ConditionalRequestMiddleware:
    def __init__(self, state: CrawlState, stats=None):
        self.state = state
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler) -> "ConditionalRequestMiddleware":
        state = crawler.get_extension(CrawlState)
        if state is None:
            raise NotConfigured("no crawl state (CRAWL_STATE_PATH not set)")
        return cls(state, crawler.stats)

    def process_request(self, request, spider=None):
        meta = request.meta
        if "prev_capture" in meta or not meta.get("state_key"):
            return None   # a retry or redirect of a request already made conditional; or not ours
        cond = self.state.conditional(meta["state_key"], meta.get("role") or "")
        if cond is None:
            return None
        headers, meta["prev_capture"] = cond
        for name, value in headers.items():
            request.headers[name] = value
        meta["handle_httpstatus_list"] = list(meta.get("handle_httpstatus_list") or []) + [304]
        if self.stats is not None:
            self.stats.inc_value("recrawl/conditional")
        return None

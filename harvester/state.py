"""Crawl state: what the last crawls saw per URL, so a re-crawl costs little and loses nothing.

``OUT/state.jsonl`` (setting ``CRAWL_STATE_PATH``; ``harvester.crawl.crawl_settings`` points it
into the output folder). Loaded when the spider starts, written atomically (temporary file beside
it + ``os.replace``) when the spider closes, after the dump. The first line is a header
``{"state_format": "harvester-crawl-state", "version": 1, "saved_at": ...}``; every other line is
one URL (the URL the spider asked for, before redirects), sorted by URL::

    {"url": ..., "role": "detail" | "attachment" | "list" | ...,
     "status": 200,                        # status of the last full response
     "fetched_at": ...,                    # WARC-Date of the last full response
     "checked_at": ...,                    # when last asked (a revisit updates only this)
     "last_status": 304,                   # status of the last answer (200, 304)
     "etag": ..., "last_modified": ...,    # validators of the last full response
     "payload_digest": "sha1:...",         # WARC-Payload-Digest of the last full response
     "warc_file": ..., "warc_offset": ..., "warc_length": ..., "warc_record_id": ...,
     "last_revisit": {"warc_file", "warc_offset", "warc_record_id", "fetched_at", "profile"},
     "report": true,                       # a report page / attachment: re-asked conditionally
     "emitted": true,                      # it produced a report item
     "record_id": "…",                     # the dump record it produced
     "children": [{"url", "role", "link_title", "detail_url", "detail_title"}]}  # attachments
                                            # of a report page, re-requested after a 304

Entries of URLs not seen by a crawl are kept. A crawl that dies before closing leaves the old
state in place (the next crawl is then simply less conditional).
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from typing import Any

from harvester.jsonl import read_jsonl, write_jsonl_atomic

logger = logging.getLogger(__name__)

STATE_FORMAT = "harvester-crawl-state"
STATE_VERSION = 1
_CRAWLER_ATTR = "_harvester_crawl_state"


class CrawlState:
    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self.entries: dict[str, dict[str, Any]] = {}
        self.saved = False

    # -- file -------------------------------------------------------------------------------------
    def load(self) -> "CrawlState":
        for entry in read_jsonl(self.path):
            if entry.get("url"):
                self.entries[entry["url"]] = entry
        return self

    def save(self) -> None:
        head = {"state_format": STATE_FORMAT, "version": STATE_VERSION,
                "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        write_jsonl_atomic(self.path, [head] + [self.entries[url] for url in sorted(self.entries)],
                           sort_keys=True)
        self.saved = True

    # -- queries ----------------------------------------------------------------------------------
    def get(self, url: str) -> dict[str, Any] | None:
        return self.entries.get(url)

    def conditional(self, url: str, role: str) -> tuple[dict[str, str], dict[str, Any]] | None:
        """(headers, prev_capture) for a conditional re-request of a report page / attachment."""
        e = self.entries.get(url)
        if not e or role not in ("detail", "attachment") or not e.get("report") or e.get("status") != 200:
            return None
        headers = {}
        if e.get("etag"):
            headers["If-None-Match"] = e["etag"]
        if e.get("last_modified"):
            headers["If-Modified-Since"] = e["last_modified"]
        if not headers:
            return None
        prev = {k: e.get(k) for k in ("url", "fetched_at", "warc_file", "warc_offset", "warc_record_id",
                                      "payload_digest")}
        prev["url"] = e.get("final_url") or url
        return headers, prev

    # -- updates ----------------------------------------------------------------------------------
    def observe(self, key: str, response, *, role: str, report: bool = False, emitted: bool = False,
                children: list[dict[str, Any]] | None = None) -> None:
        """A full response (not a revisit) for `key`."""
        warc = response.meta.get("warc") or {}
        now = warc.get("fetched_at") or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        old = self.entries.get(key) or {}

        def header(name: bytes) -> str | None:
            v = response.headers.get(name)
            return v.decode("latin-1") if v else None

        entry = {"url": key, "role": role, "status": int(response.status), "last_status": int(response.status),
                 "fetched_at": now, "checked_at": now,
                 "etag": header(b"ETag"), "last_modified": header(b"Last-Modified"),
                 "payload_digest": warc.get("payload_digest") or None,
                 "warc_file": warc.get("warc_file"), "warc_offset": warc.get("warc_offset"),
                 "warc_length": warc.get("warc_length"), "warc_record_id": warc.get("warc_record_id"),
                 "report": bool(report), "emitted": bool(emitted), "children": children or [],
                 "record_id": old.get("record_id")}
        if response.url != key:
            entry["final_url"] = response.url
        self.entries[key] = entry

    def revisited(self, key: str, response) -> None:
        """A 304 / identical payload: the last full response still stands."""
        e = self.entries.get(key)
        if e is None:
            return
        warc = response.meta.get("warc") or {}
        e["checked_at"] = warc.get("fetched_at") or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        e["last_status"] = int(response.status)
        if warc:
            e["last_revisit"] = {"warc_file": warc.get("warc_file"), "warc_offset": warc.get("warc_offset"),
                                 "warc_record_id": warc.get("warc_record_id"),
                                 "fetched_at": warc.get("fetched_at"), "profile": warc.get("revisit")}

    def note_record(self, key: str | None, record_id: str) -> None:
        e = self.entries.get(key or "")
        if e is not None:
            e["record_id"] = record_id

    # -- Scrapy -----------------------------------------------------------------------------------
    @classmethod
    def for_crawler(cls, crawler) -> "CrawlState | None":
        """The crawl's one state object (None when CRAWL_STATE_PATH is not set); saved at spider close."""
        if crawler is None:
            return None
        if hasattr(crawler, _CRAWLER_ATTR):
            return getattr(crawler, _CRAWLER_ATTR)
        path = crawler.settings.get("CRAWL_STATE_PATH")
        state = cls(path).load() if path else None
        setattr(crawler, _CRAWLER_ATTR, state)
        if state is not None:
            from scrapy import signals

            def closed(spider=None, reason=None):
                state.save()
                if crawler.stats is not None:
                    crawler.stats.set_value("state/entries", len(state.entries))
                logger.info("crawl state: %d URLs in %s", len(state.entries), state.path)

            crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)
            if crawler.stats is not None:
                crawler.stats.set_value("state/loaded", len(state.entries))
        return state

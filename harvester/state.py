"""Crawl state: what the last crawls saw per URL, so a re-crawl costs little and loses nothing.

One Scrapy extension (``EXTENSIONS``; others reach it with ``crawler.get_extension(CrawlState)``),
enabled by the setting ``CRAWL_STATE_PATH`` (``harvester.crawl.crawl_settings`` points it at
``OUT/state.jsonl``). Files (``harvester.jsonl``): the consolidated ``state.jsonl``, rewritten
atomically when the spider closes and on start from a leftover journal, and the append-only
``state.jsonl.journal`` the running crawl adds entries to, so a killed crawl keeps what it learnt.

An entry that produced a dump record is journaled only after that record is durable in the dump
(the dump pipeline calls `record_durable`); until then it is pending and never saved. On load, an
entry is trusted for conditional requests only when the dump confirms its record (`trust_records`):
otherwise the URL is fetched fully and parsed again, so a lost record is never taken as unchanged.

The first line of ``state.jsonl`` is a header ``{"state_format": "harvester-crawl-state",
"version": 1, "saved_at": ...}``; every other line is one URL (the URL the spider asked for, before
redirects), sorted by URL::

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

Entries of URLs not seen by a crawl are kept. Stats: ``state/loaded``, ``state/entries``,
``state/untrusted`` (entries whose record is not in the dump), ``state/pending_dropped``.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from typing import Any, Iterable

from scrapy import signals
from scrapy.exceptions import NotConfigured

from harvester.jsonl import Journal, OutputError, dumps_line, journal_path, read_jsonl, write_jsonl_atomic

logger = logging.getLogger(__name__)

STATE_FORMAT = "harvester-crawl-state"
STATE_VERSION = 1
CONDITIONAL_ROLES = ("detail", "attachment")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def crawl_state(crawler) -> "CrawlState | None":
    """The crawl's state extension, or None (no CRAWL_STATE_PATH, or no real crawler: replay)."""
    get = getattr(crawler, "get_extension", None)
    return get(CrawlState) if get is not None else None


class CrawlState:
    """Per-URL crawl state; a Scrapy extension, also usable alone (tests, tools)."""

    def __init__(self, path: str | os.PathLike, stats=None):
        self.path = os.fspath(path)
        self.stats = stats
        self.entries: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, dict[str, Any]] = {}   # waiting for their record to be durable
        self.durable_first: dict[str, str] = {}        # record durable before its page was observed
        self.trusted_records: set[str] | None = None   # record ids the dump confirmed (None: no dump)
        self.journal = Journal(journal_path(self.path), batch=256, interval=5.0, sort_keys=True)
        self.saved = False
        self.failed = False
        self.crawler = None

    # -- Scrapy -----------------------------------------------------------------------------------
    @classmethod
    def from_crawler(cls, crawler) -> "CrawlState":
        path = crawler.settings.get("CRAWL_STATE_PATH")
        if not path:
            raise NotConfigured("CRAWL_STATE_PATH is not set")
        state = cls(path, crawler.stats)
        state.crawler = crawler
        state.load()
        crawler.signals.connect(state.spider_closed, signal=signals.spider_closed)
        if crawler.stats is not None:
            crawler.stats.set_value("state/loaded", len(state.entries))
        return state

    def spider_closed(self, spider=None, reason=None) -> None:
        try:
            self.save()
        except OutputError as exc:
            from harvester.outputfailure import output_failed

            output_failed(self.crawler, exc)
            return
        if self.stats is not None:
            self.stats.set_value("state/entries", len(self.entries))
        logger.info("crawl state: %d URLs in %s", len(self.entries), self.path)

    # -- files ------------------------------------------------------------------------------------
    def load(self) -> "CrawlState":
        for entry in read_jsonl(self.path):
            if entry.get("url"):
                self.entries[entry["url"]] = entry
        leftover = self.journal.path
        if os.path.exists(leftover):
            n = 0
            for entry in read_jsonl(leftover):
                if entry.get("url"):
                    self.entries[entry["url"]] = entry
                    n += 1
            logger.info("crawl state: %d entries recovered from %s", n, leftover)
            self._write_consolidated()
            self.journal.remove()
        return self

    def save(self) -> None:
        """Consolidate: pending entries (record never made durable) are dropped, then the journal."""
        if self.pending:
            logger.warning("crawl state: %d entries dropped, their records never reached the dump",
                           len(self.pending))
            if self.stats is not None:
                self.stats.set_value("state/pending_dropped", len(self.pending))
            self.pending.clear()
        self.journal.close()
        self._write_consolidated()
        self.journal.remove()
        self.saved = True

    def _write_consolidated(self) -> None:
        head = {"state_format": STATE_FORMAT, "version": STATE_VERSION,
                "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        write_jsonl_atomic(self.path, [head] + [self.entries[url] for url in sorted(self.entries)],
                           sort_keys=True)

    def _commit(self, entry: dict[str, Any]) -> None:
        self.entries[entry["url"]] = entry
        if self.failed:
            return
        try:
            self.journal.append(dumps_line(entry, sort_keys=True))
        except OutputError as exc:
            self.failed = True
            if self.crawler is None:
                raise
            from harvester.outputfailure import output_failed

            output_failed(self.crawler, exc)

    # -- queries ----------------------------------------------------------------------------------
    def get(self, url: str) -> dict[str, Any] | None:
        return self.entries.get(url)

    def trust_records(self, record_ids: Iterable[str]) -> None:
        """The dump's record ids: entries whose record is missing are not asked conditionally."""
        self.trusted_records = set(record_ids)
        untrusted = sum(1 for e in self.entries.values() if e.get("emitted") and not self._trusted(e))
        if untrusted:
            logger.warning("crawl state: %d report URLs have no record in the dump: fetched and parsed again",
                           untrusted)
        if self.stats is not None:
            self.stats.set_value("state/untrusted", untrusted)

    def _trusted(self, entry: dict[str, Any]) -> bool:
        if not entry.get("emitted"):
            return True
        return self.trusted_records is not None and entry.get("record_id") in self.trusted_records

    def conditional(self, url: str, role: str) -> tuple[dict[str, str], dict[str, Any]] | None:
        """(headers, prev_capture) for a conditional re-request of a report page / attachment."""
        e = self.entries.get(url)
        if (not e or role not in CONDITIONAL_ROLES or not e.get("report") or e.get("status") != 200
                or not self._trusted(e)):
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
        """A full response (not a revisit) for `key`. An emitted report waits for `record_durable`."""
        warc = response.meta.get("warc") or {}
        now = warc.get("fetched_at") or _now()
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
        if emitted and key in self.durable_first:
            self._commit({**entry, "record_id": self.durable_first.pop(key)})
        elif emitted:
            self.pending[key] = entry
        else:
            self._commit(entry)

    def revisited(self, key: str, response) -> None:
        """A 304 / identical payload: the last full response still stands."""
        e = self.entries.get(key)
        if e is None:
            return
        warc = response.meta.get("warc") or {}
        e = dict(e)
        e["checked_at"] = warc.get("fetched_at") or _now()
        e["last_status"] = int(response.status)
        if warc:
            e["last_revisit"] = {"warc_file": warc.get("warc_file"), "warc_offset": warc.get("warc_offset"),
                                 "warc_record_id": warc.get("warc_record_id"),
                                 "fetched_at": warc.get("fetched_at"), "profile": warc.get("revisit")}
        self._commit(e)

    def record_durable(self, key: str | None, record_id: str) -> None:
        """The dump holds `record_id` durably: the URL's entry may now be saved."""
        key = key or ""
        if self.trusted_records is not None:
            self.trusted_records.add(record_id)
        entry = self.pending.pop(key, None)
        if entry is None:
            # the parse can finish before the callback that yielded the item observes the page
            self.durable_first[key] = record_id
            return
        self._commit({**entry, "record_id": record_id})

"""Dump pipeline: OUT/reports/records.jsonl, one line per agency-year (record id).

Re-running a crawl into the same OUT updates lines in place instead of adding duplicates: existing
records are loaded at open; at close everything is written to a temporary file beside the dump and
renamed over it (atomic: a crash never leaves a half-written dump). When one crawl meets the same id
twice (a report page and its attachment, a re-post), the record with more table values is kept.
A record replacing one loaded from an earlier crawl whose source (WARC record) differs keeps the
earlier versions in ``revisions`` (oldest first): ``{"fetched_at", "warc_file", "warc_record_id",
"warc_offset", "url"}`` of each earlier source. Items marked ``unchanged`` carry no record: the
loaded line stays byte for byte. With a crawl state (``harvester.state``) the record id is noted on
the URL's state entry.
Setting: ``DUMP_PATH`` (required). Stats: ``dump/records``, ``dump/new``, ``dump/updated``,
``dump/unchanged``.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from scrapy.exceptions import NotConfigured

from harvester.jsonl import read_jsonl, write_jsonl_atomic

logger = logging.getLogger(__name__)


def richness(record: dict[str, Any]) -> int:
    """How many table values a record holds (numbers, not nulls)."""
    def count(obj: Any) -> int:
        if isinstance(obj, dict):
            return sum(count(v) for v in obj.values())
        if isinstance(obj, list):
            return sum(count(v) for v in obj)
        return int(isinstance(obj, (int, float)) and not isinstance(obj, bool))
    return sum(count(record.get(k)) for k in ("active_disclosure", "requests", "review_litigation"))


def revision_of(record: dict[str, Any]) -> dict[str, Any] | None:
    """The `revisions` entry describing a record's source (None when it has no WARC pointer)."""
    src = record.get("source") or {}
    if not src.get("warc_record_id"):
        return None
    return {k: src.get(k) for k in ("fetched_at", "warc_file", "warc_record_id", "warc_offset", "url")}


class RecordDump:
    """The JSONL dump as an ordered id → record map; usable without Scrapy (replay, tests)."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self.records: dict[str, dict[str, Any]] = {}
        self.previous: dict[str, dict[str, Any]] = {}   # as loaded, before this run
        self.seen_this_run: set[str] = set()
        self.new = self.updated = 0

    def load(self) -> None:
        for rec in read_jsonl(self.path):
            if rec.get("id"):
                self.records[rec["id"]] = rec
                self.previous[rec["id"]] = rec

    def add(self, record: dict[str, Any]) -> bool:
        """Add or replace; False when an equal-or-richer record with this id came earlier in this run."""
        rid = record["id"]
        if rid in self.seen_this_run and richness(self.records[rid]) >= richness(record):
            return False
        prev = self.previous.get(rid)
        if prev is not None:
            revisions = list(prev.get("revisions") or [])
            old = revision_of(prev)
            if old and old.get("warc_record_id") != (record.get("source") or {}).get("warc_record_id"):
                revisions.append(old)
            if revisions:
                record = {**record, "revisions": revisions}
        if rid in self.records:
            self.updated += rid not in self.seen_this_run
        else:
            self.new += 1
        self.records[rid] = record
        self.seen_this_run.add(rid)
        return True

    def write(self) -> None:
        write_jsonl_atomic(self.path, self.records.values())


class DumpPipeline:
    def __init__(self, path: str, stats=None, state=None):
        self.dump = RecordDump(path)
        self.stats = stats
        self.state = state
        self.unchanged = 0

    @classmethod
    def from_crawler(cls, crawler):
        from harvester.state import CrawlState

        path = crawler.settings.get("DUMP_PATH")
        if not path:
            raise NotConfigured("DUMP_PATH is not set")
        return cls(path, crawler.stats, CrawlState.for_crawler(crawler))

    def open_spider(self, spider=None):
        self.dump.load()

    def process_item(self, item, spider=None):
        if item.get("unchanged"):
            self.unchanged += 1
            return item
        record = item.get("record")
        if record and record.get("id"):
            self.dump.add(record)
            if self.state is not None:
                self.state.note_record(item.get("state_key") or item.get("url"), record["id"])
        return item

    def close_spider(self, spider=None):
        self.dump.write()
        if self.stats is not None:
            self.stats.set_value("dump/records", len(self.dump.records))
            self.stats.set_value("dump/new", self.dump.new)
            self.stats.set_value("dump/updated", self.dump.updated)
            self.stats.set_value("dump/unchanged", self.unchanged)
        logger.info("dump: %d records in %s (%d new, %d updated)", len(self.dump.records), self.dump.path,
                    self.dump.new, self.dump.updated)

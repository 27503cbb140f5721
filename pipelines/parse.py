"""Parse pipeline: each report item → one record, by the shared parser (`harvester.report`), in a
process pool off the reactor (`harvester.parsepool`), so downloads go on while reports are parsed.

Thin on purpose: the crawl, `harvester replay` and `harvester parse FILE` call the same
`parse_document`. Sets ``item["record"]``; counts ``parse/records``, ``parse/failed`` (the parser
could not read the document), ``parse/failed_checks`` (records with a failed consistency rule) and
``parse/limit_exceeded`` (a document past the time or memory limit: a record with a warning).
Items marked ``unchanged`` (a re-crawl's 304 / identical payload) are not parsed again: their record
stays in the dump as it is; counted as ``parse/skipped_unchanged``.

Settings: ``PARSE_WORKERS`` (processes; 0 = one per core; -1 = parse in the crawl process, no
limits), ``PARSE_TIMEOUT`` (seconds per document, 60), ``PARSE_MEMORY_LIMIT`` (bytes of address
space per worker, 2 GiB).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import unquote, urlsplit

from harvester.report import parse_document

logger = logging.getLogger(__name__)


def source_of(item: dict[str, Any]) -> dict[str, Any]:
    """The record's `source` object from a crawled item (WARC pointer from the capture middleware)."""
    warc = item.get("warc") or {}
    source = {"url": item.get("url"), "fetched_at": warc.get("fetched_at"),
              "content_type": item.get("content_type"), "warc_file": warc.get("warc_file"),
              "warc_record_id": warc.get("warc_record_id"), "warc_offset": warc.get("warc_offset"),
              "attachments": []}
    if item.get("detail_url"):
        source["detail_url"] = item["detail_url"]
    return source


TRUNCATED_WARNING = "capture truncated (WARC-Truncated: {}): the body ended early; values may be missing"


def parse_item(item: dict[str, Any]) -> dict[str, Any]:
    """One crawled (or replayed) item → its record. The item's `agency` is the registry portal's,
    which keeps the agency-year identity stable across the portal's series
    (`harvester.report.identity`); a body that ended early (`truncated`, from the WARC capture)
    is parsed for what it holds and warned."""
    name = unquote(urlsplit(item.get("url") or "").path.rsplit("/", 1)[-1]) or None
    record = parse_document(item["body"], name=name, content_type=item.get("content_type"),
                            source=source_of(item), meta={"portal_agency": item.get("agency")})
    truncated = item.get("truncated") or (item.get("warc") or {}).get("truncated")
    if truncated:
        record["warnings"].append(TRUNCATED_WARNING.format(truncated))
    return record


def is_truncated(record: dict[str, Any]) -> bool:
    return any(w.startswith("capture truncated") for w in record.get("warnings") or [])


class ParsePipeline:
    def __init__(self, stats=None, *, workers: int = 0, timeout: float = 60.0, memory: int = 2 * 1024 ** 3):
        self.stats = stats
        self.workers, self.timeout, self.memory = workers, timeout, memory
        self.pool = None

    @classmethod
    def from_crawler(cls, crawler):
        from harvester.parsepool import DEFAULT_MEMORY, DEFAULT_TIMEOUT

        s = crawler.settings
        return cls(crawler.stats, workers=s.getint("PARSE_WORKERS", 0),
                   timeout=s.getfloat("PARSE_TIMEOUT", DEFAULT_TIMEOUT),
                   memory=s.getint("PARSE_MEMORY_LIMIT", DEFAULT_MEMORY))

    def open_spider(self, spider=None):
        if self.workers >= 0:
            from harvester.parsepool import ParsePool

            self.pool = ParsePool(self.workers, timeout=self.timeout, memory=self.memory)

    def close_spider(self, spider=None):
        if self.pool is not None:
            self.pool.close()

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)

    async def process_item(self, item, spider=None):
        if item.get("unchanged"):
            item["record"] = None
            self._inc("parse/skipped_unchanged")
            return item
        if self.pool is None:
            record = parse_item(item)
        else:
            future = self.pool.submit(item)
            try:
                await asyncio.wrap_future(future)
            except Exception:
                pass   # outcome() turns a timeout or a dead worker into a record
            record, limit = self.pool.outcome(item, future)
            if limit:
                self._inc("parse/limit_exceeded")
                logger.warning("parse limit: %s: %s", item.get("url"), limit)
        item["record"] = record
        self._inc("parse/records")
        if any(w.startswith("not parsed") for w in record.get("warnings") or []):
            self._inc("parse/failed")
            logger.warning("parse failed: %s: %s", item.get("url"), record["warnings"][0])
        if record.get("checks"):
            self._inc("parse/failed_checks")
        return item

"""Parse pipeline: each report item → one record, by the shared parser (`harvester.report`).

Thin on purpose: the crawl, `harvester replay` and `harvester parse FILE` call the same
`parse_document`. Sets ``item["record"]``; counts ``parse/records``, ``parse/failed`` (the parser
could not read the document) and ``parse/failed_checks`` (records with a failed consistency rule).
Items marked ``unchanged`` (a re-crawl's 304 / identical payload) are not parsed again: their record
stays in the dump as it is; counted as ``parse/skipped_unchanged``.
"""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote, urlsplit

from harvester.report import parse_document

logger = logging.getLogger(__name__)


def source_of(item: dict[str, Any]) -> dict[str, Any]:
    """The record's `source` object from a crawled item (WARC pointer from the capture middleware)."""
    warc = item.get("warc") or {}
    return {"url": item.get("url"), "fetched_at": warc.get("fetched_at"),
            "content_type": item.get("content_type"), "warc_file": warc.get("warc_file"),
            "warc_record_id": warc.get("warc_record_id"), "warc_offset": warc.get("warc_offset"),
            "attachments": []}


def parse_item(item: dict[str, Any]) -> dict[str, Any]:
    name = unquote(urlsplit(item.get("url") or "").path.rsplit("/", 1)[-1]) or None
    source = source_of(item)
    if item.get("detail_url"):
        source["detail_url"] = item["detail_url"]
    return parse_document(item["body"], name=name, content_type=item.get("content_type"), source=source)


class ParsePipeline:
    def __init__(self, stats=None):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def _inc(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)

    def process_item(self, item, spider=None):
        if item.get("unchanged"):
            item["record"] = None
            self._inc("parse/skipped_unchanged")
            return item
        record = parse_item(item)
        item["record"] = record
        self._inc("parse/records")
        if any(w.startswith("not parsed") for w in record.get("warnings") or []):
            self._inc("parse/failed")
            logger.warning("parse failed: %s: %s", item.get("url"), record["warnings"][0])
        if record.get("checks"):
            self._inc("parse/failed_checks")
        return item

"""Feed pipeline, the last one: items leave the pipelines JSON-serialisable.

A report item carries the raw response ``body`` (bytes) for the parse and dump pipelines; feed
exports (``scrapy crawl discovery -o items.jsonl``, scrapyd's items feed) cannot serialise bytes.
The bytes are kept in the WARC file (``item["warc"]`` points at the record); the item keeps their
length as ``body_length``.
"""
from __future__ import annotations

from typing import Any


class FeedItemPipeline:
    def process_item(self, item: dict[str, Any], spider=None) -> dict[str, Any]:
        for key in [k for k, v in item.items() if isinstance(v, (bytes, bytearray, memoryview))]:
            item[f"{key}_length"] = len(item.pop(key))
        return item

"""The shared report parser: plain data in, a record out. Imports nothing from Scrapy, no network.

    parse_document(data, name=..., content_type=..., source=...) -> record (dict)

The same function serves the crawl's pipelines, `harvester replay` and `harvester parse FILE`.
"""
from __future__ import annotations

from harvester.report.record import parse_document, parse_path

__all__ = ["parse_document", "parse_path"]

"""WARC storage: ``writer`` (records, rotation), ``capture`` (the Scrapy hook), ``cdxj`` (index
lines), ``reader`` (iterate stored responses for replay).

Only ``writer``/``cdxj``/``reader`` are imported here; ``capture`` imports Scrapy and is loaded by
Scrapy from the ``DOWNLOADER_MIDDLEWARES`` setting.
"""

from harvester.warc.writer import (
    DEFAULT_MAX_SIZE,
    RequestData,
    ResponseData,
    WarcPointer,
    WarcWriter,
)

__all__ = ["DEFAULT_MAX_SIZE", "RequestData", "ResponseData", "WarcPointer", "WarcWriter"]

"""WARC storage: ``records`` (building records), ``writer`` (files: rotation, recovery, index),
``pointer`` (``WarcPointer``, to and from ``meta``), ``cdxj`` (the sorted pywb index), ``reader``
(reading WARC/ARC back), ``crawllog`` (OUT/crawl.log), and the Scrapy seams: ``capture`` (the
downloader middleware archiving each exchange), ``discovery`` (the spider middleware writing
metadata records), ``archive`` (the download handler answering from WARC files, for replay).

Only the Scrapy-free modules are imported here; the seams are loaded by Scrapy from settings.
"""

from harvester.warc.writer import (
    DEFAULT_MAX_SIZE,
    RequestData,
    ResponseData,
    WarcPointer,
    WarcWriter,
)

__all__ = ["DEFAULT_MAX_SIZE", "RequestData", "ResponseData", "WarcPointer", "WarcWriter"]

"""The archive as the network: a Scrapy download handler answering requests from WARC/ARC files.

    DOWNLOAD_HANDLERS = {"http": "harvester.warc.archive.ArchiveDownloadHandler",
                         "https": "harvester.warc.archive.ArchiveDownloadHandler"}
    REPLAY_ARCHIVE_INDEX = "/tmp/x/captures.jsonl"     # written by ``CaptureIndex.write`` (replay)
    REPLAY_SERVED_PATH = "/tmp/x/served.jsonl"         # the captures handed out, written at close

``harvester replay`` runs the real crawl (``harvester.crawl.run_crawl``: the discovery spider, every
middleware, the pipelines) with this handler, so a redirect, a retry, robots.txt and every page
object behave exactly as in a live crawl. Each answer is the stored response as received: status,
headers and the still content-encoded body (``HttpCompressionMiddleware`` decodes gzip, deflate,
br and zstd as it does live), with ``meta["warc"]`` pointing at the record. A URL not in the
archive is a miss (``ArchiveMiss``, an ``IgnoreRequest``: never retried; stat ``replay/miss``); a
capture whose Content-Encoding cannot be decoded is refused the same way (``replay/undecodable``)
rather than parsed as junk. A request the spider asks to render (``meta["render"]``) is answered
with the DOM the crawl's browser read (the ``conversion`` record ``urn:dom:<url>``). A revisit answers with the payload of the record it refers to
(``WARC-Refers-To``, else target URI + date, else payload digest).

Which capture answers a URL: the latest (WARC-Date) that is not a server error (a retried 500 is
followed by its 200; a later crawl's capture wins over an earlier one), else the latest.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes

from harvester.warc.captures import CaptureIndex, CaptureRef
from harvester.warc.reader import StoredResponse, read_record_at

logger = logging.getLogger(__name__)

__all__ = ["CaptureRef", "CaptureIndex", "ArchiveDownloadHandler", "ArchiveMiss"]


DOM_URI_PREFIX = "urn:dom:"   # a rendered DOM's record (harvester.middlewares.browser)


class ArchiveMiss(IgnoreRequest):
    """The archive holds no usable capture for this URL."""


class ArchiveDownloadHandler:
    """Download handler for http/https that answers from the archive (see the module doc)."""

    lazy = False

    def __init__(self, crawler) -> None:
        settings = crawler.settings
        index_path = settings.get("REPLAY_ARCHIVE_INDEX")
        if not index_path:
            raise NotConfigured("REPLAY_ARCHIVE_INDEX is not set")
        self.crawler = crawler
        self.index = CaptureIndex.load(index_path)
        self.served_path = settings.get("REPLAY_SERVED_PATH")
        self.served: list[tuple[str, int]] = []
        self.misses: list[str] = []
        self.undecodable: list[str] = []

    @classmethod
    def from_crawler(cls, crawler) -> "ArchiveDownloadHandler":
        return cls(crawler)

    def _inc(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)

    async def download_request(self, request, spider=None):
        if request.meta.get("render"):
            dom = self.index.lookup(DOM_URI_PREFIX + request.url.split("#", 1)[0])
            if dom is not None and dom.rectype == "conversion":
                return self._rendered(request, dom)
        ref = self.index.lookup(request.url)
        if ref is None:
            self._inc("replay/miss")
            self.misses.append(request.url)
            raise ArchiveMiss(f"not in the archive: {request.url}")
        stored = read_record_at(ref.path, ref.offset)
        source = ref
        if ref.rectype == "revisit":
            original = self.index.original(ref)
            orig = read_record_at(original.path, original.offset) if original else None
            if not isinstance(orig, StoredResponse):
                self._inc("replay/revisit_unresolved")
                raise ArchiveMiss(f"revisit without its original: {request.url}")
            headers = stored.headers if isinstance(stored, StoredResponse) and stored.status == 200 \
                and stored.headers else orig.headers
            status = orig.status if not isinstance(stored, StoredResponse) or stored.status in (0, 304) \
                else stored.status
            stored = StoredResponse(url=ref.url, status=status, headers=headers, raw_payload=orig.raw_payload,
                                    payload=orig.payload, pointer=ref.pointer(), ip_address=None,
                                    concurrent_to=[], decode_error=orig.decode_error)
        if not isinstance(stored, StoredResponse):
            self._inc("replay/miss")
            raise ArchiveMiss(f"not a response record: {request.url}")
        if stored.decode_error:
            self._inc("replay/undecodable")
            self.undecodable.append(f"{request.url}: {stored.decode_error}")
            raise ArchiveMiss(f"undecodable capture: {request.url}: {stored.decode_error}")
        self.served.append((source.path, source.offset))
        self._inc("replay/served")
        headers = Headers()
        for name, value in stored.headers:
            if name.lower() == "transfer-encoding":
                continue   # the stored body is de-chunked
            headers.appendlist(name, value.encode("latin-1", "replace"))
        meta = source.pointer().to_meta()
        request.meta["warc"] = meta
        cls = responsetypes.from_args(headers=headers, url=request.url, body=stored.raw_payload)
        return cls(url=request.url, status=stored.status or 200, headers=headers, body=stored.raw_payload,
                   flags=["archive"], request=request)

    def _rendered(self, request, dom: CaptureRef):
        """A page the crawl rendered in a browser: the DOM it read (``harvester.middlewares.browser``)."""
        from scrapy.http import HtmlResponse

        record = read_record_at(dom.path, dom.offset)
        self.served.append((dom.path, dom.offset))
        self._inc("replay/rendered")
        ctype = record.rec_headers.get_header("Content-Type") or "text/html; charset=utf-8"
        request.meta["warc"] = dom.pointer().to_meta()
        return HtmlResponse(url=request.url, status=200, headers={"Content-Type": ctype}, body=record.content,
                            flags=["archive", "rendered"], request=request)

    async def close(self) -> None:
        if not self.served_path:
            return
        with open(self.served_path, "w", encoding="utf-8") as fh:
            json.dump({"served": self.served, "misses": self.misses, "undecodable": self.undecodable}, fh,
                      ensure_ascii=False)


def served_report(path: str | os.PathLike) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    data["served"] = {(p, int(o)) for p, o in data.get("served", [])}
    return data

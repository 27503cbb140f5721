"""Discovery recorded at crawl time: a WARC ``metadata`` record per capture, Heritrix-style.

``DiscoveryRecordMiddleware`` (a spider middleware; ``SPIDER_MIDDLEWARES``) sees each response
the spider handled and everything the spider made of it. It stamps every request the page
produced with how it was found (``meta["discovery"]``: ``Discovery``: the page it was found on,
the link text, the hop path) and, once the spider is done with the page, hands the WARC writer a
``metadata`` record (``application/warc-fields``; ``WARC-Concurrent-To`` the response or revisit
record it describes; ``WARC-Refers-To`` the original response when the capture is a revisit)::

    via: http://127.0.0.2:8000/zwgk/zfxxgknb/           the page (or redirecting URL) that led here
    viaText: 2022年政府信息公开工作年度报告                the link text on that page
    hopsFromSeed: LL                                     one letter per hop (L link, R redirect)
    hops: 2                                              hops from the portal's entry page
    portal: 某某市人民政府                                  the registry portal (agency)
    role: detail                                         the spider's role for the request
    kind: report                                         column | list | report | attachment
    item: page                                           what the crawl emitted: page | attachment |
                                                         unchanged (a re-crawl's 304) | none
    title: …                                             the report item's title (link/page title)
    contentType: text/html; charset=utf-8                the item's content type (charset as decoded)
    detailUrl: …                                         the report page an attachment hangs on
    truncated: length                                    the body ended early (WARC-Truncated)
    outlink: http://…/t20230101_1.html L detail          one per request the page produced:
                                                         URL, hop type, the role it was given

``harvester replay`` reads these records back (``decision_of``) instead of re-running the spider.
Items from a response whose body ended early get ``item["truncated"] = "length"`` (the parse
pipeline turns it into a record warning).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, AsyncIterator, Iterable, Mapping

from scrapy import Request

from harvester.warc.captures import Decision, decision_of  # noqa: F401 - the reading side of these records
from harvester.warc.pointer import WarcPointer

logger = logging.getLogger(__name__)

__all__ = ["Discovery", "DiscoveryRecordMiddleware", "Decision", "decision_of", "KIND_OF_ROLE"]

META_KEY = "discovery"
KIND_OF_ROLE = {"entry": "column", "nav": "column", "list": "list", "detail": "report",
                "attachment": "attachment"}


@dataclass(frozen=True, slots=True)
class Discovery:
    """How a request was found: its one form in ``request.meta["discovery"]``."""

    via: str | None = None       # the page that linked to it
    via_text: str | None = None  # the link text
    path: str = ""               # hop path from the entry page: "L" per link, "R" per redirect

    @property
    def hops(self) -> int:
        return len(self.path)

    def to_meta(self) -> dict[str, Any]:
        return {"via": self.via, "via_text": self.via_text, "path": self.path}

    @classmethod
    def of(cls, request_or_response) -> "Discovery":
        """What led to this request / response, redirects included (each adds an ``R`` hop)."""
        meta = request_or_response.meta
        raw = meta.get(META_KEY) or {}
        found = cls(raw.get("via"), raw.get("via_text"), raw.get("path") or "")
        redirects = meta.get("redirect_urls") or []
        if redirects:
            return cls(redirects[-1], found.via_text, found.path + "R" * len(redirects))
        return found


class _PageRecord:
    """Collects what the spider made of one response; becomes its metadata record."""

    def __init__(self, middleware: "DiscoveryRecordMiddleware", response) -> None:
        self.mw = middleware
        self.response = response
        self.found = Discovery.of(response)
        self.pointer = WarcPointer.from_meta(response.meta.get("warc"))
        self.outlinks: list[tuple[str, str]] = []
        self.items: list[Mapping[str, Any]] = []

    def see(self, out: Any) -> None:
        if isinstance(out, Request):
            if META_KEY not in out.meta:
                out.meta[META_KEY] = Discovery(self.response.url, out.meta.get("link_title"),
                                               self.found.path + "L").to_meta()
            self.outlinks.append((out.url, out.meta.get("role") or "-"))
        elif isinstance(out, dict):
            if self.pointer is not None and self.pointer.truncated and not out.get("unchanged"):
                out["truncated"] = self.pointer.truncated
            self.items.append(out)

    def fields(self) -> list[tuple[str, object]]:
        meta = self.response.meta
        role = meta.get("role")
        spider = self.mw.crawler.spider
        portal = None
        portals = getattr(spider, "portals", None)
        if portals is not None and isinstance(meta.get("portal"), int) and meta["portal"] < len(portals):
            portal = portals[meta["portal"]].agency
        fields: list[tuple[str, object]] = [
            ("via", self.found.via), ("viaText", self.found.via_text), ("hopsFromSeed", self.found.path),
            ("hops", self.found.hops), ("portal", portal), ("role", role), ("kind", KIND_OF_ROLE.get(role, role)),
        ]
        item = self.items[0] if self.items else None
        if item is None:
            fields.append(("item", "none"))
        else:
            fields += [("item", "unchanged" if item.get("unchanged") else item.get("kind") or "page"),
                       ("title", item.get("link_title")), ("contentType", item.get("content_type")),
                       ("detailUrl", item.get("detail_url"))]
            if len(self.items) > 1:
                self.mw.inc("discovery_records/multi_items")
        if self.pointer is not None and self.pointer.truncated:
            fields.append(("truncated", self.pointer.truncated))
        fields += [("outlink", f"{url} L {role}") for url, role in self.outlinks]
        return fields

    def finish(self) -> None:
        if self.pointer is None:
            return   # not archived (WARC off, a cache hit, a write error): nothing to describe
        capture = self.mw.capture()
        if capture is None:
            return
        refers = (self.response.meta.get("warc") or {}).get("refers_to") or {}
        try:
            capture.writer.write_metadata(self.response.url.split("#", 1)[0], self.fields(),
                                  concurrent_to=self.pointer.record_id,
                                  refers_to=refers.get("warc_record_id"))
        except OSError as exc:   # disk full: one line and the crawl stops (harvester.outputfailure)
            from harvester.outputfailure import output_failed

            self.mw.inc("warc/write_errors")
            output_failed(self.mw.crawler, OSError(f"cannot write WARC records: {exc.strerror or exc}"))
            return
        except Exception:
            logger.exception("WARC: could not store the metadata record of %s", self.response.url)
            self.mw.inc("warc/write_errors")
            return
        self.mw.inc("warc/metadata_records")
        capture.count_written()


class DiscoveryRecordMiddleware:
    """Spider middleware: stamps ``meta["discovery"]`` on child requests, writes metadata records."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self._capture: Any = False   # False: not looked up yet

    @classmethod
    def from_crawler(cls, crawler) -> "DiscoveryRecordMiddleware":
        return cls(crawler)

    def capture(self):
        """The WARC capture middleware (its writer, its byte counts); None when WARC is off."""
        if self._capture is False:
            from harvester.warc.capture import WarcCaptureMiddleware

            self._capture = self.crawler.get_downloader_middleware(WarcCaptureMiddleware)
        return self._capture

    def inc(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)

    def process_spider_output(self, response, result: Iterable[Any]):
        page = _PageRecord(self, response)
        for out in result:
            page.see(out)
            yield out
        page.finish()

    async def process_spider_output_async(self, response, result: AsyncIterator[Any]):
        page = _PageRecord(self, response)
        async for out in result:
            page.see(out)
            yield out
        page.finish()

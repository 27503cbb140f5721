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
rather than parsed as junk. A revisit answers with the payload of the record it refers to
(``WARC-Refers-To``, else target URI + date, else payload digest).

Which capture answers a URL: the latest (WARC-Date) that is not a server error (a retried 500 is
followed by its 200; a later crawl's capture wins over an earlier one), else the latest.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from typing import Any, Iterator

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes

from harvester.warc.cdxj import surt
from harvester.warc.pointer import WarcPointer
from harvester.warc.reader import StoredResponse, read_record_at

logger = logging.getLogger(__name__)

__all__ = ["CaptureRef", "CaptureIndex", "ArchiveDownloadHandler", "ArchiveMiss"]


class ArchiveMiss(IgnoreRequest):
    """The archive holds no usable capture for this URL."""


@dataclass(slots=True)
class CaptureRef:
    """One response / revisit record: where it is and what it says, no payload."""

    path: str
    offset: int
    length: int
    url: str
    warc_date: str
    status: int
    rectype: str                     # response | revisit | resource
    record_id: str | None = None
    digest: str | None = None
    refers_to: str | None = None     # revisits: WARC-Refers-To
    refers_to_uri: str | None = None
    refers_to_date: str | None = None

    def pointer(self) -> WarcPointer:
        return WarcPointer(os.path.basename(self.path), self.offset, self.length, self.record_id or "",
                           self.warc_date, payload_digest=self.digest or "")

    @property
    def usable(self) -> bool:
        return 0 < self.status < 500 and self.status != 429


class CaptureIndex:
    """Captures by URL (and by SURT key), by record id, by URI + date and by payload digest."""

    def __init__(self, refs: list[CaptureRef]) -> None:
        self.refs = refs
        self.by_key: dict[str, list[int]] = {}
        self.by_id: dict[str, int] = {}
        self.by_uri_date: dict[tuple[str, str], int] = {}
        self.by_digest: dict[str, int] = {}
        for i, ref in enumerate(refs):
            for key in {ref.url, surt(ref.url)}:
                self.by_key.setdefault(key, []).append(i)
            if ref.rectype != "revisit":
                if ref.record_id:
                    self.by_id[ref.record_id] = i
                self.by_uri_date.setdefault((ref.url, ref.warc_date), i)
                if ref.digest:
                    self.by_digest.setdefault(ref.digest, i)

    @staticmethod
    def write(refs_iter, target) -> int:
        """Write refs as JSON lines to a path (replaced) or an open text file; how many."""
        if not hasattr(target, "write"):
            with open(target, "w", encoding="utf-8") as fh:
                return CaptureIndex.write(refs_iter, fh)
        n = 0
        for ref in refs_iter:
            target.write(json.dumps(asdict(ref), ensure_ascii=False) + "\n")
            n += 1
        return n

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CaptureIndex":
        with open(path, encoding="utf-8") as fh:
            return cls([CaptureRef(**json.loads(line)) for line in fh if line.strip()])

    def original(self, ref: CaptureRef) -> CaptureRef | None:
        """The response a revisit refers to."""
        for i in (self.by_id.get(ref.refers_to or ""),
                  self.by_uri_date.get((ref.refers_to_uri or "", ref.refers_to_date or "")),
                  self.by_digest.get(ref.digest or "")):
            if i is not None:
                return self.refs[i]
        return None

    def lookup(self, url: str) -> CaptureRef | None:
        url = url.split("#", 1)[0]
        found = self.by_key.get(url) or self.by_key.get(surt(url))
        if not found:
            return None
        candidates = [self.refs[i] for i in found]
        candidates = [c for c in candidates if c.rectype != "revisit" or self.original(c) is not None] or candidates
        usable = [c for c in candidates if c.usable] or candidates
        return max(enumerate(usable), key=lambda ic: (ic[1].warc_date, ic[0]))[1]   # the latest

    def __iter__(self) -> Iterator[CaptureRef]:
        return iter(self.refs)


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

"""What replay knows about an archive without holding payloads: one ``CaptureRef`` per response /
revisit record, looked up by URL (and SURT), record id, URI + date and payload digest
(``CaptureIndex``); and the crawl's ``Decision`` read back from a discovery metadata record
(``harvester.warc.discovery`` writes them). Scrapy-free: replay's reading side and its parser
workers import only this.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Iterable, Iterator

from harvester.warc.cdxj import surt
from harvester.warc.pointer import WarcPointer

__all__ = ["CaptureRef", "CaptureIndex", "Decision", "decision_of"]


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


@dataclass(frozen=True, slots=True)
class Decision:
    """What the crawl decided for one capture, as read back from its metadata record."""

    capture_id: str                # WARC-Concurrent-To: the response / revisit record
    url: str
    item: str                      # page | attachment | unchanged | none
    title: str | None
    content_type: str | None
    detail_url: str | None
    agency: str | None
    truncated: str | None
    refers_to: str | None = None   # WARC-Refers-To (the original of a revisit)


def decision_of(fields: Iterable[tuple[str, str]], *, capture_id: str, url: str,
                refers_to: str | None = None) -> Decision | None:
    """The ``Decision`` in a metadata record's warc-fields; None when it holds none of ours."""
    values: dict[str, str] = {}
    for name, value in fields:
        values.setdefault(name, value)
    if "item" not in values:
        return None
    return Decision(capture_id, url, values["item"], values.get("title"), values.get("contentType"),
                    values.get("detailUrl"), values.get("portal"), values.get("truncated"), refers_to)

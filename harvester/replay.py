"""Replay: WARC files → the same JSONL dump the crawl writes, without the network.

    summary = replay(["out/run1/warc"], "out/replayed")    # → out/replayed/reports/records.jsonl

Which captures are reports is decided by the crawl's own discovery spider
(``harvester.spiders.discovery``), driven offline: the archive plays the network. Each page is
handed to the spider's callbacks as a Scrapy response built from the stored record (same body,
headers, encoding detection); the requests the spider yields are "fetched" by looking their URL up
in the archive (following stored redirects). Pending requests are served in the order their
captures appear in the WARC files, i.e. the order the crawl received them, so the first link to a
URL (which gives an attachment its ``detail_url``) and the order of items match the crawl. The
traversal starts at the captured HTML pages no other captured page links to (a crawl's entry
pages; a wget mirror's start URLs) and at script list endpoints (Hanweb ``dataproxy.jsp``).

Items go through the crawl's parse step (``pipelines.parse.parse_item``) and dump
(``RecordDump``), so replaying a crawl's WARCs reproduces its dump (ids, values, ``source``
pointers). Captures the traversal never reached (a foreign WARC whose link structure the rules do
not follow) are accepted by a content rule: the parsed record has a statutory template (2019/2021)
and a report title (政府信息公开…报告, not a notice).

Reads gzip and plain WARCs, WARC/1.0 and 1.1; ``revisit`` records are resolved to the record they
refer to (WARC-Refers-To-Target-URI + Date, else the payload digest); a damaged or truncated file
is used up to the damage and reported (``summary["damaged"]``).
"""
from __future__ import annotations

import dataclasses
import heapq
import os
import sys
import time
from types import SimpleNamespace
from typing import Any, Callable, Iterator
from urllib.parse import urljoin

from warcio.archiveiterator import ArchiveIterator

from harvester.warc.reader import StoredResponse, _pointer, _stored_response, iter_warc_files

__all__ = ["Capture", "read_archive", "replay", "ReplayError"]

from harvester.errors import CommandError


class ReplayError(CommandError):
    """Replay could not run (no WARC, nothing readable); one line."""


@dataclasses.dataclass
class Capture:
    seq: int                     # position in the archive (file order, then record order)
    response: StoredResponse
    revisit_of: StoredResponse | None = None   # set when this capture is a resolved revisit


@dataclasses.dataclass
class Archive:
    captures: list[Capture]
    damaged: list[str]           # one line per damaged file
    revisits_unresolved: int = 0
    # rendered DOMs (conversion records `urn:dom:<url>`), by canonical page URL: what the spider
    # read when the crawl rendered that page in a browser
    rendered: dict[str, Capture] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        from harvester.spiders import pages

        self.by_url: dict[str, list[Capture]] = {}
        for cap in self.captures:
            url = cap.response.url
            if not url:
                continue
            for key in {url, pages.canonical_url(url)}:
                self.by_url.setdefault(key, []).append(cap)

    def lookup(self, url: str) -> Capture | None:
        """The capture the crawl would have received for `url`: its first non-error capture
        (a retried 500 is followed by the 200), else the last one."""
        from harvester.spiders import pages

        caps = self.by_url.get(url) or self.by_url.get(pages.canonical_url(url))
        if not caps:
            return None
        for cap in caps:
            if cap.response.status < 500 and cap.response.status != 429:
                return cap
        return caps[-1]


def _tail_damaged(path: str, offset: int) -> bool:
    """True when the file's last record (starting at `offset`) is cut short."""
    import zlib

    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read()
    if data[:2] == b"\x1f\x8b":
        out = []
        while data:
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                out.append(d.decompress(data))
            except zlib.error:
                return True
            if not d.eof:
                return True
            data = d.unused_data
        data = b"".join(out)
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return True
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return len(rest) < int(value.strip())
            except ValueError:
                return True
    return False


def _revisit_key_date(rec_headers) -> tuple[str | None, str | None]:
    return rec_headers.get_header("WARC-Refers-To-Target-URI"), rec_headers.get_header("WARC-Refers-To-Date")


def read_archive(paths, progress: Callable[[str], None] | None = None) -> Archive:
    """Every response (and resolved revisit) of the given WARC files/folders, in archive order."""
    captures: list[Capture] = []
    damaged: list[str] = []
    by_uri_date: dict[tuple[str, str], StoredResponse] = {}
    by_digest: dict[str, StoredResponse] = {}
    rendered: dict[str, Capture] = {}
    pending_revisits: list[tuple[int, Any, StoredResponse]] = []
    unresolved = 0
    files = list(iter_warc_files(paths))
    seq = 0
    for n, path in enumerate(files, 1):
        if progress:
            progress(f"reading {n}/{len(files)}: {os.path.basename(path)}")
        try:
            fh = open(path, "rb")
        except OSError as exc:
            damaged.append(f"{path}: unreadable: {exc.strerror}")
            continue
        with fh:
            it = ArchiveIterator(fh)
            last: tuple[int, int] | None = None    # (offset, index in captures/pending) of the last record
            try:
                for record in it:
                    dom_of = _rendered_page(record)
                    if dom_of:
                        stored = _stored_dom(dom_of, record)
                        it.read_to_end(record)
                        stored.pointer = _pointer(path, it, record)
                        seq += 1
                        rendered.setdefault(_canonical(dom_of), Capture(seq, stored))
                        last = (stored.pointer.offset, record.rec_type)
                        continue
                    if record.rec_type not in ("response", "revisit"):
                        it.read_to_end(record)
                        last = (it.get_record_offset(), record.rec_type)
                        continue
                    stored = _stored_response(path, record)
                    it.read_to_end(record)
                    stored.pointer = _pointer(path, it, record)
                    rh = record.rec_headers
                    seq += 1
                    last = (stored.pointer.offset, record.rec_type)
                    if record.rec_type == "response":
                        captures.append(Capture(seq, stored))
                        by_uri_date.setdefault((stored.url, rh.get_header("WARC-Date")), stored)
                        digest = rh.get_header("WARC-Payload-Digest")
                        if digest:
                            by_digest.setdefault(digest, stored)
                    else:
                        pending_revisits.append((seq, rh, stored))
            except Exception as exc:  # noqa: BLE001 — truncated gzip, garbage, short record
                first = str(exc).splitlines()[0] if str(exc) else ""
                damaged.append(f"{path}: damaged ({type(exc).__name__}{': ' + first if first else ''});"
                               f" records before it used")
            else:
                if last is not None and _tail_damaged(path, last[0]):
                    # the last record is cut short: drop it, keep everything before
                    if last[1] == "response" and captures and captures[-1].response.pointer.offset == last[0]:
                        captures.pop()
                    elif pending_revisits:
                        pending_revisits.pop()
                    damaged.append(f"{path}: damaged, truncated in the record at offset {last[0]}; records before it used")
    for seq_, rh, stored in pending_revisits:
        uri, date = _revisit_key_date(rh)
        orig = by_uri_date.get((uri, date)) if uri and date else None
        if orig is None:
            orig = by_digest.get(rh.get_header("WARC-Payload-Digest") or "")
        if orig is None:
            unresolved += 1
            continue
        # the revisit's own HTTP headers when it kept them (status 200), else the original's
        if stored.status == 200 and stored.headers:
            headers = stored.headers
        else:
            headers = orig.headers
        resolved = dataclasses.replace(stored, status=orig.status if stored.status in (0, 304) else stored.status,
                                       headers=headers, raw_payload=orig.raw_payload, payload=orig.payload,
                                       decode_error=orig.decode_error)
        captures.append(Capture(seq_, resolved, revisit_of=orig))
    captures.sort(key=lambda c: c.seq)
    return Archive(captures, damaged, unresolved, rendered)


DOM_URI_PREFIX = "urn:dom:"   # harvester.middlewares.browser stores a rendered DOM under this URI


def _rendered_page(record) -> str | None:
    uri = record.rec_headers.get_header("WARC-Target-URI") or ""
    return uri[len(DOM_URI_PREFIX):] if record.rec_type == "conversion" and uri.startswith(DOM_URI_PREFIX) else None


def _stored_dom(url: str, record) -> StoredResponse:
    body = record.content_stream().read()
    ctype = record.rec_headers.get_header("Content-Type") or "text/html; charset=utf-8"
    return StoredResponse(url=url, status=200, headers=[("Content-Type", ctype)], raw_payload=body, payload=body,
                          pointer=None, ip_address=None, concurrent_to=[])  # type: ignore[arg-type]


def _canonical(url: str) -> str:
    from harvester.spiders import pages

    return pages.canonical_url(url)


# --- offline drive of the discovery spider -----------------------------------------------------
class _Stats:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self.values[key] = self.values.get(key, start) + count

    def set_value(self, key: str, value: Any) -> None:
        self.values[key] = value

    def get_value(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def _scrapy_response(url: str, stored: StoredResponse, request):
    from scrapy.http import Headers
    from scrapy.responsetypes import responsetypes

    headers = Headers()
    for k, v in stored.headers:
        lk = k.lower()
        if lk in ("content-encoding", "transfer-encoding"):
            continue   # the body handed over is decoded, as after HttpCompressionMiddleware
        headers.appendlist(k, v.encode("latin-1", "replace") if isinstance(v, str) else v)
    body = stored.payload
    cls = responsetypes.from_args(headers=headers, url=url, body=body)
    return cls(url=url, status=stored.status, headers=headers, body=body, request=request)


def _is_endpoint(stored: StoredResponse) -> bool:
    return "dataproxy.jsp" in (stored.url or "") and b"<totalrecord>" in stored.payload[:200000]


def _is_html(stored: StoredResponse) -> bool:
    ctype = (stored.header("Content-Type") or "").lower()
    return "html" in ctype or (not ctype and stored.payload.lstrip()[:20].lower().startswith((b"<!doctype", b"<html")))


def _roots(archive: Archive) -> list[Capture]:
    """Where the crawl must have started: each host's first captured page (or redirect), and the
    captured HTML pages no other captured page links to."""
    from harvester.spiders import pages

    linked: set[str] = set()
    html_caps = []
    first_per_host: dict[str, Capture] = {}
    for cap in archive.captures:
        r = cap.response
        host = (r.url or "").split("/")[2] if (r.url or "").count("/") >= 2 else ""
        redirect = r.status in (301, 302, 303, 307, 308)
        if host not in first_per_host and not r.url.endswith("/robots.txt") and (
                redirect or (r.status == 200 and _is_html(r))):
            first_per_host[host] = cap
        if redirect:
            loc = r.header("Location")
            if loc:
                linked.add(pages.canonical_url(urljoin(r.url, loc)))
            continue
        if r.status != 200 or not _is_html(r):
            continue
        html_caps.append(cap)
        page = pages.page_for(r.url, _text(r))
        for link in page.links():
            if link.url != r.url:
                linked.add(pages.canonical_url(link.url))
        for u in page.listing().urls():
            linked.add(pages.canonical_url(u))
    for cap in archive.rendered.values():   # links only the browser saw are links too
        for u in pages.page_for(cap.response.url, _text(cap.response)).listing().urls():
            linked.add(pages.canonical_url(u))
    roots = {c.seq: c for c in first_per_host.values()}
    roots.update({c.seq: c for c in html_caps if pages.canonical_url(c.response.url) not in linked})
    return [roots[k] for k in sorted(roots)]


def _text(stored: StoredResponse) -> str:
    try:
        return stored.payload.decode(_charset(stored), "replace")
    except LookupError:
        return stored.payload.decode("utf-8", "replace")


def _charset(stored: StoredResponse) -> str:
    import re

    m = re.search(r"charset=([\w-]+)", stored.header("Content-Type") or "", re.I)
    if not m:
        m = re.search(rb"charset=[\"']?([\w-]+)", stored.payload[:4096], re.I)
        return m.group(1).decode() if m else "utf-8"
    return m.group(1)


class OfflineCrawl:
    """The discovery spider fed from an Archive instead of the network."""

    def __init__(self, archive: Archive):
        from harvester.spiders.discovery import DiscoverySpider

        self.archive = archive
        hosts = sorted({(c.response.url or "").split("/")[2].split(":")[0].lower()
                        for c in archive.captures if (c.response.url or "").count("/") >= 2})
        portal = SimpleNamespace(agency=None, entry_urls=(), allowed_hosts=tuple(hosts), hints={},
                                 allow_private=True)
        self.spider = DiscoverySpider(portals=[portal])
        self.spider._state = None
        self.stats = _Stats()
        from scrapy.settings import Settings

        # pages the crawl rendered are read from their stored DOM, as the crawl read them
        self.spider.crawler = SimpleNamespace(stats=self.stats, spider=self.spider,
                                              settings=Settings({"RENDER_ENABLED": bool(archive.rendered)}))
        self.seen: set[str] = set()
        self.heap: list[tuple[int, int, Any]] = []
        self.counter = 0
        self.visited: set[int] = set()   # capture seqs handed to the spider

    def schedule(self, request) -> None:
        from harvester.spiders import pages

        if request is None:
            return
        key = pages.canonical_url(request.url)
        if request.meta.get("render"):
            cap = self.archive.rendered.get(key)
            if cap is not None:
                self.counter += 1
                heapq.heappush(self.heap, (cap.seq, self.counter, (request, cap, cap.response.url)))
            return
        if key in self.seen:
            return
        self.seen.add(key)
        cap, final = self._fetch(request.url)
        if cap is None:
            return
        self.counter += 1
        heapq.heappush(self.heap, (cap.seq, self.counter, (request, cap, final)))

    def _fetch(self, url: str) -> tuple[Capture | None, str]:
        """Follow stored redirects (as Scrapy's RedirectMiddleware would) to the final capture."""
        from harvester.spiders import pages

        for _ in range(10):
            cap = self.archive.lookup(url)
            if cap is None:
                return None, url
            r = cap.response
            if r.status in (301, 302, 303, 307, 308) and r.header("Location"):
                nxt = urljoin(r.url, r.header("Location"))
                if pages.canonical_url(nxt) != pages.canonical_url(url):
                    self.seen.add(pages.canonical_url(nxt))
                url = nxt
                continue
            return cap, r.url
        return None, url

    def run(self) -> Iterator[tuple[dict[str, Any], Capture]]:
        import scrapy
        from harvester.warc.capture import pointer_meta

        for cap in _roots(self.archive):
            # a root is only an entry page if no link reached it before its turn in the archive
            heapq.heappush(self.heap, (cap.seq, 10**12 + cap.seq, ("root", cap, None)))
        for cap in self.archive.captures:
            if cap.response.status == 200 and _is_endpoint(cap.response):
                self.schedule(self.spider._req(cap.response.url, 0, "list"))
        while self.heap:
            _, _, (request, cap, final) = heapq.heappop(self.heap)
            if request == "root":
                from harvester.spiders import pages

                if pages.canonical_url(cap.response.url) in self.seen:
                    continue
                self.schedule(self.spider._req(cap.response.url, 0, "entry", nav_depth=0))
                continue
            self.visited.add(cap.seq)
            stored = cap.response
            if stored.status >= 400 and stored.status not in request.meta.get("handle_httpstatus_list", []):
                continue   # HttpErrorMiddleware: the errback, no item
            request.meta["warc"] = pointer_meta(stored.pointer)
            response = _scrapy_response(final, stored, request)
            callback = request.callback or self.spider.parse
            for out in callback(response) or ():
                if isinstance(out, scrapy.Request):
                    self.schedule(out)
                elif isinstance(out, dict):
                    yield out, cap


def _item(stored: StoredResponse) -> dict[str, Any]:
    """The spider's item for a capture no link led to (content type as DiscoverySpider.item)."""
    import scrapy
    from scrapy.http import TextResponse
    from harvester.warc.capture import pointer_meta

    response = _scrapy_response(stored.url, stored, scrapy.Request(stored.url))
    ctype = response.headers.get(b"Content-Type")
    ctype = ctype.decode("latin-1") if ctype else None
    if isinstance(response, TextResponse) and ctype and "charset" not in ctype.lower():
        ctype = f"{ctype}; charset={response.encoding}"
    return {"url": stored.url, "body": response.body, "content_type": ctype,
            "warc": pointer_meta(stored.pointer), "detail_url": None}


def _content_rule(record: dict[str, Any]) -> bool:
    from harvester.spiders import pages

    return record.get("template") in ("2019", "2021") and pages.is_report_title(record.get("title"))


def replay(paths, out: str | os.PathLike, *, progress: Callable[[str], None] | None = None,
           content_rule: bool = True) -> dict[str, Any]:
    """Replay WARC files/folders into OUT/reports/records.jsonl; return a summary."""
    from harvester.pipelines.dump import RecordDump
    from harvester.pipelines.parse import parse_item
    from harvester.warc.capture import pointer_meta

    files = list(iter_warc_files(paths))
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        raise ReplayError(f"no such file or folder: {missing[0]}")
    if not files:
        raise ReplayError("no WARC file (*.warc, *.warc.gz) found in " + ", ".join(map(str, paths)))
    t0 = time.monotonic()
    archive = read_archive(files, progress)
    dump = RecordDump(os.path.join(os.fspath(out), "reports", "records.jsonl"))
    dump.load()
    crawl = OfflineCrawl(archive)
    items = parsed = by_content = failed = 0
    last = time.monotonic()
    emitted: set[int] = set()
    for item, cap in crawl.run():
        items += 1
        emitted.add(cap.seq)
        record = parse_item(item)
        parsed += 1
        if any(w.startswith("not parsed") for w in record.get("warnings") or []):
            failed += 1
        if record.get("id"):
            dump.add(record)
        if progress and time.monotonic() - last > 2:
            last = time.monotonic()
            progress(f"{items} reports replayed")
    if content_rule:
        from harvester.spiders import pages

        # every capture that gave no item: never reached, or reached as an entry/list page (a
        # foreign WARC's start URLs are often the reports themselves). It may only add
        # agency-years the traversal did not find, so a crawl's own dump is reproduced as it was.
        traversed_ids = set(dump.records)
        for cap in archive.captures:
            r = cap.response
            if cap.seq in emitted or r.status != 200 or not r.payload:
                continue
            html = _is_html(r)
            if not (html or pages.is_attachment_url(r.url)):
                continue
            if html:
                title = pages.page_for(r.url, _text(r)).title()
                if not (title and pages.REPORT_TITLE.search(title)):
                    continue
            item = _item(r)
            record = parse_item(item)
            if record.get("id") and record["id"] not in traversed_ids and _content_rule(record):
                by_content += 1
                items += 1
                dump.add(record)
    dump.write()
    return {"warc_files": len(files), "captures": len(archive.captures), "reports": items,
            "by_content_rule": by_content, "records": len(dump.records), "parse_failures": failed,
            "damaged": archive.damaged, "revisits_unresolved": archive.revisits_unresolved,
            "dump": dump.path, "elapsed_s": round(time.monotonic() - t0, 2)}


def stderr_progress(msg: str) -> None:
    print(f"replay: {msg}", file=sys.stderr, flush=True)

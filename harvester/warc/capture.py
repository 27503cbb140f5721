"""The Scrapy hook: archive every HTTP exchange, as received, into WARC files.

Enable it with::

    WARC_ENABLED = True
    WARC_DIR = "out/warc"
    DOWNLOADER_MIDDLEWARES = {"harvester.warc.capture.WarcCaptureMiddleware": 950}

Settings: ``WARC_ENABLED`` (bool, default False), ``WARC_DIR`` (required when enabled; created if
missing, must be writable), ``WARC_PREFIX`` (file name prefix, default "harvester"),
``WARC_MAX_SIZE`` (bytes per file before rotation, default 1 GB), ``WARC_CDXJ_PATH`` (default
``WARC_DIR/index.cdxj``), ``WARC_CRAWL_LOG`` (default ``crawl.log`` beside the index; see
``harvester.warc.crawllog``), and for each file's warcinfo record ``WARC_OPERATOR`` (who runs the
crawl, e.g. a contact address), ``WARC_DESCRIPTION`` and ``JOB_NAME`` (``isPartOf``; default
``WARC_PREFIX``); warcinfo also names the software and versions, the robots policy
(``ROBOTSTXT_OBEY``), the User-Agent, the registry file and its SHA-256 (from the portals the spider
loaded), and when this crawl started (``crawlStart``: one value per crawl run).

When the crawl starts, ``.open`` files a killed crawl left in ``WARC_DIR`` are finished
(``WarcWriter.recover``). A response whose body ended early (Scrapy's ``dataloss`` flag: set
``DOWNLOAD_FAIL_ON_DATALOSS = False`` so the partial body reaches us; or a gzip body that stops
mid-stream) is stored with ``WARC-Truncated: length`` and ``meta["warc"]["truncated"]``.

Why a downloader middleware at 950 rather than the ``response_downloaded`` signal: both see the
response before ``HttpCompressionMiddleware`` (590) decodes it (process_response runs from the
highest number down; the tests check that the stored gzip body is byte-identical to what the
server sent), but only a middleware can also (a) rewrite ``Accept-Encoding`` in
``process_request`` after HttpCompressionMiddleware has set it, (b) see failures in
``process_exception`` and (c) hand the pointer on through ``request.meta`` in the same step.
At 950 it sits below ``HttpCacheMiddleware`` (900) on the way in, so cache hits are recognised by
their ``cached`` flag and not archived twice; each redirect hop and each retry is archived.

What is stored, and what is not exactly the wire bytes:

* request: ``METHOD /path?query HTTP/1.1``, then the headers the way Twisted writes them
  (``Content-Length`` for bodies first, Scrapy's headers with Twisted's name casing, repeated
  values repeated, ``Host`` last when Scrapy did not set it), then the body;
* response: ``HTTP/1.1 200 OK`` (Scrapy does not keep the reason phrase: the standard
  ``http.HTTPStatus`` phrase is used), every header value (``headers.getlist``), body as received
  before any content decoding; header names are in Scrapy's normalised case (Twisted/Scrapy do
  not keep the server's spelling), and values with the same name are grouped;
* chunked responses: Scrapy/Twisted de-chunk the body and drop ``Transfer-Encoding`` (and the
  missing ``Content-Length`` is not invented).  If a download handler keeps a
  ``Transfer-Encoding`` header it is removed, because the stored body is not chunked any more and
  a reader honouring the header would try (and fail) to de-chunk it.

``request.meta["warc"]`` (so ``response.meta["warc"]`` in callbacks and pipelines) is set to
``WarcPointer.to_meta()`` (``harvester.warc.pointer``) for each stored response.

Re-crawls: a request whose ``meta["prev_capture"]`` names an earlier capture (``url``,
``fetched_at``, ``warc_record_id``, ``payload_digest``; set by the discovery spider from the crawl
state) is archived as a ``revisit`` record instead of a response when the server answers 304
(profile server-not-modified) or a 200 whose payload digest equals the earlier one (profile
identical-payload-digest); ``meta["warc"]`` then also holds ``revisit`` ("server-not-modified" /
"identical-payload-digest") and ``refers_to``.  Stats: ``warc/revisits``.  Stats: ``warc/records``, ``warc/bytes``, ``warc/responses``, ``warc/failed``
(+ ``warc/failed/<ExceptionName>``), ``warc/write_errors``, ``warc/skipped_cached``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zlib
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from twisted.web.http_headers import Headers as TxHeaders

from harvester.warc.crawllog import CrawlLog, failure_status
from harvester.warc.discovery import Discovery
from harvester.warc.pointer import WarcPointer
from harvester.warc.reader import read_record_at
from harvester.warc.writer import (
    DEFAULT_MAX_SIZE,
    REVISIT_IDENTICAL_PAYLOAD,
    REVISIT_SERVER_NOT_MODIFIED,
    RequestData,
    ResponseData,
    WarcWriter,
    payload_digest,
)

logger = logging.getLogger(__name__)

def _str(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


# Headers a 304 may not change in the stored response: they describe the stored payload.
_NOT_FRESHENED = {"content-length", "content-encoding", "transfer-encoding", "content-range"}

__all__ = ["WarcCaptureMiddleware", "WarcSettingsError", "ACCEPT_ENCODING"]

ACCEPT_ENCODING = b"gzip, deflate"
# codings neither warcio nor pywb can decode: never ask for them
_UNREADABLE_CODINGS = {b"br", b"zstd"}
_DROP_RESPONSE_HEADERS = {b"transfer-encoding"}


class WarcSettingsError(ValueError):
    """A WARC_* setting is missing or wrong; raised from ``from_crawler`` so the crawl won't start."""


def _filter_accept_encoding(value: bytes | None) -> bytes:
    if not value:
        return ACCEPT_ENCODING
    kept = []
    for token in value.split(b","):
        coding = token.split(b";", 1)[0].strip().lower()
        if coding and coding not in _UNREADABLE_CODINGS:
            kept.append(token.strip())
    return b", ".join(kept) if kept else ACCEPT_ENCODING


def _host_value(scheme: str, host: str, port: int | None) -> bytes:
    # what twisted.web.client.Agent puts in Host when the request has none
    if ":" in host:
        host = f"[{host}]"
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return host.encode("idna") if not host.isascii() else host.encode()
    return f"{host}:{port}".encode()


def request_data(request: Request) -> RequestData:
    """The request as the default HTTP/1.1 download handler (Twisted) puts it on the wire."""
    url = request.url.split("#", 1)[0]
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if request.meta.get("proxy") and parts.scheme == "http":
        target = url  # plain-HTTP proxies get the absolute form
    method = request.method.upper()
    body = request.body or b""

    headers: list[tuple[bytes, bytes]] = []
    if "Content-Length" not in request.headers:
        if body:
            headers.append((b"Content-Length", str(len(body)).encode()))
        elif method in ("POST", "PUT"):
            headers.append((b"Content-Length", b"0"))
    tx = TxHeaders(dict(request.headers))
    for name, values in tx.getAllRawHeaders():
        for value in values:
            headers.append((name, value))
    if not tx.hasHeader(b"Host"):
        headers.append((b"Host", _host_value(parts.scheme, parts.hostname or "", parts.port)))
    return RequestData(method=method, target=target, headers=headers, body=body)


def response_data(response: Response) -> ResponseData:
    """The response as received (body not yet content-decoded)."""
    headers = [
        (name, value)
        for name, values in response.headers.items()
        if name.lower() not in _DROP_RESPONSE_HEADERS
        for value in values
    ]
    protocol = getattr(response, "protocol", None) or "HTTP/1.1"
    if not protocol.upper().startswith("HTTP/"):
        protocol = "HTTP/1.1"
    return ResponseData(
        status=int(response.status), headers=headers, body=response.body, protocol=protocol
    )


def _gzip_cut(body: bytes) -> bool:
    """A gzip body whose stream stops before its end (a partial download served as whole)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        for start in range(0, len(body), 1 << 20):
            d.decompress(body[start:start + (1 << 20)], 0)
            if d.eof:
                return False
    except zlib.error:
        return False   # not gzip after all: not ours to judge
    return not d.eof


def _truncation(response: Response) -> str | None:
    flags = set(response.flags or ())
    if "dataloss" in flags:
        return "length"
    if "download_stopped" in flags:
        return "unspecified"
    encoding = (response.headers.get(b"Content-Encoding") or b"").strip().lower()
    if encoding in (b"gzip", b"x-gzip") and response.body and _gzip_cut(response.body):
        return "length"
    return None


def _file_digest(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return "sha256:" + hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


class WarcCaptureMiddleware:
    """Downloader middleware (priority 950) writing each exchange to WARC before decompression."""

    def __init__(self, writer: WarcWriter, stats: Any = None, crawl_log: CrawlLog | None = None) -> None:
        self.writer = writer
        self.stats = stats
        self.crawl_log = crawl_log
        self._counted = (0, 0)   # (records, bytes) of the writer already in the stats

    def count_written(self) -> None:
        """``warc/records`` and ``warc/bytes``: everything the crawl's writer wrote (pairs, and the
        metadata and browser records other components hand it), warcinfo included."""
        records, nbytes = self.writer.records_written, self.writer.bytes_written
        self._inc("warc/records", records - self._counted[0])
        self._inc("warc/bytes", nbytes - self._counted[1])
        self._counted = (records, nbytes)

    # -- construction -----------------------------------------------------------------------------

    @classmethod
    def from_crawler(cls, crawler) -> "WarcCaptureMiddleware":
        settings = crawler.settings
        if not settings.getbool("WARC_ENABLED", False):
            raise NotConfigured("WARC_ENABLED is not set")
        writer = cls.writer_from_settings(settings)
        recovered = writer.recover()
        log_path = settings.get("WARC_CRAWL_LOG") or os.path.join(
            os.path.dirname(writer.cdxj_path or writer.directory), "crawl.log")
        mw = cls(writer, crawler.stats, CrawlLog(log_path))
        mw.crawler = crawler
        if recovered and crawler.stats is not None:
            crawler.stats.set_value("warc/recovered_files", len(recovered))
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(mw.engine_stopped, signal=signals.engine_stopped)
        logger.info("WARC capture on: %s (prefix %r, max %d bytes, index %s)",
                    writer.directory, writer.prefix, writer.max_size, writer.cdxj_path)
        return mw

    @staticmethod
    def writer_from_settings(settings) -> WarcWriter:
        """Validate the WARC_* settings and build the writer; ``WarcSettingsError`` if wrong."""
        directory = settings.get("WARC_DIR")
        if not directory or not str(directory).strip():
            raise WarcSettingsError("WARC_ENABLED is on but WARC_DIR is not set")
        directory = os.path.abspath(os.fspath(directory))
        _check_writable_dir(directory, "WARC_DIR")

        prefix = settings.get("WARC_PREFIX") or "harvester"
        if not isinstance(prefix, str) or any(c in prefix for c in "/\\ \t\n"):
            raise WarcSettingsError(f"WARC_PREFIX must be a plain file name part, got {prefix!r}")

        raw_size = settings.get("WARC_MAX_SIZE", DEFAULT_MAX_SIZE)
        try:
            max_size = int(raw_size if raw_size not in (None, "") else DEFAULT_MAX_SIZE)
        except (TypeError, ValueError):
            raise WarcSettingsError(
                f"WARC_MAX_SIZE must be a number of bytes, got {raw_size!r}"
            ) from None
        if max_size <= 0:
            raise WarcSettingsError(f"WARC_MAX_SIZE must be positive, got {max_size}")

        cdxj_path = settings.get("WARC_CDXJ_PATH") or os.path.join(directory, "index.cdxj")
        cdxj_path = os.path.abspath(os.fspath(cdxj_path))
        if os.path.isdir(cdxj_path):
            raise WarcSettingsError(f"WARC_CDXJ_PATH is a directory: {cdxj_path}")
        _check_writable_dir(os.path.dirname(cdxj_path), "WARC_CDXJ_PATH's folder")
        if os.path.exists(cdxj_path) and not os.access(cdxj_path, os.W_OK):
            raise WarcSettingsError(f"WARC_CDXJ_PATH is not writable: {cdxj_path}")

        robots = "obey robots.txt" if settings.getbool("ROBOTSTXT_OBEY") else "ignore robots.txt"
        return WarcWriter(
            directory,
            prefix=prefix,
            max_size=max_size,
            cdxj_path=cdxj_path,
            operator=settings.get("WARC_OPERATOR"),
            description=settings.get("WARC_DESCRIPTION"),
            warcinfo={
                "isPartOf": settings.get("JOB_NAME") or prefix,
                "robots": robots,
                "http-header-user-agent": settings.get("USER_AGENT"),
                "crawlStart": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "discoveryRecords": "metadata records, application/warc-fields (harvester.warc.discovery)",
            },
        )

    def spider_opened(self, spider=None) -> None:
        """Name the registry the portals came from (and its digest) in the warcinfo records."""
        sources = {str(p.source).rsplit(":", 1)[0] for p in getattr(spider, "portals", None) or []
                   if getattr(p, "source", None)}
        if len(sources) == 1:
            path = sources.pop()
            self.writer.warcinfo["registry"] = os.path.basename(path)
            self.writer.warcinfo["registryDigest"] = _file_digest(path)

    # -- downloader middleware --------------------------------------------------------------------

    def process_request(self, request: Request, spider=None):
        current = request.headers.get(b"Accept-Encoding")
        wanted = _filter_accept_encoding(current)
        if wanted != current:
            request.headers[b"Accept-Encoding"] = wanted
        return None

    def process_response(self, request: Request, response: Response, spider=None):
        if "cached" in (response.flags or ()):
            self._inc("warc/skipped_cached")
            return response
        if urlsplit(response.url).scheme not in ("http", "https"):
            return response
        if "playwright" in (response.flags or ()):
            return response  # a browser's DOM is no response: harvester.middlewares.browser archives it
        request.meta.pop("warc", None)  # a pointer copied over from a redirect hop
        prev = request.meta.get("prev_capture") or None
        truncated = _truncation(response)
        revisit = None
        if prev and prev.get("fetched_at"):
            if response.status == 304:
                revisit = REVISIT_SERVER_NOT_MODIFIED
            elif (response.status == 200 and prev.get("payload_digest") and not truncated
                  and payload_digest(response.body) == prev["payload_digest"]):
                revisit = REVISIT_IDENTICAL_PAYLOAD
        url = response.url.split("#", 1)[0]
        ip = str(response.ip_address) if response.ip_address else None
        try:
            if revisit:
                stored, extra = response_data(response), None
                if revisit == REVISIT_SERVER_NOT_MODIFIED:
                    stored, extra = self._freshened(prev, stored)
                pointer = self.writer.write_revisit(
                    url, request_data(request), stored, profile=revisit, extra_warc_headers=extra,
                    refers_to_uri=prev.get("url") or url, refers_to_date=prev["fetched_at"],
                    refers_to=prev.get("warc_record_id") or None,
                    digest=prev.get("payload_digest") or None, ip_address=ip,
                )
            else:
                pointer = self.writer.write_exchange(
                    url,
                    request_data(request),
                    response_data(response),
                    ip_address=ip,
                    truncated=truncated,
                )
        except OSError as exc:   # disk full, folder gone: stop the crawl, one line (harvester.outputfailure)
            self._inc("warc/write_errors")
            from harvester.outputfailure import output_failed

            output_failed(getattr(self, "crawler", None),
                          OSError(f"cannot write WARC records in {self.writer.directory}: {exc.strerror or exc}"))
            # not archived, so not used: the request stays unfinished and is fetched again on resume
            raise IgnoreRequest(f"not archived: {response.url}") from None
        except Exception:
            logger.exception("WARC: could not store %s", response.url)
            self._inc("warc/write_errors")
            self._log_fetch(request, response, None, truncated, None, ["err:warc-write"])
            return response
        self.count_written()
        if truncated:
            self._inc("warc/truncated")
        self._log_fetch(request, response, pointer, truncated, revisit)
        if revisit:
            self._inc("warc/revisits")
            meta = pointer.to_meta()
            meta["revisit"] = revisit.rsplit("/", 1)[-1]
            meta["refers_to"] = {k: prev.get(k) for k in ("url", "fetched_at", "warc_file", "warc_offset",
                                                           "warc_record_id")}
            request.meta["warc"] = meta
            return response
        self._inc("warc/responses")
        request.meta["warc"] = pointer.to_meta()
        return response

    def _log_fetch(self, request: Request, response: Response | None, pointer: WarcPointer | None,
                   truncated: str | None, revisit: str | None, annotations: list[str] | None = None,
                   status: int | None = None) -> None:
        if self.crawl_log is None:
            return
        notes = list(annotations or [])
        tries = int(request.meta.get("retry_times") or 0) + 1
        if tries > 1:
            notes.insert(0, f"{tries}t")
        if truncated:
            notes.append(f"truncated:{truncated}")
        if revisit:
            notes.append("revisit:" + revisit.rsplit("/", 1)[-1])
        found = Discovery.of(request)
        mime = None
        if response is not None:
            ctype = response.headers.get(b"Content-Type")
            mime = ctype.decode("latin-1").split(";", 1)[0].strip().lower() if ctype else None
        self.log_line(status=status if status is not None else int(response.status), url=request.url,
                      size=len(response.body) if response is not None else None, path=found.path, via=found.via,
                      mime=mime, duration_s=request.meta.get("download_latency"),
                      digest=pointer.payload_digest if pointer else None, source=request.meta.get("portal"),
                      annotations=notes)

    def log_line(self, **fields: Any) -> None:
        """One crawl.log line (``CrawlLog.write``'s fields), also for fetches made outside the
        downloader (the browser's); a log that cannot be written is closed, the crawl goes on."""
        if self.crawl_log is None:
            return
        try:
            self.crawl_log.write(**fields)
        except OSError as exc:
            logger.error("crawl log: cannot write %s: %s", self.crawl_log.path, exc)
            self.crawl_log.close()

    def _freshened(self, prev: dict, not_modified: ResponseData) -> tuple[ResponseData, dict | None]:
        """The stored response's status and headers, updated by the 304's (RFC 9111 §4.3.4).

        pywb replays a revisit with the revisit's own HTTP headers and plays a 3xx as is, so a
        revisit holding the literal 304 would replay as an empty 304. Like an HTTP cache, we
        keep the validated response's headers freshened by the 304, and the status line really
        received in `WARC-Received-Status-Line`. Falls back to the 304 when the original cannot
        be read.
        """
        received = {"WARC-Received-Status-Line": f"{not_modified.protocol} {not_modified.status_line}"}
        try:
            path = os.path.join(self.writer.directory, prev["warc_file"])
            original = read_record_at(path, int(prev["warc_offset"]))
            headers = list(original.headers)
        except Exception as exc:  # the earlier file moved or is damaged: keep what was received
            logger.warning("WARC: original of %s unreadable for the revisit (%s)", prev.get("url"), exc)
            return not_modified, received
        updates = {}
        for name, value in not_modified.headers:
            name, value = _str(name), _str(value)
            if name.lower() not in _NOT_FRESHENED:
                updates[name.lower()] = (name, value)
        merged = [(n, v) for n, v in headers if n.lower() not in updates] + list(updates.values())
        return ResponseData(original.status, merged, b"", protocol=not_modified.protocol), received

    def process_exception(self, request: Request, exception: BaseException, spider=None):
        if isinstance(exception, IgnoreRequest):
            return None  # filtered (robots.txt, offsite...), not a failed fetch
        name = type(exception).__name__
        logger.warning("WARC: fetch failed, nothing stored: %s (%s: %s)",
                       request.url, name, exception)
        self._inc("warc/failed")
        self._inc(f"warc/failed/{name}")
        self._log_fetch(request, None, None, None, None, [f"err:{name}"], status=failure_status(exception))
        return None

    # -- signals ----------------------------------------------------------------------------------

    def spider_closed(self, spider=None, reason=None) -> None:
        self.close()

    def engine_stopped(self) -> None:
        self.close()

    def close(self) -> None:
        self.count_written()
        self.writer.close()
        if self.crawl_log is not None:
            self.crawl_log.close()
        if self.stats is not None:
            self.stats.set_value("warc/files", len(self.writer.finished_files))

    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None and count:
            self.stats.inc_value(key, count)


def _check_writable_dir(directory: str, what: str) -> None:
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise WarcSettingsError(f"{what} cannot be created: {directory}: {exc}") from None
    if not os.path.isdir(directory):
        raise WarcSettingsError(f"{what} is not a directory: {directory}")
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".warc-write-test-"):
            pass
    except OSError as exc:
        raise WarcSettingsError(f"{what} is not writable: {directory}: {exc}") from None

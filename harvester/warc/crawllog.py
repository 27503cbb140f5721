"""``OUT/crawl.log``: one line per fetch, in the column order of Heritrix's crawl.log.

    2026-11-30T12:00:01.234Z   200      10432 http://127.0.0.2:8000/zwgk/t1.html LL http://127.0.0.2:8000/zwgk/ text/html #000 20261130120001100+134 sha1:QJ3… 2 2t,truncated:length

Columns (space-separated; ``-`` when empty):
 1. time the line was written (ISO 8601 UTC, milliseconds)
 2. status: the HTTP status, or a negative Heritrix code for a fetch without a response
    (-2 connection failed, -3 connection lost, -4 timeout, -5 other failure)
 3. size: bytes of the body as received
 4. URL
 5. discovery path from the entry page: one letter per hop (``L`` link, ``R`` redirect, ``E`` a
    resource the browser loaded for a rendered page), ``-`` for an entry page (Heritrix's hop path)
 6. via: the page (or redirecting URL) that led to it
 7. MIME type (Content-Type without parameters)
 8. worker: ``#000`` (Scrapy has one reactor thread; kept for tools that parse the column)
 9. fetch start (``yyyyMMddHHmmssSSS``) ``+`` duration in milliseconds
10. payload digest (``sha1:`` base32, as in the WARC)
11. source: the portal (registry index) the fetch belongs to
12. annotations, comma-separated: ``Nt`` (tries, when more than one), ``truncated:length``,
    ``revisit:server-not-modified`` / ``revisit:identical-payload-digest``, ``err:ExceptionName``,
    ``browser`` (fetched by Chromium for a rendered page, not by Scrapy's downloader)

Written by ``WarcCaptureMiddleware`` (and, through it, by the browser middleware; setting ``WARC_CRAWL_LOG``; default ``crawl.log`` beside the
CDXJ index). Appended and flushed per line, so a killed crawl keeps what it logged.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import IO

__all__ = ["CrawlLog", "failure_status"]

_FAILURE_CODES = {"ConnectionRefusedError": -2, "DNSLookupError": -1, "TimeoutError": -4,
                  "TCPTimedOutError": -4, "ConnectionLost": -3, "ConnectionDone": -3,
                  "ResponseNeverReceived": -3, "ResponseFailed": -3}


def failure_status(exception: BaseException) -> int:
    return _FAILURE_CODES.get(type(exception).__name__, -5)


def _field(value: object) -> str:
    text = "" if value is None else str(value)
    text = "".join(text.split())   # URLs and tokens never hold spaces; keep the columns intact
    return text or "-"


class CrawlLog:
    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        folder = os.path.dirname(self.path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self._fh: IO[str] | None = open(self.path, "a", encoding="utf-8")

    def write(self, *, status: int, size: int | None, url: str, path: str = "", via: str | None = None,
              mime: str | None = None, duration_s: float | None = None, digest: str | None = None,
              source: object = None, annotations: list[str] | None = None) -> None:
        if self._fh is None:
            return
        now = datetime.now(timezone.utc)
        started = now - timedelta(seconds=duration_s or 0)
        fetch = f"{started:%Y%m%d%H%M%S}{started.microsecond // 1000:03d}+{int(round((duration_s or 0) * 1000))}"
        line = " ".join([
            f"{now:%Y-%m-%dT%H:%M:%S}.{now.microsecond // 1000:03d}Z", f"{status:>5}",
            f"{size if size is not None else '-':>10}", _field(url), _field(path), _field(via), _field(mime),
            "#000", fetch, _field(digest), _field(source), _field(",".join(annotations or [])),
        ])
        self._fh.write(line + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

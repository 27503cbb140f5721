"""Crawl progress and the run summary: a Scrapy extension (``EXTENSIONS`` in harvester.settings).

While the crawl runs it prints progress to stderr whatever LOG_LEVEL says: portals done/total,
pages, reports, pages/s and an ETA; a live bar when stderr is a terminal, a plain line every
``PROGRESS_INTERVAL`` seconds otherwise (a log file, cron, scrapyd). ``PROGRESS`` = ``auto``
(default), ``bar``, ``lines`` or ``off``.

Every count is kept per portal, from the ``portal`` index the discovery spider puts in each
request's meta: pages (responses), reports (items), failed fetches and refusals (the spider's
``discovery/failed_fetches/portal/N`` and ``discovery/refused/portal/N`` stats), and records
new / changed / unchanged against the dump as it was when the crawl opened. A portal is *done*
when nothing of it is queued or in flight.

At the close it writes ``crawl-stats.json`` (summary + Scrapy stats) and ``run-summary.json``
(the summary alone, for monitoring) into ``OUTPUT_DIR`` — so ``harvester crawl``, ``scrapy crawl``
and scrapyd jobs leave the same files. A SIGINT/SIGTERM that stops the crawl is recorded: the run's
status is ``interrupted`` and its exit code 130/143.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import signal
import sys
import threading
import time
from typing import Any, TextIO

from scrapy import signals
from twisted.internet import task

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class PortalTally:
    agency: str
    entry: str | None
    outstanding: int = 0        # scheduled, not yet answered / refused / dropped
    scheduled: int = 0
    pages: int = 0
    reports: int = 0
    ok_responses: int = 0       # 2xx and 304: the portal answered
    new: set[str] = dataclasses.field(default_factory=set)
    changed: set[str] = dataclasses.field(default_factory=set)
    unchanged: int = 0


class CrawlProgress:
    def __init__(self, crawler, mode: str, interval: float, stream: TextIO | None = None):
        self.crawler = crawler
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if self.stream.isatty() else "lines"
        self.mode = mode
        self.interval = interval
        self.portals: list[PortalTally] = []
        self.previous_ids: set[str] = set()
        self.started = time.monotonic()
        self.started_at = dt.datetime.now(dt.timezone.utc)
        self.stop_signal: int | None = None
        self.summary: dict[str, Any] | None = None
        self._ticker: task.LoopingCall | None = None
        self._bar_shown = False

    @classmethod
    def from_crawler(cls, crawler) -> "CrawlProgress":
        s = crawler.settings
        mode = (s.get("PROGRESS") or "auto").lower()
        if mode not in ("auto", "bar", "lines", "off"):
            logger.warning("PROGRESS=%r unknown; using auto", mode)
            mode = "auto"
        ext = cls(crawler, mode, s.getfloat("PROGRESS_INTERVAL", 30.0))
        for handler, sig in ((ext.spider_opened, signals.spider_opened),
                             (ext.spider_closed, signals.spider_closed),
                             (ext.request_scheduled, signals.request_scheduled),
                             (ext.request_dropped, signals.request_dropped),
                             (ext.request_left_downloader, signals.request_left_downloader),
                             (ext.response_received, signals.response_received),
                             (ext.item_scraped, signals.item_scraped)):
            crawler.signals.connect(handler, signal=sig)
        return ext

    # --- counting -------------------------------------------------------------------------------
    def _tally(self, request) -> PortalTally | None:
        index = request.meta.get("portal") if request is not None else None
        if isinstance(index, int) and 0 <= index < len(self.portals):
            return self.portals[index]
        return None     # robots.txt and anything not from the discovery spider

    def spider_opened(self, spider) -> None:
        from harvester.jsonl import read_jsonl

        self.started = time.monotonic()
        self.started_at = dt.datetime.now(dt.timezone.utc)
        self.portals = [PortalTally(p.agency, (p.entry_urls or [None])[0])
                        for p in getattr(spider, "portals", None) or []]
        dump = self.crawler.settings.get("DUMP_PATH")
        if dump:
            self.previous_ids = {r["id"] for r in read_jsonl(dump) if r.get("id")}
        self._watch_stop_signals()
        if self.mode == "bar":
            self._clear_bar_before_log_lines()
        if self.mode != "off" and self.interval > 0:
            self._ticker = task.LoopingCall(self.show)
            self._ticker.start(min(self.interval, 1.0) if self.mode == "bar" else self.interval, now=False)

    def request_scheduled(self, request, spider=None) -> None:
        t = self._tally(request)
        if t is not None:
            t.scheduled += 1
            t.outstanding += 1

    def request_dropped(self, request, spider=None) -> None:
        t = self._tally(request)
        if t is not None:
            t.outstanding -= 1

    def request_left_downloader(self, request, spider=None) -> None:
        t = self._tally(request)
        if t is not None:
            t.outstanding -= 1

    def response_received(self, response, request, spider=None) -> None:
        t = self._tally(request)
        if t is not None:
            t.pages += 1
            t.ok_responses += response.status < 300 or response.status == 304

    def item_scraped(self, item, response, spider=None) -> None:
        t = self._tally(getattr(response, "request", None))
        if t is None:
            return
        t.reports += 1
        if item.get("unchanged"):
            t.unchanged += 1
            return
        rid = (item.get("record") or {}).get("id")
        if rid:
            (t.changed if rid in self.previous_ids else t.new).add(rid)

    def _stat(self, key: str) -> int:
        return int(self.crawler.stats.get_value(key, 0) or 0)

    def done(self, index: int) -> bool:
        t = self.portals[index]
        refused = self._stat(f"discovery/refused/portal/{index}")
        return t.scheduled > 0 and t.outstanding - refused <= 0

    def per_portal(self, finished: bool = True) -> list[dict[str, Any]]:
        """One row per portal; `finished=False` (a signal or a CLOSESPIDER_* limit ended the run)
        marks the portals with requests still queued or in flight as ``unfinished``."""
        rows = []
        for i, t in enumerate(self.portals):
            failed = self._stat(f"discovery/failed_fetches/portal/{i}")
            status = "failed" if not t.ok_responses else ("partial" if failed else "ok")
            if not finished and not self.done(i):
                status = "unfinished"
            rows.append({"agency": t.agency, "entry": t.entry, "status": status, "pages": t.pages,
                         "reports": t.reports, "failed_fetches": failed,
                         "refused": self._stat(f"discovery/refused/portal/{i}"),
                         "new": len(t.new), "changed": len(t.changed), "unchanged": t.unchanged})
        return rows

    # --- display --------------------------------------------------------------------------------
    def progress_line(self) -> tuple[str, float]:
        """The progress text and the fraction of portals done."""
        total = len(self.portals)
        n_done = sum(self.done(i) for i in range(total))
        pages = sum(t.pages for t in self.portals)
        reports = sum(t.reports for t in self.portals)
        elapsed = time.monotonic() - self.started
        rate = pages / elapsed if elapsed > 0 else 0.0
        if 0 < n_done < total:
            eta = _clock(elapsed / n_done * (total - n_done))
        else:
            eta = "0:00:00" if total and n_done == total else "?"
        text = (f"portals {n_done}/{total} done, {pages} pages, {reports} reports, "
                f"{rate:.1f} pages/s, elapsed {_clock(elapsed)}, ETA {eta}")
        return text, (n_done / total if total else 0.0)

    def say(self, text: str) -> None:
        """One line on the progress stream, whatever the mode (even off: it answers the operator)."""
        try:
            if self._bar_shown:
                self.stream.write("\r\033[K")
                self._bar_shown = False
            self._write_line(text)
        except (OSError, ValueError):
            pass

    def _write_line(self, text: str) -> None:
        self.stream.write(f"[harvester] {dt.datetime.now().strftime('%H:%M:%S')} {text}\n")
        self.stream.flush()

    def show(self, final: bool = False) -> None:
        text, fraction = self.progress_line()
        try:
            if self.mode == "bar":
                width = 24
                filled = int(round(fraction * width))
                self.stream.write(f"\r\033[K[{'#' * filled}{'.' * (width - filled)}] {text}"
                                  + ("\n" if final else ""))
                self._bar_shown = not final
                self.stream.flush()
            else:
                self._write_line(text)
        except (OSError, ValueError):   # stderr closed (a daemon's detached job): progress is optional
            self.mode = "off"

    def _clear_bar_before_log_lines(self) -> None:
        """A log line written to the bar's terminal first erases the bar (the next tick redraws it)."""
        def clear(record: logging.LogRecord) -> bool:
            if self._bar_shown:
                self.stream.write("\r\033[K")
                self._bar_shown = False
            return True

        for handler in logging.getLogger().handlers:
            if getattr(handler, "stream", None) is self.stream:
                handler.addFilter(clear)

    # --- stop signals ---------------------------------------------------------------------------
    def _watch_stop_signals(self) -> None:
        """Note which signal stopped the crawl, then let the handler in place (Scrapy's graceful
        shutdown) act as before. Runs after the reactor started, when Scrapy's handlers are set."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)

            def noted(n, frame, previous=previous):
                if self.stop_signal is None:
                    self.stop_signal = n
                    from twisted.internet import reactor   # written from the reactor, not the handler

                    reactor.callFromThread(self.say, f"{signal.Signals(n).name}: stopping after the requests in "
                                                     f"flight (send it again to force; the same command resumes)")
                if callable(previous):
                    previous(n, frame)
                elif previous == signal.SIG_DFL:
                    signal.signal(n, signal.SIG_DFL)
                    os.kill(os.getpid(), n)

            signal.signal(signum, noted)

    # --- close ----------------------------------------------------------------------------------
    def spider_closed(self, spider, reason: str) -> None:
        from harvester.crawl import build_summary, write_summary_files

        if self._ticker is not None and self._ticker.running:
            self._ticker.stop()
        if self.mode != "off":
            self.show(final=True)
        settings = self.crawler.settings
        self.summary = build_summary(
            self.crawler.stats.get_stats(), self.per_portal(finished=reason == "finished"), reason=reason, stop_signal=self.stop_signal,
            output_dir=settings.get("OUTPUT_DIR"), dump_path=settings.get("DUMP_PATH"),
            warc_dir=settings.get("WARC_DIR") if settings.getbool("WARC_ENABLED") else None,
            started_at=self.started_at, elapsed=time.monotonic() - self.started)
        try:
            write_summary_files(self.summary, self.crawler.stats.get_stats())
        except OSError as exc:
            logger.error("run summary not written: %s", exc)
            if not self.summary.get("output_error"):   # a full disk: the exit status says so
                self.summary.update(output_error=f"run summary not written: {exc}", status="failed",
                                    exit_code=2)


def _clock(seconds: float) -> str:
    return str(dt.timedelta(seconds=int(seconds)))

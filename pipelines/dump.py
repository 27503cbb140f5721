"""Dump pipeline: OUT/reports/records.jsonl, one line per agency-year (record id), durable as it goes.

Files (``harvester.jsonl``): the consolidated ``records.jsonl``, rewritten atomically when the
spider closes and on start from a leftover journal; ``records.jsonl.journal``, to which every
record is appended as soon as it is parsed (flushed per line, fsynced in batches of ``DUMP_SYNC_EVERY``
records or ``DUMP_SYNC_SECONDS``); and ``.records.jsonl.base``, a hard link to the dump as it was
when the crawl job began (what "earlier crawls" means for ``revisions`` while a killed job resumes).
A crawl that is killed keeps every record synced before the kill; the next run with the same OUT
folds the journal into ``records.jsonl`` at once and goes on. Journal and base are removed when a
job finishes.

Lines are sorted by record id. Re-running a crawl into the same OUT updates lines in place instead of adding duplicates. When one
crawl meets the same id twice (a report page and its attachment, a re-post), the record with more
table values is kept. A record replacing one from an earlier crawl whose source (WARC record)
differs keeps the earlier versions in ``revisions`` (oldest first): ``{"fetched_at", "warc_file",
"warc_record_id", "warc_offset", "url"}`` of each earlier source. Items marked ``unchanged`` carry
no record: the loaded line stays byte for byte.

Each record is serialised on its own: one that cannot be (a number ``json`` refuses, such as an
int of more than 4,300 digits, NaN, a lone surrogate) is replaced by a minimal record (id, agency,
year, title, source) with a warning, counted (``dump/unserialisable``) and logged; it never costs
the other records. With a crawl state (``harvester.state``), a URL's state entry is saved only after
its record is fsynced (``CrawlState.record_durable``), and the state trusts only entries whose
record is in the dump. A write failure stops the crawl with one line (``harvester.outputfailure``).

Settings: ``DUMP_PATH`` (required), ``DUMP_SYNC_EVERY`` (256), ``DUMP_SYNC_SECONDS`` (2.0). Stats:
``dump/records``, ``dump/new``, ``dump/updated``, ``dump/unchanged``, ``dump/recovered``,
``dump/unserialisable``, ``dump/unchanged_missing``, ``dump/kept_over_truncated`` (a capture whose
body ended early never replaces a record of a whole one).
"""
from __future__ import annotations

import logging
import os
import shutil
from typing import Any

from harvester.jsonl import Journal, OutputError, dumps_line, journal_path, read_jsonl, write_lines_atomic
from harvester.pipelines.parse import is_truncated

logger = logging.getLogger(__name__)

UNSERIALISABLE = "record could not be serialised ({}): tables and sections dropped; the raw capture is in the WARC"


def richness(record: dict[str, Any]) -> int:
    """How many table values a record holds (numbers, not nulls)."""
    def count(obj: Any) -> int:
        if isinstance(obj, dict):
            return sum(count(v) for v in obj.values())
        if isinstance(obj, list):
            return sum(count(v) for v in obj)
        return int(isinstance(obj, (int, float)) and not isinstance(obj, bool))
    return sum(count(record.get(k)) for k in ("active_disclosure", "requests", "review_litigation"))


def revision_of(record: dict[str, Any]) -> dict[str, Any] | None:
    """The `revisions` entry describing a record's source (None when it has no WARC pointer)."""
    src = record.get("source") or {}
    if not src.get("warc_record_id"):
        return None
    return {k: src.get(k) for k in ("fetched_at", "warc_file", "warc_record_id", "warc_offset", "url")}


def minimal_record(record: dict[str, Any], error: BaseException) -> dict[str, Any]:
    """What is kept of a record that cannot be serialised: who, which year, where from, and why."""
    from harvester.report.record import blank_record, empty_source

    def plain(value: Any, kinds: tuple[type, ...]) -> Any:
        if not isinstance(value, kinds) or isinstance(value, bool):
            return None
        try:
            dumps_line({"v": value})
        except (ValueError, TypeError, RecursionError):
            return None
        return value

    source = record.get("source") if isinstance(record.get("source"), dict) else {}
    minimal = blank_record(empty_source(**{k: plain(v, (str, int)) for k, v in source.items()
                                           if k != "attachments"}))
    minimal.update(id=record["id"], agency=plain(record.get("agency"), (str,)),
                   year=plain(record.get("year"), (int,)), title=plain(record.get("title"), (str,)),
                   published=plain(record.get("published"), (str,)))
    minimal["warnings"] = [UNSERIALISABLE.format(f"{type(error).__name__}: {str(error)[:120]}")]
    return minimal


class RecordDump:
    """The JSONL dump as an ordered id → record map; usable without Scrapy (replay, tests).

    `open()` loads it (folding in a leftover journal) and starts the journal; `add()` appends;
    `close()` consolidates; `finish()` ends the job. `write()` alone rewrites the consolidated file (replay)."""

    def __init__(self, path: str | os.PathLike, *, sync_every: int = 64, sync_seconds: float = 1.0,
                 on_durable=None):
        self.path = os.fspath(path)
        folder, name = os.path.split(os.path.abspath(self.path))
        self.base_path = os.path.join(folder, f".{name}.base")
        self.journal = Journal(journal_path(self.path), batch=sync_every, interval=sync_seconds,
                               on_durable=on_durable)
        self.records: dict[str, dict[str, Any]] = {}
        self.lines: dict[str, str] = {}   # id -> its serialised line, made once by `add`
        self.held_richness: dict[str, int] = {}   # id -> richness() of the held record, once asked
        self.previous: dict[str, dict[str, Any]] = {}   # as before this crawl job
        self.seen_this_run: set[str] = set()
        self.new = self.updated = self.recovered = self.unserialisable = self.kept_over_truncated = 0
        self.journaling = False   # `open()` starts the journal; `load()` + `write()` alone do not

    def load(self) -> None:
        for rec in read_jsonl(self.path):
            if rec.get("id"):
                self.records[rec["id"]] = rec
                self.previous[rec["id"]] = rec

    def open(self) -> None:
        """Load; a leftover journal (a killed job) is this job's: fold it in and consolidate now."""
        leftover = os.path.exists(self.journal.path)
        if leftover and os.path.exists(self.base_path):
            for rec in read_jsonl(self.base_path):
                if rec.get("id"):
                    self.previous[rec["id"]] = rec
            self.records = dict(self.previous)
            for rec in read_jsonl(self.path):   # consolidated since the base: this job's too
                if rec.get("id") and rec["id"] not in self.records:
                    self._count(rec["id"])
                    self.records[rec["id"]] = rec
                    self.seen_this_run.add(rec["id"])
        else:
            self.load()
        if leftover:
            for rec in read_jsonl(self.journal.path):
                if rec.get("id"):
                    self._count(rec["id"])
                    self.records[rec["id"]] = rec
                    self.seen_this_run.add(rec["id"])
                    self.recovered += 1
            logger.info("dump: %d records recovered from %s", self.recovered, self.journal.path)
            self.write()
        else:
            self._snapshot_base()
        self.journaling = True

    def _snapshot_base(self) -> None:
        try:
            if os.path.lexists(self.base_path):
                os.unlink(self.base_path)
            if os.path.exists(self.path):
                try:
                    os.link(self.path, self.base_path)   # the atomic rewrite replaces the name, not the inode
                except OSError:
                    shutil.copyfile(self.path, self.base_path)
            else:   # a first crawl: an empty base, so a resumed job knows nothing came before it
                os.makedirs(os.path.dirname(self.base_path), exist_ok=True)
                open(self.base_path, "w").close()
        except OSError as exc:
            raise OutputError(f"cannot write {self.base_path}: {exc.strerror or exc}") from None

    def _count(self, rid: str) -> None:
        if rid in self.seen_this_run:
            return
        if rid in self.previous:
            self.updated += 1
        else:
            self.new += 1

    def add(self, record: dict[str, Any], key: str | None = None) -> bool:
        """Add or replace (and journal); False when an equal-or-richer record with this id came
        earlier in this run. OutputError when the journal cannot be written."""
        rid = record["id"]
        if rid in self.seen_this_run and rid in self.records:   # counted only when two captures meet
            if rid not in self.held_richness:
                self.held_richness[rid] = richness(self.records[rid])
            if self.held_richness[rid] >= richness(record):
                return False
        held = self.records.get(rid)
        if held is not None and is_truncated(record) and not is_truncated(held):
            self.kept_over_truncated += 1      # a body cut short never replaces a whole capture's record
            logger.warning("dump: %s kept; the new capture of %s ended early", rid,
                           (record.get("source") or {}).get("url"))
            return False
        prev = self.previous.get(rid)
        if prev is not None:
            revisions = list(prev.get("revisions") or [])
            old = revision_of(prev)
            if old and old.get("warc_record_id") != (record.get("source") or {}).get("warc_record_id"):
                revisions.append(old)
            if revisions:
                record = {**record, "revisions": revisions}
        try:
            line = dumps_line(record)
        except (ValueError, TypeError, RecursionError) as exc:
            self.unserialisable += 1
            logger.warning("dump: record %s from %s could not be serialised (%s: %s); a minimal record "
                           "is kept", rid, (record.get("source") or {}).get("url"), type(exc).__name__,
                           str(exc)[:120])
            record = minimal_record(record, exc)
            line = dumps_line(record)
        if self.journaling:
            self.journal.append(line, (key, rid))
        self._count(rid)
        self.records[rid] = record
        self.lines[rid] = line
        self.held_richness.pop(rid, None)
        self.seen_this_run.add(rid)
        return True

    def write(self) -> None:
        """The consolidated dump, sorted by id: parsing finishes in any order, the file does not."""
        lines = []
        for rid in sorted(self.records):
            line = self.lines.get(rid)
            if line is None:   # loaded, or put in `records` without `add`: serialised here, once
                try:
                    line = dumps_line(self.records[rid])
                except (ValueError, TypeError, RecursionError) as exc:
                    self.unserialisable += 1
                    self.records[rid] = minimal_record(self.records[rid], exc)
                    line = dumps_line(self.records[rid])
                self.lines[rid] = line
            lines.append(line)
        write_lines_atomic(self.path, lines)

    def close(self) -> None:
        """Sync the journal and rewrite the consolidated dump (journal and base stay)."""
        self.journal.close()
        self.write()

    def finish(self) -> None:
        """The crawl job is complete: its journal and base are no longer needed."""
        self.journal.remove()
        try:
            os.unlink(self.base_path)
        except FileNotFoundError:
            pass


class DumpPipeline:
    def __init__(self, path: str, stats=None, state=None, crawler=None, *, sync_every: int = 64,
                 sync_seconds: float = 1.0):
        self.dump = RecordDump(path, sync_every=sync_every, sync_seconds=sync_seconds,
                               on_durable=self._durable)
        self.stats = stats
        self.state = state
        self.crawler = crawler
        self.unchanged = self.unchanged_missing = 0
        self.failed = False

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy import signals
        from scrapy.exceptions import NotConfigured

        from harvester.state import CrawlState

        path = crawler.settings.get("DUMP_PATH")
        if not path:
            raise NotConfigured("DUMP_PATH is not set")
        pipe = cls(path, crawler.stats, crawler.get_extension(CrawlState), crawler,
                   sync_every=crawler.settings.getint("DUMP_SYNC_EVERY", 64),
                   sync_seconds=crawler.settings.getfloat("DUMP_SYNC_SECONDS", 1.0))
        crawler.signals.connect(pipe.spider_closed, signal=signals.spider_closed)
        return pipe

    def _durable(self, keys: list[tuple[str | None, str]]) -> None:
        if self.state is not None:
            for key, rid in keys:
                self.state.record_durable(key, rid)

    def _failed(self, exc: OutputError) -> None:
        self.failed = True
        if self.crawler is not None:
            from harvester.outputfailure import output_failed

            output_failed(self.crawler, exc)
        else:
            logger.error("%s", exc)

    def open_spider(self, spider=None):
        try:
            self.dump.open()
        except OutputError as exc:
            self._failed(exc)
        if self.dump.recovered and self.stats is not None:
            self.stats.set_value("dump/recovered", self.dump.recovered)
        if self.state is not None:
            self.state.trust_records(self.dump.records)

    def process_item(self, item, spider=None):
        from harvester.outputfailure import NotStored   # Scrapy's; RecordDump (replay, merge) needs no Scrapy

        if self.failed:   # its request stays unfinished and is fetched again on resume
            raise NotStored()
        if item.get("unchanged"):
            self.unchanged += 1
            if item.get("record_id") and item["record_id"] not in self.dump.records:
                # the state said unchanged but the dump lacks the record: never silently lost
                self.unchanged_missing += 1
                logger.error("dump: %s reported unchanged but record %s is not in the dump; re-crawl "
                             "without the state entry to recover it", item.get("url"), item["record_id"])
            return item
        record = item.get("record")
        if record and record.get("id"):
            try:
                self.dump.add(record, item.get("state_key") or item.get("url"))
            except OutputError as exc:
                self._failed(exc)
                raise NotStored() from None
        return item

    def close_spider(self, spider=None):
        try:
            self.dump.close()
        except OutputError as exc:
            self._failed(exc)
        if self.stats is not None:
            self.stats.set_value("dump/records", len(self.dump.records))
            self.stats.set_value("dump/new", self.dump.new)
            self.stats.set_value("dump/updated", self.dump.updated)
            self.stats.set_value("dump/unchanged", self.unchanged)
            if self.dump.unserialisable:
                self.stats.set_value("dump/unserialisable", self.dump.unserialisable)
            if self.dump.kept_over_truncated:
                self.stats.set_value("dump/kept_over_truncated", self.dump.kept_over_truncated)
            if self.unchanged_missing:
                self.stats.set_value("dump/unchanged_missing", self.unchanged_missing)
        logger.info("dump: %d records in %s (%d new, %d updated)", len(self.dump.records), self.dump.path,
                    self.dump.new, self.dump.updated)

    def spider_closed(self, spider=None, reason=None):
        """After close_spider: a finished job drops journal and base; any other keeps them for resume."""
        if reason == "finished" and not self.failed:
            try:
                self.dump.finish()
            except OutputError as exc:
                self._failed(exc)

"""Replay: WARC/ARC files → the same JSONL dump the crawl writes, without the network.

    summary = replay(["out/run1/warc"], "out/replayed")    # → out/replayed/reports/records.jsonl

Two ways, chosen per file:

* **Our own WARCs read the crawl's decisions.** A crawl writes, for each capture the spider
  handled, a ``metadata`` record (``harvester.warc.discovery``) saying what it made of it: a
  report page, an attachment, an unchanged report (a re-crawl's revisit), or nothing. Replay
  reads those records and parses the captures that were reports, in a process pool, in the order
  the crawl emitted them. No spider runs, nothing is re-decided, so the crawl's dump comes back
  exactly (records, ids, ``source`` pointers).
* **Foreign or old WARCs re-run the real engine.** Files without decision records (another tool's,
  ours from before the records existed, or all files with ``rerun=True`` to apply newer
  discovery rules) are replayed by the real crawl (``harvester crawl`` in a subprocess: the
  discovery spider, every middleware, the pipelines) with the archive as the network
  (``harvester.warc.archive.ArchiveDownloadHandler``; a URL not in the archive is a miss,
  counted). The portal is the ``registry`` given, else one made from the archive: every host in
  it, the captured pages no other captured page links to as entry pages (those whose title is a
  report title, and unlinked attachments, as known report URLs). Captures the traversal never
  reached still pass a content rule (a statutory template and a report title that is not a
  notice; ``content_rule=False`` turns it off); it only adds agency-years the traversal did not
  find.

Several crawls, one truth: files are replayed crawl by crawl (warcinfo ``crawlStart``; files of
one crawl in name order), each crawl's records added to the dump the previous one left, exactly
as the crawls themselves updated it: a report that changed gets its earlier versions in
``revisions``; an unchanged one keeps its line. The result is the last crawl's dump.

Streaming: payloads are read when parsed and never held; what is kept is the dump and, per
crawl, the pointers of captures still waiting for their decision record (a report stored as a
revisit finds its original by one more pass over the files, rather than by keeping every
original's pointer). Damaged files are used
up to the damage; unreadable, skipped (``.open``) and undecodable captures are named and counted.
"""
from __future__ import annotations

import collections
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import urljoin, urlsplit

from harvester.errors import CommandError
from harvester.warc.captures import CaptureIndex, CaptureRef, Decision, decision_of
from harvester.warc.members import MemberError, gzip_members, http_status
from harvester.warc.reader import (
    OPEN_SKIPPED_SUFFIX,
    StoredResponse,
    archive_iterator,
    iter_warc_files,
    read_record_at,
    record_complete,
)
from harvester.warc.records import parse_warc_fields

__all__ = ["replay", "ReplayError", "ReplayReport", "stderr_progress"]

DOM_URI_PREFIX = "urn:dom:"   # harvester.middlewares.browser stores a rendered DOM under this URI

ENGINE_TIMEOUT = None  # a big archive replays for as long as it parses


class ReplayError(CommandError):
    """Replay could not run (no WARC, nothing readable); one line."""


@dataclass
class ReplayReport:
    """What happened: counts, and the names of what could not be used."""

    warc_files: int = 0
    captures: int = 0
    reports: int = 0            # report captures parsed (decisions + engine + content rule)
    by_decisions: int = 0
    by_engine: int = 0
    by_content_rule: int = 0
    unchanged: int = 0          # re-crawl decisions "unchanged": the dump line kept
    parse_failures: int = 0
    misses: int = 0             # engine: URLs asked for that the archive does not hold
    revisits_unresolved: int = 0
    damaged: list[str] = field(default_factory=list)      # "file: what"
    skipped: list[str] = field(default_factory=list)      # "file: why"
    undecodable: list[str] = field(default_factory=list)  # "url: why"

    def summary(self, records: int, dump: str, elapsed: float) -> dict[str, Any]:
        return {**{k: v for k, v in self.__dict__.items()}, "records": records, "dump": dump,
                "elapsed_s": round(elapsed, 2)}


# --- reading the archive ----------------------------------------------------------------------

@dataclass
class WarcFile:
    path: str
    crawl_start: str = ""        # warcinfo crawlStart ("" for foreign files)
    decisions: bool = False      # warcinfo announces discovery metadata records
    is_arc: bool = False


def _first_record_info(path: str) -> WarcFile:
    info = WarcFile(path, is_arc=path.lower().endswith((".arc", ".arc.gz")))
    with open(path, "rb") as fh:
        for record in archive_iterator(fh):
            if record.rec_type == "warcinfo":
                fields = dict(parse_warc_fields(record.content_stream().read()))
                info.crawl_start = fields.get("crawlStart", "")
                info.decisions = bool(fields.get("discoveryRecords"))
            break
    return info


def _capture_ref(path: str, offset: int, length: int, rtype: str, status: int, header) -> CaptureRef:
    """One capture's pointer and identity; `header(name)` reads a WARC header (None when absent)."""
    return CaptureRef(
        path=path, offset=offset, length=length, url=header("WARC-Target-URI") or "",
        warc_date=header("WARC-Date") or "", status=200 if rtype == "resource" else status, rectype=rtype,
        record_id=header("WARC-Record-ID"), digest=header("WARC-Payload-Digest"),
        refers_to=header("WARC-Refers-To"), refers_to_uri=header("WARC-Refers-To-Target-URI"),
        refers_to_date=header("WARC-Refers-To-Date"))


def _iter_file(wf: WarcFile, report: ReplayReport) -> Iterator[tuple[str, Any]]:
    """(kind, ref-or-decision) for every capture and decision record of one file, streaming:
    ("capture", CaptureRef) and ("decision", Decision). Damage is reported, never raised."""
    try:
        fh = open(wf.path, "rb")
    except OSError as exc:
        report.damaged.append(f"{wf.path}: unreadable: {exc.strerror}")
        return
    with fh:
        if wf.decisions and wf.path.endswith(".gz"):
            yield from _iter_members(wf, fh, report)    # ours: one record per gzip member, walked fast
        else:
            yield from _iter_records(wf, fh, report)


def _wanted_capture(ref: CaptureRef) -> bool:
    # http(s) captures (not wget's metadata:// logs), and the browser's rendered DOMs
    return ref.url.lower().startswith(("http:", "https:")) or (
        ref.rectype == "conversion" and ref.url.startswith(DOM_URI_PREFIX))


def _damaged(report: ReplayReport, path: str, exc: Exception) -> None:
    first = str(exc).splitlines()[0] if str(exc) else ""
    report.damaged.append(f"{path}: damaged ({type(exc).__name__}{': ' + first if first else ''});"
                          f" records before it used")


def _truncated(report: ReplayReport, path: str, offset: int) -> None:
    report.damaged.append(f"{path}: damaged, truncated in the record at offset {offset}; records before it used")


def _iter_members(wf: WarcFile, fh, report: ReplayReport) -> Iterator[tuple[str, Any]]:
    path = wf.path
    try:
        for m in gzip_members(fh):
            if not m.whole:
                _truncated(report, path, m.offset)
                return
            h, rtype = m.headers, m.headers.get("warc-type", "")
            if rtype in ("response", "revisit", "resource", "conversion"):
                ref = _capture_ref(path, m.offset, m.length, rtype, http_status(m.block_head),
                                   lambda name: h.get(name.lower()))
                if _wanted_capture(ref):
                    yield "capture", ref
            elif rtype == "metadata":
                decision = decision_of(parse_warc_fields(m.block_head), capture_id=h.get("warc-concurrent-to", ""),
                                       url=h.get("warc-target-uri", ""), refers_to=h.get("warc-refers-to"))
                if decision is not None:
                    yield "decision", decision
    except MemberError as exc:
        _damaged(report, path, exc)


def _iter_records(wf: WarcFile, fh, report: ReplayReport) -> Iterator[tuple[str, Any]]:
    path = wf.path
    last: tuple[int, int] | None = None
    pending: list[tuple[str, Any]] = []   # the last record is only handed out once known whole
    it = archive_iterator(fh)
    try:
        for record in it:
            rtype = record.rec_type
            block = None
            if rtype == "metadata":
                block = record.content_stream().read(1 << 20)
            it.read_to_end(record)
            last = (it.get_record_offset(), it.get_record_length())
            yield from pending
            pending = []
            if rtype in ("response", "revisit", "resource", "conversion"):
                http = record.http_headers
                status = str(http.get_statuscode() if http is not None else "")
                ref = _capture_ref(path, it.get_record_offset(), it.get_record_length(), rtype,
                                   int(status) if status.isdigit() else 0, record.rec_headers.get_header)
                if _wanted_capture(ref):
                    pending.append(("capture", ref))
            elif block is not None:
                rh = record.rec_headers
                decision = decision_of(parse_warc_fields(block), capture_id=rh.get_header("WARC-Concurrent-To") or "",
                                       url=rh.get_header("WARC-Target-URI") or "",
                                       refers_to=rh.get_header("WARC-Refers-To"))
                if decision is not None:
                    pending.append(("decision", decision))
    except Exception as exc:  # noqa: BLE001 - truncated gzip, garbage, a short record
        _damaged(report, path, exc)
        return
    if last is not None and not wf.is_arc and not record_complete(path, *last):
        _truncated(report, path, last[0])
        return
    yield from pending


# --- parsing (in worker processes) --------------------------------------------------------------

@dataclass(frozen=True)
class ParseJob:
    url: str
    payload_path: str            # the record holding the payload (a revisit's original)
    payload_offset: int
    source: dict[str, Any]       # WarcPointer.to_meta() of the capture itself
    content_type: str | None
    detail_url: str | None
    truncated: str | None = None
    agency: str | None = None    # the registry portal's agency, as the crawl recorded it


def parse_job(job: ParseJob) -> tuple[dict[str, Any] | None, str | None]:
    """(record, None), or (None, why) when the capture cannot be decoded."""
    from harvester.pipelines.parse import parse_item

    stored = read_record_at(job.payload_path, job.payload_offset)
    if not isinstance(stored, StoredResponse):
        return None, "not a response record"
    if stored.decode_error:
        return None, stored.decode_error
    item = {"url": job.url, "body": stored.payload, "content_type": job.content_type, "warc": job.source,
            "detail_url": job.detail_url, "agency": job.agency}
    if job.truncated:
        item["truncated"] = job.truncated
    return parse_item(item), None


def parse_jobs(jobs: list[ParseJob]) -> list[tuple[dict[str, Any] | None, str | None]]:
    return [parse_job(job) for job in jobs]


class _Parser:
    """Parse jobs in a process pool, handed over in batches (one round trip per batch, not per
    document: the main process's share of the CPU is what replay speed loses to); results come
    back in submission order."""

    def __init__(self, workers: int, batch: int = 8) -> None:
        self.pool = ProcessPoolExecutor(workers) if workers > 1 else None
        self.batch = batch
        self.window = 2 * workers                 # batches in flight: every worker has the next one
        self.pending: list[ParseJob] = []
        self.inflight: collections.deque = collections.deque()

    def submit(self, job: ParseJob) -> Iterator[tuple[ParseJob, Any]]:
        if self.pool is None:
            yield job, parse_job(job)
            return
        self.pending.append(job)
        if len(self.pending) >= self.batch:
            self._send()
        while len(self.inflight) > self.window or (self.inflight and self.inflight[0][1].done()):
            yield from self._take()

    def _send(self) -> None:
        jobs, self.pending = self.pending, []
        self.inflight.append((jobs, self.pool.submit(parse_jobs, jobs)))

    def _take(self) -> Iterator[tuple[ParseJob, Any]]:
        jobs, fut = self.inflight.popleft()
        yield from zip(jobs, fut.result())

    def drain(self) -> Iterator[tuple[ParseJob, Any]]:
        if self.pending:
            self._send()
        while self.inflight:
            yield from self._take()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


# --- our WARCs: the crawl's decisions -------------------------------------------------------------

def _crawls(files: list[WarcFile]) -> list[list[WarcFile]]:
    by_start: dict[str, list[WarcFile]] = {}
    for wf in files:
        by_start.setdefault(wf.crawl_start, []).append(wf)
    return [sorted(by_start[k], key=lambda w: os.path.basename(w.path)) for k in sorted(by_start)]


def _replay_decisions(files: list[WarcFile], dump_path: str, report: ReplayReport, parser: _Parser,
                      progress: Callable[[str], None] | None) -> None:
    from harvester.pipelines.dump import RecordDump

    seen: list[WarcFile] = []
    for n, crawl in enumerate(_crawls(files), 1):
        if progress:
            progress(f"crawl {n}: {len(crawl)} WARC file(s), from {crawl[0].crawl_start or '?'}")
        dump = RecordDump(dump_path)
        dump.load()
        waiting: dict[str, CaptureRef] = {}   # captures whose decision record is still to come
        revisits: list[tuple[Decision, CaptureRef]] = []   # reports stored as revisits (rare)

        def add(results: Iterable[tuple[ParseJob, Any]]) -> None:
            for job, (record, error) in results:
                if error:
                    report.undecodable.append(f"{job.url}: {error}")
                    continue
                report.reports += 1
                report.by_decisions += 1
                if any(w.startswith("not parsed") for w in record.get("warnings") or []):
                    report.parse_failures += 1
                if record.get("id"):
                    dump.add(record)

        for wf in crawl:
            seen.append(wf)
            for kind, obj in _iter_file(wf, report):
                if kind == "capture":
                    report.captures += 1
                    if obj.record_id:
                        waiting[obj.record_id] = obj
                    continue
                capture = waiting.pop(obj.capture_id, None)
                if _is_report(obj, capture, report):
                    if capture.rectype == "revisit":
                        revisits.append((obj, capture))
                    else:
                        add(parser.submit(_job(obj, capture, capture)))
        if revisits:   # their originals are found by one more pass, not held in memory meanwhile
            wanted = {d.refers_to or c.refers_to or "" for d, c in revisits}
            found = {ref.record_id: ref for wf in seen for kind, ref in _iter_file(wf, ReplayReport())
                     if kind == "capture" and ref.record_id in wanted}
            for decision, capture in revisits:
                original = found.get(decision.refers_to or capture.refers_to or "")
                if original is None:
                    report.revisits_unresolved += 1
                else:
                    add(parser.submit(_job(decision, capture, original)))
        add(parser.drain())
        dump.write()


def _is_report(decision: Decision, capture: CaptureRef | None, report: ReplayReport) -> bool:
    """True when the crawl emitted this capture as a report (page or attachment) to parse."""
    if decision.item == "unchanged":
        report.unchanged += 1
        return False
    return decision.item in ("page", "attachment") and capture is not None


def _job(decision: Decision, capture: CaptureRef, payload: CaptureRef) -> ParseJob:
    """Parse ``payload``'s body as the crawl's item for ``capture`` (the same record but for revisits)."""
    source = capture.pointer().to_meta()
    if decision.truncated:
        source["truncated"] = decision.truncated
    return ParseJob(capture.url, payload.path, payload.offset, source, decision.content_type,
                    decision.detail_url, decision.truncated, decision.agency)


# --- foreign / old WARCs: the real engine ----------------------------------------------------------

def _is_html(stored: StoredResponse) -> bool:
    ctype = (stored.header("Content-Type") or "").lower()
    return "html" in ctype or (not ctype and stored.payload.lstrip()[:20].lower().startswith((b"<!doctype", b"<html")))


def _text(stored: StoredResponse) -> str:
    from w3lib.encoding import html_to_unicode

    return html_to_unicode(stored.header("Content-Type"), stored.payload)[1]


def _portal_row(refs: Iterable[CaptureRef], index: CaptureIndex, report: ReplayReport) -> dict[str, Any]:
    """One portal made from the archive: its hosts; as entry pages each host's first captured page
    and the captured pages no other captured page (nor a rendered DOM) links to; unlinked report
    pages and attachments as known report URLs (payloads read one at a time, never held)."""
    from harvester.registry import portal_row
    from harvester.spiders import pages
    from harvester.spiders.pages.rules import HAS_YEAR

    linked: set[str] = set()
    candidates: list[tuple[str, bool, bool]] = []   # (url, looks like a report, first page of its host)
    hosts: list[str] = []
    for capture in refs:
        if capture.rectype == "conversion":   # a rendered DOM: links only the browser saw are links too
            record = read_record_at(capture.path, capture.offset)
            text = getattr(record, "content", b"").decode("utf-8", "replace")
            page = pages.page_for(capture.url[len(DOM_URI_PREFIX):], text)
            linked.update(pages.canonical_url(u) for u in page.listing().urls())
            continue
        host = (urlsplit(capture.url).hostname or "").lower()
        first = bool(host) and host not in hosts
        ref = index.original(capture) if capture.rectype == "revisit" else capture
        if ref is None or capture.url.endswith("/robots.txt"):
            continue
        if ref is not capture:   # a revisit: the original's payload under the revisit's URL
            ref = dataclasses.replace(ref, url=capture.url)
        if 300 <= ref.status < 400:
            stored = read_record_at(ref.path, ref.offset)
            location = stored.header("Location") if isinstance(stored, StoredResponse) else None
            if location:
                linked.add(pages.canonical_url(urljoin(ref.url, location)))
        elif ref.status == 200 and pages.is_attachment_url(ref.url):
            candidates.append((ref.url, True, False))
            continue
        elif ref.status == 200:
            stored = read_record_at(ref.path, ref.offset)
            if not isinstance(stored, StoredResponse):
                continue
            if stored.decode_error:
                report.undecodable.append(f"{capture.url}: {stored.decode_error}")
                continue
            page = pages.page_for(ref.url, _text(stored), content_type=stored.header("Content-Type"))
            linked.update(pages.canonical_url(link.url) for link in page.links() if link.url != ref.url)
            linked.update(pages.canonical_url(u) for u in page.listing().urls())
            if not _is_html(stored):
                continue   # a data answer (XML, JSON list): its links count, it is no page
            title = page.title()
            report_like = pages.is_report_title(title) and bool(HAS_YEAR.search(title or ""))
            candidates.append((ref.url, report_like, first and not report_like))
        else:
            continue
        if first:
            hosts.append(host)
            if 300 <= ref.status < 400:
                candidates.append((ref.url, False, True))
    entries, known, seen = [], [], set()
    for url, report_like, first in candidates:
        key = pages.canonical_url(url)
        if key in seen or (key in linked and not first):
            continue
        seen.add(key)
        (known if report_like else entries).append(url)
    hosts += sorted({(urlsplit(r.url).hostname or "").lower() for r in index.refs} - set(hosts) - {""})
    return portal_row(agency="replayed archive", entry_urls=entries or known[:1], allowed_hosts=hosts,
                      hints={"allow_private": True, "known_report_urls": known},
                      provenance={"source": "harvester replay: made from the archive"})


def _replay_engine(files: list[WarcFile], out: str, report: ReplayReport, *, registry: str | None,
                   content_rule: bool, progress: Callable[[str], None] | None,
                   originals: list[WarcFile] = ()) -> None:
    """Replay ``files`` with the real crawl engine; ``originals`` (our files replayed by their
    decisions) only answer revisits that refer to them."""
    from harvester.pipelines.dump import RecordDump
    from harvester.registry import write_registry

    with tempfile.TemporaryDirectory(prefix="replay-") as tmp:
        index_path = os.path.join(tmp, "captures.jsonl")

        # the registry portal each host was crawled for, as the crawl recorded it (our WARCs) or
        # as the registry given says: records keep the agency-year ids the crawl gave them
        host_agency: dict[str, str] = {}

        def refs() -> Iterator[CaptureRef]:
            for wf in files:
                for kind, obj in _iter_file(wf, report):
                    if kind == "capture":
                        report.captures += 1
                        yield obj
                    elif kind == "decision" and obj.agency:
                        host_agency.setdefault(_host(obj.url), obj.agency)

        n_foreign = CaptureIndex.write(refs(), index_path)
        if not n_foreign:
            return
        if originals:
            with open(index_path, "a", encoding="utf-8") as fh:
                CaptureIndex.write(((o for wf in originals for k, o in _iter_file(wf, ReplayReport())
                                     if k == "capture")), fh)
        index = CaptureIndex.load(index_path)
        foreign = index.refs[:n_foreign]
        if registry is None:
            registry = os.path.join(tmp, "registry.jsonl")
            groups: dict[str | None, list[CaptureRef]] = {}
            for ref in foreign:
                groups.setdefault(host_agency.get(_host(ref.url)), []).append(ref)
            rows = []
            for agency, group in sorted(groups.items(), key=lambda kv: kv[0] or ""):
                row = _portal_row(group, index, report)
                rows.append({**row, "agency": agency or row["agency"]})
            write_registry(rows, registry)
        else:
            from harvester.registry import load_registry

            for portal in load_registry(registry):
                for host in portal.allowed_hosts:
                    host_agency[host.lower()] = portal.agency
        served_path = os.path.join(tmp, "served.json")
        handler = "harvester.warc.archive.ArchiveDownloadHandler"
        cmd = [sys.executable, "-m", "harvester.cli", "crawl", "--registry", registry, "--out", out, "--loopback",
               "--no-warc", "-s", "DOWNLOAD_HANDLERS=" + json.dumps({"http": handler, "https": handler}),
               "-s", f"REPLAY_ARCHIVE_INDEX={index_path}", "-s", f"REPLAY_SERVED_PATH={served_path}",
               "-s", f"CRAWL_STATE_PATH={os.path.join(tmp, 'state.jsonl')}", "-s", "LOG_LEVEL=WARNING",
               "-s", "CONCURRENT_REQUESTS=1", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "PROGRESS=off"]
        if progress:
            progress(f"running the crawl engine over {len(files)} file(s), {len(index.refs)} captures")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=ENGINE_TIMEOUT,
                              cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        stats_path = os.path.join(out, "crawl-stats.json")
        if proc.returncode != 0 and not os.path.exists(served_path):
            tail = (proc.stderr or proc.stdout).strip().splitlines()
            report.skipped.append(f"engine replay failed: {tail[-1] if tail else proc.returncode}")
            return
        stats = {}
        if os.path.exists(stats_path):
            stats = json.load(open(stats_path, encoding="utf-8")).get("stats", {})
            os.replace(stats_path, os.path.join(out, "replay-engine-stats.json"))
        from harvester.warc.archive import served_report

        served = served_report(served_path) if os.path.exists(served_path) else {"served": set()}
        engine_items = int(stats.get("parse/records", 0))
        report.by_engine += engine_items
        report.reports += engine_items
        report.parse_failures += int(stats.get("parse/failed", 0))
        report.misses += len(served.get("misses", []))
        report.undecodable += served.get("undecodable", [])
        if not content_rule:
            return
        dump = RecordDump(os.path.join(out, "reports", "records.jsonl"))
        dump.load()
        before = set(dump.records)
        for record in _by_content_rule(foreign, served["served"], before, report, host_agency):
            dump.add(record)
        dump.write()


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _by_content_rule(index: Iterable[CaptureRef], served: set[tuple[str, int]], known_ids: set[str],
                     report: ReplayReport, host_agency: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Records of captures the traversal never reached that pass the content rule."""
    from harvester.pipelines.parse import parse_item
    from harvester.spiders import pages

    for ref in index:
        if (ref.path, ref.offset) in served or ref.status != 200 or ref.rectype != "response":
            continue
        attachment = pages.is_attachment_url(ref.url)
        stored = read_record_at(ref.path, ref.offset)
        if isinstance(stored, StoredResponse) and stored.decode_error:
            report.undecodable.append(f"{ref.url}: {stored.decode_error}")   # deduplicated at the end
            continue
        if not isinstance(stored, StoredResponse) or not stored.payload:
            continue
        html = _is_html(stored)
        if not (html or attachment):
            continue
        ctype = stored.header("Content-Type")
        if html:
            text = _text(stored)
            title = pages.page_for(ref.url, text).title()
            if not (title and pages.REPORT_TITLE.search(title)):
                continue
        record = parse_item({"url": ref.url, "body": stored.payload, "content_type": ctype,
                             "warc": ref.pointer().to_meta(), "detail_url": None,
                             "agency": host_agency.get(_host(ref.url))})
        if (record.get("id") and record["id"] not in known_ids and record.get("template") in ("2019", "2021")
                and pages.is_report_title(record.get("title"))):
            known_ids.add(record["id"])
            report.by_content_rule += 1
            report.reports += 1
            yield record


# --- entry point ----------------------------------------------------------------------------------

def replay(paths: Iterable[str | os.PathLike], out: str | os.PathLike, *,
           progress: Callable[[str], None] | None = None, content_rule: bool = True, rerun: bool = False,
           registry: str | None = None, workers: int | None = None) -> dict[str, Any]:
    """Replay WARC/ARC files and folders into OUT/reports/records.jsonl; return a summary."""
    paths = [os.fspath(p) for p in paths]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise ReplayError(f"no such file or folder: {missing[0]}")
    report = ReplayReport()
    for p in paths:
        if os.path.isdir(p):
            report.skipped += [f"{os.path.join(folder, n)}: still being written (.open)"
                               for folder, _, names in os.walk(p) for n in sorted(names)
                               if n.endswith(OPEN_SKIPPED_SUFFIX)]
    files = list(iter_warc_files(paths))
    if not files:
        raise ReplayError("no WARC file (*.warc[.gz]) or ARC file (*.arc[.gz]) found in " + ", ".join(paths))
    if registry is not None and not os.path.isfile(registry):
        raise ReplayError(f"no such registry: {registry}")
    t0 = time.monotonic()
    out = os.fspath(out)
    dump_path = os.path.join(out, "reports", "records.jsonl")
    os.makedirs(os.path.dirname(dump_path), exist_ok=True)
    report.warc_files = len(files)
    infos = []
    for path in files:
        try:
            infos.append(_first_record_info(path))
        except Exception as exc:  # noqa: BLE001 - not a WARC/ARC at all, or damaged at its start
            report.damaged.append(f"{path}: unreadable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")
    ours = [i for i in infos if i.decisions and not rerun]
    others = [i for i in infos if not (i.decisions and not rerun)]
    if ours:
        parser = _Parser(workers or os.cpu_count() or 1)
        try:
            _replay_decisions(ours, dump_path, report, parser, progress)
        finally:
            parser.close()
    if others:
        _replay_engine(others, out, report, registry=registry, content_rule=content_rule, progress=progress,
                       originals=ours)
    report.undecodable = list(dict.fromkeys(report.undecodable))   # named once, however often asked
    records = 0
    if os.path.exists(dump_path):
        with open(dump_path, encoding="utf-8") as fh:
            records = sum(1 for line in fh if line.strip())
    return report.summary(records, dump_path, time.monotonic() - t0)


def stderr_progress(msg: str) -> None:
    print(f"replay: {msg}", file=sys.stderr, flush=True)

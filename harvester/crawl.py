"""Run a crawl programmatically: registry → discovery spider → WARC + JSONL dump in one folder.

    summary = run_crawl("registry/portals.jsonl", "out/run1")            # polite defaults
    summary = run_crawl(path, out, loopback=True, warc=False)             # simulator / benchmarks

Output layout: OUT/warc/*.warc.gz, OUT/index.cdxj, OUT/reports/records.jsonl, OUT/crawl-stats.json,
OUT/state.jsonl (crawl state, `harvester.state`: a re-run with the same OUT only asks conditionally
for report pages and attachments it has, so a scheduled job just runs `harvester crawl` again).
In-process (Twisted's reactor runs once per process): call it once per process; tests and
benchmarks run `python -m harvester.cli crawl ...` in a subprocess.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import pathlib
import time
from typing import Any

from harvester.errors import CommandError
import sys

from harvester.registry import RegistryError, read_registry


class CrawlError(CommandError):
    """The crawl could not run or produced nothing; one line."""


def crawl_settings(out: str | os.PathLike, *, loopback: bool = False, warc: bool = True,
                   overrides: dict[str, Any] | None = None):
    from scrapy.settings import Settings

    from harvester import settings as module

    out = pathlib.Path(out).resolve()
    s = Settings()
    s.setmodule(module, priority="project")
    if loopback:
        s.update(module.LOOPBACK_PROFILE, priority="project")
    s.set("WARC_ENABLED", warc, priority="project")
    s.set("WARC_DIR", str(out / "warc"), priority="project")
    s.set("WARC_CDXJ_PATH", str(out / "index.cdxj"), priority="project")
    s.set("DUMP_PATH", str(out / "reports" / "records.jsonl"), priority="project")
    s.set("CRAWL_STATE_PATH", str(out / "state.jsonl"), priority="project")
    if overrides:
        s.update(overrides, priority="cmdline")
    return s


def _warc_bytes(out: pathlib.Path) -> int:
    folder = out / "warc"
    return sum(p.stat().st_size for p in folder.glob("*.warc*")) if folder.is_dir() else 0


def summarize(stats: dict[str, Any], out: pathlib.Path, n_portals: int, elapsed: float) -> dict[str, Any]:
    dump = out / "reports" / "records.jsonl"
    records = failed_checks = 0
    if dump.exists():
        for line in dump.read_text(encoding="utf-8").splitlines():
            if line.strip():
                records += 1
                failed_checks += bool(json.loads(line).get("checks"))
    return {
        "portals": n_portals,
        "pages": stats.get("downloader/response_count", 0),
        "reports": stats.get("item_scraped_count", 0),
        "records": records,
        "failed_checks": failed_checks,
        "failed_fetches": stats.get("discovery/failed_fetches", 0),
        "retries": stats.get("retry/count", 0),
        "retries_exhausted": stats.get("retry/max_reached", 0),
        "retry_after_exceeded": stats.get("retry/retry_after_exceeded", 0),
        "private_refused": stats.get("scope/private", 0),
        "parse_failures": stats.get("parse/failed", 0),
        "parsed": stats.get("parse/records", 0),
        "unchanged": stats.get("parse/skipped_unchanged", 0),
        "not_modified": stats.get("recrawl/not_modified", 0),
        "offsite_refused": stats.get("scope/offsite", 0),
        "robots_refused": stats.get("robotstxt/forbidden", 0),
        "warc_bytes": _warc_bytes(out),
        "elapsed_s": round(elapsed, 2),
        "finish_reason": stats.get("finish_reason"),
    }


def run_crawl(registry: str | os.PathLike | None = None, out: str | os.PathLike = "out/crawl", *,
              loopback: bool = False, warc: bool = True, overrides: dict[str, Any] | None = None,
              redis_url: str | None = None, crawl_id: str = "harvester", worker: str | None = None
              ) -> dict[str, Any]:
    """Crawl every portal of `registry` into `out`; return the summary (also in OUT/crawl-stats.json).
    With `redis_url`, this process is worker `worker` of the shared crawl `crawl_id`
    (`harvester.distributed`): per-worker files in OUT, merged into the usual ones at the end."""
    from scrapy.crawler import CrawlerProcess

    from harvester.spiders.discovery import DiscoverySpider

    try:
        portals, issues = read_registry(registry)
    except RegistryError as exc:
        raise CrawlError(f"registry unusable: {str(exc).splitlines()[0]}") from None
    skipped = [i for i in issues if i.severity == "error"]
    for issue in skipped:      # a bad line is skipped and said; the other portals are crawled
        print(f"registry line skipped: {issue}", file=sys.stderr)
    if not portals:
        raise CrawlError(f"registry unusable: no valid portal ({len(skipped)} bad line(s))")
    out = pathlib.Path(out)
    try:
        (out / "reports").mkdir(parents=True, exist_ok=True)
        (out / "warc").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CrawlError(f"cannot create output folder {out}: {exc.strerror}") from None
    if not os.access(out, os.W_OK):
        raise CrawlError(f"output folder not writable: {out}")

    settings = crawl_settings(out, loopback=loopback, warc=warc, overrides=overrides)
    stats_file, worker_ctx = out / "crawl-stats.json", contextlib.nullcontext()
    if redis_url:
        from harvester import distributed

        worker = worker or socket.gethostname()
        try:
            shared = distributed.redis_settings(redis_url, crawl_id, out.resolve(), worker)
        except ValueError as exc:
            raise CrawlError(str(exc)) from None
        distributed.check_redis(redis_url)
        for name in ("EXTENSIONS", "DOWNLOADER_MIDDLEWARES"):
            shared[name] = {**settings.getdict(name), **shared[name]}
        settings.update({k: v for k, v in shared.items() if k not in (overrides or {})}, priority="cmdline")
        # the per-host delay is kept by the shared frontier, for all workers together
        settings.set("FRONTIER_HOST_DELAY", settings.getfloat("DOWNLOAD_DELAY"), priority="cmdline")
        settings.set("DOWNLOAD_DELAY", 0, priority="cmdline")
        stats_file, worker_ctx = out / f"crawl-stats-{worker}.json", distributed.worker_lock(out, worker)
    with worker_ctx:
        process = CrawlerProcess(settings)
        crawler = process.create_crawler(DiscoverySpider)
        errors: list[str] = []
        d = process.crawl(crawler, portals=portals)
        d.addErrback(lambda f: errors.append(f"{f.type.__name__}: {f.getErrorMessage()}"))
        t0 = time.monotonic()
        process.start()
        elapsed = time.monotonic() - t0
        if errors:
            raise CrawlError(f"crawl failed: {errors[0]}")
        if redis_url:
            try:
                distributed.merge_outputs(out)
            except OSError as exc:
                raise CrawlError(f"cannot merge the workers' outputs in {out}: {exc.strerror or exc}") from None
    stats = crawler.stats.get_stats() if crawler.stats else {}
    summary = summarize(stats, out, len(portals), elapsed)
    summary["registry_lines_skipped"] = len(skipped)
    stats_file.write_text(json.dumps({"summary": summary, "stats": stats}, ensure_ascii=False,
                                     indent=1, default=str), encoding="utf-8")
    if not summary["pages"] and not redis_url:     # a late worker of a shared crawl may find nothing left
        raise CrawlError("no page could be fetched (network down, or every entry URL refused?)")
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    rows = [("portals", summary["portals"]), ("pages fetched", summary["pages"]),
            ("reports found", summary["reports"]), ("records (agency-years)", summary["records"]),
            ("records with failed checks", summary["failed_checks"]),
            ("failed fetches", summary["failed_fetches"]), ("retries", summary.get("retries", 0)),
            ("parse failures", summary["parse_failures"]),
            ("WARC bytes", summary["warc_bytes"]), ("seconds", summary["elapsed_s"])]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v:>12}" for k, v in rows)

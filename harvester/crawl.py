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

import json
import os
import pathlib
import time
from typing import Any

from harvester.errors import CommandError
from harvester.registry import DEFAULT_REGISTRY, RegistryError, load_registry


class CrawlError(CommandError):
    """The crawl could not run, produced nothing, or could not write its output; one line.
    `summary` is the crawl's summary when it ran."""

    def __init__(self, message: str, summary: dict[str, Any] | None = None):
        super().__init__(message)
        self.summary = summary


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
    s.set("FRONTIER_DIR", str(out / "job"), priority="project")
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
        "parse_failures": stats.get("parse/failed", 0),
        "parsed": stats.get("parse/records", 0),
        "unchanged": stats.get("parse/skipped_unchanged", 0),
        "not_modified": stats.get("recrawl/not_modified", 0),
        "offsite_refused": stats.get("scope/offsite", 0),
        "robots_refused": stats.get("robotstxt/forbidden", 0),
        "warc_bytes": _warc_bytes(out),
        "elapsed_s": round(elapsed, 2),
        "finish_reason": stats.get("finish_reason"),
        "resumed": stats.get("frontier/seen", 0),
        "unserialisable": stats.get("dump/unserialisable", 0),
        "parse_limits": stats.get("parse/limit_exceeded", 0),
        "output_error": stats.get("output/error"),
    }


def run_crawl(registry: str | os.PathLike | None = None, out: str | os.PathLike = "out/crawl", *,
              loopback: bool = False, warc: bool = True, overrides: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    """Crawl every portal of `registry` into `out`; return the summary (also in OUT/crawl-stats.json)."""
    from scrapy.crawler import CrawlerProcess

    from harvester.spiders.discovery import DiscoverySpider

    registry = pathlib.Path(registry) if registry else DEFAULT_REGISTRY
    try:
        portals = load_registry(registry)
    except RegistryError as exc:
        raise CrawlError(f"registry unusable: {str(exc).splitlines()[0]}") from None
    out = pathlib.Path(out)
    try:
        (out / "reports").mkdir(parents=True, exist_ok=True)
        (out / "warc").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CrawlError(f"cannot create output folder {out}: {exc.strerror}") from None
    if not os.access(out, os.W_OK):
        raise CrawlError(f"output folder not writable: {out}")

    process = CrawlerProcess(crawl_settings(out, loopback=loopback, warc=warc, overrides=overrides))
    crawler = process.create_crawler(DiscoverySpider)
    errors: list[str] = []
    d = process.crawl(crawler, portals=portals)
    d.addErrback(lambda f: errors.append(f"{f.type.__name__}: {f.getErrorMessage()}"))
    t0 = time.monotonic()
    process.start()
    elapsed = time.monotonic() - t0
    if errors:
        raise CrawlError(f"crawl failed: {errors[0]}")
    stats = crawler.stats.get_stats() if crawler.stats else {}
    summary = summarize(stats, out, len(portals), elapsed)
    try:
        write_json_atomic(out / "crawl-stats.json", {"summary": summary, "stats": stats})
    except OSError as exc:
        summary["output_error"] = summary["output_error"] or f"cannot write {out / 'crawl-stats.json'}: {exc.strerror or exc}"
    if summary["output_error"]:
        raise CrawlError(f"output failed, crawl stopped: {summary['output_error']} (records and state written "
                         f"before the failure are intact; free space and run the same command to resume)",
                         summary=summary)
    if not summary["pages"]:
        raise CrawlError("no page could be fetched (network down, or every entry URL refused?)")
    return summary


def write_json_atomic(path: pathlib.Path, obj: Any) -> None:
    """Beside + rename: a full disk leaves the earlier file, never half a file."""
    tmp = path.with_name("." + path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, ensure_ascii=False, indent=1, default=str)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def format_summary(summary: dict[str, Any]) -> str:
    rows = [("portals", summary["portals"]), ("pages fetched", summary["pages"]),
            ("reports found", summary["reports"]), ("records (agency-years)", summary["records"]),
            ("records with failed checks", summary["failed_checks"]),
            ("failed fetches", summary["failed_fetches"]), ("parse failures", summary["parse_failures"]),
            ("WARC bytes", summary["warc_bytes"]), ("seconds", summary["elapsed_s"])]
    if summary.get("resumed"):
        rows.insert(0, ("resumed: requests seen before", summary["resumed"]))
    if summary.get("unserialisable"):
        rows.append(("records kept minimal (unserialisable)", summary["unserialisable"]))
    if summary.get("parse_limits"):
        rows.append(("documents past parse limits", summary["parse_limits"]))
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v:>12}" for k, v in rows]
    if summary.get("output_error"):
        lines.append(f"OUTPUT FAILED: {summary['output_error']}")
    return "\n".join(lines)

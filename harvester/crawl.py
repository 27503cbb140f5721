"""Run a crawl programmatically: registry → discovery spider → WARC + JSONL dump in one folder.

    summary = run_crawl("registry/portals.jsonl", "out/run1")            # polite defaults
    summary = run_crawl(path, out, loopback=True, warc=False)             # simulator / benchmarks

Output layout: OUT/warc/*.warc.gz, OUT/index.cdxj, OUT/reports/records.jsonl, OUT/crawl-stats.json,
OUT/run-summary.json (for monitoring; written by harvester.progress, also under `scrapy crawl`/scrapyd),
OUT/state.jsonl (crawl state, `harvester.state`: a re-run with the same OUT only asks conditionally
for report pages and attachments it has, so a scheduled job just runs `harvester crawl` again),
OUT/job/ while a crawl is unfinished (`harvester.frontier`: the same command resumes it).
In-process (Twisted's reactor runs once per process): call it once per process; tests and
benchmarks run `python -m harvester.cli crawl ...` in a subprocess.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import pathlib
import signal
import sys
from typing import Any

from harvester.errors import CommandError
from harvester.registry import RegistryError, read_registry


class CrawlInterrupted(Exception):
    """A second SIGINT/SIGTERM forced the crawl down before it could close: no summary, but
    nothing lost (the journals hold every record and request); the same command resumes."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


class CrawlError(CommandError):
    """The crawl could not run or produced nothing; one line."""


# Exit codes of `harvester crawl` (and `exit_code` in run-summary.json): 0 the crawl ran to its end,
# 2 it could not run or fetched nothing, 128 + signal number when SIGINT (130) / SIGTERM (143) stopped it.
EXIT_OK, EXIT_FAILED = 0, 2

# Types of the settings a user may give as -s NAME=VALUE, from their defaults (Scrapy's and ours).
_LOG_LEVELS = {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}
# Files the crawl writes (Scrapy opens LOG_FILE at start-up): their folder must be there or creatable.
_OUTPUT_FILES = ("LOG_FILE", "DUMP_PATH", "WARC_CDXJ_PATH", "CRAWL_STATE_PATH")


def parse_setting_overrides(items: list[str]) -> dict[str, str]:
    """`-s NAME=VALUE` items → {NAME: VALUE}; a value that cannot have the setting's type is a
    CrawlError naming it (instead of a traceback from deep inside Scrapy)."""
    from scrapy.settings import Settings

    from harvester import settings as module

    known = Settings()
    known.setmodule(module, priority="project")
    overrides: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise CrawlError(f"-s expects NAME=VALUE, got {item!r}")
        check_setting(name, value, known.get(name))
        overrides[name] = value
    return overrides


def check_setting(name: str, value: str, default: Any) -> None:
    from scrapy.settings import BaseSettings
    def bad(kind: str) -> CrawlError:
        return CrawlError(f"-s {name}={value}: {name} must be {kind}")

    if name == "LOG_LEVEL":
        if value.upper() not in _LOG_LEVELS:
            raise bad("one of " + ", ".join(sorted(_LOG_LEVELS)))
    elif name == "PROGRESS":
        if value.lower() not in ("auto", "bar", "lines", "off"):
            raise bad("auto, bar, lines or off")
    elif name in _OUTPUT_FILES and value:
        path = pathlib.Path(value).expanduser()
        if path.is_dir():
            raise bad("a file, not a folder")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise bad(f"a file in a folder that can be created ({exc.strerror or exc})") from None
    elif isinstance(default, bool):
        if value.strip().lower() not in ("true", "false", "1", "0"):
            raise bad("True or False")
    elif isinstance(default, (int, float)):
        try:
            number = int(value) if isinstance(default, int) else float(value)
        except ValueError:
            raise bad("an integer" if isinstance(default, int) else "a number") from None
        if number < 0:
            raise bad("zero or more")
    elif isinstance(default, (dict, BaseSettings)):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise bad('a JSON object, e.g. {"name": 100}')


def crawl_settings(out: str | os.PathLike, *, loopback: bool = False, warc: bool = True,
                   overrides: dict[str, Any] | None = None):
    """The settings of a crawl into `out`: the settings module, the loopback profile, the output
    folder (harvester.output derives WARC_DIR, DUMP_PATH, … from OUTPUT_DIR), -s overrides."""
    from scrapy.settings import Settings

    from harvester import settings as module

    s = Settings()
    s.setmodule(module, priority="project")
    if loopback:
        s.update(module.LOOPBACK_PROFILE, priority="project")
    s.set("WARC_ENABLED", warc, priority="project")
    s.set("OUTPUT_DIR", str(pathlib.Path(out).resolve()), priority="project")
    if overrides:
        s.update(overrides, priority="cmdline")
    return s


def _warc_files(folder: str | None) -> list[pathlib.Path]:
    if not folder or not os.path.isdir(folder):
        return []
    return [p for p in pathlib.Path(folder).iterdir() if ".warc" in p.name and not p.name.startswith(".")]


def _dump_counts(dump: str | None) -> tuple[int, int]:
    """(records, records with failed checks) in the dump file."""
    from harvester.jsonl import read_jsonl

    records = failed_checks = 0
    for record in read_jsonl(dump) if dump else ():
        records += 1
        failed_checks += bool(record.get("checks"))
    return records, failed_checks


def build_summary(stats: dict[str, Any], per_portal: list[dict[str, Any]], *, reason: str | None,
                  stop_signal: int | None, output_dir: str | None, dump_path: str | None,
                  warc_dir: str | None, started_at: dt.datetime, elapsed: float) -> dict[str, Any]:
    """The run summary (crawl-stats.json "summary", run-summary.json). Counts of *this run* and
    counts of the *whole output folder* (all runs into it) are kept apart by name:
    this run: pages, reports, records_new/_changed/_unchanged, warc_bytes_written, failures;
    folder: records, failed_checks, warc_bytes, warc_files."""
    pages = sum(p["pages"] for p in per_portal)
    if stop_signal is not None or reason == "shutdown":
        status, code = "interrupted", 128 + (stop_signal or signal.SIGINT)
    # a CLOSESPIDER_* limit the operator set ends a run normally
    elif (not pages or stats.get("output/error")
          or not (reason == "finished" or (reason or "").startswith("closespider_"))):
        status, code = "failed", EXIT_FAILED
    else:
        status, code = "ok", EXIT_OK
    records, failed_checks = _dump_counts(dump_path)
    warc_files = _warc_files(warc_dir)
    out = pathlib.Path(output_dir) if output_dir else None
    return {
        "status": status,
        "exit_code": code,
        "signal": signal.Signals(stop_signal).name if stop_signal else None,
        "finish_reason": reason,
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed, 2),
        # this run
        "portals": len(per_portal),
        "portals_failed": sum(p["status"] == "failed" for p in per_portal),
        "pages": pages,
        "reports": sum(p["reports"] for p in per_portal),
        "records_new": sum(p["new"] for p in per_portal),
        "records_changed": sum(p["changed"] for p in per_portal),
        "records_unchanged": sum(p["unchanged"] for p in per_portal),
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
        "warc_bytes_written": stats.get("warc/bytes", 0),
        # durability (harvester.frontier, pipelines.dump, harvester.parsepool, harvester.outputfailure)
        "resumed": stats.get("frontier/seen", 0),
        "unserialisable": stats.get("dump/unserialisable", 0),
        "parse_limits": stats.get("parse/limit_exceeded", 0),
        "output_error": stats.get("output/error"),
        # the whole output folder
        "records": records,
        "failed_checks": failed_checks,
        "warc_files": len(warc_files),
        "warc_bytes": sum(p.stat().st_size for p in warc_files),
        "output": {"folder": str(out) if out else None, "warc": warc_dir, "dump": dump_path,
                   "crawl_stats": str(out / "crawl-stats.json") if out else None,
                   "run_summary": str(out / "run-summary.json") if out else None},
        "per_portal": per_portal,
    }


def write_summary_files(summary: dict[str, Any], stats: dict[str, Any]) -> None:
    """OUT/crawl-stats.json (summary + every Scrapy stat) and OUT/run-summary.json (summary only)."""
    from harvester.jsonl import write_json_atomic

    paths = summary["output"]
    if not paths["folder"]:
        return
    write_json_atomic(paths["crawl_stats"], {"summary": summary, "stats": stats})
    write_json_atomic(paths["run_summary"], summary)


def make_output_folder(out: pathlib.Path) -> None:
    """Create OUT (and OUT/reports, OUT/warc) or fail with one line saying why."""
    if out.exists() and not out.is_dir():
        raise CrawlError(f"output folder {out} is a file")
    try:
        (out / "reports").mkdir(parents=True, exist_ok=True)
        (out / "warc").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CrawlError(f"cannot create output folder {out}: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK):
        raise CrawlError(f"output folder not writable: {out}")


def run_crawl(registry: str | os.PathLike | None = None, out: str | os.PathLike = "out/crawl", *,
              loopback: bool = False, warc: bool = True, overrides: dict[str, Any] | None = None,
              redis_url: str | None = None, crawl_id: str = "harvester", worker: str | None = None
              ) -> dict[str, Any]:
    """Crawl every portal of `registry` into `out`; return the run summary (also in
    OUT/crawl-stats.json and OUT/run-summary.json). Its `status` is ok, failed or interrupted.
    A bad registry line is skipped (said on stderr, counted as `registry_lines_skipped`).
    With `redis_url`, this process is worker `worker` of the shared crawl `crawl_id`
    (`harvester.distributed`): per-worker files in OUT, merged into the usual ones at the end."""
    from scrapy.crawler import CrawlerProcess

    from harvester.progress import CrawlProgress
    from harvester.spiders.discovery import DiscoverySpider

    try:
        portals, issues = read_registry(registry)
    except RegistryError as exc:
        raise CrawlError(f"registry unusable: {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise CrawlError(f"cannot read registry {registry}: {exc.strerror or exc}") from None
    skipped = [i for i in issues if i.severity == "error"]
    for issue in skipped:      # a bad line is skipped and said; the other portals are crawled
        print(f"registry line skipped: {issue}", file=sys.stderr)
    if not portals:
        raise CrawlError(f"registry unusable: no valid portal ({len(skipped)} bad line(s))")
    out = pathlib.Path(out)
    make_output_folder(out)

    settings = crawl_settings(out, loopback=loopback, warc=warc, overrides=overrides)
    shared = contextlib.nullcontext()
    if redis_url:
        from harvester import distributed

        worker, shared = distributed.join_shared_crawl(settings, redis_url, crawl_id, worker, out, overrides)
    with shared:
        process = CrawlerProcess(settings)
        crawler = process.create_crawler(DiscoverySpider)
        errors: list[str] = []
        d = process.crawl(crawler, portals=portals)
        d.addErrback(lambda f: errors.append(f"{f.type.__name__}: {f.getErrorMessage()}"))
        process.start()
        if errors:
            raise CrawlError(f"crawl failed: {errors[0]}")
        merged: dict[str, Any] = {}
        if redis_url:
            try:
                merged = distributed.merge_outputs(out)
            except OSError as exc:
                raise CrawlError(f"cannot merge the workers' outputs in {out}: {exc.strerror or exc}") from None
    progress = crawler.get_extension(CrawlProgress)
    summary = progress.summary if progress is not None else None
    if summary is None and progress is not None and progress.stop_signal is not None:
        name = signal.Signals(progress.stop_signal).name
        raise CrawlInterrupted(progress.stop_signal, (
            f"forced shutdown ({name} again while stopping): no run summary; every record parsed so far "
            f"is in {out / 'reports'} (the dump's journal) and the requests not finished are in "
            f"{out / 'job'}; the same command resumes"))
    if summary is None:
        raise CrawlError("the crawl stopped before its summary was written (forced shutdown? see the log above)")
    if (redis_url and summary["status"] == "failed" and not summary["pages"] and not summary.get("output_error")
            and summary["finish_reason"] == "finished" and merged.get("records")):
        # one worker of a shared crawl that found the frontier already taken: the crawl went on
        # without it, so its run is not a failure
        summary.update(status="ok", exit_code=EXIT_OK,
                       note="this worker fetched nothing: the other workers took every request")
    if skipped or redis_url:
        summary["registry_lines_skipped"] = len(skipped)
        stats = crawler.stats.get_stats()
        if redis_url:       # each worker's own summary; crawl-stats.json is the last worker's
            summary["output"]["crawl_stats"] = str(out / f"crawl-stats-{worker}.json")
            summary["output"]["run_summary"] = str(out / f"run-summary-{worker}.json")
        write_summary_files(summary, stats)
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as a table: this run, then the output folder, then one line per portal."""
    this_run = [("portals", summary["portals"]), ("  failed (no answer)", summary["portals_failed"]),
                ("pages fetched", summary["pages"]), ("reports found", summary["reports"]),
                ("  records new", summary["records_new"]), ("  records changed", summary["records_changed"]),
                ("  records unchanged", summary["records_unchanged"]),
                ("failed fetches", summary["failed_fetches"]), ("retries", summary.get("retries", 0)),
                ("parse failures", summary["parse_failures"]),
                ("WARC bytes written", summary["warc_bytes_written"]), ("seconds", summary["elapsed_s"])]
    folder = [("records (agency-years)", summary["records"]),
              ("records with failed checks", summary["failed_checks"]),
              ("WARC files", summary["warc_files"]), ("WARC bytes", summary["warc_bytes"])]
    if summary.get("resumed"):
        this_run.insert(0, ("resumed: requests seen before", summary["resumed"]))
    if summary.get("unserialisable"):
        this_run.append(("records kept minimal (unserialisable)", summary["unserialisable"]))
    if summary.get("parse_limits"):
        this_run.append(("documents past parse limits", summary["parse_limits"]))
    width = max(len(k) for k, _ in this_run + folder)
    lines = [f"this run ({summary['status']}"
             + (f", stopped by {summary['signal']}" if summary.get("signal") else "") + ")"]
    lines += [f"  {k:<{width}}  {v:>12}" for k, v in this_run]
    lines.append(f"in {summary['output']['folder'] or 'the output folder'} (all runs)")
    lines += [f"  {k:<{width}}  {v:>12}" for k, v in folder]
    lines.append(format_per_portal(summary["per_portal"]))
    if summary.get("output_error"):
        lines.append(f"OUTPUT FAILED: {summary['output_error']}")
    return "\n".join(lines)


PER_PORTAL_ROWS = 40   # beyond this, only portals that are not ok are listed one by one


def format_per_portal(rows: list[dict[str, Any]]) -> str:
    shown = rows if len(rows) <= PER_PORTAL_ROWS else [r for r in rows if r["status"] != "ok"]
    head = ("status", "pages", "reports", "failed", "new", "changed", "unch.", "agency")
    table = [head] + [(r["status"], r["pages"], r["reports"], r["failed_fetches"], r["new"], r["changed"],
                       r["unchanged"], r["agency"]) for r in shown]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head) - 1)]
    lines = ["per portal" + ("" if shown is rows else f" ({len(rows) - len(shown)} ok portals not listed)")]
    for row in table:
        lines.append("  " + "  ".join(f"{str(v):>{w}}" for v, w in zip(row[:-1], widths)) + f"  {row[-1]}")
    return "\n".join(lines)


def print_crawl_report(summary: dict[str, Any]) -> int:
    """What `harvester crawl` / `demo` print at the end: the summary, then where everything went.
    Returns the exit code; a run that fetched nothing is a CrawlError (one line, exit 2)."""
    print(format_summary(summary))
    paths = summary["output"]
    print("output:")
    for label, key in (("WARC files", "warc"), ("records", "dump"), ("run summary", "run_summary"),
                       ("crawl stats", "crawl_stats")):
        if paths.get(key):
            print(f"  {label:<12} {paths[key]}")
    if summary.get("output_error"):
        raise CrawlError(f"output failed, crawl stopped: {summary['output_error']} (records and state written "
                         "before the failure are intact; free space and run the same command to resume)")
    if summary["status"] == "failed":
        raise CrawlError("no page could be fetched (network down, or every entry URL refused?)"
                         if not summary["pages"] else f"crawl failed ({summary['finish_reason']})")
    return int(summary["exit_code"])

"""`harvester crawl --registry FILE --out DIR`: crawl the registry's portals into DIR
(DIR/warc/, DIR/index.cdxj, DIR/reports/records.jsonl, DIR/run-summary.json), show progress on
stderr, print a summary (this run, the folder, per portal) and where the output went."""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("crawl", help="crawl the portals of a registry into WARC files and a JSONL dump",
                       description="Crawl the portals of a registry into WARC files and a JSONL dump. "
                                   "Re-running into the same --out updates it (conditional requests).")
    p.add_argument("--registry", default=None, metavar="FILE",
                   help="portal registry (JSON Lines); default: registry/portals.jsonl shipped with the "
                        "harvester (146 observed portals, unverified)")
    p.add_argument("--out", default="out/crawl", metavar="DIR", help="output folder (default: %(default)s)")
    p.add_argument("--loopback", action="store_true",
                   help="no delays or throttling (only for the simulator on 127.0.0.0/8)")
    p.add_argument("--no-warc", action="store_true", help="do not archive responses")
    p.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a Scrapy setting, e.g. -s LOG_LEVEL=WARNING -s PROGRESS=lines (repeatable)")
    p.add_argument("--redis", metavar="URL", help="join a shared crawl: frontier and duplicate filter in Redis "
                   "(e.g. redis://127.0.0.1:6379/0); any number of workers may run the same command")
    p.add_argument("--crawl-id", default="harvester",
                   help="name of the shared crawl in Redis (the same id resumes it; a new crawl takes a new id)")
    p.add_argument("--worker", help="this worker's id, unique per crawl (default: the host name); names its files")
    p.set_defaults(func=run)


def run(args) -> int:
    from harvester.crawl import CrawlInterrupted, parse_setting_overrides, print_crawl_report, run_crawl

    from harvester.cli import CommandError

    overrides = parse_setting_overrides(args.set)
    if "OUTPUT_DIR" in overrides:
        raise CommandError("the output folder is --out, not -s OUTPUT_DIR")
    if args.registry is not None and not args.registry.strip():
        raise CommandError("registry path is empty (leave --registry out for the default registry)")
    try:
        summary = run_crawl(args.registry, args.out, loopback=args.loopback, warc=not args.no_warc,
                            overrides=overrides, redis_url=args.redis, crawl_id=args.crawl_id, worker=args.worker)
    except CrawlInterrupted as exc:
        print(f"harvester crawl: {exc}", file=sys.stderr)
        return exc.exit_code
    return print_crawl_report(summary)

"""`harvester crawl --registry FILE --out DIR`: crawl the registry's portals into DIR
(DIR/warc/, DIR/index.cdxj, DIR/reports/records.jsonl) and print a summary table."""
from __future__ import annotations


def register(sub) -> None:
    from harvester.registry import DEFAULT_REGISTRY

    p = sub.add_parser("crawl", help="crawl the portals of a registry into WARC files and a JSONL dump")
    p.add_argument("--registry", default=str(DEFAULT_REGISTRY), help="portal registry (JSONL); default: %(default)s")
    p.add_argument("--out", default="out/crawl", help="output folder (default: %(default)s)")
    p.add_argument("--loopback", action="store_true",
                   help="no delays or throttling (only for the simulator on 127.0.0.0/8)")
    p.add_argument("--no-warc", action="store_true", help="do not archive responses")
    p.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a Scrapy setting (repeatable)")
    p.add_argument("--redis", metavar="URL", help="join a shared crawl: frontier and duplicate filter in Redis "
                   "(e.g. redis://127.0.0.1:6379/0); any number of workers may run the same command")
    p.add_argument("--crawl-id", default="harvester",
                   help="name of the shared crawl in Redis (the same id resumes it; a new crawl takes a new id)")
    p.add_argument("--worker", help="this worker's id, unique per crawl (default: the host name); names its files")
    p.set_defaults(func=run)


def run(args) -> int:
    from harvester.cli import CommandError
    from harvester.crawl import format_summary, run_crawl

    overrides = {}
    for item in args.set:
        if "=" not in item:
            raise CommandError(f"--set expects NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        overrides[k.strip()] = v
    summary = run_crawl(args.registry, args.out, loopback=args.loopback, warc=not args.no_warc,
                        overrides=overrides, redis_url=args.redis, crawl_id=args.crawl_id, worker=args.worker)
    print(format_summary(summary))
    return 0

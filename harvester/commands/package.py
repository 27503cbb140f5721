"""`harvester package --out FILE.wacz [--warc DIR] [--dump FILE] [--crawl-log FILE]`: a crawl's WARC
files, a pages.jsonl of its report pages and its crawl log in one WACZ (py-wacz, from the .venv-pywb
venv), with a title, description and main page in datapackage.json."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("package", help="package WARC files and the report pages into a WACZ file")
    p.add_argument("--out", required=True, help="the .wacz file to write")
    p.add_argument("--warc", default="out/crawl/warc",
                   help="WARC folder or file, or a crawl's output folder (its warc/) (default: %(default)s)")
    p.add_argument("--dump", default=None,
                   help="records.jsonl whose report pages go into pages.jsonl "
                        "(default: ../reports/records.jsonl beside the WARC folder, when present)")
    p.add_argument("--crawl-log", default=None,
                   help="crawl log to include as logs/crawl.log (default: ../crawl.log beside the WARC folder, "
                        "when present)")
    p.add_argument("--title", default=None, help="datapackage.json title")
    p.add_argument("--description", default=None, help="datapackage.json description")
    p.set_defaults(func=run)


def run(args) -> int:
    import os

    from harvester.wacz import package

    if os.path.isdir(os.path.join(args.warc, "warc")):     # a crawl's output folder: OUT/warc
        args.warc = os.path.join(args.warc, "warc")
    dump = args.dump
    if dump is None:
        guess = os.path.join(os.path.dirname(os.path.abspath(args.warc)), "reports", "records.jsonl")
        dump = guess if os.path.isfile(guess) else None
    crawl_log = args.crawl_log
    if crawl_log is None:
        guess = os.path.join(os.path.dirname(os.path.abspath(args.warc)), "crawl.log")
        crawl_log = guess if os.path.isfile(guess) else None
    s = package(args.out, warc_dir=args.warc, dump=dump, crawl_log=crawl_log, title=args.title,
                description=args.description)
    print(f"{s['wacz']}: {s['warc_files']} WARC files, {s['pages']} report pages, {s['bytes']} bytes")
    return 0

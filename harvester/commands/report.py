"""`harvester report SRC [--out FILE] [--replay-prefix URL]`: one static HTML page over a crawl
folder or a dump: coverage, portals, failed checks, cross-year findings, links to the captures."""
from __future__ import annotations

import pathlib
import re


def register(sub) -> None:
    p = sub.add_parser("report", help="a static HTML page: coverage, portals, failed checks, cross-year findings",
                       description="Write one self-contained HTML page (no server, no external assets) over a "
                                   "crawl folder (its reports/records.jsonl, crawl-stats.json and warc/) or a "
                                   "records.jsonl dump.")
    p.add_argument("src", metavar="SRC", help="crawl output folder or records.jsonl dump")
    p.add_argument("--out", metavar="FILE",
                   help="the page to write (default: SRC/report.html for a folder, report.html beside a dump)")
    p.add_argument("--replay-prefix", metavar="URL",
                   help="pywb collection URL to link each capture through, e.g. http://localhost:8080/coll/")
    p.add_argument("--title", default="政府信息公开工作年度报告: coverage and checks", help="the page's title")
    p.set_defaults(func=run)


def run(args) -> int:
    from harvester.cli import CommandError
    from harvester.export import DUMP_IN_CRAWL, ExportError, dump_path, load_dump, no_cyclic_gc, refuse_to_replace, write_atomic
    from harvester.report_page import load_stats, render_page

    if args.replay_prefix and not re.match(r"https?://[^/\s]+", args.replay_prefix, re.I):
        raise CommandError(f"--replay-prefix must be an http(s) URL such as http://localhost:8080/coll/, "
                           f"not {args.replay_prefix!r}")
    src = pathlib.Path(args.src)
    note = ""
    try:
        dump = dump_path(args.src)
        records, bad = load_dump(dump)
    except ExportError as exc:
        if not (src.is_dir() and (src / "crawl-stats.json").is_file()):
            raise CommandError(str(exc)) from None
        # a crawl that found nothing: its page still shows which portals failed
        dump, records, bad, note = src / DUMP_IN_CRAWL, [], 0, f" ({exc})"
    # the crawl folder: SRC itself, or OUT when SRC is OUT/reports/records.jsonl
    folder = src if src.is_dir() else (dump.parent.parent if dump.parent.name == "reports" else None)
    out = pathlib.Path(args.out) if args.out else (src / "report.html" if src.is_dir() else dump.parent / "report.html")
    if out.is_dir():
        raise CommandError(f"{out} is a folder; --out names the page file")
    if not out.parent.is_dir():
        raise CommandError(f"cannot write {out}: no such folder {out.parent}")
    try:
        refuse_to_replace(dump, out)
    except ExportError as exc:
        raise CommandError(str(exc)) from None
    with no_cyclic_gc():
        page = render_page(records, title=args.title, stats=load_stats(folder), replay_prefix=args.replay_prefix,
                           warc_dir=folder / "warc" if folder else None, page_dir=out.resolve().parent,
                           source_label=f"{len(records)} records from {dump}" + note
                           + (f" ({bad} unreadable lines skipped)" if bad else ""))
    try:
        write_atomic(out, lambda tmp: pathlib.Path(tmp).write_text(page, encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(out)
    return 0

"""`harvester replay PATH... --out DIR`: rebuild DIR/reports/records.jsonl from WARC/ARC files (ours or
any other tool's), without the network: our WARCs by the crawl's recorded decisions, others by the
real crawl engine answering from the archive (`harvester.replay`)."""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("replay", help="rebuild the JSONL dump from WARC/ARC files (no network)")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="WARC/ARC file, folder (every *.warc[.gz], *.arc[.gz] in it), or a crawl's output folder")
    p.add_argument("--out", required=True, help="output folder (DIR/reports/records.jsonl)")
    p.add_argument("--rerun", action="store_true",
                   help="re-run today's discovery rules on our own WARCs too, instead of their recorded decisions")
    p.add_argument("--registry", default=None,
                   help="portal registry for the re-run (default: one portal made from the archive)")
    p.add_argument("--workers", type=int, default=None, help="parser processes (default: one per core)")
    p.add_argument("--no-content-rule", action="store_true",
                   help="only the crawl's link rules decide what is a report")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def run(args) -> int:
    from harvester.cli import CommandError
    from harvester.replay import replay, stderr_progress

    if args.workers is not None and args.workers < 1:
        raise CommandError("--workers must be at least 1")
    try:
        s = replay([warc_folder(p) for p in args.paths], args.out,
                   progress=None if args.quiet else stderr_progress, content_rule=not args.no_content_rule,
                   rerun=args.rerun, registry=args.registry, workers=args.workers)
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    for what, lines in (("damaged", s["damaged"]), ("skipped", s["skipped"]), ("undecodable", s["undecodable"])):
        for line in lines:
            print(f"harvester replay: warning: {what}: {line}", file=sys.stderr)
    rows = [("WARC files", s["warc_files"]), ("captures", s["captures"]), ("reports replayed", s["reports"]),
            ("  by recorded decisions", s["by_decisions"]), ("  by the crawl engine", s["by_engine"]),
            ("  by content rule", s["by_content_rule"]), ("unchanged (re-crawls)", s["unchanged"]),
            ("records (agency-years)", s["records"]), ("parse failures", s["parse_failures"]),
            ("undecodable captures", len(s["undecodable"])), ("not in the archive", s["misses"]),
            ("damaged files", len(s["damaged"])), ("skipped files", len(s["skipped"])),
            ("unresolved revisits", s["revisits_unresolved"]), ("seconds", s["elapsed_s"])]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v:>10}" for k, v in rows))
    print(f"dump: {s['dump']}")
    if s["reports"] or s["records"]:
        return 0
    if s["damaged"] and not s["captures"]:
        raise CommandError(f"nothing replayed: {s['damaged'][0]}")
    return 1 if s["damaged"] or s["undecodable"] else 0


def warc_folder(path: str) -> str:
    """A crawl's output folder stands for its warc/ subfolder; anything else is taken as given."""
    import glob
    import os

    sub = os.path.join(path, "warc")
    if os.path.isdir(sub) and not glob.glob(os.path.join(glob.escape(path), "*.warc*")):
        return sub
    return path

"""`harvester replay PATH... --out DIR`: re-run the parse step over stored WARC captures (ours or any
standard WARC) and write DIR/reports/records.jsonl, exactly as the crawl would have."""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("replay", help="rebuild the JSONL dump from WARC files (no network)")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="WARC file, folder of WARC files, or a crawl's output folder (its warc/)")
    p.add_argument("--out", required=True, help="output folder (DIR/reports/records.jsonl)")
    p.add_argument("--no-content-rule", action="store_true",
                   help="only the crawl's link rules decide what is a report")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def run(args) -> int:
    from harvester.cli import CommandError
    from harvester.replay import replay, stderr_progress

    try:
        s = replay([warc_folder(p) for p in args.paths], args.out, progress=None if args.quiet else stderr_progress,
                   content_rule=not args.no_content_rule)
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    for line in s["damaged"]:
        print(f"harvester replay: warning: {line}", file=sys.stderr)
    rows = [("WARC files", s["warc_files"]), ("captures", s["captures"]), ("reports replayed", s["reports"]),
            ("  by content rule", s["by_content_rule"]), ("records (agency-years)", s["records"]),
            ("parse failures", s["parse_failures"]), ("damaged files", len(s["damaged"])),
            ("unresolved revisits", s["revisits_unresolved"]), ("seconds", s["elapsed_s"])]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v:>10}" for k, v in rows))
    print(f"dump: {s['dump']}")
    if not s["reports"]:
        if s["damaged"] and not s["captures"]:
            raise CommandError(f"nothing replayed: {s['damaged'][0]}")
        return 1 if s["damaged"] else 0
    return 0


def warc_folder(path: str) -> str:
    """A crawl's output folder stands for its warc/ subfolder; anything else is taken as given."""
    import glob
    import os

    sub = os.path.join(path, "warc")
    if os.path.isdir(sub) and not glob.glob(os.path.join(glob.escape(path), "*.warc*")):
        return sub
    return path

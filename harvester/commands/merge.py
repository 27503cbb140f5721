"""`harvester merge OUT`: merge the per-worker dumps and indexes of a shared (Redis) crawl into
OUT/reports/records.jsonl (one line per agency-year) and OUT/index.cdxj."""
from __future__ import annotations

import pathlib


def register(sub) -> None:
    p = sub.add_parser("merge", help="merge the workers' outputs of a shared crawl (records-*.jsonl, index-*.cdxj)")
    p.add_argument("out", help="output folder holding the workers' files (copied together from every machine)")
    p.set_defaults(func=run)


def run(args) -> int:
    from harvester.cli import CommandError
    from harvester.distributed import merge_outputs, worker_dumps

    out = pathlib.Path(args.out)
    if not worker_dumps(out):
        raise CommandError(f"no worker dump (reports/records-*.jsonl) in {out}")
    try:
        s = merge_outputs(out)
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"{s['workers']} worker dump(s), {s['records_read']} lines → {s['records']} records "
          f"(one per agency-year) in {out / 'reports' / 'records.jsonl'}; {s['cdxj_lines']} CDXJ lines")
    return 0

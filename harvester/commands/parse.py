"""`harvester parse PATH...`: one JSON record per input, one per line (JSONL) on stdout."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("parse", help="parse report documents (HTML, text, Markdown, PDF, DOCX) into records")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files to parse; - reads standard input")
    p.add_argument("--content-type", help="treat the input as this media type (e.g. text/html; charset=gbk)")
    p.add_argument("--indent", type=int, default=None, help="pretty-print (not JSONL)")
    p.set_defaults(func=run)


def run(args) -> int:
    from harvester.cli import CommandError
    from harvester.report import parse_document

    failures = 0
    for path in args.paths:
        if path == "-":
            data, name = sys.stdin.buffer.read(), None
        else:
            p = Path(path)
            if p.is_dir():   # one input is one document: a folder is named, not walked
                raise CommandError(f"{path}: is a directory; name the files (e.g. {path.rstrip('/')}/*.pdf)")
            if not p.is_file():
                raise CommandError(f"{path}: no such file")
            try:
                data, name = p.read_bytes(), p.name
            except OSError as exc:
                raise CommandError(f"{path}: {exc.strerror}") from exc
        record = parse_document(data, name=name, content_type=args.content_type)
        failures += any(w.startswith("not parsed") for w in record["warnings"])
        sys.stdout.write(json.dumps(record, ensure_ascii=False, indent=args.indent) + "\n")
    sys.stdout.flush()
    return 1 if failures == len(args.paths) else 0

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


def _read(path: str) -> tuple[bytes, str | None]:
    """At most one byte more than the parser accepts: a huge file costs no memory, only a warning."""
    from harvester.errors import CommandError
    from harvester.report.document import MAX_INPUT_BYTES

    if path == "-":
        return sys.stdin.buffer.read(MAX_INPUT_BYTES + 1), None
    p = Path(path)
    if p.is_dir():  # one input is one document: a folder is named, not walked
        raise CommandError(f"{path}: is a directory; name the files (e.g. {path.rstrip('/')}/*.pdf)")
    if not p.is_file():
        raise CommandError(f"{path}: no such file")
    try:
        with p.open("rb") as f:
            return f.read(MAX_INPUT_BYTES + 1), p.name
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror}") from exc


def run(args) -> int:
    """Every path is tried: a missing file or a failing one is reported on stderr (one line each)
    and the others are still parsed. Exit 2 when a file could not be read, 1 when no input parsed."""
    from harvester.errors import CommandError
    from harvester.report import parse_document

    failures = unreadable = 0
    for path in args.paths:
        try:
            data, name = _read(path)
            record = parse_document(data, name=name, content_type=args.content_type)
            line = json.dumps(record, ensure_ascii=False, indent=args.indent, allow_nan=False)
        except CommandError as exc:
            print(f"harvester parse: {exc}", file=sys.stderr)
            unreadable += 1
            continue
        except Exception as exc:  # never lose the other files to one: say which and go on
            print(f"harvester parse: {path}: {type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr)
            failures += 1
            continue
        failures += any(w.startswith("not parsed") for w in record["warnings"])
        sys.stdout.write(line + "\n")
    sys.stdout.flush()
    if unreadable:
        return 2
    return 1 if failures == len(args.paths) else 0

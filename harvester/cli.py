"""The `harvester` command: argument parsing only; every subcommand lives in harvester.commands."""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from harvester.errors import CommandError  # noqa: F401  (re-exported for the commands)
# One module per subcommand in harvester/commands/; each defines `register(subparsers)`
# (adds its parser and sets `func`) and keeps its logic in the library modules.
COMMANDS = ["parse", "demo", "crawl", "sim", "registry", "replay", "package", "export", "report", "merge"]

DESCRIPTION = """\
Find Chinese government information-disclosure annual reports (政府信息公开工作年度报告) on
government portals, keep every capture in WARC files, and turn each report into one JSON record
per agency-year."""

EPILOG = """\
examples:
  harvester demo --out out/demo                 crawl the built-in simulated portals
  harvester crawl --out /data/nianbao           crawl the registered portals (re-run to update)
  harvester parse report.pdf > record.jsonl     parse one downloaded report
  harvester replay /data/nianbao --out /tmp/r   rebuild the records from the WARC files

exit status: 0 done, 1 nothing usable in the input, 2 bad argument or the job could not run
(one line on stderr), 130/143 interrupted by Ctrl-C/SIGTERM. `harvester COMMAND -h` for details."""


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as dist_version

    try:
        return dist_version("gov-nianbao-harvester")
    except PackageNotFoundError:   # run from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harvester", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"harvester.commands.{name}").register(sub)
    return parser


EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE   # what a shell reports for a reader that left early


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        print(f"harvester {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"harvester {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of stdout went away (`| head`): stop quietly like other Unix tools, and keep
        # Python from complaining again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())

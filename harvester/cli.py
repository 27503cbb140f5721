"""The `harvester` command: argument parsing only; every subcommand lives in harvester.commands."""
from __future__ import annotations

import argparse
import importlib
import sys

from harvester.errors import CommandError  # noqa: F401  (re-exported for the commands)
# One module per subcommand in harvester/commands/; each defines `register(subparsers)`
# (adds its parser and sets `func`) and keeps its logic in the library modules.
COMMANDS = ["parse", "demo", "crawl", "sim", "registry", "replay", "package", "merge"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harvester", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"harvester.commands.{name}").register(sub)
    return parser


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


if __name__ == "__main__":
    sys.exit(main())

"""`harvester registry lint FILE` and `harvester registry convert SRC DST`."""
from __future__ import annotations

import argparse
import pathlib
import sys

from harvester import registry


def register(subparsers) -> None:
    p = subparsers.add_parser("registry", help="check or convert a portal registry (JSON Lines)")
    sub = p.add_subparsers(dest="registry_command", required=True)
    lint = sub.add_parser("lint", help="report malformed entries; exit 1 on errors")
    lint.add_argument("file", nargs="?", default=str(registry.DEFAULT_REGISTRY),
                      help="registry file (default: %(default)s)")
    lint.add_argument("--quiet", "-q", action="store_true", help="print errors only, no warnings")
    lint.add_argument("--resolve", action="store_true",
                      help="also resolve every host name (DNS) and flag names resolving to private addresses")
    conv = sub.add_parser("convert", help="convert an observation CSV (portals-observed.csv) to a registry")
    conv.add_argument("src")
    conv.add_argument("dst")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.registry_command == "convert":
        src = pathlib.Path(args.src)
        if not src.is_file():
            raise registry_error(f"no such file: {src}")
        rows = registry.convert_observed(src, args.dst)
        issues = registry.lint_registry(args.dst)
        n_err = sum(i.severity == "error" for i in issues)
        print(f"wrote {len(rows)} portals to {args.dst} ({n_err} errors)")
        return 1 if n_err else 0
    try:
        issues = registry.lint_registry(args.file, resolve_names=args.resolve)
    except registry.RegistryError as exc:
        raise registry_error(str(exc)) from None
    errors = [i for i in issues if i.severity == "error"]
    for i in issues:
        if i.severity == "error" or not args.quiet:
            print(i, file=sys.stdout)
    n_warn = len(issues) - len(errors)
    print(f"{args.file}: {len(errors)} error(s), {n_warn} warning(s)", file=sys.stderr)
    return 1 if errors else 0


def registry_error(msg: str):
    from harvester.cli import CommandError
    return CommandError(msg)

"""`harvester registry lint FILE` and `harvester registry convert SRC DST`."""
from __future__ import annotations

import argparse
import pathlib
import sys

from harvester import registry


def register(subparsers) -> None:
    p = subparsers.add_parser("registry", help="check or convert a portal registry (JSON Lines)")
    sub = p.add_subparsers(dest="registry_command", required=True, metavar="ACTION")
    lint = sub.add_parser("lint", help="report malformed entries; exit 1 on errors")
    lint.add_argument("file", nargs="?", default=None, metavar="FILE",
                      help="registry file (default: registry/portals.jsonl shipped with the harvester)")
    lint.add_argument("--quiet", "-q", action="store_true", help="print errors only, no warnings")
    lint.add_argument("--resolve", action="store_true",
                      help="also resolve every host name (DNS) and flag names resolving to private addresses")
    conv = sub.add_parser("convert", help="convert an observation CSV (portals-observed.csv) to a registry")
    conv.add_argument("src", metavar="SRC", help="observation list, UTF-8 CSV (../shared/registry/portals-observed.csv)")
    conv.add_argument("dst", metavar="DST", help="registry file to write (JSON Lines); replaced if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harvester.cli import CommandError

    if args.registry_command == "convert":
        src = pathlib.Path(args.src)
        if not src.is_file():
            raise CommandError(f"{src}: {'is a directory' if src.is_dir() else 'no such file'}")
        try:
            rows = registry.convert_observed(src)
            if not rows:   # a wrong SRC must not empty an existing registry
                raise CommandError(f"{src}: no portal rows (not an observation CSV?); {args.dst} not written")
            registry.write_registry(rows, args.dst)
        except KeyError as exc:
            raise CommandError(f"{src}: no column {exc} (not an observation CSV?)") from None
        except UnicodeDecodeError as exc:
            raise CommandError(f"{src}: not UTF-8 (byte {exc.start}); save the CSV as UTF-8") from None
        except OSError as exc:
            failed = exc.filename or args.dst
            raise CommandError(f"cannot {'read' if failed == str(src) else 'write'} {failed}: "
                               f"{exc.strerror or exc}") from None
        issues = registry.lint_registry(args.dst)
        n_err = sum(i.severity == "error" for i in issues)
        for i in issues:
            if i.severity == "error":
                print(i)
        print(f"wrote {len(rows)} portals to {args.dst} ({n_err} errors)")
        return 1 if n_err else 0
    file = args.file if args.file is not None else str(registry.DEFAULT_REGISTRY)
    try:
        issues = registry.lint_registry(file, resolve_names=args.resolve)
    except registry.RegistryError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot read {file}: {exc.strerror or exc}") from None
    errors = [i for i in issues if i.severity == "error"]
    for i in issues:
        if i.severity == "error" or not args.quiet:
            print(i, file=sys.stdout)
    n_warn = len(issues) - len(errors)
    print(f"{file}: {len(errors)} error(s), {n_warn} warning(s)", file=sys.stderr)
    return 1 if errors else 0

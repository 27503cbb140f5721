"""`harvester sim`: serve the simulated portals on loopback until Ctrl-C."""
from __future__ import annotations

import argparse
import sys
import time


def register(subparsers) -> None:
    p = subparsers.add_parser("sim", help="serve the simulated government portals on 127.0.0.N (until Ctrl-C)")
    p.add_argument("--write-registry", metavar="FILE", help="write the simulator's registry (JSON Lines) to FILE")
    p.add_argument("--port", type=int, default=0, help="port shared by every simulated host (default: a free one)")
    p.add_argument("--base-ip", type=int, default=2, help="first host is 127.0.0.BASE_IP (default: 2)")
    p.add_argument("--large-pages", type=int, default=0, help="also serve a TRS-style portal with N pages")
    p.add_argument("--slow-seconds", type=float, default=3.0, help="delay of the slow page (default: 3)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harvester.cli import CommandError
    from harvester.registry import dump_rows
    from harvester.sim import start_simulator

    if args.large_pages < 0 or args.slow_seconds < 0:
        raise CommandError("--large-pages and --slow-seconds must be zero or more")
    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port must be 0..65535, not {args.port}")
    if not 1 <= args.base_ip <= 240:
        raise CommandError(f"--base-ip must be 1..240, not {args.base_ip}")
    try:
        sim = start_simulator(args.base_ip, args.port, large_pages=args.large_pages, slow_seconds=args.slow_seconds)
    except OSError as exc:
        raise CommandError(f"cannot listen on 127.0.0.{args.base_ip}+ port {args.port}: {exc.strerror or exc}") from None
    try:
        if args.write_registry:
            try:
                sim.write_registry(args.write_registry)
            except OSError as exc:
                raise CommandError(f"cannot write {args.write_registry}: {exc.strerror or exc}") from None
            print(f"registry written to {args.write_registry}", file=sys.stderr)
        else:
            sys.stdout.write(dump_rows(sim.registry_rows()))
        for p in sim.portals:
            print(f"{p.name:12} {p.family:36} {p.base_url}{'' if p.in_registry else '  (off-registry)'}",
                  file=sys.stderr)
        print("serving; Ctrl-C to stop", file=sys.stderr)
        sys.stdout.flush()
        while True:
            time.sleep(3600)
    finally:
        sim.stop()

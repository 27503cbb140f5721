"""`harvester demo --out DIR`: the main job end to end on the built-in simulator: start it, write its
registry, crawl all of it into DIR (warc/, index.cdxj, reports/records.jsonl), stop it, print a summary."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("demo", help="crawl the built-in simulated portals end to end")
    p.add_argument("--out", default="out/demo", metavar="DIR",
                   help="output folder: warc/, index.cdxj, reports/records.jsonl (default: %(default)s)")
    p.set_defaults(func=run)


def run(args) -> int:
    import pathlib

    from harvester.crawl import make_output_folder, print_crawl_report, run_crawl
    from harvester.sim import start_simulator

    out = pathlib.Path(args.out)
    make_output_folder(out)
    sim = start_simulator()
    try:
        registry = out / "registry.jsonl"
        sim.write_registry(registry)
        summary = run_crawl(registry, out, loopback=True)
    finally:
        sim.stop()
    return print_crawl_report(summary)

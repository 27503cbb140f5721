"""`harvester demo`: the main job end to end on the built-in default (replaced by the crawl)."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the main job on the built-in default")
    p.add_argument("--out", default="out/demo")
    p.set_defaults(func=run)


def run(args) -> int:
    raise NotImplementedError

"""Parser throughput per input format on the corpus fixtures, next to a plain trafilatura pass.

    .venv/bin/python benchmarks/parse.py [--seconds 3]

Prints documents/second (one core, one process) for text, HTML and PDF, and the ratio of our
HTML parse (main content + every table + checks) to `trafilatura.extract` over the same HTML,
measured in the same run. Numbers, no assertions: tests do not time things.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "tests" / "fixtures" / "corpus"


def rate(fn, docs: list[bytes], seconds: float) -> tuple[float, int]:
    """Documents per second running fn over docs round-robin for about `seconds`."""
    fn(docs[0])  # warm-up: imports, OpenCC dictionaries, lxml
    n, start = 0, time.perf_counter()
    while True:
        for d in docs:
            fn(d)
            n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    a = ap.parse_args()
    from harvester.report import parse_document

    files = {
        "text": [p for p in sorted(CORPUS.glob("*/*")) if p.suffix in (".txt", ".md")],
        "html": sorted(CORPUS.glob("*/*.html")),
        "pdf": sorted(CORPUS.glob("*/*.pdf")),
    }
    groups = {kind: [(p.name, p.read_bytes()) for p in paths] for kind, paths in files.items()}
    # The simulator renders every corpus report as a CMS page (tables with rowspan/colspan):
    # nine more real-shaped HTML documents.
    from harvester.sim.corpus import body_html, load_corpus

    for doc in load_corpus(CORPUS).values():
        if doc.ext == ".pdf":
            continue  # served as attachments, not pages
        page = f"<html><head><meta charset='utf-8'></head><body><div class='trs_editor_view'>{body_html(doc)}</div></body></html>"
        groups["html"].append((doc.name + ".html", page.encode("utf-8")))
    print(f"{'format':8} {'docs':>5} {'docs/s':>10}  (one core, {a.seconds:.0f} s each)")
    results = {}
    for kind, docs in groups.items():
        per_s, n = rate(lambda d: parse_document(d[1], name=d[0]), docs, a.seconds)
        results[kind] = per_s
        print(f"{kind:8} {len(docs):5d} {per_s:10.1f}")
    import trafilatura

    html = [d.decode("utf-8", "replace") for _, d in groups["html"]]
    base, _ = rate(lambda d: trafilatura.extract(d, include_tables=True), html, a.seconds)
    print(f"{'trafil.':8} {len(html):5d} {base:10.1f}  trafilatura.extract(include_tables=True), same HTML")
    print(f"ratio: our HTML parse runs at {results['html'] / base:.2f}x the speed of a plain trafilatura pass")
    import opencc

    text = "".join(d.decode("utf-8") for _, d in groups["text"])
    conv = opencc.OpenCC("t2s")
    t0 = time.perf_counter()
    for _ in range(20):
        conv.convert(text)
    mb = len(text.encode("utf-8")) * 20 / 1e6 / (time.perf_counter() - t0)
    print(f"opencc t2s ({opencc.__name__} from {pathlib.Path(opencc.__file__).parent.name}): {mb:.1f} MB/s")


if __name__ == "__main__":
    main()

"""Parser throughput per input format on the corpus fixtures, next to a plain trafilatura pass.

    .venv/bin/python benchmarks/parse.py [--seconds 3]

Prints documents/second (one core, one process) for text, HTML and PDF, and the ratio of our
HTML parse (main content + every table + checks) to `trafilatura.extract` over the same HTML,
and of the PDFium path to the pdfplumber-only path over the same PDFs. The measurements are
interleaved in short rounds, so a busy machine slows all of them alike: read the ratios.
Numbers, no assertions: tests do not time things.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "tests" / "fixtures" / "corpus"


def rates(jobs: dict[str, tuple], seconds: float, rounds: int = 6) -> dict[str, float]:
    """Documents per second of each job (fn, docs), measured in interleaved rounds of about
    seconds/rounds each, so that load from other processes falls on every job alike."""
    done = {k: [0, 0.0] for k in jobs}
    for fn, docs in jobs.values():
        fn(docs[0])  # warm-up: imports, OpenCC dictionaries, lxml, PDFium
    for _ in range(rounds):
        for key, (fn, docs) in jobs.items():
            start = time.perf_counter()
            while True:
                for d in docs:
                    fn(d)
                    done[key][0] += 1
                if time.perf_counter() - start >= seconds / rounds:
                    break
            done[key][1] += time.perf_counter() - start
    return {k: n / s for k, (n, s) in done.items()}


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
    import trafilatura

    from harvester.report.document import pdfplumber_document

    html = [d.decode("utf-8", "replace") for _, d in groups["html"]]
    jobs = {kind: (lambda d: parse_document(d[1], name=d[0]), docs) for kind, docs in groups.items()}
    jobs["trafilatura"] = (lambda d: trafilatura.extract(d, include_tables=True), html)
    jobs["pdfplumber"] = (lambda d: pdfplumber_document(d[1], []), groups["pdf"])
    results = rates(jobs, a.seconds)
    print(f"{'format':12} {'docs':>5} {'docs/s':>10}  (one core, {a.seconds:.0f} s each, interleaved)")
    for kind in groups:
        print(f"{kind:12} {len(groups[kind]):5d} {results[kind]:10.1f}")
    print(f"{'trafilatura':12} {len(html):5d} {results['trafilatura']:10.1f}  trafilatura.extract(include_tables=True), same HTML")
    print(f"{'pdfplumber':12} {len(groups['pdf']):5d} {results['pdfplumber']:10.1f}  "
          "the same PDFs read by pdfplumber alone (lines and tables, no record)")
    print(f"ratio: our HTML parse runs at {results['html'] / results['trafilatura']:.2f}x a plain trafilatura pass; "
          f"our PDF parse at {results['pdf'] / results['pdfplumber']:.2f}x pdfplumber's reading alone")
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

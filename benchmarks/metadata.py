"""Page metadata (title, publication date): the parser's own rules against trafilatura's metadata
extraction and htmldate, on every HTML page of the corpus (the real saved page, and each report
rendered as a CMS article and as a Word paste by harvester.sim.layouts).

    .venv/bin/python benchmarks/metadata.py

Prints how often each source gives the gold title / date. The parser keeps the rules that win.
"""
from __future__ import annotations

import pathlib
import sys
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "tests" / "fixtures" / "corpus"


def pages() -> list[tuple[str, bytes, dict]]:
    from harvester.sim.corpus import load_corpus
    from harvester.sim.layouts import render

    out = []
    for doc in load_corpus(CORPUS).values():
        if doc.ext == ".html":
            out.append((doc.path.name, doc.data, doc.gold))
        for layout in ("cms_html", "word_paste"):
            r = render(doc, layout)
            out.append((f"{doc.name}/{layout}", r.data, doc.gold))
    return out


def main() -> None:
    import htmldate
    import trafilatura

    from harvester.report import parse_document
    from harvester.report.normalize import squash

    warnings.filterwarnings("ignore")
    score = {k: [0, 0] for k in ("rules title", "trafilatura title", "rules date", "trafilatura date", "htmldate")}

    def tally(key: str, want, got) -> None:
        if want is None:
            return
        score[key][1] += 1
        score[key][0] += squash(str(got or "")) == squash(str(want))

    for name, data, gold in pages():
        record = parse_document(data, name="page.html")
        text = data.decode("utf-8", "replace")
        meta = trafilatura.extract_metadata(text)
        tally("rules title", gold.get("title"), record["title"])
        tally("trafilatura title", gold.get("title"), meta.title if meta else None)
        tally("rules date", gold.get("published"), record["published"])
        tally("trafilatura date", gold.get("published"), meta.date if meta else None)
        tally("htmldate", gold.get("published"), htmldate.find_date(text, extensive_search=False, original_date=True))
    for key, (right, total) in score.items():
        print(f"{key:18} {right:3d}/{total:<3d} right")


if __name__ == "__main__":
    main()

"""The report page's text and charts as a reader meets them (no browser needed: the HTML itself)."""
from __future__ import annotations

import copy
import json
import re

import pytest
from lxml import html as lxml_html

from conftest import CORPUS
from harvester.cli import main
from harvester.report import parse_document
from harvester.report_page import render_page


@pytest.fixture(scope="module")
def records() -> list[dict]:
    docs = sorted(p for p in CORPUS.glob("*/*") if not p.name.endswith((".json", ".jsonl", ".md")))
    return [parse_document(p.read_bytes(), name=p.name) for p in docs]


def crawl_summary(records: list[dict]) -> dict:
    """A run summary as the crawl writes it, for a folder holding these records and more portals."""
    agencies = ["上海市嘉定区人民政府", "淮安市洪泽区人民政府", "淮南市谢家集区人民政府", "平潭综合实验区管委会",
                "上海市嘉定区新成路街道办事处"]
    per_portal = [{"agency": a, "entry": f"http://127.0.0.{i + 2}/", "status": "ok", "pages": 9, "reports": i + 1,
                   "failed_fetches": 0, "refused": 0, "new": i + 1, "changed": 0, "unchanged": 0}
                  for i, a in enumerate(agencies)]
    return {"status": "ok", "portals": len(agencies), "portals_failed": 0, "pages": 45, "reports": 15,
            "failed_fetches": 2, "records": len(records) + 3, "failed_checks": 3, "warc_files": 1,
            "warc_bytes": 1000, "per_portal": per_portal}


def test_no_label_names_two_different_numbers(records):
    """'failed checks 7' in the summary and 'failed checks 3' under Portals read as a contradiction."""
    dom = lxml_html.fromstring(render_page(records, stats=crawl_summary(records)))
    labels = [dt.text_content().strip() for dt in dom.xpath('//dl[@id="summary" or @id="crawl-summary"]/dt')]
    assert len(labels) == len(set(labels)), sorted(labels)


def test_portal_chart_labels_are_whole_and_do_not_overlap(records):
    stats = crawl_summary(records)
    dom = lxml_html.fromstring(render_page(records, stats=stats))
    labels = dom.xpath('//svg[@id="chart-portals"]//text[@class="label"]')
    assert [t.xpath("string(title)") for t in labels] == [p["agency"] for p in stats["per_portal"]]
    boxes = []
    for t in labels:      # the text's box: CJK glyphs are about one font size wide and high
        size, x, y = float(t.get("font-size")), float(t.get("x")), float(t.get("y"))
        text = "".join(t.xpath("text()"))
        width = size * len(text)
        left = x - width if t.get("text-anchor") == "end" else x - width / 2 if t.get("text-anchor") == "middle" else x
        boxes.append((left, left + width, y - size, y))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[1] <= b[0] or b[1] <= a[0] or a[3] <= b[2] or b[3] <= a[2], (a, b)
    assert [int(r.get("data-value")) for r in dom.xpath('//svg[@id="chart-portals"]//rect')] == [1, 2, 3, 4, 5]
    assert all(re.fullmatch(r"[\d.]+", r.get("width")) for r in dom.xpath('//svg[@id="chart-portals"]//rect'))


def test_malformed_records_get_a_page_not_a_traceback(records, tmp_path, capsys):
    """The export takes odd values as text or null; the page over the same dump must not fail either."""
    odd = copy.deepcopy(next(r for r in records if r["checks"]))
    odd.update(id="odd", year="2020", agency=123, checks=["not a check", {"code": "T4_TOTAL", "expected": "x"}])
    other = copy.deepcopy(odd)
    other.update(id="other", year=2021)
    dump = tmp_path / "records.jsonl"
    dump.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [*records, odd, other]), encoding="utf-8")
    assert main(["report", str(dump)]) == 0, capsys.readouterr().err
    dom = lxml_html.parse(str(tmp_path / "report.html")).getroot()
    rows = dom.xpath('//table[@id="failed-checks"]//tr[@class="check"]')
    assert len(rows) == sum(len(r["checks"]) for r in records) + 4
    assert "not a check" in [tr.xpath("string(td[3])") for tr in rows]


def test_a_crawl_that_found_nothing_still_gets_its_page(records, tmp_path):
    """Every portal dead: no record, but the page is where one sees which portals failed."""
    stats = crawl_summary(records)
    for portal in stats["per_portal"]:
        portal.update(status="failed", pages=0, reports=0, new=0, failed_fetches=1)
    stats.update(status="failed", pages=0, reports=0, records=0, failed_checks=0)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "records.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "crawl-stats.json").write_text(json.dumps({"summary": stats}, ensure_ascii=False), encoding="utf-8")
    assert main(["report", str(tmp_path)]) == 0
    dom = lxml_html.parse(str(tmp_path / "report.html")).getroot()
    assert dom.xpath('string(//dl[@id="summary"]/dd[@data-key="records"])') == "0"
    rows = dom.xpath('//table[@id="portals"]//tr[contains(@class, "portal")]')
    assert [tr.get("data-portal") for tr in rows] == [p["agency"] for p in stats["per_portal"]]
    assert all("bad" in tr.get("class") for tr in rows)
    assert not dom.xpath('//svg[@id="chart-portals"]//rect')      # nothing found anywhere
    (tmp_path / "crawl-stats.json").unlink()                     # a folder that is no crawl: refused as before
    assert main(["report", str(tmp_path)]) == 2

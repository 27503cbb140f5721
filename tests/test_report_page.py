"""`harvester report`: the static page, rendered by a real headless Chromium; its numbers are read back
from the browser's DOM and compared with the dump; its links resolve (WARC files on disk, captures
through a real pywb)."""
from __future__ import annotations

import copy
import json
import pathlib
import shutil
import struct
import subprocess
import urllib.request

import pytest
from lxml import html as lxml_html

from conftest import CORPUS
from harvester.cli import main
from harvester.report import parse_document
from harvester.series import series_checks
from test_playback import PYWB, crawled, wayback  # noqa: F401  (fixtures: one pywb over the simulator crawl)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_TIMEOUT = 180
pytestmark = pytest.mark.skipif(not pathlib.Path(CHROMIUM).exists(), reason="chromium not installed")


def chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--user-data-dir=" + str(pathlib.Path(args[-1].removeprefix("file://")).parent / ".chromium"),
                           *args], capture_output=True, text=True, timeout=BROWSER_TIMEOUT)


def rendered_dom(page: pathlib.Path):
    """The page as Chromium parsed and laid it out (--dump-dom), as an lxml tree."""
    proc = chromium("--dump-dom", page.resolve().as_uri())
    assert proc.returncode == 0 and "<table" in proc.stdout, proc.stderr[-2000:]
    return lxml_html.fromstring(proc.stdout)


def corpus_records() -> list[dict]:
    docs = sorted(p for p in CORPUS.glob("*/*") if not p.name.endswith((".json", ".jsonl")) and p.name != "SOURCES.md")
    records = [parse_document(p.read_bytes(), name=p.name) for p in docs]
    # one cross-year finding: a made-up 2018 report of 平潭 whose 结转下年度 disagrees with 2019's 上年结转
    pingtan = next(r for r in records if r["agency"] == "平潭综合实验区" and r["year"] == 2019)
    before = copy.deepcopy(pingtan)
    before.update(year=2018, id="made-up-2018")
    before["requests"]["rows"]["carried_forward"] = [4, 0, 0, 0, 0, 0, 4]
    return records + [before]


@pytest.fixture(scope="module")
def corpus_page(tmp_path_factory):
    """A crawl-like folder (dump + crawl-stats.json with a per-portal breakdown), its page and DOM."""
    out = tmp_path_factory.mktemp("report-corpus")
    records = corpus_records()
    (out / "reports").mkdir()
    (out / "reports" / "records.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    stats = {"portals": 2, "pages": 40, "reports": 13, "failed_fetches": 3,
             "per_portal": {"平潭综合实验区": {"pages": 30, "reports": 13, "failed_fetches": 0, "new": 13},
                            "死站": {"pages": 10, "reports": 0, "failed_fetches": 3, "new": 0}}}
    (out / "crawl-stats.json").write_text(json.dumps({"summary": stats, "stats": {}}, ensure_ascii=False),
                                          encoding="utf-8")
    assert main(["report", str(out)]) == 0
    page = out / "report.html"
    return records, page, rendered_dom(page)


def test_summary_numbers_match_the_dump(corpus_page):
    records, _, dom = corpus_page
    shown = {dd.get("data-key"): dd.text_content() for dd in dom.xpath('//dl[@id="summary"]/dd')}
    assert shown["records"] == str(len(records))
    assert shown["failed_records"] == str(sum(1 for r in records if r["checks"]))
    assert shown["failed_checks"] == str(sum(len(r["checks"]) for r in records))
    assert shown["series_findings"] == str(len(series_checks(records))) == "2"   # the natural_person and total columns
    years = sorted(r["year"] for r in records)
    assert shown["years"] == f"{years[0]}–{years[-1]}"


def test_coverage_matrix_has_every_record_and_marks_gaps(corpus_page):
    records, _, dom = corpus_page
    cells = dom.xpath('//table[@id="coverage"]//td')
    by_status = {s: [c for c in cells if c.get("data-status") == s] for s in ("found", "failed", "missing")}
    assert len(by_status["found"]) + len(by_status["failed"]) == len(records)
    assert len(by_status["failed"]) == sum(1 for r in records if r["checks"])
    assert len(cells) == len(dom.xpath('//table[@id="coverage"]/tbody/tr')) * len({r["year"] for r in records})
    pingtan = {int(c.get("data-year")): c.get("data-status") for c in cells if c.get("data-agency") == "平潭综合实验区"}
    assert pingtan[2018] == pingtan[2019] == "found" and pingtan[2020] == pingtan[2021] == "missing"
    flagged = [c for c in cells if c.get("data-findings") not in (None, "0")]
    assert [(c.get("data-agency"), c.get("data-year")) for c in flagged] == [("平潭综合实验区", "2019")]
    # each found cell links to its record's row on the page
    ids = {tr.get("id") for tr in dom.xpath('//table[@id="records"]//tr[@class="record"]')}
    assert {a.get("href")[1:] for c in by_status["found"] + by_status["failed"] for a in c.xpath(".//a")} <= ids


def test_failed_checks_findings_and_portals_are_listed(corpus_page):
    records, _, dom = corpus_page
    rows = dom.xpath('//table[@id="failed-checks"]//tr[@class="check"]')
    assert len(rows) == sum(len(r["checks"]) for r in records)
    assert {tuple(td.text_content() for td in tr.xpath("td")[2:3]) for tr in rows} >= {("TABLE_MISSING",), ("T4_TOTAL",)}
    findings = dom.xpath('//table[@id="series-findings"]//tr[@class="series-finding"]')
    assert [[td.text_content() for td in tr.xpath("td")][:4] for tr in findings] == [
        ["平潭综合实验区", "2018", "2019", "CARRIED_OVER"]] * 2
    portals = {tr.get("data-portal"): tr for tr in dom.xpath('//table[@id="portals"]//tr[contains(@class, "portal")]')}
    assert set(portals) == {"平潭综合实验区", "死站"}
    assert "bad" in portals["死站"].get("class") and "bad" not in portals["平潭综合实验区"].get("class")
    assert dom.xpath('//svg[@id="chart-years"]//rect') and dom.xpath('//svg[@id="chart-portals"]//rect')
    bars = {r.get("data-value") for r in dom.xpath('//svg[@id="chart-portals"]//rect')}
    assert bars == {"13"}   # the dead portal's bar has no height


def test_page_is_self_contained_and_renders(corpus_page, tmp_path):
    _, page, dom = corpus_page
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text and not dom.xpath("//link[@href] | //img[@src] | //script[@src]")
    shot = tmp_path / "page.png"
    proc = chromium("--window-size=1000,800", f"--screenshot={shot}", page.resolve().as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1000, 800)


def test_dump_without_crawl_folder_degrades(tmp_path, capsys):
    dump = tmp_path / "records.jsonl"
    dump.write_text(json.dumps(corpus_records()[0], ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["report", str(dump)]) == 0
    dom = rendered_dom(tmp_path / "report.html")
    assert dom.xpath('//*[@id="no-stats"]') and not dom.xpath('//table[@id="portals"]')
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


@pytest.mark.skipif(not (PYWB / "wayback").exists(), reason=".venv-pywb missing: run tools/pywb-venv.sh")
def test_links_resolve_to_warc_files_and_pywb_captures(sim_crawl, wayback, tmp_path):  # noqa: F811
    out = sim_crawl["out"]
    page = tmp_path / "report.html"
    assert main(["report", str(out), "--out", str(page), "--replay-prefix", wayback + "/"]) == 0
    dom = rendered_dom(page)
    rows = dom.xpath('//table[@id="records"]//tr[@class="record"]')
    records = {r["id"]: r for r in sim_crawl["records"]}
    assert len(rows) == len(records) == len(sim_crawl["expected"])   # one record per simulated report
    shown = {tr.get("data-record"): tr for tr in rows}
    assert set(shown) == set(records)
    for record_id, tr in shown.items():
        record = records[record_id]
        [warc] = tr.xpath('.//a[@class="warc"]/@href')
        assert (page.parent / warc).resolve() == (out / "warc" / record["source"]["warc_file"]).resolve()
        assert (page.parent / warc).is_file()
        [capture] = tr.xpath('.//a[@class="capture"]/@href')
        assert capture.startswith(wayback + "/") and capture.endswith("/" + record["source"]["url"])
        stamp = capture[len(wayback) + 1:].split("/", 1)[0]
        assert len(stamp) == 14 and stamp.isdigit()
        # pywb has that capture: its original bytes (id_) parse to the same agency-year
        raw_url = capture.replace(f"/{stamp}/", f"/{stamp}id_/", 1)
        with urllib.request.urlopen(urllib.request.Request(raw_url, headers={"Accept-Encoding": "identity"}),
                                    timeout=60) as resp:
            assert resp.status == 200
            body, ctype = resp.read(), resp.headers.get("Content-Type")
        if "gzip" in (resp.headers.get("Content-Encoding") or ""):
            import gzip

            body = gzip.decompress(body)
        again = parse_document(body, name=record["source"]["url"].rsplit("/", 1)[-1], content_type=ctype)
        assert (again["agency"], again["year"]) == (record["agency"], record["year"])
        with urllib.request.urlopen(capture, timeout=60) as resp:
            assert resp.status == 200


def test_simulator_crawl_dump_loads_and_exports_with_provenance(sim_crawl, tmp_path):
    """The same loaders and the export on a real crawl's dump (both templates, attachments, WARC pointers)."""
    import duckdb
    import pandas as pd
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    out, records = sim_crawl["out"], sim_crawl["records"]
    dump = out / "reports" / "records.jsonl"
    assert pj.read_json(str(dump)).num_rows == len(records)
    frame = pd.read_json(dump, lines=True, dtype={"template": str, "id": str})
    assert sorted(frame["template"]) == sorted(r["template"] for r in records)
    assert duckdb.sql(f"SELECT count(*) FROM read_json_auto('{dump}')").fetchall() == [(len(records),)]
    assert main(["export", str(out), "--format", "parquet", "--out", str(tmp_path / "pq")]) == 0
    wide = {row["id"]: row for row in pq.read_table(tmp_path / "pq" / "wide.parquet").to_pylist()}
    assert set(wide) == {r["id"] for r in records}
    for r in records:
        row = wide[r["id"]]
        assert (row["source_url"], row["fetched_at"], row["warc_file"], row["warc_offset"], row["warc_record_id"]) == (
            r["source"]["url"], r["source"]["fetched_at"], r["source"]["warc_file"], r["source"]["warc_offset"],
            r["source"]["warc_record_id"])
        assert row["attachment_urls"] == (" ".join(a["url"] for a in r["source"]["attachments"]) or None)


def test_portal_table_matches_the_crawls_per_portal_summary(sim_crawl, tmp_path):
    page = tmp_path / "report.html"
    assert main(["report", str(sim_crawl["out"]), "--out", str(page)]) == 0
    dom = rendered_dom(page)
    summary = json.loads((sim_crawl["out"] / "crawl-stats.json").read_text(encoding="utf-8"))["summary"]
    per_portal = summary["per_portal"]
    rows = dom.xpath('//table[@id="portals"]//tr[contains(@class, "portal")]')
    assert len(rows) == len(per_portal) >= 5
    header = [th.text_content() for th in dom.xpath('//table[@id="portals"]/thead//th')]
    for tr, portal in zip(rows, per_portal):
        cells = dict(zip(header[1:], (td.text_content() for td in tr.xpath("td"))))
        assert tr.xpath("th")[0].text_content() == portal["agency"]
        assert (cells["pages"], cells["reports"], cells["status"]) == (
            str(portal["pages"]), str(portal["reports"]), portal["status"])
        assert ("bad" in tr.get("class")) == (portal["status"] != "ok" or portal["failed_fetches"] > 0)
    shown = {dd.get("data-key"): dd.text_content() for dd in dom.xpath('//dl[@id="crawl-summary"]/dd')}
    assert shown["pages"] == str(summary["pages"]) and shown["records"] == str(summary["records"])

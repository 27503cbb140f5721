"""End to end: crawl the simulator with `harvester crawl` (in a subprocess, hard timeout) and check
recall, precision, gold values, robots.txt, scope, WARC output and idempotent re-runs."""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from goldcompare import mismatches

ROOT = pathlib.Path(__file__).resolve().parent.parent
TIMEOUT = 90

# Every gold field is held, title/published/script included. One exception: a document whose
# gold title is null (it prints none) is served by the simulator under a list title, as portals do.
def tolerated(gold: dict, field: str) -> bool:
    return field == "title" and gold.get("title") is None


def run_crawl(registry: pathlib.Path, out: pathlib.Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry),
                           "--out", str(out), "--loopback"],
                          cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "records (agency-years)" in proc.stdout
    return json.loads((out / "crawl-stats.json").read_text(encoding="utf-8"))


def records(out: pathlib.Path) -> list[dict]:
    lines = (out / "reports" / "records.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def crawled(sim_crawl):
    return sim_crawl


def _path(url: str) -> str:
    p = urlsplit(url)
    return p.path + (f"?{p.query}" if p.query else "")


def test_recall_and_precision(crawled):
    exp = crawled["expected"]
    want = {e["url"] for e in exp}
    twins = {t: e["url"] for e in exp for t in e["twins"]}
    got = [twins.get(r["source"]["url"], r["source"]["url"]) for r in crawled["records"]]
    assert sorted(want - set(got)) == [], "reports not found"
    assert sorted(set(got) - want) == [], "non-reports emitted"
    assert crawled["stats"]["summary"]["reports"] == len(exp)
    kinds = {e["url"]: e["kind"] for e in exp}
    for r in crawled["records"]:
        assert r["source"]["warc_file"] and r["source"]["warc_record_id"], r["source"]
        if kinds[r["source"]["url"]] == "attachment":
            assert r["source"]["url"].endswith((".pdf", ".docx"))


def test_records_match_gold(crawled):
    by_url = {r["source"]["url"]: r for r in crawled["records"]}
    bad = {}
    for e in crawled["expected"]:
        gold = e.get("gold") or json.loads(pathlib.Path(e["gold_path"]).read_text(encoding="utf-8"))
        wrong = [m for m in mismatches(gold, by_url[e["url"]])
                 if not tolerated(gold, m[0])]
        if wrong:
            bad[e["corpus_name"]] = wrong[:5]
    assert bad == {}


def test_robots_and_scope(crawled):
    log = crawled["log"]
    assert log, "the simulator saw no request"
    assert not [x for x in log if x["path"].startswith("/zwgk/internal/")], "robots.txt Disallow ignored"
    hosts = {x["host"] for x in log}
    assert hosts <= crawled["registry_hosts"], f"off-scope hosts fetched: {hosts - crawled['registry_hosts']}"
    assert crawled["sim"].foreign_host not in hosts
    assert not [x for x in log if x["path"].startswith("/calendar")], "endless calendar followed"
    ua = {x["headers"].get("User-Agent", "") for x in log}
    assert all(u.startswith("gov-nianbao-harvester/") for u in ua)
    assert all("br" not in x["headers"].get("Accept-Encoding", "") for x in log)


def test_outputs_and_rerun_is_idempotent(crawled):
    out = crawled["out"]
    assert list((out / "warc").glob("*.warc.gz"))
    assert (out / "index.cdxj").stat().st_size > 0
    again = records(out)
    ids = [r["id"] for r in again]
    assert len(ids) == len(set(ids)) == len(crawled["records"])
    assert sorted(ids) == sorted(r["id"] for r in crawled["records"])
    assert not list((out / "reports").glob(".records-*"))  # no temp file left behind
    assert crawled["second"]["summary"]["records"] == len(crawled["records"])


def test_cli_rejects_bad_registry(tmp_path):
    from harvester.cli import main

    bad = tmp_path / "r.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    assert main(["crawl", "--registry", str(bad), "--out", str(tmp_path / "o")]) == 2


# --- the spider's rules, without a crawl -----------------------------------------------------------
def test_title_and_url_rules():
    from harvester.spiders import pages

    assert pages.is_report_title("2020年上海市嘉定区新成路街道政府信息公开工作年度报告")
    assert pages.is_report_title("小沙街道政府信息公开工作2020年度报告")
    assert not pages.is_report_title("关于做好2021年政府信息公开工作年度报告编制工作的通知")
    assert not pages.is_report_title("关于印发政府信息公开工作年度报告格式的通知")
    assert not pages.is_report_title("上海市住房公积金2020年年度报告")
    assert pages.is_column_url("http://x.gov.cn/zwgk/zfxxgk/zfxxgknb/gknb2024/index.html")
    assert pages.is_column_url("http://x.gov.cn/xxgk/XXGKNB123/index_2.html")
    assert not pages.is_column_url("http://x.gov.cn/zwgk/zfxxgknb/202112/t20211215_111111.html")
    assert pages.canonical_url("http://x.gov.cn/a/t1_2_wap.html#top") == "http://x.gov.cn/a/t1_2.html"
    page = pages.page_for("http://x.gov.cn/col/index.html",
                             '<script>createPageHTML(3, 0, "index", "html");</script>')
    assert page.pagination() == ["http://x.gov.cn/col/index_1.html", "http://x.gov.cn/col/index_2.html"]
    shell = pages.GenericPage("http://x.gov.cn/a/", '<script>location.replace("/b/");</script>')
    assert shell.shell_target() == "http://x.gov.cn/b/"


class _Stats:
    def __init__(self):
        self.values = {}

    def inc_value(self, key, count=1):
        self.values[key] = self.values.get(key, 0) + count


def test_scope_middleware_refuses_offsite_and_private():
    from scrapy import Request
    from scrapy.exceptions import IgnoreRequest

    from harvester.registry import Portal
    from harvester.middlewares.scope import ScopeMiddleware
    from harvester.spiders.discovery import DiscoverySpider

    portals = [Portal("甲", ("http://www.a.gov.cn/",), ("www.a.gov.cn", "10.1.2.3")),
               Portal("乙", ("http://127.0.0.9/",), ("127.0.0.9",), hints={"allow_private": True})]

    class Crawler:
        spider = DiscoverySpider(portals=portals)
        stats = _Stats()

    mw = ScopeMiddleware(Crawler)
    assert mw.process_request(Request("http://www.a.gov.cn/x.html")) is None
    assert mw.process_request(Request("http://127.0.0.9/x.html")) is None
    for url in ("http://www.b.gov.cn/", "http://10.1.2.3/admin", "http://169.254.169.254/latest/"):
        with pytest.raises(IgnoreRequest):
            mw.process_request(Request(url))


def test_retry_after_is_honoured_up_to_the_cap():
    from harvester.middlewares.retry import retry_after_seconds

    assert retry_after_seconds(b"120") == 120.0
    assert retry_after_seconds(None) is None and retry_after_seconds(b"soon") is None
    assert retry_after_seconds(b"Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: now


# --- the shapes of issue 7, each through the real spider on the shared crawl ----------------------
DISCOVERY_CLASSES = {
    "gkmlpt": "1: a list a script fills from a JSON API, behind a hash-routed column",
    "yearmodule": "2: bare year links to the xxgk annual-report module (.jsp, year as a query parameter)",
    "yearform": "2: a GET form with a year <select>",
    "scripted": "3: hrefs assembled by script, only a browser finds them",
    "departments": "department sub-sites (部门 → XX局, ?branch_id=), level sub-columns, block fragments, script pager",
    "beijing": "Beijing list.shtml with the six-argument createPageHTML",
}


@pytest.mark.parametrize("portal", sorted(DISCOVERY_CLASSES))
def test_every_report_of_each_class_is_found(crawled, portal):
    want = {e["url"] for e in crawled["expected"] if e["portal"] == portal}
    got = {r["source"]["url"] for r in crawled["records"]}
    assert want, portal
    assert sorted(want - got) == [], f"class {DISCOVERY_CLASSES[portal]}: reports not found"


def test_traps_of_the_new_portals_are_not_emitted(crawled):
    titles = [r.get("title") or "" for r in crawled["records"]]
    assert not [t for t in titles if any(w in t for w in ("图解", "一图读懂", "解读", "通知", "住房公积金"))]
    # the per-year list titled like a report (2024年政府信息公开年报) was read, not emitted
    log = crawled["log"]
    assert any(x["path"] == "/zwgk/col/c2011/y2024.html" for x in log)
    assert not [r for r in crawled["records"] if r["source"]["url"].endswith("/y2024.html")]


def test_browser_only_for_the_script_built_page(crawled):
    stats = crawled["stats"]["stats"]
    assert stats.get("discovery/render_requests") == 1 and stats.get("render/pages") == 1
    assert not stats.get("render/failed")
    scripted = crawled["sim"].portal("scripted").host
    # only the browser runs scripts: the page's list.js was fetched, by no one else's host
    js = [x for x in crawled["log"] if x["path"].endswith(".js")]
    assert js and {x["host"] for x in js} == {scripted}


def test_browser_capture_is_archived_as_pairs_and_a_conversion(crawled):
    import gzip
    import urllib.request

    from warcio.archiveiterator import ArchiveIterator

    sim = crawled["sim"]
    portal = sim.portal("scripted")
    column = portal.url("/xxgk/nbzl/index.html")
    responses, requests, conversions = {}, set(), []
    for path in sorted((crawled["out"] / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh):
                uri = rec.rec_headers.get_header("WARC-Target-URI")
                if rec.rec_type == "response":
                    responses.setdefault(uri, []).append(
                        (rec.rec_headers.get_header("WARC-Record-ID"), rec.http_headers, rec.raw_stream.read()))
                elif rec.rec_type == "request":
                    requests.add(uri)
                elif rec.rec_type == "conversion":
                    conversions.append((uri, rec.rec_headers, rec.content_stream().read()))
    # (the shared crawl ran twice: every check holds for each run)
    # the document from the static fetch and from the browser, and the script the browser ran
    assert column in requests and script_url(portal) in requests
    with urllib.request.urlopen(script_url(portal), timeout=60) as served:
        js = served.read()
    assert [body for _, _, body in responses[script_url(portal)]] == [js] * len(conversions)
    # and the XHR its script made (JSON)
    xhr = portal.url("/xxgk/nbzl/count.json")
    assert xhr in requests and len(responses[xhr]) == len(conversions)
    assert all(json.loads(body) == {"count": 4} for _, _, body in responses[xhr])
    # the static fetch kept the gzip bytes it received; the browser hands over decoded bodies, so
    # its record drops Content-Encoding (kept as X-Archive-Orig-…) and states the stored length
    static = [(rid, h, b) for rid, h, b in responses[column] if not h.get_header("X-Archive-Orig-Content-Encoding")]
    browser = [(rid, h, b) for rid, h, b in responses[column] if h.get_header("X-Archive-Orig-Content-Encoding")]
    assert static and len(browser) == len(conversions) >= 1
    for _, headers, body in static:
        assert headers.get_header("Content-Encoding") == "gzip"
        assert gzip.decompress(body).lstrip().lower().startswith(b"<!doctype")
    for _, headers, body in browser:
        assert headers.get_header("Content-Encoding") is None
        assert headers.get_header("Content-Length") == str(len(body))
        assert body == gzip.decompress(static[0][2])
    # the DOM: a conversion record tied to the browser's response; never stored as a response
    for uri, rec_headers, dom in conversions:
        assert uri == f"urn:dom:{column}"
        assert b'<span id="nb-count">4</span>' in dom    # the DOM after the XHR answered
        assert rec_headers.get_header("WARC-Refers-To") in {rid for rid, _, _ in browser}
        assert b"/xxgk/nbzl/202102/a7f3c2d1.shtml" in dom
        assert all(dom != body for items in responses.values() for _, _, body in items)


def script_url(portal) -> str:
    return portal.url("/js/list.js")


def test_replay_follows_the_rendered_dom_without_the_content_rule(crawled, tmp_path):
    """`harvester replay` reads the stored DOM where the crawl rendered a page, so its traversal
    reaches the script-built list's reports (not only the content rule)."""
    proc = subprocess.run([sys.executable, "-m", "harvester.cli", "replay", str(crawled["out"] / "warc"),
                           "--out", str(tmp_path), "--no-content-rule"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = {r["source"]["url"] for r in records(tmp_path)}
    want = {e["url"] for e in crawled["expected"] if e["portal"] == "scripted"}
    assert want and want <= got

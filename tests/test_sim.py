"""The portal simulator: real HTTP on 127.0.0.N, the CMS shapes, the traps, the corpus mapping."""
import gzip
import http.client
import io
import os
import re
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

import lxml.html
import pytest

from harvester import registry
from harvester.sim import start_simulator
from harvester.sim.corpus import load_corpus


@pytest.fixture(scope="module")
def sim():
    with start_simulator(base_ip_start=2, slow_seconds=0.6) as s:
        yield s


def get(url, headers=None, method="GET", body=None):
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    conn.request(method, u.path + (f"?{u.query}" if u.query else ""), body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()  # http.client de-chunks
    conn.close()
    return r, data


def portal(sim, name):
    return next(p for p in sim.portals if p.name == name)


def test_hosts_ports_and_registry(sim):
    hosts = [p.host for p in sim.portals]
    assert len(set(hosts)) == len(hosts) and all(h.startswith("127.0.0.") for h in hosts)
    assert {urlsplit(p.base_url).port for p in sim.portals} == {sim.port}
    rows = sim.registry_rows()
    portals = registry.portals_from_rows(rows)
    assert {p.agency for p in portals} == {p.agency for p in sim.portals if p.in_registry}
    assert all(p.allow_private for p in portals)
    assert sim.foreign_host not in {h for p in portals for h in p.allowed_hosts}


def test_expected_reports_cover_corpus_and_are_served(sim):
    exp = sim.expected_reports()
    # every corpus document is served; portals added for discovery serve some again under their
    # own agency (gold adjusted), so agency-years stay distinct
    assert {e["corpus_name"] for e in exp} == set(load_corpus())
    assert len({(e["agency"], e["year"]) for e in exp}) == len(exp)
    assert {e["portal"] for e in exp} >= {"trs", "hanweb", "gbk", "attachments", "shell", "gkmlpt", "yearmodule",
                                          "yearform", "scripted", "departments", "beijing"}
    for e in exp:
        r, data = get(e["url"])
        if r.status == 500:  # the 500-once page
            r, data = get(e["url"])
        assert r.status == 200, e["url"]
        if e["corpus_name"].startswith("hongze") or e["corpus_name"].startswith("huaian"):
            assert data == load_corpus()[e["corpus_name"]].data
            assert r.getheader("Content-Type") == "application/pdf"


def test_report_page_tables_follow_the_template(sim):
    e = next(e for e in sim.expected_reports() if e["corpus_name"] == "000_71de1068338dadc3")
    r, data = get(e["url"])
    doc = lxml.html.fromstring(data)
    assert doc.xpath('//meta[@name="ArticleTitle"]/@content') == ["2020年上海市嘉定区新成路街道政府信息公开工作年度报告"]
    assert doc.xpath('//meta[@name="PubDate"]/@content')[0].startswith("2021-01-22")
    view = doc.xpath('//div[contains(@class,"trs_editor_view")]')[0]
    tables = view.xpath(".//table")
    assert len(tables) == 3 and len(view.xpath(".//p")) > 10
    t3 = tables[1]
    assert t3.xpath('.//td[@colspan="5" and normalize-space()="法人或其他组织"]')
    assert t3.xpath('.//td[@rowspan="8" and normalize-space()="（三）不予公开"]')
    assert t3.xpath('.//td[@rowspan="20" and normalize-space()="三、本年度办理结果"]')  # template 2019: one (六) row
    new = t3.xpath('.//tr[td[contains(., "本年新收")]]/td')[1:]
    assert [c.text_content() for c in new] == ["2", "0", "0", "0", "0", "0", "2"]
    assert tables[2].xpath('.//td[@colspan="10" and normalize-space()="行政诉讼"]')
    assert tables[0].xpath('.//td[normalize-space()="第二十条第（九）项"]')


def test_trs_pagination_only_by_script(sim):
    p = portal(sim, "trs")
    r, data = get(p.entry_urls[0])
    text = data.decode()
    assert 'createPageHTML(3, 0, "index", "html")' in text and "index_1.html" not in text
    assert get(p.base_url + "/zwgk/zfxxgk/zfxxgknb/index_2.html")[0].status == 200
    assert get(p.base_url + "/zwgk/zfxxgk/zfxxgknb/index_3.html")[0].status == 404
    r, data = get(p.base_url + "/zwgk/zfxxgk/zfxxgknb/gknb2020/index.html")
    assert "t20210122_123456.html" in data.decode()          # the same report, listed again


def test_hanweb_dataproxy(sim):
    p = portal(sim, "hanweb")
    r, data = get(p.entry_urls[0])
    assert "dataproxy.jsp" in data.decode() and "/art/" not in data.decode()
    assert get(p.base_url + "/col/col1229214366/index_1.html")[0].status == 404
    r, data = get(p.base_url + "/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=2&perpage=2&columnid=1229214366")
    xml = data.decode()
    assert r.getheader("Content-Type").startswith("text/xml") and "<![CDATA[" in xml
    assert re.search(r'href="/art/\d{4}/\d+/\d+/art_25177_\d+\.html"', xml)
    total = int(re.search(r"<totalrecord>(\d+)</totalrecord>", xml).group(1))
    r, data = get(p.base_url + "/module/web/jpage/dataproxy.jsp", method="POST",
                  body=f"startrecord=3&endrecord={total}&perpage=2&columnid=1229214366",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert data.decode().count("<record>") == total - 2


def test_gbk_portal_charset_only_in_meta_and_chunked(sim):
    p = portal(sim, "gbk")
    e = next(e for e in sim.expected_reports() if e["corpus_name"] == "pingtan-2019")
    r, data = get(e["url"])
    assert r.getheader("Content-Type") == "text/html"
    assert r.getheader("Transfer-Encoding") == "chunked" and r.getheader("Content-Length") is None
    assert b'charset=gbk' in data
    assert "平潭综合实验区2019年政府信息公开工作年度报告" in data.decode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    r, data = get(p.base_url + "/xxgk/ndbg/list.jsp?page=1")
    assert "list.jsp?page=2" in data.decode("gbk")


def test_flaky_slow_robots_calendar_notfound(sim):
    e = next(e for e in sim.expected_reports() if e["corpus_name"] == "pingtan-2022")
    sim.reset_flaky()
    assert get(e["url"])[0].status == 500
    assert get(e["url"])[0].status == 200
    slow = next(e for e in sim.expected_reports() if e["corpus_name"] == "shuyang-fgj-2023")
    t0 = time.monotonic()
    assert get(slow["url"])[0].status == 200
    assert time.monotonic() - t0 >= 0.6
    trs = portal(sim, "trs")
    r, robots = get(trs.base_url + "/robots.txt")
    assert b"Disallow: /zwgk/internal/" in robots
    listing = b"".join(get(trs.base_url + f"/zwgk/zfxxgk/zfxxgknb/{n}.html")[1] for n in ("index", "index_1", "index_2"))
    assert b"/zwgk/internal/" in listing and "政府信息公开工作年度报告编制工作的通知".encode() in listing
    r, cal = get(trs.base_url + "/calendar?month=2021-12")
    assert b"/calendar?month=2022-01" in cal
    assert get(trs.base_url + "/zwgk/zfxxgk/zfxxgknb/201901/t20190130_404404.html")[0].status == 404
    assert f"{sim.foreign_host}".encode() in get(next(e["url"] for e in sim.expected_reports()
                                                       if e["portal"] == "trs"))[1]


def test_gzip_and_conditional_get(sim):
    e = next(e for e in sim.expected_reports() if e["corpus_name"] == "stcsm-2024")
    r, data = get(e["url"], {"Accept-Encoding": "gzip"})
    assert r.getheader("Content-Encoding") == "gzip"
    assert "上海市科委".encode() in gzip.decompress(data)
    etag, lm = r.getheader("ETag"), r.getheader("Last-Modified")
    assert etag and lm
    assert get(e["url"], {"If-None-Match": etag})[0].status == 304
    assert get(e["url"], {"If-Modified-Since": lm})[0].status == 304
    assert get(e["url"], {"If-None-Match": '"other"'})[0].status == 200
    seen = [x for x in sim.request_log if x["path"].endswith(urlsplit(e["url"]).path)]
    assert any(x["headers"].get("If-None-Match") == etag for x in seen)
    sim.update_report("stcsm-2024", note="2025年3月更新：补充说明。", mtime=time.time() + 10)
    r2, data2 = get(e["url"], {"If-None-Match": etag})
    assert r2.status == 200 and r2.getheader("ETag") != etag and "补充说明".encode() in data2


def test_attachments_and_docx(sim):
    import docx
    exp = [e for e in sim.expected_reports() if e["portal"] == "attachments"]
    assert {e["kind"] for e in exp} == {"attachment"}
    for e in exp:
        r, page = get(e["detail_url"])
        assert urlsplit(e["url"]).path.encode() in page
    d = next(e for e in exp if e["url"].endswith(".docx"))
    assert re.search(r"/W0202\d+\.docx$", d["url"])
    r, data = get(d["url"])
    document = docx.Document(io.BytesIO(data))
    assert len(document.tables) == 3
    assert any("小沙街道" in p.text for p in document.paragraphs)


def test_shell_portal_chain(sim):
    p = portal(sim, "shell")
    _, home = get(p.entry_urls[0])
    assert "信息公开".encode() in home and b"zfxxgknb" not in home
    _, xxgk = get(p.base_url + "/xxgk/index.html")
    assert "政府信息公开年报".encode() in xxgk
    _, shell1 = get(p.base_url + "/xxgk/zfxxgknb/index.html")
    assert b"location.replace(" in shell1
    _, shell2 = get(p.base_url + "/xxgk/zfxxgknb/nianbao/")
    assert b'http-equiv="refresh"' in shell2


def test_add_report(sim):
    e = sim.add_report("shell", "000_71de1068338dadc3", title="2020年上海市嘉定区新成路街道政府信息公开工作年度报告（更正）")
    _, listing = get(portal(sim, "shell").base_url + "/xxgk/zfxxgknb/nianbao/list.html")
    assert urlsplit(e["url"]).path.encode() in listing
    assert get(e["url"])[0].status == 200


def test_traditional_page(sim):
    e = next(e for e in sim.expected_reports() if e["corpus_name"] == "002_77d2692ba1a32ccf")
    _, data = get(e["url"])
    assert "申請人情況".encode() in data


def test_large_site():
    with start_simulator(base_ip_start=30, large_pages=2000) as s:
        big = next(p for p in s.portals if p.name == "large")
        exp = [e for e in s.expected_reports() if e["portal"] == "large"]
        lp = s.portal("large")
        assert lp.n_details + lp.n_lists >= 2000 and len(exp) == lp.n_details
        r, data = get(big.entry_urls[0])
        assert f'createPageHTML({lp.n_lists}, 0, "index", "html")'.encode() in data
        assert get(big.base_url + f"/zwgk/zfxxgk/zfxxgknb/index_{lp.n_lists - 1}.html")[0].status == 200
        r, data = get(exp[-1]["url"])
        assert r.status == 200 and exp[-1]["overrides"]["title"].encode() in data


def test_cli_sim_serves_until_interrupted(tmp_path):
    reg = tmp_path / "sim.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "harvester.cli", "sim", "--write-registry", str(reg),
                             "--base-ip", "40"], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(100):
            if reg.exists() and reg.stat().st_size:
                break
            time.sleep(0.1)
        portals = registry.load_registry(reg)
        r, _ = get(portals[0].entry_urls[0])
        assert r.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err

"""Page objects (spiders/pages/), one test per family and per generic reader, from saved page text:
no crawl, no network. The crawl itself is held to the simulator in test_crawl_e2e.py."""
from __future__ import annotations

import json

import pytest

from harvester.spiders import pages
from harvester.spiders.pages import rules

BASE = "http://www.x.gov.cn"


def listing(url: str, text: str, **kw) -> pages.Listing:
    return pages.page_for(url, text, **{k: v for k, v in kw.items() if k != "via"}).listing(via=kw.get("via"))


def urls(links) -> list[str]:
    return [link.url for link in links]


# --- family selection ----------------------------------------------------------------------------
@pytest.mark.parametrize("hint, family", [
    ("TRS", "TRS"), ("TRS-like (index.html, index_1.html)", "TRS"), ("Hanweb (art/YYYY/M/D/art_COL_ID.html)", "Hanweb"),
    ("Guangdong gkmlpt (gkmlpt/content/N/NNNN/post_N.html)", "gkmlpt"), ("beijing (list.shtml)", "beijing"),
    ("generic", "generic"),
])
def test_cms_hint_selects_the_family(hint, family):
    page = pages.page_for(BASE + "/a/index.html", "<html><body><p>x</p></body></html>", cms=hint)
    assert page.family == family


def test_detection_without_hint_and_data_answers_by_content():
    assert pages.page_for(BASE + "/col/col12/index.html", "<p>").family == "Hanweb"
    assert pages.page_for(BASE + "/gkmlpt/index", "<p>").family == "gkmlpt"
    assert pages.page_for(BASE + "/a/", '<script>createPageHTML(2, 0, "index", "html");</script>').family == "TRS"
    assert pages.page_for(BASE + "/a/list.shtml", "<p>").family == "beijing"
    assert pages.page_for(BASE + "/a/", "<p>").family == "generic"
    # a JSON answer is read as JSON whatever the portal's family
    assert pages.page_for(BASE + "/api/list", '{"data": []}', cms="TRS").family == "json"
    assert pages.page_for(BASE + "/p.jsp", "<?xml version='1.0'?><datastore><totalrecord>0</totalrecord>"
                          "<recordset></recordset></datastore>", cms="TRS").family == "Hanweb"
    assert pages.family_for_hint("other (art/YYYY/art_<32hex>.html)") is None


# --- families ------------------------------------------------------------------------------------
def test_trs_create_page_html_pages_only_from_the_first_page():
    text = '<ul><li><a href="./202101/t20210122_1.html">2020年甲街道政府信息公开工作年度报告</a></li></ul>' \
           '<script>createPageHTML(3, 0, "index", "html");</script>'
    res = listing(BASE + "/zfxxgknb/index.html", text)
    assert urls(res.reports) == [BASE + "/zfxxgknb/202101/t20210122_1.html"]
    assert urls(res.columns) == [BASE + "/zfxxgknb/index_1.html", BASE + "/zfxxgknb/index_2.html"]
    assert urls(listing(BASE + "/zfxxgknb/index_1.html", text.replace("3, 0,", "3, 1,")).columns) == []


def test_beijing_six_argument_pager():
    text = "<div id=\"page_div\"></div><script>createPageHTML('page_div', 3, 1, 'list', 'shtml', 30);</script>"
    page = pages.page_for(BASE + "/gknb/list.shtml", text)
    assert page.family == "beijing"
    assert page.pagination() == [BASE + "/gknb/list_1.shtml", BASE + "/gknb/list_2.shtml"]
    assert pages.page_for(BASE + "/gknb/list_1.shtml", text.replace("3, 1,", "3, 2,")).pagination() == []


def test_hanweb_column_announces_dataproxy_and_the_proxy_pages_itself():
    column = """<div id="u"><script>$('#u').jpage({proxyUrl: '/module/web/jpage/dataproxy.jsp', perPage: 2,
        ajaxParam: {columnid: 1229214366, unitid: '25177'}});</script></div>"""
    res = listing(BASE + "/col/col1229214366/index.html", column)
    [endpoint] = urls(res.columns)
    assert "dataproxy.jsp" in endpoint and "startrecord=1" in endpoint and "columnid=1229214366" in endpoint
    xml = ("<?xml version='1.0'?><datastore><recordset>"
           "<record><![CDATA[<li><a href='/art/2024/1/17/art_25177_1.html'>2023年沭阳县政府信息公开工作年度报告</a></li>]]></record>"
           "<record><![CDATA[<li><a href='/art/2022/12/1/art_25177_2.html'>关于做好2022年度政府信息公开工作年度报告编制工作的通知</a></li>]]></record>"
           "</recordset><totalrecord>5</totalrecord></datastore>")
    res = listing(endpoint, xml)
    assert urls(res.reports) == [BASE + "/art/2024/1/17/art_25177_1.html"]
    assert [link.url.split("startrecord=")[1][:1] for link in res.columns] == ["3", "5"]
    assert listing(res.columns[0].url, xml).columns == []   # only the first answer pages


def test_hanweb_annual_report_module_is_a_report_candidate_whatever_its_text():
    text = '<a href="/module/xxgk/xxgkAnnualReport.jsp?area=1132&amp;fbtime=2023">查看</a>'
    res = listing(BASE + "/col/col5011/index.html", text)
    assert urls(res.reports) == [BASE + "/module/xxgk/xxgkAnnualReport.jsp?area=1132&fbtime=2023"]


def test_gkmlpt_hash_route_becomes_the_api():
    text = """<script>var SID = "755";</script><ul><li><a href="#2840">机构职能</a></li>
      <li><a href="#2845">政府信息公开年报</a></li></ul><div id="list"></div>
      <script>fetch('/gkmlpt/api/all/' + id + '?page=' + p + '&sid=' + SID);</script>"""
    res = listing(BASE + "/gkmlpt/index", text)
    assert urls(res.columns) == [BASE + "/gkmlpt/api/all/2845?page=1&sid=755"]
    assert not res.render
    # the registry may name the column as the route of its entry URL
    page = pages.page_for(BASE + "/gkmlpt/index", text, route="2846")
    assert BASE + "/gkmlpt/api/all/2846?page=1&sid=755" in urls(page.listing().columns)


# --- JSON lists of any shape ---------------------------------------------------------------------
@pytest.mark.parametrize("doc, page_key", [
    ({"articles": [{"title": "广州市发展和改革委员会2024年政府信息公开工作年度报告", "url": BASE + "/gkmlpt/content/9/9801/post_9801234.html"},
                   {"title": "图解：2024年政府信息公开工作年度报告", "url": "/gkmlpt/content/9/9802/post_9802.html"}],
      "total": 5}, "page"),
    ({"code": 0, "data": {"list": [{"DOCTITLE": "2023年某局政府信息公开工作年度报告", "DOCPUBURL": "/nb/202401/t20240120_1.html"},
                                   {"DOCTITLE": "某局2023年部门预算", "DOCPUBURL": "/nb/202401/t20240120_2.html"}],
                          "pageCount": 3}}, "pageNo"),
])
def test_json_list_of_any_shape_with_paging(doc, page_key):
    url = f"{BASE}/api/list?{page_key}=1&col=9"
    res = listing(url, json.dumps(doc, ensure_ascii=False), content_type="application/json")
    assert len(res.reports) == 1 and rules.is_report_title(res.reports[0].text)
    assert res.reports[0].url.startswith(BASE + "/")
    assert [link.url for link in res.columns] == [f"{BASE}/api/list?{page_key}={n}&col=9" for n in (2, 3)]
    later = listing(f"{BASE}/api/list?{page_key}=2&col=9", json.dumps(doc, ensure_ascii=False))
    assert later.columns == [] and len(later.reports) == 1


def test_jsonp_is_json():
    text = 'cb({"rows": [{"name": "2021年某区政府信息公开工作年度报告", "link": "/a/t20220101_1.html"}]});'
    assert urls(listing(BASE + "/api?callback=cb", text, content_type="application/javascript").reports) == [
        BASE + "/a/t20220101_1.html"]


# --- generic readers -----------------------------------------------------------------------------
def test_year_form_enumerates_the_select_options():
    text = """<title>政府信息公开年度报告</title><form action="AnnualReport.aspx" method="get">
      <input type="hidden" name="cid" value="12"><select name="year"><option value="">--请选择--</option>
      <option value="2022">2022</option><option value="2021">2021</option></select></form>
      <form action="/search" method="post"><select name="y"><option>2020</option></select></form>"""
    res = listing(BASE + "/InfoPublic/AnnualReport.aspx?cid=12", text)
    assert urls(res.reports) == [BASE + "/InfoPublic/AnnualReport.aspx?cid=12&year=2022",
                                 BASE + "/InfoPublic/AnnualReport.aspx?cid=12&year=2021"]
    # a site-wide search form outside a 年报 column is not enumerated
    assert listing(BASE + "/search.aspx", text.replace("政府信息公开年度报告", "站内搜索")).reports == []


def test_year_links_only_inside_a_report_column():
    links = '<a href="/module/annual.jsp?year=2024">2024年</a><a href="/module/annual.jsp?year=2023">2023年度</a>'
    inside = listing(BASE + "/col/x.html", f"<title>政府信息公开年报</title>{links}")
    assert urls(inside.reports) == [BASE + "/module/annual.jsp?year=2024", BASE + "/module/annual.jsp?year=2023"]
    assert listing(BASE + "/news/x.html", f"<title>新闻中心</title>{links}").reports == []


def test_level_subcolumns_and_organisation_subsites():
    levels = '<title>政府信息公开年报</title><a href="/c/2011.html">市本级</a><a href="/c/2012.html">区县</a>' \
             '<a href="/c/2013.html">市直部门</a><a href="/c/2014.html">工作动态</a>'
    assert urls(listing(BASE + "/c/2010.html", levels).columns) == [BASE + f"/c/{n}.html" for n in (2011, 2012, 2013)]
    orgs = '<a href="/bm/org.jsp?branch_id=101">市教育局</a><a href="/sfj/index.html">市司法局</a><a href="/news/">新闻</a>'
    assert urls(listing(BASE + "/bm/index.html", orgs, via="部门信息公开").orgs) == [
        BASE + "/bm/org.jsp?branch_id=101", BASE + "/sfj/index.html"]
    assert listing(BASE + "/bm/index.html", orgs, via="新闻中心").orgs == []


def test_script_pager_block_fragments_and_hash_route_endpoints():
    text = """<ul><li>x</li></ul><script>var pageCount = 3;
      function go(i) { window.open(i == 0 ? "index.html" : "index_" + i + ".html"); }</script>
      <div id="blk"></div><script>$("#blk").load("/block/c2012_list.html"); $.getJSON('/api/nb/' + id);</script>"""
    res = listing(BASE + "/c/index.html", text)
    assert urls(res.columns) == [BASE + "/c/index_1.html", BASE + "/c/index_2.html", BASE + "/block/c2012_list.html"]
    routed = '<a href="#77">政府信息公开年报</a><script>$.getJSON("/api/nb/" + location.hash.slice(1));</script>'
    assert urls(listing(BASE + "/col/index", routed).columns) == [BASE + "/api/nb/77"]


def test_render_only_for_script_built_lists():
    empty = '<title>政府信息公开年报</title><ul id="nb-list" class="news-list"></ul><script src="/js/list.js"></script>'
    assert listing(BASE + "/nb/index.html", empty).render
    writer = '<div class="box"></div><script>document.getElementById("x").innerHTML = rows.join("");</script>'
    assert listing(BASE + "/nb/index.html", writer).render
    static = '<ul class="list"><li><a href="/nb/t20240101_1.html">2023年某区政府信息公开工作年度报告</a></li></ul>'
    assert not listing(BASE + "/nb/index.html", static).render
    plain = '<ul class="list"><li>暂无信息</li></ul>'
    assert not listing(BASE + "/nb/index.html", plain).render


# --- precision traps -----------------------------------------------------------------------------
@pytest.mark.parametrize("title", ["图解：2023年某局政府信息公开工作年度报告", "一图读懂2023年某区政府信息公开工作年度报告",
                                   "《某区2023年政府信息公开工作年度报告》解读", "关于做好2023年度政府信息公开工作年度报告编制工作的通知"])
def test_explainers_and_notices_are_not_reports(title):
    assert not rules.is_report_title(title)


def test_a_list_titled_like_a_report_is_a_list():
    lst = pages.page_for(BASE + "/c/y2024.html", '<title>2024年政府信息公开年报</title><h1>2024年政府信息公开年报</h1>'
                         '<ul><li><a href="/c/content/post_1.html">某市2024年政府信息公开工作年度报告</a></li></ul>')
    assert lst.looks_like_list() and not lst.reads_as_report(lst.title())
    body = "<p>" + "根据《中华人民共和国政府信息公开条例》，现公布本机关年度报告。" * 80 + "</p>"
    report = pages.page_for(BASE + "/c/content/post_1.html", f'<h1>某市2024年政府信息公开工作年度报告</h1>{body}'
                            '<a href="/c/content/post_0.html">某市2023年政府信息公开工作年度报告</a>')
    assert report.reads_as_report(report.title())
    empty = pages.page_for(BASE + "/m.aspx?year=2021", "<h1>政府信息公开年度报告</h1><p>该年度报告尚未发布。</p>")
    assert not empty.reads_as_report(empty.title())


def test_column_url_template_enumerates_years():
    from harvester.spiders.discovery import column_urls

    got = column_urls("https://www.bjhr.gov.cn/zfxxgkzl/gknb/{Y}nb/")
    assert got[-1] == "https://www.bjhr.gov.cn/zfxxgkzl/gknb/2008nb/" and len(got) >= 17
    assert column_urls("https://www.bjhr.gov.cn/zfxxgkzl/gknb/") == [] and column_urls(None) == []


def test_browser_hint_and_detection_decide_rendering():
    from scrapy.http import HtmlResponse, Request
    from scrapy.settings import Settings

    from harvester.registry import Portal
    from harvester.spiders.discovery import DiscoverySpider

    portals = [Portal("甲", (BASE + "/",), ("www.x.gov.cn",), hints={"browser": True}),
               Portal("乙", (BASE + "/",), ("www.x.gov.cn",))]
    spider = DiscoverySpider(portals=portals)

    class Crawler:
        settings = Settings({"RENDER_ENABLED": True})
        stats = type("S", (), {"inc_value": lambda *a, **k: None})()

    spider.crawler = Crawler
    static = '<ul class="list"><li><a href="/nb/t20240101_1.html">2023年某区政府信息公开工作年度报告</a></li></ul>'

    def renders(portal: int, body: str, **meta) -> bool:
        req = Request(BASE + "/nb/index.html", meta={"portal": portal, "role": "list", **meta})
        resp = HtmlResponse(req.url, body=body.encode(), encoding="utf-8", request=req)
        return any(r.meta.get("render") for r in spider.parse_listing(resp, pages.page_for(resp.url, body))
                   if hasattr(r, "meta"))

    assert renders(0, static)                       # the hint: every list page
    assert not renders(1, static)                   # no hint, a static list: no browser
    assert renders(1, '<ul id="nb-list"></ul>')     # no hint, script-built: the browser
    assert not renders(1, '<ul id="nb-list"></ul>', rendered=True)   # never twice
    Crawler.settings = Settings({"RENDER_ENABLED": False})
    assert not renders(0, static)

"""Hanweb (大汉) jcms portal: `/col/col{id}/index.html` whose list is filled by script from
`/module/web/jpage/dataproxy.jsp` (XML, records in CDATA); `index_1.html` does not exist;
details `/art/YYYY/M/D/art_{unit}_{id}.html` with the body in div#zoom."""
from __future__ import annotations

from harvester.sim.base import Request, Resp, SimPortal, SimReport, esc

COLID = "1229214366"
UNIT = "25177"
COL = f"/col/col{COLID}/index.html"


def hanweb_page(site: str, title: str, body: str, meta: str = "") -> str:
    return f"""<!DOCTYPE html>
<html><head>
<meta charset="utf-8">
<meta name="SiteName" content="{esc(site)}">
<meta name="SiteDomain" content="www.shuyang.gov.cn">
<meta name="ColumnName" content="政府信息公开年报">
{meta}
<title>{esc(title)} {esc(site)}</title>
<script type="text/javascript" src="/module/jslib/jquery/jquery.js"></script>
</head><body>
<div class="top"><a href="/">{esc(site)}</a> <a href="/col/col1229214300/index.html">政府信息公开</a>
<a href="javascript:void(0)" onclick="toBig5()">繁體版</a></div>
{body}
<div class="bottom">主办：{esc(site)} <a href="http://www.jiangsu.gov.cn/">江苏省人民政府</a></div>
</body></html>"""


class HanwebPortal(SimPortal):
    family = "Hanweb"
    name = "hanweb"
    agency = "沭阳县人民政府"
    region = "江苏"
    level = "county-district"
    site_name = "沭阳县人民政府"
    robots = "User-agent: *\nDisallow: /module/web/jpage/search.jsp\n"
    gzip = True
    per_page = 2
    hints = {"notes": "list from dataproxy.jsp startrecord/endrecord/perpage (POST or GET)"}

    def setup(self) -> None:
        s = self.sim
        shuyang = self.add(SimReport(s.doc("shuyang-fgj-2023"), f"/art/2024/1/17/art_{UNIT}_3536543.html", "page",
                                     "2024-01-17"))
        self.slow_paths.add(shuyang.path)
        self.add(SimReport(s.doc("002_77d2692ba1a32ccf"), f"/art/2022/1/20/art_{UNIT}_3400001.html", "page", "2022-01-20"))
        self.notice = (f"/art/2022/12/1/art_{UNIT}_3500002.html", "关于做好2022年度政府信息公开工作年度报告编制发布工作的通知",
                       "2022-12-01")

    @property
    def list_endpoint(self) -> str:
        return self.url(f"/module/web/jpage/dataproxy.jsp?columnid={COLID}&unitid={UNIT}&webid=1&perpage={self.per_page}")

    def registry_row(self):
        row = super().registry_row()
        row["hints"]["list_endpoint"] = self.list_endpoint
        return row

    def entry_paths(self) -> list[str]:
        return [COL]

    def new_report_path(self, doc, n: int) -> str:
        return f"/art/2025/2/1/art_{UNIT}_{3600000 + n}.html"

    def records(self) -> list[tuple[str, str, str]]:
        items = [(r.path, r.title, r.published) for r in self.reports]
        items.insert(1, self.notice)
        items.append(items[0])  # the same report listed twice (a re-post on the list)
        return items

    def route(self, req: Request) -> Resp | None:
        p = req.path
        if p in ("/", "/index.html"):
            return Resp(200, hanweb_page(self.site_name, "首页", f'<a href="{COL}">政府信息公开年度报告</a>'))
        if p == "/col/col1229214300/index.html":
            return Resp(200, hanweb_page(self.site_name, "政府信息公开",
                                         f'<ul><li><a href="{COL}">政府信息公开年报</a></li></ul>'))
        if p == COL:
            return Resp(200, self.column())
        if p == "/module/web/jpage/dataproxy.jsp":
            return self.dataproxy(req)
        if p == self.notice[0]:
            return Resp(200, self.detail(self.notice[1], self.notice[2], "县政府办", "<p>各乡镇、各部门：请按时编制并公布年度报告。</p>"))
        return None

    def column(self) -> str:
        per = self.per_page
        body = f"""<div class="crumb">首页 &gt; 政府信息公开 &gt; 政府信息公开年报</div>
<div id="{UNIT}"><script type="text/javascript">
$(document).ready(function() {{
  var pageSize = {per};
  $('#{UNIT}').jpage({{
    dataStore: [], proxyUrl: '/module/web/jpage/dataproxy.jsp', perPage: pageSize, totalRecord: {len(self.records())},
    ajaxParam: {{ col: 1, appid: 1, webid: 1, path: '/', columnid: {COLID}, sourceContentType: 1,
                 unitid: '{UNIT}', webname: '{esc(self.site_name)}', permissiontype: 0 }}
  }});
}});
</script></div>"""
        return hanweb_page(self.site_name, "政府信息公开年报", body)

    def dataproxy(self, req: Request) -> Resp:
        items = self.records()
        try:
            per = int(req.query.get("perpage") or self.per_page)
            start = int(req.query.get("startrecord") or 1)
            end = int(req.query.get("endrecord") or (start + per - 1))
        except ValueError:
            return Resp(400, "bad parameters", "text/plain")
        if req.query.get("columnid", COLID) != COLID:
            return Resp(200, '<?xml version="1.0" encoding="UTF-8"?><datastore><totalrecord>0</totalrecord>'
                             '<recordset></recordset></datastore>', "text/xml; charset=UTF-8")
        chosen = items[max(start - 1, 0):end]
        recs = "\n".join(f'<record><![CDATA[\n<li><a href="{esc(h)}" target="_blank" title="{esc(t)}">{esc(t)}</a>'
                         f'<span class="bt-data-time">{esc(d)}</span></li>\n]]></record>' for h, t, d in chosen)
        xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<datastore>\n<nextgroup><![CDATA[<a href="/module/web/jpage/'
               f'dataproxy.jsp?page=1&appid=1&webid=1&path=/&columnid={COLID}&unitid={UNIT}&webname=&permissiontype=0">'
               f'</a>]]></nextgroup>\n<recordset>\n{recs}\n</recordset>\n<totalrecord>{len(items)}</totalrecord>\n'
               f'<totalpage>{-(-len(items) // per)}</totalpage>\n</datastore>')
        return Resp(200, xml, "text/xml; charset=UTF-8")

    def detail(self, title: str, date: str | None, source: str | None, body: str) -> str:
        meta = (f'<meta name="ArticleTitle" content="{esc(title)}">\n'
                + (f'<meta name="PubDate" content="{esc(date)} 10:00">\n' if date else "")
                + (f'<meta name="ContentSource" content="{esc(source)}">\n' if source else ""))
        info = (f"发布日期：{esc(date)} " if date else "") + (f"信息来源：{esc(source)}" if source else "")
        return hanweb_page(self.site_name, title, f"""<div class="main-txt">
<table class="xxgk_table"><tr><td>索引号：</td><td>K12345678/2024-00011</td><td>发布机构：</td><td>{esc(source)}</td></tr></table>
<h1>{esc(title)}</h1><div class="info">{info}</div>
<div id="zoom">
<!--ZJEG_RSS.content.begin--><meta name="ContentStart">
{body}
<meta name="ContentEnd"><!--ZJEG_RSS.content.end-->
</div></div>""", meta)

    def report_page(self, rep: SimReport, req: Request) -> Resp:
        g = rep.gold
        return Resp(200, self.detail(rep.title, g.get("published"), g.get("agency"), self.body_of(rep)))

"""A Hanweb site whose 年报 column links each year as bare text (`2023年`) to the xxgk
annual-report module outside the column's folder, the year as a query parameter:
`/module/xxgk/xxgkAnnualReport.jsp?area=<org>&fbtime=<year>` answers with the report itself."""
from __future__ import annotations

from harvester.sim.article import QueryAddressedPortal, article_page, renamed, report_article
from harvester.sim.base import Request, Resp, SimReport

AREA = "11321302MB1234567X"
COL = "/col/col5011/index.html"
MODULE = "/module/xxgk/xxgkAnnualReport.jsp"


class YearModulePortal(QueryAddressedPortal):
    family = "Hanweb"
    name = "yearmodule"
    agency = "宿迁市宿城区人民政府"
    region = "江苏"
    level = "county-district"
    site_name = "宿迁市宿城区人民政府"

    def setup(self) -> None:
        # reports live at the module URL (query sorted as the crawl canonicalises it)
        self.add(renamed(self.sim, "shuyang-fgj-2023", self.agency, f"{MODULE}?area={AREA}&fbtime=2023", "2024-01-18"))
        self.add(renamed(self.sim, "pingtan-2019", self.agency, f"{MODULE}?area={AREA}&fbtime=2019"))

    def new_report_path(self, doc, n: int) -> str:
        return f"{MODULE}?area={AREA}&fbtime={doc.gold.get('year')}"

    def route(self, req: Request) -> Resp | None:
        p = req.path
        if p in ("/", "/index.html"):
            return Resp(200, article_page(self.site_name, "首页", f'<a href="{COL}">政府信息公开年报</a>',
                                          nav='<a href="/col/col5000/index.html">信息公开</a>'))
        if p == "/col/col5000/index.html":
            return Resp(200, article_page(self.site_name, "信息公开", f'<a href="{COL}">政府信息公开年报</a>'))
        if p == COL:
            years = "".join(f'<li><a href="{MODULE}?area={AREA}&amp;fbtime={y}" target="_blank">{y}年</a></li>'
                            for y in (2023, 2019))
            return Resp(200, f"""<!doctype html><html><head><meta charset="utf-8">
<meta name="ColumnName" content="政府信息公开年报"><title>政府信息公开年报 {self.site_name}</title></head><body>
<div class="crumb">首页 &gt; 信息公开 &gt; 政府信息公开年报</div>
<ul class="nb-years">{years}</ul>
<div class="notice"><a href="/art/2023/12/5/art_5011_990001.html">关于做好2023年度政府信息公开工作年度报告编制发布工作的通知</a></div>
</body></html>""")
        if p == "/art/2023/12/5/art_5011_990001.html":
            return Resp(200, article_page(self.site_name, "关于做好2023年度政府信息公开工作年度报告编制发布工作的通知",
                                          "<p>各部门：请按时编制年度报告。</p>", published="2023-12-05"))
        if p == MODULE:   # a year without a report
            return Resp(200, article_page(self.site_name, "信息公开年报查询", "<p>暂无数据</p>"))
        return None

    def report_page(self, rep: SimReport, req: Request) -> Resp:
        return Resp(200, report_article(self, rep))

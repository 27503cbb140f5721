"""An ASP.NET disclosure site whose 年报 page is a GET form with a year <select>: no list, no year
links; `AnnualReport.aspx?cid=12&year=Y` answers with that year's report, or (for 2020) with a list
titled like a report (2020年政府信息公开年报) holding the report and an explainer (解读)."""
from __future__ import annotations

from harvester.sim.article import QueryAddressedPortal, article_page, renamed, report_article
from harvester.sim.base import Request, Resp, SimReport, list_items

MODULE = "/InfoPublic/AnnualReport.aspx"


class YearFormPortal(QueryAddressedPortal):
    family = "other (ASP.NET year form)"
    name = "yearform"
    agency = "成都市武侯区人民政府"
    region = "四川"
    level = "county-district"
    site_name = "成都市武侯区人民政府"
    chunked = True

    def setup(self) -> None:
        self.add(renamed(self.sim, "pingtan-2022", self.agency, f"{MODULE}?cid=12&year=2022"))
        self.add(renamed(self.sim, "003_8b0f81164f1885f1", self.agency, "/InfoPublic/Detail.aspx?id=20210219001",
                         "2021-02-19"))
        self.explainer = ("/InfoPublic/Detail.aspx?id=20210220002", "《成都市武侯区人民政府2020年政府信息公开工作年度报告》解读",
                          "2021-02-20")

    def new_report_path(self, doc, n: int) -> str:
        return f"/InfoPublic/Detail.aspx?id=2025{n:07d}"

    def route(self, req: Request) -> Resp | None:
        p = req.path
        full = p + ("?" + "&".join(f"{k}={v}" for k, v in sorted(req.query.items())) if req.query else "")
        if p in ("/", "/Default.aspx"):
            return Resp(200, article_page(self.site_name, "首页", "<p>武侯新闻</p>", nav='<a href="/InfoPublic/Index.aspx">信息公开</a>'))
        if p == "/InfoPublic/Index.aspx":
            return Resp(200, article_page(self.site_name, "信息公开", f"""<ul><li><a href="/InfoPublic/Guide.aspx">政府信息公开指南</a></li>
<li><a href="{MODULE}?cid=12">政府信息公开年度报告</a></li></ul>"""))
        if p == MODULE and "year" not in req.query:
            options = "".join(f'<option value="{y}">{y}</option>' for y in (2022, 2021, 2020))
            return Resp(200, article_page(self.site_name, "政府信息公开年度报告", f"""<form id="form1" action="AnnualReport.aspx" method="get">
<input type="hidden" name="cid" value="12"><label>年度：</label><select name="year" id="ddlYear">
<option value="">--请选择--</option>{options}</select><input type="submit" value="查询"></form>"""))
        if p == MODULE and req.query.get("year") == "2020":
            items = [(self.reports[1].path, self.reports[1].title, "2021-02-19"), self.explainer]
            return Resp(200, article_page(self.site_name, "2020年政府信息公开年报", f'<ul class="list">{list_items(items)}</ul>'))
        if p == MODULE:
            return Resp(200, article_page(self.site_name, "政府信息公开年度报告", "<p>该年度报告尚未发布。</p>"))
        if full == self.explainer[0]:
            return Resp(200, article_page(self.site_name, self.explainer[1], "<p>一、总体情况解读……</p>",
                                          published=self.explainer[2]))
        return None

    def report_page(self, rep: SimReport, req: Request) -> Resp:
        return Resp(200, report_article(self, rep))

"""A city portal whose reports sit in organisation sub-sites and level sub-columns, none of them
under a 年报 path token:

* 政府信息公开 → 部门信息公开 → 江门市教育局 (`/zwgk/bm/org.jsp?branch_id=101`) → 政府信息公开年报;
  → 江门市司法局 (its own sub-site `/sfj/`) → 信息公开 → 年报;
* the city's 政府信息公开年报 column splits by level: 市本级 (a per-year sub-list titled like a report,
  2024年政府信息公开年报), 区县 (a list fragment a script loads from a block URL), 市直部门 (paged by a
  script pager `'index_' + i + '.html'` with `pageCount`, not TRS's createPageHTML);
* traps: an explainer (图解) and a notice."""
from __future__ import annotations

from harvester.sim.article import QueryAddressedPortal, article_page, renamed, report_article
from harvester.sim.base import Request, Resp, SimReport, list_items

CITY_COL = "/zwgk/col/c2010/index.html"
LEVELS = {"市本级": "/zwgk/col/c2011/index.html", "区县": "/zwgk/col/c2012/index.html",
          "市直部门": "/zwgk/col/c2013/index.html"}


class DepartmentPortal(QueryAddressedPortal):
    family = "other (department sub-sites)"
    name = "departments"
    agency = "江门市人民政府"
    region = "广东"
    level = "city"
    site_name = "江门市人民政府"

    def setup(self) -> None:
        s = self.sim
        self.city = self.add(renamed(s, "stcsm-2024", self.agency, "/zwgk/col/c2011/content/post_3101.html",
                                     "2025-01-21"))
        self.county = self.add(renamed(s, "shuyang-fgj-2023", "江门市蓬江区人民政府", "/zwgk/col/c2012/content/post_3102.html",
                                       "2024-01-19"))
        self.dept_paged = self.add(renamed(s, "003_8b0f81164f1885f1", "江门市自然资源局",
                                           "/zwgk/col/c2013/content/post_3103.html", "2021-02-02"))
        self.edu = self.add(renamed(s, "pingtan-2022", "江门市教育局", "/zwgk/bm/content.jsp?branch_id=101&id=88123"))
        self.sfj = self.add(renamed(s, "000_71de1068338dadc3", "江门市司法局", "/sfj/xxgk/nb/202101/t20210126_5001.html",
                                    "2021-01-26"))
        self.explainer = ("/zwgk/bm/content.jsp?branch_id=101&id=88124", "图解：江门市教育局2022年政府信息公开工作年度报告",
                          "2023-01-30")
        self.notice = ("/zwgk/col/c2013/content/post_3000.html", "关于报送2023年度政府信息公开工作年度报告的通知", "2023-12-01")

    def new_report_path(self, doc, n: int) -> str:
        return f"/zwgk/col/c2011/content/post_{4000 + n}.html"

    def page(self, title: str, body: str) -> Resp:
        return Resp(200, article_page(self.site_name, title, body, nav='<a href="/zwgk/index.html">政府信息公开</a>'))

    def route(self, req: Request) -> Resp | None:
        p = req.path
        full = p + ("?" + "&".join(f"{k}={v}" for k, v in sorted(req.query.items())) if req.query else "")
        if p in ("/", "/index.html"):
            return self.page("首页", "<p>江门要闻</p>")
        if p == "/zwgk/index.html":
            return self.page("政府信息公开", f"""<ul><li><a href="/zwgk/zn.html">政府信息公开指南</a></li>
<li><a href="/zwgk/bm/index.html">部门信息公开</a></li><li><a href="{CITY_COL}">政府信息公开年报</a></li></ul>""")
        if p == "/zwgk/bm/index.html":
            return self.page("部门信息公开", """<ul class="bm-list">
<li><a href="/zwgk/bm/org.jsp?branch_id=101">江门市教育局</a></li><li><a href="/sfj/index.html">江门市司法局</a></li>
<li><a href="/zwgk/bm/org.jsp?branch_id=102">江门市商务局</a></li></ul>""")
        if p == "/zwgk/bm/org.jsp":
            b = req.query.get("branch_id")
            return self.page("部门信息公开", f"""<ul><li><a href="/zwgk/bm/list.jsp?branch_id={b}&amp;cid=jgzn">机构职能</a></li>
<li><a href="/zwgk/bm/list.jsp?branch_id={b}&amp;cid=nb">政府信息公开年报</a></li></ul>""")
        if p == "/zwgk/bm/list.jsp":
            items = []
            if req.query.get("branch_id") == "101" and req.query.get("cid") == "nb":
                items = [(self.edu.path, self.edu.title, self.edu.published), self.explainer]
            rows = list_items(items) or "<li>暂无信息</li>"
            return self.page("政府信息公开年报", f'<ul class="list">{rows}</ul>')
        if full == self.explainer[0]:
            return Resp(200, article_page(self.site_name, self.explainer[1], "<p>图解内容</p>", published=self.explainer[2]))
        if p == "/sfj/index.html":
            return Resp(200, article_page("江门市司法局", "江门市司法局", "<p>司法要闻</p>",
                                          nav='<a href="/sfj/xxgk/index.html">信息公开</a>'))
        if p == "/sfj/xxgk/index.html":
            return Resp(200, article_page("江门市司法局", "信息公开", '<a href="/sfj/xxgk/nb/index.html">年报</a>'))
        if p == "/sfj/xxgk/nb/index.html":
            return Resp(200, article_page("江门市司法局", "年报", f'<ul>{list_items([(self.sfj.path, self.sfj.title, self.sfj.published)])}</ul>'))
        if p == CITY_COL:
            return self.page("政府信息公开年报", "<ul class=\"levels\">" + "".join(
                f'<li><a href="{u}">{t}</a></li>' for t, u in LEVELS.items()) + "</ul>")
        if p == LEVELS["市本级"]:
            return self.page("市本级", '<ul><li><a href="/zwgk/col/c2011/y2024.html">2024年政府信息公开年报</a></li></ul>')
        if p == "/zwgk/col/c2011/y2024.html":
            return self.page("2024年政府信息公开年报", f'<ul>{list_items([(self.city.path, self.city.title, self.city.published)])}</ul>')
        if p == LEVELS["区县"]:
            return self.page("区县", '<div id="blk"></div><script>$("#blk").load("/zwgk/block/c2012_list.html");</script>')
        if p == "/zwgk/block/c2012_list.html":
            return Resp(200, f'<ul>{list_items([(self.county.path, self.county.title, self.county.published)])}</ul>')
        if p in (LEVELS["市直部门"], "/zwgk/col/c2013/index_1.html"):
            page = 0 if p.endswith("index.html") else 1
            items = [self.notice] if page == 0 else [(self.dept_paged.path, self.dept_paged.title, self.dept_paged.published)]
            pager = """<div class="pager"><script>var pageCount = 2;
function goPage(i) { window.open(i == 0 ? "index.html" : "index_" + i + ".html", "_self"); }</script></div>"""
            return self.page("市直部门", f'<ul>{list_items(items)}</ul>{pager}')
        if full == self.notice[0]:
            return self.page(self.notice[1], "<p>请各部门按时报送。</p>")
        return None

    def report_page(self, rep: SimReport, req: Request) -> Resp:
        return Resp(200, report_article(self, rep))

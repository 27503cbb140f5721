"""A Beijing-style TRS site: the 年报 column is `…/gknb/list.shtml`, paged by the six-argument
`createPageHTML('page_div', pageCount, currentPage, 'list', 'shtml', recordCount)` into
`list_1.shtml`…; details `…/202503/t20250331_4050078.html`; a notice on the first page. "动静结合":
the oldest items are only in a JSON list API the page's script calls (`DOCTITLE`/`DOCPUBURL`)."""
from __future__ import annotations

import json
import re

from harvester.sim.article import renamed, report_body
from harvester.sim.base import Request, Resp, SimPortal, SimReport, esc, list_items, not_found
from harvester.sim.trs import trs_page

COL = "/zwgk/zfxxgk/gknb/"


class BeijingPortal(SimPortal):
    family = "beijing (list.shtml)"
    name = "beijing"
    agency = "北京市西城区人民政府"
    region = "北京"
    level = "county-district"
    site_name = "北京市西城区人民政府"
    per_page = 2

    def setup(self) -> None:
        self.add(renamed(self.sim, "002_77d2692ba1a32ccf", self.agency, COL + "202201/t20220128_4011122.html", "2022-01-28"))
        self.add(renamed(self.sim, "pingtan-2019", self.agency, COL + "202001/t20200131_1133445.html"))
        self.archived = self.add(renamed(self.sim, "004_8b724c1b4f42e5ba", self.agency,
                                         COL + "202102/t20210205_1020304.html", "2021-02-05"))
        self.notice = (COL + "202112/t20211220_4000001.html", "关于做好2021年度政府信息公开工作年度报告编制发布工作的通知",
                       "2021-12-20")

    def new_report_path(self, doc, n: int) -> str:
        return f"{COL}202502/t20250201_{4100000 + n}.html"

    def items(self) -> list[tuple[str, str, str]]:
        items = [(r.path, r.title, r.published) for r in self.reports if r is not self.archived]
        items.insert(1, self.notice)
        return items

    def route(self, req: Request) -> Resp | None:
        p = req.path
        if p in ("/", "/index.html"):
            return Resp(200, trs_page(self.site_name, "首页", '<a href="/zwgk/index.html">政务公开</a>'))
        if p == "/zwgk/index.html":
            return Resp(200, trs_page(self.site_name, "政务公开", f'<a href="{COL}list.shtml">政府信息公开年报</a>'))
        m = re.fullmatch(re.escape(COL) + r"list(?:_(\d+))?\.shtml", p)
        if m:
            page = int(m.group(1) or 0)
            items = self.items()
            count = -(-len(items) // self.per_page)
            if page >= count:
                return not_found()
            rel = [("./" + h[len(COL):], t, d) for h, t, d in items[page * self.per_page:(page + 1) * self.per_page]]
            return Resp(200, trs_page(self.site_name, "政府信息公开年报", f"""<ul class="list">{list_items(rel)}</ul>
<div id="page_div"></div><script>createPageHTML('page_div', {count}, {page + 1}, 'list', 'shtml', {len(items)});</script>
<div id="older"></div><script>$.ajax({{url: '/search/gknb/list.json?pageNo=1&channel=gknb', dataType: 'json',
  success: function (d) {{ $('#older').html(d.data.list.map(function (x) {{
    return '<li><a href="' + x.DOCPUBURL + '">' + x.DOCTITLE + '</a></li>'; }}).join('')); }} }});</script>"""))
        if p == "/search/gknb/list.json":
            a = self.archived
            rows = [{"DOCTITLE": a.title, "DOCPUBURL": a.path, "DOCRELTIME": a.published}] \
                if req.query.get("pageNo", "1") == "1" else []
            return Resp(200, json.dumps({"code": 0, "data": {"list": rows, "pageCount": 1, "total": 1}},
                                        ensure_ascii=False), "application/json;charset=UTF-8")
        if p == self.notice[0]:
            return Resp(200, trs_page(self.site_name, self.notice[1], f"<h1>{self.notice[1]}</h1><p>各街道、各部门……</p>"))
        return None

    def report_page(self, rep: SimReport, req: Request) -> Resp:
        g = rep.gold
        meta = (f'<meta name="ArticleTitle" content="{esc(rep.title)}" />'
                + (f'<meta name="PubDate" content="{esc(g["published"])}" />' if g.get("published") else ""))
        return Resp(200, trs_page(self.site_name, rep.title, f"""<div class="article"><h1>{esc(rep.title)}</h1>
<div class="trs_editor_view">{report_body(self, rep)}</div></div>""", meta))

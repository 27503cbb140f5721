"""A column whose links exist only after its script runs: the list data sits in the page as a
JavaScript array and the hrefs are assembled from it (no static link, no data endpoint to find).
Only executing the page finds the reports (its script also asks an XHR for the item count);
traps in the data: a notice and an explainer (一图读懂)."""
from __future__ import annotations

import json

from harvester.sim.article import article_page, renamed, report_article
from harvester.sim.base import Request, Resp, SimPortal, SimReport

COL = "/xxgk/nbzl/index.html"


class ScriptedPortal(SimPortal):
    family = "other (script-assembled links)"
    name = "scripted"
    agency = "杭州市西湖区人民政府"
    region = "浙江"
    level = "county-district"
    site_name = "杭州市西湖区人民政府"
    gzip = True

    def setup(self) -> None:
        self.add(renamed(self.sim, "004_8b724c1b4f42e5ba", self.agency, "/xxgk/nbzl/202102/a7f3c2d1.shtml", "2021-02-03"))
        self.add(renamed(self.sim, "002_77d2692ba1a32ccf", self.agency, "/xxgk/nbzl/202201/b81e90aa.shtml", "2022-01-27"))
        self.traps = {"/xxgk/nbzl/202112/c0ffee01.shtml": ("关于做好2021年度政府信息公开工作年度报告编制工作的通知", "2021-12-01"),
                      "/xxgk/nbzl/202201/c0ffee02.shtml": ("一图读懂杭州市西湖区人民政府2021年政府信息公开工作年度报告",
                                                           "2022-01-28")}

    def new_report_path(self, doc, n: int) -> str:
        return f"/xxgk/nbzl/202502/d{n:07d}.shtml"

    def rows(self) -> list[list[str]]:
        items = [(r.path, r.title, r.published) for r in self.reports] + [(p, t, d) for p, (t, d) in self.traps.items()]
        # [folder, id, title, date]: the page's script assembles "/xxgk/nbzl/" + folder + "/" + id + ".shtml"
        return [[p.split("/")[3], p.split("/")[4].split(".")[0], t, d] for p, t, d in items]

    def route(self, req: Request) -> Resp | None:
        p = req.path
        if p in ("/", "/index.html"):
            return Resp(200, article_page(self.site_name, "首页", f'<p><a href="{COL}">政府信息公开年报</a></p>'))
        if p == COL:
            return Resp(200, f"""<!doctype html><html><head><meta charset="utf-8"><title>政府信息公开年报_{self.site_name}</title>
<script src="/js/list.js"></script></head><body>
<div class="crumb">首页 &gt; 政府信息公开 &gt; 政府信息公开年报</div>
<ul id="nb-list" class="news-list"></ul><p>共 <span id="nb-count"></span> 条</p>
<script>var NB_ROWS = {json.dumps(self.rows(), ensure_ascii=False)};
renderList("nb-list", NB_ROWS);</script></body></html>""")
        if p == "/xxgk/nbzl/live.html":   # the same column with a clock that never stops (linked from nowhere)
            return Resp(200, f"""<!doctype html><html><head><meta charset="utf-8"><title>政府信息公开年报_{self.site_name}</title>
<script src="/js/list.js"></script></head><body><div id="clock"></div><ul id="nb-list" class="news-list"></ul>
<p>共 <span id="nb-count"></span> 条</p><script>var NB_ROWS = {json.dumps(self.rows(), ensure_ascii=False)};
renderList("nb-list", NB_ROWS);
setInterval(function () {{ document.getElementById("clock").textContent = Date.now(); }}, 50);</script></body></html>""")
        if p == "/js/list.js":
            return Resp(200, """function renderList(id, rows) {
  var box = document.getElementById(id);
  rows.forEach(function (r) {
    var li = document.createElement("li"), a = document.createElement("a");
    a.setAttribute("href", ["", "xxgk", "nbzl", r[0], r[1]].join("/") + "." + "shtml");
    a.textContent = r[2]; li.appendChild(a);
    var d = document.createElement("span"); d.textContent = r[3]; li.appendChild(d); box.appendChild(li);
  });
  fetch("/xxgk/nbzl/count.json").then(function (r) { return r.json(); })
    .then(function (d) { document.getElementById("nb-count").textContent = d.count; });
}
""", "application/javascript; charset=utf-8")
        if p == "/xxgk/nbzl/count.json":
            return Resp(200, json.dumps({"count": len(self.rows())}), "application/json; charset=utf-8")
        if p in self.traps:
            t, d = self.traps[p]
            return Resp(200, article_page(self.site_name, t, "<p>……</p>", published=d))
        return None

    def report_page(self, rep: SimReport, req: Request) -> Resp:
        return Resp(200, report_article(self, rep))

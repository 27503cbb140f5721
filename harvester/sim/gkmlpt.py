"""Guangdong's gkmlpt platform: the column page `/gkmlpt/index` is an empty shell whose script
reads the hash route (`#2845`) and fills the list from the JSON API
`/gkmlpt/api/all/{column}?page=N&sid={site}`; details `/gkmlpt/content/4/4662/post_{id}.html`.
Reached from the home page; traps in the API: a notice, an explainer (图解), a housing-fund report."""
from __future__ import annotations

import json
import math

from harvester.sim.article import article_page, renamed, report_article
from harvester.sim.base import Request, Resp, SimPortal, SimReport

SID = "200017"
COLUMN = "2845"


class GkmlptPortal(SimPortal):
    family = "gkmlpt"
    name = "gkmlpt"
    agency = "广州市发展和改革委员会"
    region = "广东"
    level = "city department"
    site_name = "广州市发展和改革委员会"
    gzip = True
    per_page = 2

    def setup(self) -> None:
        self.add(renamed(self.sim, "stcsm-2024", self.agency, "/gkmlpt/content/9/9801/post_9801234.html", "2025-01-22"))
        self.add(renamed(self.sim, "000_71de1068338dadc3", self.agency, "/gkmlpt/content/7/7105/post_7105678.html",
                         "2021-01-25"))
        self.traps = {
            "/gkmlpt/content/9/9700/post_9700001.html": ("关于做好2024年度政府信息公开工作年度报告编制工作的通知", "2024-12-10"),
            "/gkmlpt/content/9/9802/post_9802002.html": ("图解：广州市发展和改革委员会2024年政府信息公开工作年度报告", "2025-01-23"),
            "/gkmlpt/content/8/8400/post_8400003.html": ("广州住房公积金管理中心2023年年度报告", "2024-03-20"),
        }

    def new_report_path(self, doc, n: int) -> str:
        return f"/gkmlpt/content/9/99{n:02d}/post_99{n:02d}000.html"

    def articles(self) -> list[dict]:
        items = [(r.path, r.title, r.published) for r in self.reports]
        items[1:1] = [(p, t, d) for p, (t, d) in self.traps.items()]
        return [{"id": i + 1, "title": t, "url": self.url(p), "publisher": self.agency, "date": d,
                 "display_publish_time": d} for i, (p, t, d) in enumerate(items)]

    def route(self, req: Request) -> Resp | None:
        p = req.path
        if p in ("/", "/index.html"):
            return Resp(200, article_page(self.site_name, "首页", "<p>欢迎访问</p>", nav='<a href="/gkmlpt/index">政府信息公开</a>'))
        if p == "/gkmlpt/index":
            return Resp(200, self.platform())
        if p == f"/gkmlpt/api/all/{COLUMN}":
            return self.api(req)
        if p.startswith("/gkmlpt/api/all/"):
            return Resp(200, json.dumps({"articles": [], "total": 0}), "application/json; charset=utf-8")
        if p in self.traps:
            t, d = self.traps[p]
            return Resp(200, article_page(self.site_name, t, "<p>详见附件。</p>", published=d, source=self.agency))
        return None

    def platform(self) -> str:
        return f"""<!doctype html><html><head><meta charset="utf-8"><title>政府信息公开_{self.site_name}</title>
<script>var SID = "{SID}";</script></head><body>
<div class="header"><a href="/">{self.site_name}</a></div>
<div class="gkmlpt-tree"><ul>
<li><a href="#2840">政府信息公开指南</a></li><li><a href="#2841">机构职能</a></li>
<li><a href="#{COLUMN}">政府信息公开年报</a></li><li><a href="#2846">政策文件</a></li></ul></div>
<div id="gkmlpt-list" class="list-content"></div>
<script>
function load(id, page) {{
  fetch('/gkmlpt/api/all/' + id + '?page=' + page + '&sid=' + SID).then(function (r) {{ return r.json(); }})
    .then(function (data) {{
      var box = document.getElementById('gkmlpt-list'); box.innerHTML = '';
      data.articles.forEach(function (a) {{
        var li = document.createElement('li'); var el = document.createElement('a');
        el.href = a.url; el.textContent = a.title; li.appendChild(el); box.appendChild(li); }});
    }});
}}
window.addEventListener('hashchange', function () {{ load(location.hash.slice(1), 1); }});
if (location.hash) load(location.hash.slice(1), 1);
</script></body></html>"""

    def api(self, req: Request) -> Resp:
        try:
            page = int(req.query.get("page", "1"))
        except ValueError:
            return Resp(400, '{"error": "bad page"}', "application/json; charset=utf-8")
        if req.query.get("sid") != SID:
            return Resp(403, '{"error": "sid"}', "application/json; charset=utf-8")
        arts = self.articles()
        pages = max(1, math.ceil(len(arts) / self.per_page))
        chosen = arts[(page - 1) * self.per_page: page * self.per_page] if 1 <= page <= pages else []
        return Resp(200, json.dumps({"articles": chosen, "classify": {"id": int(COLUMN), "name": "政府信息公开年报"},
                                     "total": len(arts), "page": page}, ensure_ascii=False),
                    "application/json; charset=utf-8")

    def report_page(self, rep: SimReport, req: Request) -> Resp:
        return Resp(200, report_article(self, rep))

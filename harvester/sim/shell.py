"""A portal reached only from its home page: 信息公开 → link text 政府信息公开年报 → a
`location.replace(...)` shell → a `<meta http-equiv="refresh">` shell → the list."""
from __future__ import annotations

from harvester.sim.base import Request, Resp, SimPortal, SimReport, esc, list_items

LIST = "/xxgk/zfxxgknb/nianbao/list.html"


def plain_page(site: str, title: str, body: str, meta: str = "") -> str:
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">{meta}
<title>{esc(title)}-{esc(site)}</title></head><body>
<header><a href="/">{esc(site)}</a><nav><a href="/">首页</a><a href="/xxgk/index.html">信息公开</a><a href="/hdjl/">互动交流</a></nav></header>
<main>{body}</main><footer>{esc(site)}版权所有</footer></body></html>"""


class ShellPortal(SimPortal):
    family = "other (script/meta-refresh shells)"
    name = "shell"
    agency = "淮南市谢家集区人民政府"
    region = "安徽"
    level = "county-district"
    site_name = "谢家集区人民政府"
    hints = {"notes": "年报 column reached by link text through location.replace and meta-refresh shells"}

    def setup(self) -> None:
        s = self.sim
        self.add(SimReport(s.doc("003_8b0f81164f1885f1"), "/xxgk/zfxxgknb/nianbao/2021/02/19/content_55001.html",
                           "page", "2021-02-19"))
        self.add(SimReport(s.doc("001_99990898297ce98c"), "/xxgk/zfxxgknb/nianbao/2024/01/30/content_61002.html",
                           "page", "2024-01-30"))

    def new_report_path(self, doc, n: int) -> str:
        return f"/xxgk/zfxxgknb/nianbao/2025/02/01/content_{70000 + n}.html"

    def route(self, req: Request) -> Resp | None:
        p = req.path
        if p in ("/", "/index.html"):
            return Resp(200, plain_page(self.site_name, "首页", """<section class="news"><a href="/xwzx/1.html">区政府召开常务会议</a></section>
<section class="quick"><a href="/xxgk/index.html">信息公开</a><a href="/bsfw/">办事服务</a></section>"""))
        if p == "/xxgk/index.html":
            return Resp(200, plain_page(self.site_name, "信息公开", """<ul class="xxgk-nav">
<li><a href="/xxgk/zn/">政府信息公开指南</a></li><li><a href="/xxgk/zd/">政府信息公开制度</a></li>
<li><a href="/xxgk/zfxxgknb/index.html">政府信息公开年报</a></li>
<li><a href="/xxgk/zfxxgknb/index.html">政府信息公开工作年度报告</a></li></ul>"""))
        if p == "/xxgk/zfxxgknb/index.html":
            return Resp(200, '<html><head><script type="text/javascript">location.replace("/xxgk/zfxxgknb/nianbao/");'
                             "</script></head><body></body></html>")
        if p == "/xxgk/zfxxgknb/nianbao/":
            return Resp(200, f'<html><head><meta http-equiv="refresh" content="0; url={LIST}"></head><body></body></html>')
        if p == LIST:
            items = [(r.path, r.title, r.published) for r in self.reports]
            return Resp(200, plain_page(self.site_name, "政府信息公开年报", f'<ul class="list">{list_items(items)}</ul>'))
        return None

    def report_page(self, rep: SimReport, req: Request) -> Resp:
        g = rep.gold
        meta = f'<meta name="ArticleTitle" content="{esc(rep.title)}">' + (
            f'<meta name="PubDate" content="{esc(g["published"])}">' if g.get("published") else "") + (
            f'<meta name="ContentSource" content="{esc(g["agency"])}">' if g.get("agency") else "")
        head = "".join(f"<span>{k}：{esc(v)}</span>" for k, v in
                       (("发布机构", g.get("agency")), ("发布日期", g.get("published"))) if v)
        return Resp(200, plain_page(self.site_name, rep.title, f"""<article><h1>{esc(rep.title)}</h1>
<div class="meta">{head}</div><div class="content">{self.body_of(rep)}</div></article>""", meta))

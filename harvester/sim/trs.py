"""TRS WCM portal (the most common family): column `…/zfxxgknb/index.html`, later pages only via
`createPageHTML(...)`, per-year sub-columns, `t{date}_{id}.html` details with ArticleTitle/PubDate/
ContentSource metas and the body in div.trs_editor_view; plus most of the traps."""
from __future__ import annotations

import math
import re

from harvester.sim.base import Request, Resp, SimPortal, SimReport, esc, list_items, not_found

COL = "/zwgk/zfxxgk/zfxxgknb/"


def trs_page(site: str, title: str, body: str, meta: str = "", extra_head: str = "") -> str:
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<meta http-equiv="X-UA-Compatible" content="IE=edge" />
<meta name="SiteName" content="{esc(site)}" />
{meta}
<title>{esc(title)}_{esc(site)}</title>
<link rel="stylesheet" href="/images/common.css" />
{extra_head}
</head>
<body>
<div class="header"><div class="logo"><a href="/">{esc(site)}</a></div>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="/zwgk/index.html">政务公开</a></li>
<li><a href="/hdjl/index.html">互动交流</a></li><li><a href="/calendar?month=2021-01">活动日历</a></li></ul></div>
<div class="main">
{body}
</div>
<div class="footer"><a href="http://www.gov.cn/" target="_blank">中国政府网</a>
<a href="http://www.shanghai.gov.cn/" target="_blank">上海市人民政府</a>
<p>主办：{esc(site)}　网站标识码3100000031</p></div>
</body></html>"""


def page_script(count: int, current: int, name: str = "index", ext: str = "html") -> str:
    return f"""<div class="page"><script type="text/javascript">
var countPage = {count}//共多少页
createPageHTML({count}, {current}, "{name}", "{ext}");
</script></div>"""


class TrsPortal(SimPortal):
    family = "TRS"
    name = "trs"
    agency = "上海市嘉定区人民政府"
    region = "上海"
    level = "county-district"
    site_name = "上海嘉定"
    robots = "User-agent: *\nDisallow: /zwgk/internal/\nDisallow: /search/\n"
    gzip = True
    per_page = 2
    hints = {"notes": "paged by createPageHTML index_N.html"}

    def setup(self) -> None:
        s = self.sim
        self.add(SimReport(s.doc("stcsm-2024"), COL + "gknb2024/202501/t20250120_654321.html", "page", "2025-01-20"))
        r0 = self.add(SimReport(s.doc("000_71de1068338dadc3"), COL + "gknb2020/202101/t20210122_123456.html",
                                "page", "2021-01-22"))
        r0.twins.append(COL + "gknb2020/202101/t20210122_123456_wap.html")
        self.traps = {
            COL + "202112/t20211215_111111.html": ("关于做好2021年政府信息公开工作年度报告编制工作的通知", "2021-12-15",
                "<p>各街镇、各委办局：为做好2021年政府信息公开工作年度报告编制和发布工作，现将有关事项通知如下。"
                "请于2022年1月31日前向社会公布本机关2021年政府信息公开工作年度报告。</p>"),
            COL + "202103/t20210325_222222.html": ("上海市住房公积金2020年年度报告", "2021-03-25",
                "<p>根据《住房公积金管理条例》规定，现将2020年住房公积金年度报告公布如下。</p>"),
        }
        self.dead = (COL + "201901/t20190130_404404.html", "2018年嘉定区政府信息公开工作年度报告", "2019-01-30")
        self.forbidden = ("/zwgk/internal/201912/t20191231_999999.html", "2019年嘉定区政府信息公开工作年度报告（内部稿）",
                          "2019-12-31")

    def entry_paths(self) -> list[str]:
        return [COL + "index.html"]

    def new_report_path(self, doc, n: int) -> str:
        return f"{COL}{doc.gold.get('year') or 2000}nb/202501/t20250201_{700000 + n}.html"

    def column_items(self) -> list[tuple[str, str, str]]:
        items = [(r.path, r.title, r.published) for r in self.reports]
        items.insert(1, (COL + "202112/t20211215_111111.html",) + self.traps[COL + "202112/t20211215_111111.html"][:2])
        items.insert(2, (COL + "202103/t20210325_222222.html",) + self.traps[COL + "202103/t20210325_222222.html"][:2])
        items += [self.dead, self.forbidden]
        return items

    def route(self, req: Request) -> Resp | None:
        p = req.path
        if p in ("/", "/index.html"):
            return Resp(200, trs_page(self.site_name, "首页", f"""
<div class="links"><a href="/zwgk/index.html">政务公开</a>
<a href="{COL}index.html">政府信息公开年报</a>
<a href="http://127.0.0.1:1/never">外部链接</a></div>"""))
        if p == "/zwgk/index.html":
            return Resp(200, trs_page(self.site_name, "政务公开", f"""
<ul><li><a href="/zwgk/zfxxgk/zfxxgkzn/index.html">政府信息公开指南</a></li>
<li><a href="{COL}index.html">政府信息公开年报</a></li></ul>"""))
        m = re.fullmatch(re.escape(COL) + r"(?:(gknb\d{4})/)?index(?:_(\d+))?\.html", p)
        if m:
            return self.column(m.group(1), int(m.group(2) or 0))
        if p in self.traps:
            t, d, body = self.traps[p]
            return Resp(200, self.detail_html(t, d, "嘉定区人民政府办公室", body, p))
        if p == self.forbidden[0]:
            rep = self.reports[1]
            return Resp(200, self.detail_html(self.forbidden[1], self.forbidden[2], "嘉定区", self.body_of(rep), p))
        if p == "/calendar":
            return self.calendar(req.query.get("month", "2021-01"))
        return None

    def column(self, sub: str | None, page: int) -> Resp:
        if sub is None:
            items = self.column_items()
        else:
            year = sub[4:]
            items = [(r.path, r.title, r.published) for r in self.reports if f"/{sub}/" in r.path or
                     (r.path.startswith(COL) and f"/{year}nb/" in r.path)]
        count = max(1, math.ceil(len(items) / self.per_page))
        if page >= count:
            return not_found()
        years = sorted({m.group(1) for r in self.reports for m in [re.search(r"/gknb(\d{4})/", r.path)] if m},
                       reverse=True)
        subnav = "".join(f'<li><a href="{COL}gknb{y}/index.html">{y}年</a></li>' for y in years)
        # item hrefs are relative to the column, as TRS writes them (./gknb2020/202101/t…html)
        base = COL if sub is None else f"{COL}{sub}/"
        rel = [("./" + h[len(base):] if h.startswith(base) else h, t, d) for h, t, d in items]
        body = f"""<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/index.html">政务公开</a> &gt; 政府信息公开年报</div>
<div class="left"><ul class="subnav">{subnav}</ul></div>
<div class="list"><ul class="xxgk_list">
{list_items(rel[page * self.per_page:(page + 1) * self.per_page])}
</ul>
{page_script(count, page)}
</div>"""
        return Resp(200, trs_page(self.site_name, "政府信息公开年报", body))

    def calendar(self, month: str) -> Resp:
        m = re.fullmatch(r"(\d{4})-(\d{2})", month)
        if not m:
            return not_found()
        y, mo = int(m.group(1)), int(m.group(2))
        nxt = f"{y + (mo == 12)}-{mo % 12 + 1:02d}"
        prv = f"{y - (mo == 1)}-{(mo - 2) % 12 + 1:02d}"
        body = f"""<h2>{y}年{mo}月 活动日历</h2><table class="cal"><tr><td>1</td><td>2</td><td>3</td></tr></table>
<a href="/calendar?month={prv}">上个月</a> <a href="/calendar?month={nxt}">下个月</a>"""
        return Resp(200, trs_page(self.site_name, "活动日历", body))

    def detail_html(self, title: str, date: str | None, source: str | None, body: str, path: str,
                    wap: bool = False, twin: bool = False) -> str:
        meta = (f'<meta name="ArticleTitle" content="{esc(title)}" />\n'
                + (f'<meta name="PubDate" content="{esc(date)} 09:30" />\n' if date else "")
                + (f'<meta name="ContentSource" content="{esc(source)}" />\n' if source else "")
                + '<meta name="ColumnName" content="政府信息公开年报" />')
        twin = "" if wap or not twin else f'<a class="wap" href="{esc(path.rsplit("/", 1)[-1].replace(".html", "_wap.html"))}">手机版</a>'
        info = (f'<span>发布时间：{esc(date)}</span>' if date else "") + (f'<span>来源：{esc(source)}</span>' if source else "")
        html_ = f"""<div class="article"><h1 class="title">{esc(title)}</h1>
<div class="info">{info} {twin}</div>
<div class="TRS_Editor"><div class="trs_editor_view TRS_UEDITOR trs_paper_default trs_web">
{body}
</div></div>
<div class="share">转载请注明来源 <a href="http://{self.sim.foreign_host}:{self.sim.port}/copy/nb.html">其他网站转载</a></div>
</div>"""
        return trs_page(self.site_name, title, html_, meta)

    def report_page(self, rep: SimReport, req: Request) -> Resp:
        g = rep.gold
        return Resp(200, self.detail_html(rep.title, g.get("published"), g.get("agency"), self.body_of(rep),
                                          rep.path, wap=req.path != rep.path, twin=bool(rep.twins)))

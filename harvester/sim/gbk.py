"""A legacy portal in GBK: the charset only in <meta http-equiv="Content-Type">, never in the HTTP
header; lists paged with `?page=N` (<a> links); chunked responses; a detail that fails once (500)."""
from __future__ import annotations

from harvester.sim.base import Request, Resp, SimPortal, SimReport, esc, list_items, not_found

LIST = "/xxgk/ndbg/list.jsp"


def gbk_page(site: str, title: str, body: str, meta: str = "") -> str:
    return f"""<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gbk">
{meta}
<title>{esc(title)}--{esc(site)}</title>
</head>
<body bgcolor="#FFFFFF">
<table width="980" align="center"><tr><td><a href="/">{esc(site)}</a> | <a href="/xxgk/index.jsp">信息公开</a></td></tr></table>
{body}
<table width="980" align="center"><tr><td>版权所有：{esc(site)}</td></tr></table>
</body></html>"""


class GbkPortal(SimPortal):
    family = "legacy JSP (GBK)"
    name = "gbk"
    agency = "平潭综合实验区管委会"
    region = "福建"
    level = "city"
    site_name = "平潭综合实验区"
    chunked = True
    page_encoding = "gbk"
    per_page = 2
    hints = {"notes": "lists paged with ?page=N links"}

    def setup(self) -> None:
        s = self.sim
        r22 = self.add(SimReport(s.doc("pingtan-2022"), "/xxgk/ndbg/content.jsp?id=80577", "page", "2023-02-20"))
        r22.path = "/xxgk/ndbg/202302/t20230220_80577.htm"
        self.flaky_paths.add(r22.path)
        self.add(SimReport(s.doc("pingtan-2019"), "/xxgk/ndbg/202001/t20200120_80576.htm", "page", "2020-01-20"))
        self.notice = ("/xxgk/ndbg/202212/t20221205_80001.htm", "关于做好2022年度政府信息公开工作年度报告报告格式的通知",
                       "2022-12-05")

    def new_report_path(self, doc, n: int) -> str:
        return f"/xxgk/ndbg/202502/t20250201_{90000 + n}.htm"

    def resp(self, html_: str, status: int = 200) -> Resp:
        return Resp(status, html_, "text/html", encoding="gbk")   # no charset in the header, on purpose

    def route(self, req: Request) -> Resp | None:
        p = req.path
        if p in ("/", "/index.jsp"):
            return self.resp(gbk_page(self.site_name, "首页", '<a href="/xxgk/index.jsp">信息公开</a>'))
        if p == "/xxgk/index.jsp":
            return self.resp(gbk_page(self.site_name, "信息公开", f'<a href="/xxgk/zn.jsp">信息公开指南</a> '
                                                              f'<a href="{LIST}?page=1">政府信息公开年报</a>'))
        if p == LIST:
            try:
                page = int(req.query.get("page", "1"))
            except ValueError:
                return not_found()
            items = [(r.path, r.title, r.published) for r in self.reports] + [self.notice]
            count = -(-len(items) // self.per_page)
            if not 1 <= page <= count:
                return not_found()
            nav = " ".join(f'<a href="{LIST}?page={i}">{i}</a>' for i in range(1, count + 1))
            nxt = f'<a href="{LIST}?page={page + 1}">下一页</a>' if page < count else ""
            return self.resp(gbk_page(self.site_name, "政府信息公开年报", f"""<table width="980" align="center"><tr><td>
<ul>{list_items(items[(page - 1) * self.per_page: page * self.per_page])}</ul>
<div class="pages">共{count}页 {nav} {nxt}</div></td></tr></table>"""))
        if p == self.notice[0]:
            return self.resp(self.detail(self.notice[1], self.notice[2], "区管委会办公室",
                                         "<p>请各部门按照报告格式要求编制年度报告。</p>"))
        return None

    def detail(self, title: str, date: str | None, source: str | None, body: str) -> str:
        meta = (f'<meta name="ArticleTitle" content="{esc(title)}">'
                + (f'<meta name="PubDate" content="{esc(date)}">' if date else ""))
        return gbk_page(self.site_name, title, f"""<table width="980" align="center"><tr><td align="center">
<h2>{esc(title)}</h2>{f"发布时间：{esc(date)}" if date else ""}</td></tr>
<tr><td class="content">{body}</td></tr></table>""", meta)

    def report_page(self, rep: SimReport, req: Request) -> Resp:
        return self.resp(self.detail(rep.title, rep.gold.get("published"), rep.gold.get("agency"), self.body_of(rep)))

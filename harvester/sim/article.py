"""What the portals added for discovery share: a report served under another agency's name (so one
corpus document can appear on several portals as distinct agency-years, its gold adjusted), and a
plain article page."""
from __future__ import annotations

import dataclasses

from harvester.sim.base import Request, Resp, SimPortal, SimReport, deep_merge, esc


@dataclasses.dataclass
class RenamedReport(SimReport):
    """A corpus document published under another agency's name."""
    source_agency: str = ""


def renamed(sim, corpus_name: str, agency: str, path: str, listed: str | None = None) -> RenamedReport:
    """The corpus document `corpus_name` published by `agency` at `path`: the agency's name is
    replaced in the title and the text, so gold agency and title follow it; numbers stay the gold's."""
    doc = sim.doc(corpus_name)
    year = doc.gold.get("year")
    source = doc.gold.get("agency") or ""
    title = doc.gold.get("title") or ""
    title = title.replace(source, agency) if source and source in title else f"{agency}{year}年政府信息公开工作年度报告"
    rep = RenamedReport(doc, path, "page", listed or doc.gold.get("published") or f"{(year or 2000) + 1}-01-20",
                        source_agency=source)
    rep.gold_override = deep_merge(doc.gold, {"agency": agency, "title": title})
    return rep


class QueryAddressedPortal(SimPortal):
    """A portal whose reports are addressed by path and query (`AnnualReport.aspx?cid=12&year=2022`,
    parameters in sorted order, as the crawl canonicalises them)."""

    def report_at(self, path: str) -> SimReport | None:
        return None   # the path alone does not name a report here

    def dispatch(self, req: Request) -> Resp:
        query = "&".join(f"{k}={v}" for k, v in sorted(req.query.items()))
        full = req.path + (f"?{query}" if query else "")
        for rep in self.reports:
            if rep.path == full:
                return self.serve_report(rep, req)
        return super().dispatch(req)


def report_body(portal, rep: SimReport) -> str:
    body = portal.body_of(rep)
    if isinstance(rep, RenamedReport) and rep.source_agency:
        body = body.replace(rep.source_agency, rep.gold["agency"])
    return body


def article_page(site: str, title: str, body: str, *, published: str | None = None, source: str | None = None,
                 nav: str = "", extra_head: str = "") -> str:
    """A detail page as most non-TRS CMSs write it: ArticleTitle/PubDate metas, h1, info line, body."""
    meta = f'<meta name="ArticleTitle" content="{esc(title)}">' + (
        f'<meta name="PubDate" content="{esc(published)}">' if published else "") + (
        f'<meta name="ContentSource" content="{esc(source)}">' if source else "")
    info = "".join(f"<span>{k}：{esc(v)}</span>" for k, v in (("发布机构", source), ("发布日期", published)) if v)
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">{meta}{extra_head}
<title>{esc(title)}_{esc(site)}</title></head><body>
<header><a href="/">{esc(site)}</a><nav>{nav}</nav></header>
<main><article><h1>{esc(title)}</h1><div class="info">{info}</div>
<div class="article-content">{body}</div></article></main>
<footer>{esc(site)} 版权所有</footer></body></html>"""


def report_article(portal, rep: SimReport) -> str:
    g = rep.gold
    return article_page(portal.site_name, rep.title, report_body(portal, rep), published=g.get("published"),
                        source=g.get("agency"))

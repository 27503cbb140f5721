"""A large TRS-style portal for benchmarks: `n_pages` pages (list + detail), generated on demand from
one rendered report body; each detail is its own agency (…第N街道) so records do not collapse."""
from __future__ import annotations

import math
import re

from harvester.sim.base import Request, Resp, SimPortal, SimReport, esc, list_items, not_found
from harvester.sim.trs import COL, page_script, trs_page

PER_PAGE = 20
DOC = "000_71de1068338dadc3"


class LargePortal(SimPortal):
    family = "TRS"
    name = "large"
    agency = "上海市大型模拟区人民政府"
    region = "上海"
    level = "county-district"
    site_name = "大型模拟区"
    hints = {"notes": "benchmark portal; createPageHTML index_N.html"}

    def configure(self, n_pages: int) -> None:
        self.n_details = max(1, n_pages * PER_PAGE // (PER_PAGE + 1))
        self.n_lists = max(1, math.ceil(self.n_details / PER_PAGE))
        self._body = None

    def entry_paths(self) -> list[str]:
        return [COL + "index.html"]

    def detail_path(self, i: int) -> str:
        return f"{COL}202101/t20210122_{1000000 + i}.html"

    def title(self, i: int) -> str:
        return f"2020年上海市嘉定区第{i}街道政府信息公开工作年度报告"

    def expected(self) -> list[dict]:
        doc = self.sim.doc(DOC)
        return [{"url": self.url(self.detail_path(i)), "corpus_name": DOC, "gold_path": str(doc.gold_path),
                 "kind": "page", "portal": self.name, "synthetic": True,
                 "overrides": {"agency": f"上海市嘉定区第{i}街道", "title": self.title(i)}}
                for i in range(self.n_details)]

    def route(self, req: Request) -> Resp | None:
        m = re.fullmatch(re.escape(COL) + r"index(?:_(\d+))?\.html", req.path)
        if m:
            page = int(m.group(1) or 0)
            if page >= self.n_lists:
                return not_found()
            ids = range(page * PER_PAGE, min((page + 1) * PER_PAGE, self.n_details))
            items = [("./" + self.detail_path(i)[len(COL):], self.title(i), "2021-01-22") for i in ids]
            return Resp(200, trs_page(self.site_name, "政府信息公开年报",
                                      f'<ul class="xxgk_list">{list_items(items)}</ul>{page_script(self.n_lists, page)}'))
        m = re.fullmatch(re.escape(COL) + r"202101/t20210122_(\d+)\.html", req.path)
        if m and 0 <= int(m.group(1)) - 1000000 < self.n_details:
            i = int(m.group(1)) - 1000000
            if self._body is None:
                doc = self.sim.doc(DOC)
                self._body = self.sim.body_for(SimReport(doc, "", "page", ""))
            t = self.title(i)
            meta = (f'<meta name="ArticleTitle" content="{esc(t)}" /><meta name="PubDate" content="2021-01-22 09:30" />'
                    f'<meta name="ContentSource" content="第{i}街道" />')
            return Resp(200, trs_page(self.site_name, t, f'<h1 class="title">{esc(t)}</h1><div class="trs_editor_view">'
                                      f'{self._body}</div>', meta), last_modified=1_700_000_000.0)
        return None

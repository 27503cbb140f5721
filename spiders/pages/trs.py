"""TRS WCM (拓尔思), the most common family: `index.html`, `index_1.html`… written by the inline
script `createPageHTML(countPage, currentPage, "index", "html")`; details `…/t20200120_80576.html`
with the body in `div.trs_editor_view`. "动静结合" columns (first page static, older items from a
list API called by script) are read by the generic script-URL reader."""
from __future__ import annotations

import re
from urllib.parse import urljoin

from harvester.spiders.pages.generic import GenericPage

CREATE_PAGE = re.compile(r"""createPageHTML\(\s*(\d+)\s*,\s*(\d+)\s*,\s*["'](\w+)["']\s*,\s*["'](\w+)["']""")
MARKERS = re.compile(r"createPageHTML\(\s*\d|trs_editor_view|TRS_Editor|/t\d{8}_\d+\.s?html?", re.I)


class TrsPage(GenericPage):
    family = "TRS"
    hint = re.compile(r"^trs", re.I)

    @classmethod
    def matches(cls, url: str, text: str) -> bool:
        return bool(MARKERS.search(text))

    def script_pages(self) -> list[str]:
        m = CREATE_PAGE.search(self.text)
        if not m:
            return super().script_pages()
        count, current, name, ext = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
        if current != 0:
            return []   # page 0 (index.html) lists the others
        return [urljoin(self.url, f"{name}_{i}.{ext}") for i in range(1, min(count, 2000))]

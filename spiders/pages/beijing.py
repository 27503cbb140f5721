"""Beijing-style TRS lists (`…/gknb/list.shtml`): the pager is the six-argument
`createPageHTML('page_div', pageCount, currentPage, 'list', 'shtml', recordCount)`, pages
`list_1.shtml`, `list_2.shtml`…; details `…/202503/t20250331_4050078.html`."""
from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from harvester.spiders.pages import rules
from harvester.spiders.pages.generic import GenericPage

CREATE_PAGE = re.compile(r"""createPageHTML\(\s*['"][\w-]+['"]\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*['"](\w+)['"]\s*,"""
                         r"""\s*['"](\w+)['"]""")


class BeijingListPage(GenericPage):
    family = "beijing"
    hint = re.compile(r"beijing|list\.shtml|北京", re.I)

    @classmethod
    def matches(cls, url: str, text: str) -> bool:
        return bool(CREATE_PAGE.search(text)) or urlsplit(url).path.endswith("/list.shtml")

    def script_pages(self) -> list[str]:
        m = CREATE_PAGE.search(self.text)
        if not m:
            return super().script_pages()
        count, current, name, ext = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
        if current > 1 or re.search(r"_\d+\.\w+$", urlsplit(self.url).path):
            return []
        return [urljoin(self.url, f"{name}_{i}.{ext}") for i in range(1, min(count, rules.MAX_SCRIPT_PAGES))]

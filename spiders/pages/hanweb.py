"""Hanweb (大汉 jcms): columns `/col/col{id}/index.html` whose list a script loads from
`/module/web/jpage/dataproxy.jsp` (XML, records in CDATA; there is no static `index_1.html`),
details `/art/YYYY/M/D/art_{col}_{id}.html`, and the xxgk annual-report module
`/module/xxgk/xxgkAnnualReport.jsp?area=<org>&fbtime=<year>` linked by year."""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from harvester.spiders.pages import rules
from harvester.spiders.pages.generic import GenericPage, Link, Listing, dedupe

PER_PAGE = 60
ANNUAL_MODULE = re.compile(r"/module/xxgk/\w*annual\w*\.jsp", re.I)


def page_url(endpoint: str, start: int, per: int | None = None) -> str:
    """The endpoint URL for records start..start+per-1 (1-based), keeping its other parameters."""
    parts = urlsplit(endpoint)
    q = dict(parse_qsl(parts.query, keep_blank_values=True))
    per = per or int(q.get("perpage") or PER_PAGE)
    q.update({"perpage": str(per), "startrecord": str(start), "endrecord": str(start + per - 1)})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(q), ""))


class HanwebPage(GenericPage):
    family = "Hanweb"
    hint = re.compile(r"hanweb|大汉|jcms", re.I)

    @classmethod
    def matches(cls, url: str, text: str) -> bool:
        return ("dataproxy.jsp" in text and "jpage" in text) or bool(ANNUAL_MODULE.search(text)) \
            or bool(re.search(r"/col/col\d+/", urlsplit(url).path))

    def list_endpoints(self) -> list[str]:
        out = [u for u in super().list_endpoints() if "dataproxy.jsp" not in u]
        proxy = re.search(r"""proxyUrl\s*:\s*['"]([^'"]+)['"]""", self.text)
        col = re.search(r"""columnid\s*:\s*['"]?(\d+)""", self.text)
        if proxy and col:
            unit = re.search(r"""unitid\s*:\s*['"]?(\d+)""", self.text)
            per = re.search(r"""perPage\s*:\s*(\d+)""", self.text)
            q = {"columnid": col.group(1), "webid": "1"}
            if unit:
                q["unitid"] = unit.group(1)
            if per:
                q["perpage"] = per.group(1)
            out.append(page_url(urljoin(self.url, proxy.group(1)) + "?" + urlencode(q), 1))
        return out

    def year_links(self) -> list[Link]:
        # the annual-report module is a report whatever its link text says
        return super().year_links() + [link for link in self.links() if ANNUAL_MODULE.search(urlsplit(link.url).path)]

    def in_report_column(self) -> bool:
        return super().in_report_column() or any(ANNUAL_MODULE.search(urlsplit(l.url).path) for l in self.links())


class HanwebProxyPage(GenericPage):
    """A dataproxy.jsp answer: report links in CDATA records; the first answer asks for the rest."""
    family = "Hanweb"

    @classmethod
    def matches(cls, url: str, text: str) -> bool:
        return "<datastore" in text[:2000] and ("<recordset" in text or "<totalrecord" in text)

    def __init__(self, url: str, text: str, route: str | None = None):
        chunks = re.findall(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", text or "", re.S)
        super().__init__(url, f"<html><body>{''.join(chunks)}</body></html>", route)
        m = re.search(r"<totalrecord>\s*(\d+)\s*</totalrecord>", text or "")
        self.total = int(m.group(1)) if m else None

    def listing(self, via: str | None = None) -> Listing:
        res = Listing(reports=dedupe([link for link in self.links() if self.is_report_link(link)]))
        q = dict(parse_qsl(urlsplit(self.url).query))
        if self.total and q.get("startrecord", "1") == "1":
            per = int(q.get("perpage") or PER_PAGE)
            res.columns = [Link(page_url(self.url, start, per), "")
                           for start in range(1 + per, min(self.total, rules.MAX_SCRIPT_PAGES * per) + 1, per)]
        return res

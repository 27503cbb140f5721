"""The generic page object: any HTML page of any portal, and the readers that need no CMS family.

`GenericPage.listing()` is the one listing interface the spider reads: report links (and report
candidates such as year modules), list pages to read (columns, sub-columns, next pages, list data
endpoints, block fragments), navigation and organisation sub-sites, a shell redirect, and whether
the page must be rendered in a browser. Families (`trs`, `hanweb`, `gkmlpt`, `beijing`) subclass it
and add their quirks by overriding the small readers below.
"""
from __future__ import annotations

import html as htmlmod
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import lxml.html

from harvester.spiders.pages import rules
from harvester.spiders.pages.rules import tidy


@dataclass
class Link:
    url: str
    text: str


@dataclass
class Listing:
    """What a list/column/navigation page points to."""
    reports: list[Link] = field(default_factory=list)     # report pages, attachments, report candidates
    columns: list[Link] = field(default_factory=list)     # lists to read: columns, next pages, endpoints
    nav: list[Link] = field(default_factory=list)         # 信息公开 / 政务公开 / 部门 navigation
    orgs: list[Link] = field(default_factory=list)        # organisation sub-sites (a fresh navigation budget)
    shell_target: str | None = None                      # location.replace / meta refresh
    render: bool = False                                  # the list is built by script: render the page

    def urls(self) -> list[str]:
        out = [link.url for group in (self.reports, self.columns, self.nav, self.orgs) for link in group]
        return out + ([self.shell_target] if self.shell_target else [])


def dedupe(links: list[Link]) -> list[Link]:
    """Links in order, one per canonical URL."""
    seen: set[str] = set()
    out = []
    for link in links:
        key = rules.canonical_url(link.url)
        if key not in seen:
            seen.add(key)
            out.append(link)
    return out


# Script string literals a loader fetches: $.get('…'), .load('…'), fetch('…'), url: '…', open('GET','…').
_SCRIPT_FETCH = re.compile(
    r"""(?:\.load|\$\.get|\$\.getJSON|\$\.post|fetch|axios\.get|\.open\(\s*['"]GET['"]\s*,)\s*\(?\s*['"]([^'"\s]+)['"](?!\s*\+)"""
    r"""|\burl\s*:\s*['"]([^'"\s]+)['"](?!\s*\+)""", re.I)
_NOT_A_LIST = re.compile(r"\.(js|css|png|jpe?g|gif|svg|ico|woff2?|ttf|mp4|swf)(\?|$)", re.I)
# Script pagers: a page count, and a file template such as "index_" + i + ".html".
_PAGE_COUNT = re.compile(r"\b(?:countPage|pageCount|page_count|totalPage|totalPages|total_page|pagecount|maxPage|"
                         r"pageTotal|pages)\s*[:=]\s*['\"]?(\d{1,5})", re.I)
_PAGE_TEMPLATE = re.compile(r"""['"]([\w./-]*?[_-]?)['"]\s*\+\s*[A-Za-z_$][\w$.]*\s*\+\s*['"](\.s?html?)['"]""")
# A script that builds an API URL from the hash route: '/api/list/' + id
_ROUTE_PREFIX = re.compile(r"""['"]((?:/|\.\./|\./|https?://)[^'"\s]*/)['"]\s*\+\s*[A-Za-z_$][\w$.]*""")
_HASH_ID = re.compile(r"^#!?/?([\w-]{1,40})$")


class GenericPage:
    """Any HTML page of a portal. Subclasses add one CMS's quirks; `page_for` picks the class."""
    family = "generic"
    # A registry `cms` hint naming this family (matched case-insensitively against the hint).
    hint = re.compile(r"^generic$", re.I)
    _anchor_cache: list[tuple[Any, str, str]] | None = None   # set per page on first use
    _link_cache: list[Link] | None = None

    def __init__(self, url: str, text: str, route: str | None = None):
        self.url = url
        self.text = text or ""
        self.route = route            # the hash route the page was asked for (…/index#<column id>)
        try:
            self.root = lxml.html.document_fromstring(self.text or "<html></html>")
        except Exception:  # noqa: BLE001 — empty or hostile markup
            self.root = lxml.html.document_fromstring("<html></html>")

    @classmethod
    def matches(cls, url: str, text: str) -> bool:
        return True

    # --- fields ----------------------------------------------------------------------------------
    def _anchors(self) -> list[tuple[Any, str, str]]:
        """(element, href, text) of every followable anchor; read once per page (a report page is
        asked for its links by several questions: list or report, attachments)."""
        if self._anchor_cache is None:
            out = []
            for a in self.root.iter("a"):
                href = (a.get("href") or "").strip()
                if not href or href.startswith(("javascript:", "mailto:", "tel:")):
                    continue
                content = tidy(a.text_content())
                title = a.get("title")
                text = tidy(title) if len(content) < 4 and title else content
                out.append((a, href, text or tidy(title)))
            self._anchor_cache = out
        return self._anchor_cache

    def links(self) -> list[Link]:
        if self._link_cache is not None:
            return list(self._link_cache)
        out = []
        for _, href, text in self._anchors():
            if href.startswith("#"):
                continue
            try:
                url = urljoin(self.url, htmlmod.unescape(href)).split("#", 1)[0]
            except ValueError:
                continue
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            out.append(Link(url, text))
        self._link_cache = out
        return list(out)

    def hash_routes(self) -> list[Link]:
        """Links to hash routes of this same page (`#2845`, `index#2845`): (route id, text)."""
        here = self.url.split("#", 1)[0]
        out = []
        for _, href, text in self._anchors():
            target, sep, frag = href.partition("#")
            if not sep or (target and urljoin(self.url, target).split("#", 1)[0] != here):
                continue
            m = _HASH_ID.match("#" + frag)
            if m:
                out.append(Link(m.group(1), text))
        return out

    def meta(self, name: str) -> str | None:
        for el in self.root.iter("meta"):
            if (el.get("name") or "").lower() == name.lower() and el.get("content"):
                return el.get("content").strip()
        return None

    def title(self) -> str | None:
        """The article title: ArticleTitle meta, else the first h1/h2 that reads as a title."""
        t = self.meta("ArticleTitle")
        if t:
            return tidy(t)
        for tag in ("h1", "h2"):
            for el in self.root.iter(tag):
                s = tidy(el.text_content())
                if s:
                    return s
        return self.head_title()

    def head_title(self) -> str | None:
        el = self.root.find(".//title")
        return tidy(el.text_content()) if el is not None else None

    def scripts(self) -> str:
        return "\n".join(s.text or "" for s in self.root.iter("script") if not s.get("src"))

    def shell_target(self) -> str | None:
        m = re.search(r"""(?:location\.replace\(|location\.href\s*=|window\.location\s*=|location\s*=)\s*["']([^"']+)["']""",
                      self.text)
        if not m:
            for el in self.root.iter("meta"):
                if (el.get("http-equiv") or "").lower() == "refresh":
                    mm = re.search(r"url\s*=\s*['\"]?([^'\";]+)", el.get("content") or "", re.I)
                    if mm:
                        return urljoin(self.url, mm.group(1).strip())
            return None
        return urljoin(self.url, m.group(1))

    def attachments(self) -> list[Link]:
        return [link for link in self.links() if rules.is_attachment_url(link.url)]

    def text_length(self) -> int:
        body = self.root.find(".//body")
        return len(tidy((body if body is not None else self.root).text_content()))

    def link_text_length(self) -> int:
        return sum(len(tidy(a.text_content())) for a in self.root.iter("a"))

    # --- context ---------------------------------------------------------------------------------
    def in_report_column(self) -> bool:
        """The page is a 年报 column (or inside one): URL token, column name, title or breadcrumb."""
        if rules.is_column_url(self.url):
            return True
        names = [self.meta("ColumnName"), self.head_title(), self.title()]
        for el in self.root.iter():
            cls = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
            if isinstance(el.tag, str) and ("crumb" in cls or "position" in cls or "location" in cls):
                names.append(el.text_content())
        return any(rules.COLUMN_CONTEXT.search(tidy(n).split("_")[0].split("-")[0]) for n in names if n)

    def is_org_index(self, via: str | None = None) -> bool:
        """A page listing organisations (部门信息公开, 区县…): reached by such a link or titled so."""
        return rules.is_org_index_text(via) or any(
            rules.is_org_index_text(t) for t in (self.meta("ColumnName"), self.title()) if t)

    # --- readers that need no family -------------------------------------------------------------
    def pagination(self) -> list[str]:
        """Further pages of this list: ?page=N links and script pagers."""
        out = []
        here = urlsplit(self.url)
        for link in self.links():
            p = urlsplit(link.url)
            if p.netloc == here.netloc and p.path == here.path and p.query != here.query:
                keys = {k.lower() for k, _ in parse_qsl(p.query)}
                if keys & rules.PAGE_PARAMS:
                    out.append(link.url)
        return out + self.script_pages()

    def script_pages(self) -> list[str]:
        """Pages a script pager writes: a page count and a file template ("index_" + i + ".html").
        Only from a list's first page (later pages repeat the same script)."""
        script = self.scripts()
        count = _PAGE_COUNT.search(script)
        template = _PAGE_TEMPLATE.search(script)
        if not (count and template) or re.search(r"_\d+\.s?html?$", urlsplit(self.url).path):
            return []
        n = min(int(count.group(1)), rules.MAX_SCRIPT_PAGES)
        prefix, ext = template.group(1), template.group(2)
        return [urljoin(self.url, f"{prefix}{i}{ext}") for i in range(1, n)]

    def script_urls(self) -> list[str]:
        """URLs a script on the page fetches to fill it: list fragments from block URLs, JSON APIs."""
        out = []
        for m in _SCRIPT_FETCH.finditer(self.scripts()):
            raw = m.group(1) or m.group(2)
            if _NOT_A_LIST.search(raw) or raw.startswith(("javascript:", "#")):
                continue
            url = urljoin(self.url, htmlmod.unescape(raw))
            if urlsplit(url).scheme in ("http", "https") and url.split("#")[0] != self.url.split("#")[0]:
                out.append(url)
        return out

    def route_endpoints(self, route: str) -> list[str]:
        """Data URLs for a hash route: a script literal that the route id is appended to."""
        return [urljoin(self.url, m.group(1) + route) for m in _ROUTE_PREFIX.finditer(self.scripts())]

    def year_links(self) -> list[Link]:
        """Bare year links (2024年) of a 年报 column: per-year sub-columns or a report module
        addressed by the year (…/annualReport.jsp?year=2024)."""
        return [link for link in self.links() if rules.year_of_text(link.text)]

    def year_forms(self) -> list[Link]:
        """GET forms with a year <select>: one URL per year option."""
        out = []
        for form in self.root.iter("form"):
            if (form.get("method") or "get").lower() != "get":
                continue
            action = urljoin(self.url, htmlmod.unescape(form.get("action") or self.url)).split("#", 1)[0]
            fixed, year_selects = [], []
            for el in form.iter("input", "select"):
                name = el.get("name")
                if not name:
                    continue
                if el.tag == "select":
                    values = [(o.get("value") if o.get("value") is not None else o.text_content()).strip()
                              for o in el.iter("option")]
                    years = [v for v in values if re.fullmatch(r"(19|20)\d\d", v)]
                    if years and len(years) >= len([v for v in values if v]) - 1:
                        year_selects.append((name, years[: rules.MAX_FORM_OPTIONS]))
                    elif values:
                        fixed.append((name, next((v for v in values if v), "")))
                elif (el.get("type") or "text").lower() in ("hidden", "text") and el.get("value") is not None:
                    fixed.append((name, el.get("value")))
            for name, years in year_selects[:1]:
                parts = urlsplit(action)
                base = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)] + fixed
                for y in years:
                    query = urlencode([kv for kv in base if kv[0] != name] + [(name, y)])
                    out.append(Link(urlunsplit((parts.scheme, parts.netloc, parts.path, query, "")), f"{y}年"))
        return out

    def level_columns(self) -> list[Link]:
        """Level / organisation sub-columns by their text (市本级, 区县, 市直部门)."""
        return [link for link in self.links() if rules.is_level_text(link.text)]

    def org_links(self) -> list[Link]:
        """Organisation sub-sites of an organisation index: agency names, ?branch_id= pages."""
        return [link for link in self.links()
                if rules.is_org_name(link.text) or (rules.org_param(link.url) and not rules.is_report_title(link.text))]

    def subcolumns(self) -> list[str]:
        """Per-year / per-organisation child columns below this column's folder."""
        base = self.url.rsplit("/", 1)[0] + "/"
        out = []
        for link in self.links():
            if not link.url.startswith(base) or rules.looks_like_detail(link.url):
                continue
            rest = link.url[len(base):]
            seg, _, fname = rest.partition("/")
            if seg and "/" not in fname and rules.COLUMN_FILE.match(fname) and (
                    rules.COLUMN_SEGMENT.match(seg) or rules.SUBCOLUMN_SEGMENT.match(seg)):
                out.append(link.url)
        return out

    def list_endpoints(self) -> list[str]:
        """Script-driven list data endpoints this page announces (families add theirs)."""
        out = self.script_urls()
        if self.route:
            out += self.route_endpoints(self.route)
        for link in self.hash_routes():
            if rules.is_column_text(link.text) or rules.is_level_text(link.text):
                out += self.route_endpoints(link.url)
        return out

    def script_built(self) -> bool:
        """Signs that the list is written by script: an empty list container or a loader script."""
        if rules.DOM_WRITER.search(self.scripts()):
            return True
        for el in self.root.iter("ul", "ol", "div", "tbody", "table"):
            name = f"{el.get('id') or ''} {el.get('class') or ''}"
            if name.strip() and rules.EMPTY_CONTAINER_HINT.search(name) and len(el) == 0 and not tidy(el.text_content()):
                return True
        return False

    def is_report_link(self, link: Link) -> bool:
        return rules.is_report_title(link.text) and bool(
            rules.HAS_YEAR.search(link.text) or rules.looks_like_detail(link.url) or rules.is_attachment_url(link.url))

    def looks_like_list(self) -> bool:
        """A page titled like a report that is a list of them (2019年政府信息公开年报 over a list):
        it links other reports and has little text of its own."""
        own = rules.canonical_url(self.url)
        others = [link for link in self.links() if rules.canonical_url(link.url) != own
                  and not rules.is_attachment_url(link.url)
                  and (self.is_report_link(link) or rules.year_of_text(link.text))]
        return bool(others) and self.text_length() - self.link_text_length() < rules.THIN_PAGE_CHARS

    def reads_as_report(self, title: str | None) -> bool:
        """A report page: a report title, not a list titled like one, and either a year in the
        title or a report's worth of text or attachments (a module answering 暂无 under a generic
        政府信息公开年度报告 heading is not a report)."""
        if not rules.is_report_title(title) or self.looks_like_list():
            return False
        return bool(rules.HAS_YEAR.search(title or "")) or self.text_length() >= rules.THIN_PAGE_CHARS \
            or bool(self.attachments())

    # --- the listing -----------------------------------------------------------------------------
    def listing(self, via: str | None = None) -> Listing:
        """Report links, lists to read and navigation of a non-report page. `via`: the text of
        the link that led here (a 部门 link makes this an organisation index)."""
        res = Listing(shell_target=self.shell_target())
        in_column = self.in_report_column()
        for link in self.links():
            if self.is_report_link(link):
                res.reports.append(link)
            elif rules.NOTICE.search(link.text) or rules.is_attachment_url(link.url):
                continue
            elif rules.is_column_text(link.text) or rules.is_column_url(link.url):
                res.columns.append(link)
            elif rules.is_nav_text(link.text) or rules.is_org_index_text(link.text):
                res.nav.append(link)
        if in_column:
            listed = {rules.canonical_url(link.url) for link in res.columns}
            res.reports += [link for link in self.year_links() if rules.canonical_url(link.url) not in listed]
            res.reports += self.year_forms()   # not elsewhere: site-wide search forms have years too
            res.columns += self.level_columns()
        if self.is_org_index(via):
            res.orgs += self.org_links()
        res.columns += [Link(u, "") for u in self.pagination() + self.subcolumns() + self.list_endpoints()]
        res.reports, res.columns = dedupe(res.reports), dedupe(res.columns)
        res.nav, res.orgs = dedupe(res.nav), dedupe(res.orgs)
        res.render = not (res.reports or res.columns or res.shell_target) and self.script_built()
        return res

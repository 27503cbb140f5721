"""Page objects for the discovery spider: what a page *is* and what it links to, as plain functions
over (url, html text). No Scrapy requests here, so each rule is testable from a saved page.

All title/URL vocabulary lives at the top of this module: a new column token or notice wording is
one line here. Per-CMS quirks are small classes chosen by URL/content rule (`page_for`), never
`if site == ...` in the spider.
"""
from __future__ import annotations

import html as htmlmod
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import lxml.html

# --- vocabulary ----------------------------------------------------------------------------------
# A report title: 政府信息公开 + 年度报告/年报 (政府信息公开工作2020年度报告 included).
REPORT_TITLE = re.compile(r"政府信息公开.*?(年度报告|年报)")
# …but not notices about reports, nor format templates.
NOTICE = re.compile(r"关于|通知|格式|编制|印发|转发|做好|模板|范本|解读|征求意见")
HAS_YEAR = re.compile(r"(19|20)\d\d|[〇零一二][〇零一二三四五六七八九]{3}")
# Link text of a 年报 column (no year in it).
COLUMN_TEXT = re.compile(r"^(政府)?信息公开(工作)?(年度报告|年报)|^(政府信息公开)?(年度报告|年报)$|政务公开年报")
# Column tokens in URLs (any case, TRS numeric suffixes, per-year sub-columns).
COLUMN_SEGMENT = re.compile(
    r"^(zfxxgknb|xxgknb|gknb|xxgkndbg|gkndbg|ndbg|nianbao|zfxxgkndbg)[_-]?\d*$"
    r"|^(nb_?)?(19|20)\d\dn?b?$|^n(19|20)\d\d$|^(zfxxgknb|xxgknb|gknb)(19|20)\d\d$",
    re.I)
# Per-organisation sub-columns under a 年报 column.
SUBCOLUMN_SEGMENT = re.compile(r"^(bm|qzfbm|bmxxgknb|xsq|jd|zj|xz|bmnb|jgnb)$", re.I)
COLUMN_FILE = re.compile(r"^(|index(_\d+)?\.s?html?|list(_\d+)?\.(s?html?|jsp|aspx?|php)|default\.\w+|\d+\.s?html?)$",
                         re.I)
# Navigation towards the 年报 column from a home page.
NAV_TEXT = re.compile(r"^(政府)?(信息公开|政务公开)(目录|专栏|平台|网)?$|^法定主动公开内容$")
NAV_SKIP = re.compile(r"指南|制度|规定|申请|意见箱")
# Pagination query parameters.
PAGE_PARAMS = {"page", "pageno", "pagenum", "pageindex", "curpage", "currentpage", "p", "pn", "pagenow"}
ATTACHMENT_EXT = re.compile(r"\.(pdf|docx?|wps)$", re.I)
DETAIL_URL = re.compile(r"/t\d{8}_\d+|/art_\d+_\d+|/content_\d+|/\d{4}/\d{1,2}/\d{1,2}/|/[0-9a-f]{32}\.s?html?$"
                        r"|/\d{6}/|/\d{17,}\.s?html?$", re.I)
WAP_TWIN = re.compile(r"_wap(\.s?html?)$", re.I)
BIG5_GATE = re.compile(r"^/gate/big5/[^/]+", re.I)

# Thin pages that only point to attachments are not reports themselves.
THIN_PAGE_CHARS = 1500


def tidy(text: str | None) -> str:
    return re.sub(r"\s+", "", htmlmod.unescape(text or ""))


def is_report_title(title: str | None) -> bool:
    t = tidy(title)
    return bool(t) and bool(REPORT_TITLE.search(t)) and not NOTICE.search(t) and len(t) <= 80


def is_column_text(text: str | None) -> bool:
    t = tidy(text)
    return bool(t) and len(t) <= 20 and bool(COLUMN_TEXT.search(t)) and not HAS_YEAR.search(t) \
        and not NOTICE.search(t)


def is_nav_text(text: str | None) -> bool:
    t = tidy(text)
    return bool(NAV_TEXT.search(t)) and not NAV_SKIP.search(t)


def is_attachment_url(url: str) -> bool:
    return bool(ATTACHMENT_EXT.search(urlsplit(url).path))


def looks_like_detail(url: str) -> bool:
    return bool(DETAIL_URL.search(urlsplit(url).path))


def is_column_url(url: str) -> bool:
    """A 年报 column (or per-year/per-org sub-column) list: a column token in a folder name and a
    list-like file name (index.html, index_3.html, list.jsp, '' …)."""
    path = urlsplit(url).path
    folders, _, fname = path.rpartition("/")
    if not COLUMN_FILE.match(fname) or looks_like_detail(url):
        return False
    segs = [s for s in folders.split("/") if s]
    return any(COLUMN_SEGMENT.match(s) for s in segs)


def canonical_url(url: str) -> str:
    """One URL per report: no fragment, no `_wap` mobile twin, no /gate/big5/ gateway, query sorted."""
    parts = urlsplit(url)
    path = BIG5_GATE.sub("", parts.path) or "/"
    path = WAP_TWIN.sub(r"\1", path)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, query, ""))


# --- page objects --------------------------------------------------------------------------------
@dataclass
class Link:
    url: str
    text: str


@dataclass
class Listing:
    """What a list/column/navigation page points to."""
    reports: list[Link] = field(default_factory=list)     # report detail pages (or attachments)
    columns: list[Link] = field(default_factory=list)     # 年报 columns, sub-columns, next pages
    nav: list[Link] = field(default_factory=list)         # 信息公开 / 政务公开 navigation
    shell_target: str | None = None                       # location.replace / meta refresh


class GenericPage:
    """Any HTML page of a portal. Subclasses add one CMS's quirks; `page_for` picks the class."""

    def __init__(self, url: str, text: str):
        self.url = url
        self.text = text
        try:
            self.root = lxml.html.document_fromstring(text or "<html></html>")
        except Exception:  # noqa: BLE001 — empty or hostile markup
            self.root = lxml.html.document_fromstring("<html></html>")

    @classmethod
    def matches(cls, url: str, text: str) -> bool:
        return True

    # --- fields ----------------------------------------------------------------------------------
    def links(self) -> list[Link]:
        out = []
        for a in self.root.iter("a"):
            href = (a.get("href") or "").strip()
            if not href or href.startswith(("javascript:", "mailto:", "#", "tel:")):
                continue
            try:
                url = urljoin(self.url, htmlmod.unescape(href)).split("#", 1)[0]
            except ValueError:
                continue
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            text = tidy(a.get("title") if len(tidy(a.text_content())) < 4 and a.get("title") else a.text_content())
            out.append(Link(url, text or tidy(a.get("title"))))
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
        el = self.root.find(".//title")
        return tidy(el.text_content()) if el is not None else None

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

    def pagination(self) -> list[str]:
        """Further pages of this list: createPageHTML(...) script pages and ?page=N links."""
        out = []
        m = re.search(r"""createPageHTML\(\s*(\d+)\s*,\s*(\d+)\s*,\s*["'](\w+)["']\s*,\s*["'](\w+)["']""", self.text)
        if m:
            count, current, name, ext = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
            if current == 0:
                out += [urljoin(self.url, f"{name}_{i}.{ext}") for i in range(1, min(count, 2000))]
        here = urlsplit(self.url)
        for link in self.links():
            p = urlsplit(link.url)
            if p.netloc == here.netloc and p.path == here.path and p.query != here.query:
                keys = {k.lower() for k, _ in parse_qsl(p.query)}
                if keys & PAGE_PARAMS:
                    out.append(link.url)
        return out

    def listing(self) -> Listing:
        """Report links, column links and navigation links of a non-report page."""
        res = Listing(shell_target=self.shell_target())
        for link in self.links():
            if is_report_title(link.text) and (HAS_YEAR.search(link.text) or looks_like_detail(link.url)
                                              or is_attachment_url(link.url)):
                res.reports.append(link)
            elif NOTICE.search(link.text) or is_attachment_url(link.url):
                continue
            elif is_column_text(link.text) or is_column_url(link.url):
                res.columns.append(link)
            elif is_nav_text(link.text):
                res.nav.append(link)
        res.columns += [Link(u, "") for u in self.pagination()]
        res.columns += [Link(u, "") for u in self.subcolumns()]
        return res

    def subcolumns(self) -> list[str]:
        """Per-year / per-organisation child columns below this column's folder."""
        base = self.url.rsplit("/", 1)[0] + "/"
        out = []
        for link in self.links():
            if not link.url.startswith(base) or looks_like_detail(link.url):
                continue
            rest = link.url[len(base):]
            seg, _, fname = rest.partition("/")
            if seg and "/" not in fname and COLUMN_FILE.match(fname) and (
                    COLUMN_SEGMENT.match(seg) or SUBCOLUMN_SEGMENT.match(seg)):
                out.append(link.url)
        return out

    def attachments(self) -> list[Link]:
        return [link for link in self.links() if is_attachment_url(link.url)]

    def text_length(self) -> int:
        body = self.root.find(".//body")
        return len(tidy((body if body is not None else self.root).text_content()))

    def list_endpoints(self) -> list[str]:
        """Script-driven list endpoints announced by the page itself (none in the generic case)."""
        return []


class HanwebColumnPage(GenericPage):
    """Hanweb (大汉) jcms column: the list comes from /module/web/jpage/dataproxy.jsp as XML."""

    @classmethod
    def matches(cls, url: str, text: str) -> bool:
        return "dataproxy.jsp" in text and "jpage" in text

    def list_endpoints(self) -> list[str]:
        proxy = re.search(r"""proxyUrl\s*:\s*['"]([^'"]+)['"]""", self.text)
        col = re.search(r"""columnid\s*:\s*['"]?(\d+)""", self.text)
        if not (proxy and col):
            return []
        unit = re.search(r"""unitid\s*:\s*['"]?(\d+)""", self.text)
        per = re.search(r"""perPage\s*:\s*(\d+)""", self.text)
        q = {"columnid": col.group(1), "webid": "1"}
        if unit:
            q["unitid"] = unit.group(1)
        if per:
            q["perpage"] = per.group(1)
        return [urljoin(self.url, proxy.group(1)) + "?" + urlencode(q)]


PAGE_CLASSES: list[type[GenericPage]] = [HanwebColumnPage]


def page_for(url: str, text: str) -> GenericPage:
    for cls in PAGE_CLASSES:
        if cls.matches(url, text):
            return cls(url, text)
    return GenericPage(url, text)


# --- Hanweb dataproxy.jsp ------------------------------------------------------------------------
HANWEB_PER_PAGE = 60


def hanweb_page_url(endpoint: str, start: int, per: int | None = None) -> str:
    """The endpoint URL for records start..start+per-1 (1-based), keeping its other parameters."""
    parts = urlsplit(endpoint)
    q = dict(parse_qsl(parts.query, keep_blank_values=True))
    per = per or int(q.get("perpage") or HANWEB_PER_PAGE)
    q.update({"perpage": str(per), "startrecord": str(start), "endrecord": str(start + per - 1)})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(q), ""))


def hanweb_records(url: str, xml_text: str) -> tuple[list[Link], int | None]:
    """Links in the CDATA records of a dataproxy.jsp answer, and its <totalrecord>."""
    links = []
    for chunk in re.findall(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", xml_text, re.S):
        links += GenericPage(url, f"<html><body>{chunk}</body></html>").links()
    m = re.search(r"<totalrecord>\s*(\d+)\s*</totalrecord>", xml_text)
    return links, (int(m.group(1)) if m else None)

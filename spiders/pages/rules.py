"""The vocabulary of discovery: every title, link-text and URL rule as data and small predicates.

A new column token, notice wording or organisation suffix is one line here; page objects
(`generic`, `trs`, `hanweb`, …) only combine these rules.
"""
from __future__ import annotations

import html as htmlmod
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# A report title: 政府信息公开 + 年度报告/年报 (政府信息公开工作2020年度报告 included).
REPORT_TITLE = re.compile(r"政府信息公开.*?(年度报告|年报)")
# …but not notices about reports, format templates, nor explainers (解读, 图解, 一图读懂).
NOTICE = re.compile(r"关于|通知|格式|编制|印发|转发|做好|模板|范本|解读|征求意见|图解|一图|图说|图读|问答|答记者|视频|动漫|H5",
                    re.I)
HAS_YEAR = re.compile(r"(19|20)\d\d|[〇零一二][〇零一二三四五六七八九]{3}")
# A link whose whole text is a year (2024年, 2024年度, 2024): a year entry of a 年报 column.
YEAR_TEXT = re.compile(r"^((?:19|20)\d\d)(年度?)?(年报|报告)?$")
# Link text of a 年报 column (no year in it).
COLUMN_TEXT = re.compile(r"^(政府)?信息公开(工作)?(年度报告|年报)|^(政府信息公开)?(年度报告|年报)$|政务公开年报")
# A page that is (inside) a 年报 column: its title, column name or breadcrumb says so.
COLUMN_CONTEXT = re.compile(r"信息公开(工作)?(年度报告|年报)|公开年报|^年报$|年度报告$")
# Level / organisation sub-columns of a 年报 column whose paths carry no 年报 token.
LEVEL_TEXT = re.compile(r"^(省本级|市本级|区本级|县本级|本级|省级|市级|区级|县级|区县|县区|县（市、区）|县\(市、区\)|各区县|"
                        r"省直部门|市直部门|区直部门|县直部门|省直单位|市直单位|区直单位|县直单位|部门|政府部门|乡镇|街道|乡镇街道|"
                        r"镇街|乡镇（街道）|开发区|园区)(年报|年度报告)?$")
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
# Navigation into organisation sub-sites (政府信息公开 → 部门 → XX局 → 年报).
ORG_INDEX_TEXT = re.compile(r"^(部门|机构|单位|区县|县区|乡镇|街道|乡镇街道|镇街|市直部门|省直部门|区直部门|县直部门|政府部门|"
                            r"市政府部门|区政府部门|县政府部门|各部门)(政府)?(信息公开|政务公开)?(目录|导航|列表|平台)?$"
                            r"|^(部门|机构|单位)(政府)?(信息|政务)公开")
# An organisation's name as link text: short, ending in an agency suffix.
ORG_NAME = re.compile(r"^[\u4e00-\u9fff（）()]{2,18}(局|委员会|委|办公室|办|厅|署|院|中心|馆|站|所|街道|街道办事处|镇|乡|"
                      r"人民政府|政府|管委会|管理委员会|总队|支队)$")
# Query parameters naming an organisation (per-organisation disclosure pages: ?branch_id=…).
ORG_PARAMS = {"branch_id", "branchid", "deptid", "dept_id", "orgid", "org_id", "organid", "unitid", "unit_id",
              "siteid", "site_id", "bmid", "dwid"}
# Pagination query parameters.
PAGE_PARAMS = {"page", "pageno", "pagenum", "pageindex", "curpage", "currentpage", "p", "pn", "pagenow", "page_no",
               "pageno", "start", "startrecord"}
ATTACHMENT_EXT = re.compile(r"\.(pdf|docx?|wps)$", re.I)
DETAIL_URL = re.compile(r"/t\d{8}_\d+|/art_\d+_\d+|/content_\d+|/\d{4}/\d{1,2}/\d{1,2}/|/[0-9a-f]{32}\.s?html?$"
                        r"|/\d{6}/|/\d{17,}\.s?html?$|/post_\d+\.s?html?$", re.I)
WAP_TWIN = re.compile(r"_wap(\.s?html?)$", re.I)
BIG5_GATE = re.compile(r"^/gate/big5/[^/]+", re.I)
# Server-side modules a year link or form may point to.
MODULE_FILE = re.compile(r"\.(jsp|aspx?|php|do|action)$", re.I)
# Script-built pages: an empty list container or a loader script that writes links.
EMPTY_CONTAINER_HINT = re.compile(r"list|news|article|content|xxgk|nb|data", re.I)
DOM_WRITER = re.compile(r"\.innerHTML\s*[+]?=|document\.write\(|createElement\(\s*['\"]a['\"]|\.append\(|\.html\(|"
                        r"appendChild\(|insertAdjacentHTML")

# Thin pages that only point to attachments are not reports themselves.
THIN_PAGE_CHARS = 1500
# Work bounds for what a page can ask for.
MAX_FORM_OPTIONS = 40
MAX_SCRIPT_PAGES = 2000
FIRST_REPORT_YEAR = 2008   # 《政府信息公开条例》 took effect on 2008-05-01


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


def is_org_index_text(text: str | None) -> bool:
    t = tidy(text)
    return bool(t) and len(t) <= 16 and bool(ORG_INDEX_TEXT.search(t))


def is_org_name(text: str | None) -> bool:
    t = tidy(text)
    return bool(ORG_NAME.match(t)) and not NAV_SKIP.search(t)


def is_level_text(text: str | None) -> bool:
    return bool(LEVEL_TEXT.match(tidy(text)))


def year_of_text(text: str | None) -> int | None:
    m = YEAR_TEXT.match(tidy(text))
    return int(m.group(1)) if m else None


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


def org_param(url: str) -> str | None:
    """The organisation a per-organisation page is about (?branch_id=12 → 'branch_id=12')."""
    for k, v in parse_qsl(urlsplit(url).query):
        if k.lower() in ORG_PARAMS and v:
            return f"{k}={v}"
    return None


def canonical_url(url: str) -> str:
    """One URL per report: no fragment, no `_wap` mobile twin, no /gate/big5/ gateway, query sorted."""
    parts = urlsplit(url)
    path = BIG5_GATE.sub("", parts.path) or "/"
    path = WAP_TWIN.sub(r"\1", path)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, query, ""))


def with_query(url: str, **params: str | int) -> str:
    """`url` with the given query parameters set (others kept)."""
    parts = urlsplit(url)
    q = dict(parse_qsl(parts.query, keep_blank_values=True))
    q.update({k: str(v) for k, v in params.items()})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(q), ""))

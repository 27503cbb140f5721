"""Title, agency, year, publication date and the six sections, from the text and page metadata."""
from __future__ import annotations

import re

from harvester.report.document import Line
from harvester.report.normalize import squash, tidy
from harvester.report.templates import SECTION_HEADINGS, SECTION_KEYS

_TITLE = re.compile(r"^(?P<t>[^,。;:《》()!?、]{0,40}?政府信息公开[^,。;:《》()]{0,12}?(?:年度报告|年报))")
_TITLE_WRAPPED = re.compile(r"^[^,。;:《》()]{0,40}?政府信息公开[^,。;:《》()]{0,8}$")
_TITLE_IN_SENTENCE = re.compile(r"([\u4e00-\u9fff]{2,40}(?:20\d\d|199\d)年度?政府信息公开(?:工作)?(?:年度报告|年报))")
_TITLE_LEAD = re.compile(r"^.*?(?:特向社会公布|向社会公布|现将|现予|公布|发布|印发)")
_LEADING_LABEL = re.compile(r"^(正文|全文|标题)\s*[::]?\s*")
_METADATA_LINE = re.compile(r"^(标题|索引号|发布机构|发文日期|主题分类|来源|文号|栏目|原文链接|本地目录|发布时间|信息来源)")
# Statistics years: the record's schema starts at 1990 (the regulations date from 2008).
_YEAR = re.compile(r"(?<!\d)(20\d\d|199\d)\s*年度?")
_PERIOD = re.compile(r"统计(?:期限|周期|时限|时间)?.{0,8}?(?<!\d)(20\d\d)\s*年\s*1\s*月\s*1\s*日")
_DATE = r"(20\d\d|19\d\d)\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})"
_PUBLISHED = re.compile(r"(?:发文日期|发布时间|发布日期|公开日期|成文日期|生成日期|日期)\s*[::]?\s*\|?\s*" + _DATE)
_AGENCY_FIELD = re.compile(r"(?:发布机构|信息来源|来源|单位)\s*[::]\s*\|?\s*([^\s|:]{2,30})")
_TITLE_SUFFIX = re.compile(r"[-_|—]+[^-_|—]{0,30}$")


def line_text(line: Line) -> str:
    return " ".join(c for c in line if c)


def _meta_title(meta: dict[str, str], key: str) -> str | None:
    """A report title from page metadata (ArticleTitle; <title> without its " - site" suffix)."""
    title = tidy(meta.get(key) or "")
    if key == "page_title":
        title = _TITLE_SUFFIX.sub("", title) or title
    return title if ("政府信息公开" in title or "年度报告" in title or "年报" in title) else None


def find_title(lines: list[Line], meta: dict[str, str]) -> str | None:
    """The report's own heading in the body; the page's title metadata when the body prints only a
    bare heading ("政府信息公开工作年度报告", no agency or no year) or none at all."""
    body = _body_title(lines)
    if body is not None and _complete(body):
        return body
    title = _meta_title(meta, "title") or _meta_title(meta, "page_title")
    if title and (body is None or _complete(title)):
        return title
    if body is not None:
        return body
    for line in lines[:10]:  # "…特向社会公布新余市政务服务中心2021年政府信息公开工作年度报告。"
        m = _TITLE_IN_SENTENCE.search(tidy(line_text(line)))
        if m:
            return _TITLE_LEAD.sub("", m.group(1))
    for line in lines[:15]:  # an archiver's "标题: …" header
        text = tidy(line_text(line))
        if text.startswith("标题"):
            return text.split(":", 1)[-1].strip() or None
    return None


def _complete(title: str) -> bool:
    """A title that names its agency and its year (not a bare "政府信息公开工作年度报告")."""
    return bool(agency_from_title(title) and _YEAR.search(title))


def _body_title(lines: list[Line]) -> str | None:
    for i, line in enumerate(lines[:60]):
        if len(line) > 1 or not line[0] or "开" not in line[0]:  # a title names 政府信息公开
            continue
        text = tidy(line_text(line))
        if _METADATA_LINE.match(text):
            continue
        if _TITLE_WRAPPED.match(text) and i + 1 < len(lines):
            nxt = tidy(line_text(lines[i + 1]))
            if nxt.startswith(("年度报告", "年报", "工作年度报告")):
                text = text + nxt
        m = _TITLE.match(text)
        if not m:
            continue
        title = _LEADING_LABEL.sub("", m.group("t").strip())  # "正文2024年…"
        if re.match(r"^(20\d\d|19\d\d)\s*年", title) and i > 0:
            prev = tidy(line_text(lines[i - 1]))
            if (2 <= len(prev) <= 30 and re.fullmatch(r"[\u4e00-\u9fff()]+", prev) and "报告" not in prev
                    and prev not in ("正文", "全文")):
                title = prev + title  # "洪泽区人民政府" / "2023 年政府信息公开工作年度报告"
        return tidy(title)
    return None


def agency_from_title(title: str) -> str | None:
    """The words before the year or before 政府信息公开, whichever comes first."""
    t = re.sub(r"^(20\d\d|19\d\d)\s*年度?", "", title)
    cut = len(t)
    for pat in (_YEAR, re.compile("政府信息公开"), re.compile("政务公开")):
        m = pat.search(t)
        if m:
            cut = min(cut, m.start())
    agency = t[:cut].strip(" -_:")
    agency = re.sub(r"(关于)$", "", agency)
    return agency or None


def find_agency(title: str | None, lines: list[Line], meta: dict[str, str]) -> str | None:
    if title and (agency := agency_from_title(title)):
        return agency
    if meta.get("agency"):
        return tidy(meta["agency"])
    for line in lines[:15]:
        m = _AGENCY_FIELD.search(line_text(line))
        if m:
            return m.group(1)
    return None


def find_year(title: str | None, lines: list[Line]) -> int | None:
    """The statistics period: the title's year, else 统计期限自YYYY年1月1日, else the first year."""
    if title and (m := _YEAR.search(title)):
        return int(m.group(1))
    head = " ".join(line_text(line) for line in lines[:80])
    if m := _PERIOD.search(head):
        return int(m.group(1))
    for line in lines[:40]:
        text = line_text(line)
        if _METADATA_LINE.match(text):
            continue
        if m := _YEAR.search(text):
            return int(m.group(1))
    return None


def _date(m: re.Match[str]) -> str | None:
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if 1 <= mo <= 12 and 1 <= d <= 31:
        return f"{y:04d}-{mo:02d}-{d:02d}"
    return None


def find_published(lines: list[Line], meta: dict[str, str]) -> str | None:
    if meta.get("published") and (m := re.search(_DATE, meta["published"])):
        return _date(m)
    for line in lines[:40]:
        if m := _PUBLISHED.search(line_text(line)):
            return _date(m)
    return None


_HEADING_NUMBERS = frozenset("一二三四五六")


def split_sections(lines: list[Line]) -> dict[str, str | None]:
    """Plain text of the six parts 一…六, found by their headings in order."""
    starts: dict[str, int] = {}
    order = 0
    for i, line in enumerate(lines):
        if len(line) != 1 or not line[0] or line[0].lstrip()[:1] not in _HEADING_NUMBERS:
            continue
        key = squash(line[0][:120])[:40]
        for k in SECTION_KEYS[order:]:
            if SECTION_HEADINGS[k].match(key):
                starts[k] = i
                order = SECTION_KEYS.index(k) + 1
                break
    out: dict[str, str | None] = {k: None for k in SECTION_KEYS}
    marks = sorted((i, k) for k, i in starts.items())
    for n, (i, k) in enumerate(marks):
        end = marks[n + 1][0] if n + 1 < len(marks) else len(lines)
        out[k] = "\n".join(line_text(line) for line in lines[i + 1:end]).strip() or None
    return out

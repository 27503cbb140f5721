"""Every layout the parser claims to read, rendered from a gold record of the corpus.

`render(doc, layout)` → a `Rendered` document (bytes + file name + what the parser may not
recover from it). Pure: no I/O beyond the corpus file already loaded, no randomness. A new
layout class seen in the wild is one renderer here, then proven on every report of the corpus
(tests/test_parse_layouts.py), not on one file.

The layouts, each after real documents (see README, "The parser"):
- cms_html: a CMS article page, tables with rowspan/colspan, the body opening with a bare
  "政府信息公开工作年度报告" heading and signed by an office, the full title only in
  <meta name="ArticleTitle"> and <title>;
- word_paste: Word pasted into a CMS editor: every label split into spans, MsoNormal paragraphs;
- pipes / tabs / cell_per_line: text exports (Markdown pipes, TSV, one cell per line);
- glued: an archiver's textContent dump: the whole body on one line, cells glued together;
- ocr_markdown: OCR/LLM Markdown: table 三 as one small table per row under placeholder headers
  (数据1…数据7), an empty "申请人情况" header table, the header row repeated between rows;
- pdf_markdown: PDF-to-Markdown: labels printed away from their numbers, and one cell of table 二
  floating above the table as an annotation ("22 (其中修订16件)"), its row shifted left;
- traditional / fullwidth: the pipes export in Traditional script / with full-width digits.
"""
from __future__ import annotations

import dataclasses
import html
import re
from typing import Any, Callable

from harvester.sim.corpus import (
    T2_2019, T2_2021, T3_GROUPS, T3_OTHER_2019, T3_OTHER_2021, CorpusDoc, body_html, fmt, narrative_blocks,
    to_traditional,
)

T3_HEADER = [["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况"],
             ["自然人", "法人或其他组织", "总计"],
             ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"]]
T4_HEADER = [["行政复议", "行政诉讼"],
             ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计", "未经复议直接起诉", "复议后起诉"],
             ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"] * 2]
EMPTY = "/"  # how text exports print an empty cell where a position must be kept


@dataclasses.dataclass
class Rendered:
    data: bytes
    name: str
    # fields (dotted gold paths) the layout destroyed on purpose: the parser must give null there
    expect_null: frozenset[str] = frozenset()
    # glued digits: a value may be null (ambiguous split, warned) but never wrong
    lenient: bool = False


@dataclasses.dataclass
class Table:
    """A statutory table as rows of cells: labels (one or more text cells) then values."""
    which: str  # "二" | "三" | "四"
    header: list[list[str]]
    rows: list[tuple[list[str], list[Any], str | None]]  # (label cells, values, gold path of the row)


# ---------------------------------------------------------------- gold → tables
def table2(gold: dict[str, Any]) -> Table | None:
    data = gold.get("active_disclosure")
    if not data:
        return None
    rows: list[tuple[list[str], list[Any], str | None]] = []
    for head, labels, items, fields in (T2_2021 if gold.get("template") == "2021" else T2_2019):
        rows.append(([head], [], None))
        rows.append((list(labels), [], None))
        for key, label in items:
            row = data.get(key) or {}
            rows.append(([label], [row.get(f) for f in fields], f"active_disclosure.{key}"))
    return Table("二", [], rows)


def t3_groups(gold: dict[str, Any]) -> list[tuple[str | None, list[tuple[str, str]]]]:
    rows = (gold.get("requests") or {}).get("rows") or {}
    other = T3_OTHER_2019 if ("other" in rows or (gold.get("template") != "2021" and "other_misc" not in rows)) \
        else T3_OTHER_2021
    return T3_GROUPS + [other, (None, [("total", "（七）总计")])]


def table3(gold: dict[str, Any]) -> Table | None:
    data = gold.get("requests")
    if not data:
        return None
    rows_gold = data.get("rows") or {}
    rows: list[tuple[list[str], list[Any], str | None]] = []

    def add(labels: list[str], key: str) -> None:
        rows.append((labels, list(rows_gold.get(key) or [None] * 7), f"requests.rows.{key}"))

    add(["一、本年新收政府信息公开申请数量"], "new")
    add(["二、上年结转政府信息公开申请数量"], "carried_over")
    first = True
    for head, items in t3_groups(gold):
        for i, (key, label) in enumerate(items):
            labels = (["三、本年度办理结果"] if first else []) + ([head] if head and i == 0 else []) + [label]
            first = False
            add(labels, key)
    add(["四、结转下年度继续办理"], "carried_forward")
    return Table("三", [list(r) for r in T3_HEADER], rows)


def table4(gold: dict[str, Any]) -> Table | None:
    data = gold.get("review_litigation")
    if not data:
        return None
    values = [v for g in ("review", "litigation_direct", "litigation_after_review") for v in (data.get(g) or [None] * 5)]
    return Table("四", [list(r) for r in T4_HEADER], [([], values, "review_litigation")])


def tables_of(gold: dict[str, Any]) -> dict[str, Table | None]:
    return {"二": table2(gold), "三": table3(gold), "四": table4(gold)}


def _which(table_html: str) -> str:
    """Which table an HTML table of narrative_blocks is (in either script)."""
    return "二" if "第二十" in table_html else "三" if "申请人" in table_html or "申請人" in table_html else "四"


def blocks(doc: CorpusDoc) -> list[tuple[str, Any]]:
    """The document as ("title"|"meta"|"h"|"p", text) and ("table", Table) blocks, in order."""
    gold = doc.gold
    tables = tables_of(gold)
    out: list[tuple[str, Any]] = []
    if gold.get("title"):
        out.append(("title", gold["title"]))
    if gold.get("published"):
        out.append(("meta", f"发布日期：{gold['published']}"))
    for kind, text in narrative_blocks(doc):
        out.append(("table", tables[_which(text)]) if kind == "table" else (kind, text))
    return out


# ---------------------------------------------------------------- cells → text
def cell(value: Any) -> str:
    return EMPTY if value is None else fmt(value)


def text_rows(table: Table) -> list[list[str]]:
    return table.header + [labels + [cell(v) for v in values] for labels, values, _ in table.rows]


def render_text(doc: CorpusDoc, row: Callable[[list[str]], list[str]], para: Callable[[str], str] = lambda t: t,
                table: Callable[[Table], list[str]] | None = None) -> str:
    lines: list[str] = []
    for kind, item in blocks(doc):
        if kind != "table":
            lines.append(para(item))
        elif table is not None:
            lines.extend(table(item))
        else:
            for cells in text_rows(item):
                lines.extend(row(cells))
    return "\n".join(lines) + "\n"


def _script(doc: CorpusDoc, text: str) -> str:
    """narrative_blocks already gives a Traditional report's prose in its script: the tables too."""
    return to_traditional(text) if doc.gold.get("script") == "traditional" else text


def pipes(doc: CorpusDoc) -> Rendered:
    text = render_text(doc, lambda cells: ["| " + " | ".join(cells) + " |"])
    return Rendered(_script(doc, text).encode(), doc.name + ".md")


def tabs(doc: CorpusDoc) -> Rendered:
    text = render_text(doc, lambda cells: ["\t".join(cells)])
    return Rendered(_script(doc, text).encode(), doc.name + ".txt")


def cell_per_line(doc: CorpusDoc) -> Rendered:
    text = render_text(doc, lambda cells: cells)
    return Rendered(_script(doc, text).encode(), doc.name + ".txt")


def glued(doc: CorpusDoc) -> Rendered:
    """textContent of the whole article: no separator between paragraphs or cells."""
    parts: list[str] = []
    for kind, item in blocks(doc):
        if kind == "table":
            parts.append("".join(c if c != EMPTY else "" for cells in text_rows(item) for c in cells))
        elif kind in ("title", "meta"):
            parts.append(item + "\n")
        else:
            parts.append(item)
    return Rendered(_script(doc, "".join(parts) + "\n").encode("utf-8"), doc.name + ".txt", lenient=True)


def traditional(doc: CorpusDoc) -> Rendered:
    text = render_text(doc, lambda cells: ["| " + " | ".join(cells) + " |"])
    return Rendered(to_traditional(text).encode(), doc.name + ".md")


_FULLWIDTH = str.maketrans("0123456789.()-/:", "０１２３４５６７８９．（）－／：")


def fullwidth(doc: CorpusDoc) -> Rendered:
    text = render_text(doc, lambda cells: ["| " + " | ".join(c.translate(_FULLWIDTH) for c in cells) + " |"],
                       para=lambda t: t.translate(_FULLWIDTH))
    return Rendered(_script(doc, text).encode(), doc.name + ".md")


# ---------------------------------------------------------------- OCR / LLM Markdown
def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out + [""]


def ocr_markdown(doc: CorpusDoc) -> Rendered:
    """Table 三 exploded: one table per row under placeholder headers 项目 | 数据1 … 数据7, an empty
    申请人情况 table first, the column names repeated as a row every few rows."""
    placeholders = ["项目"] + [f"数据{i}" for i in range(1, 8)]
    columns = ["", "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]

    def table(t: Table) -> list[str]:
        if t.which != "三":
            rows = text_rows(t)
            return _md_table(["项目"] + [f"数据{i}" for i in range(1, max(len(r) for r in rows))], rows)
        out = _md_table(["申请人情况", "", "", "", "", "", "", ""], [])
        for n, (labels, values, _) in enumerate(t.rows):
            rows = [["".join(labels)] + [cell(v) for v in values]]
            if n and n % 6 == 0:
                rows.insert(0, columns)  # the header row repeated between rows
            out += _md_table(placeholders, rows)
        return out

    text = render_text(doc, lambda cells: [], para=lambda t: f"# {t}" if t == doc.gold.get("title") else t,
                       table=table)
    return Rendered(_script(doc, text).encode(), doc.name + ".md")


# ---------------------------------------------------------------- PDF → Markdown
_ANNOTATED = {"2021": ("normative_documents", 1, "repealed"), "2019": ("normative_documents", 1, "published")}


def pdf_markdown(doc: CorpusDoc) -> Rendered:
    """Labels detached from their numbers (table 三's 不予公开 group: labels first, then a block of
    unlabelled rows), and one cell of table 二 floating above the table with a remark, its row
    printed one cell short (the parser must leave that row null, not shift it)."""
    expect_null: set[str] = set()
    template = doc.gold.get("template")

    def table(t: Table) -> list[str]:
        out: list[str] = []
        if t.which == "二":
            key, index, field = _ANNOTATED.get(template, ("", 0, ""))
            rows = []
            for labels, values, path in t.rows:
                cells = labels + [cell(v) for v in values]
                if path == f"active_disclosure.{key}" and values[index] is not None:
                    out.append(f"{cell(values[index])} (其中修订{cell(values[index])}件)")
                    cells = labels + [cell(v) for i, v in enumerate(values) if i != index]
                    expect_null.update(f"{path}.{f}" for f in _fields(t, path))
                rows.append(cells)
            return out + ["| " + " | ".join(r) + " |" for r in rows]
        if t.which == "三":
            out += ["| " + " | ".join(r) + " |" for r in t.header]
            detached: list[tuple[list[str], list[Any], str | None]] = []
            for labels, values, path in t.rows:
                if path and path.split(".")[-1].startswith("denied_") and not labels[0].startswith("（"):
                    detached.append((labels, values, path))
                    continue
                if detached:
                    out += [labels_[-1] for labels_, _, _ in detached]
                    out += ["| " + " | ".join(cell(v) for v in vs) + " |" for _, vs, _ in detached]
                    detached = []
                out.append("| " + " | ".join(labels + [cell(v) for v in values]) + " |")
            return out
        return ["| " + " | ".join(r) + " |" for r in text_rows(t)]

    text = render_text(doc, lambda cells: [], table=table)
    return Rendered(_script(doc, text).encode(), doc.name + ".md", expect_null=frozenset(expect_null))


def _fields(t: Table, path: str) -> list[str]:
    groups = T2_2021 if any("本年制发件数" in labels for labels, _, _ in t.rows) else T2_2019
    key = path.rsplit(".", 1)[-1]
    return next(fields for _, _, items, fields in groups for k, _ in items if k == key)


# ---------------------------------------------------------------- HTML
def _page(head: str, body: str) -> bytes:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8">{head}</head><body>'
            f'<div class="main"><div class="trs_editor_view TRS_UEDITOR">{body}</div></div>'
            f"<div class=\"footer\">主办单位：某某人民政府办公室 ICP备案号</div></body></html>").encode("utf-8")


def cms_html(doc: CorpusDoc) -> Rendered:
    """The body opens with a bare heading and is signed by an office; the full title is only in
    ArticleTitle and <title> (with the site's name after it)."""
    gold = doc.gold
    head = ""
    body = body_html(doc)
    if gold.get("title"):
        title = html.escape(gold["title"])
        head += f'<meta name="ArticleTitle" content="{title}"><title>{title}_某某人民政府门户网站</title>'
        bare = "政府信息公開工作年度報告" if gold.get("script") == "traditional" else "政府信息公开工作年度报告"
        office = html.escape(f"{gold['agency']}办公室") if gold.get("agency") else "办公室"
        body = (f'<p style="text-align:center"><strong>{bare}</strong></p>{body}'
                f'<p style="text-align:right">{_script(doc, office)}</p>')
    if gold.get("published"):
        head += f'<meta name="PubDate" content="{gold["published"]} 09:30">'
    return Rendered(_page(head, body), doc.name + ".html")


_TD = re.compile(r"<td([^>]*)>([^<]*)</td>")


def _spans(text: str) -> str:
    """Word's glyph runs: a span per two characters, alternating fonts, NBSP padding."""
    runs = [text[i:i + 2] for i in range(0, len(text), 2)] or [""]
    return "".join(f'<span style="font-family:{"宋体" if n % 2 else "Times New Roman"}">{html.escape(r)}</span>'
                   for n, r in enumerate(runs))


def word_paste(doc: CorpusDoc) -> Rendered:
    """Word pasted into the editor: labels split into spans, MsoNormal paragraphs, the title in the body."""
    body = _TD.sub(lambda m: f'<td{m.group(1)} valign="center"><p class="MsoNormal" align="center">'
                             f"{_spans(html.unescape(m.group(2)))}<o:p></o:p></p></td>", body_html(doc))
    lead = ""
    if doc.gold.get("title"):
        lead = f'<p class="MsoNormal" align="center"><b>{_spans(_script(doc, doc.gold["title"]))}</b></p>'
    if doc.gold.get("published"):
        lead += f'<p class="MsoNormal">发布日期：{doc.gold["published"]}&nbsp;</p>'
    return Rendered(_page("", lead + body), doc.name + ".html")


LAYOUTS: dict[str, Callable[[CorpusDoc], Rendered]] = {
    "cms_html": cms_html, "word_paste": word_paste, "pipes": pipes, "tabs": tabs,
    "cell_per_line": cell_per_line, "glued": glued, "ocr_markdown": ocr_markdown,
    "pdf_markdown": pdf_markdown, "traditional": traditional, "fullwidth": fullwidth,
}


def render(doc: CorpusDoc, layout: str) -> Rendered:
    return LAYOUTS[layout](doc)


def expected(doc: CorpusDoc, layout: str, rendered: Rendered) -> dict[str, Any]:
    """The gold record this rendering must parse to: gold, with the destroyed fields null and the
    script the layout prints in."""
    import copy

    gold = copy.deepcopy(doc.gold)
    for path in rendered.expect_null:
        *parents, last = path.split(".")
        node = gold
        for p in parents:
            node = node[p]
        node[last] = None
    if layout == "traditional":
        gold["script"] = "traditional"
    if rendered.lenient:
        gold["lenient"] = ["active_disclosure", "requests", "review_litigation"]
    return gold

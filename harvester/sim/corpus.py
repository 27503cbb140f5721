"""The test corpus as CMS content: gold numbers → official-template <table> markup, the document's
prose → <p> paragraphs, a DOCX rendition. Pure functions; no serving here."""
from __future__ import annotations

import dataclasses
import functools
import html
import io
import json
import pathlib
import re
from typing import Any

CORPUS_DIR = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "corpus"


@dataclasses.dataclass
class CorpusDoc:
    name: str                 # file name without extension, e.g. "000_71de1068338dadc3", "hongze-2023"
    path: pathlib.Path        # the document
    gold_path: pathlib.Path
    gold: dict[str, Any]

    @property
    def ext(self) -> str:
        return self.path.suffix.lower()

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()


@functools.lru_cache(maxsize=4)
def _load(corpus_dir: str) -> dict[str, CorpusDoc]:
    docs = {}
    for gold in sorted(pathlib.Path(corpus_dir).glob("*/*.gold.json")):
        stem = gold.name[: -len(".gold.json")]
        for ext in (".txt", ".md", ".html", ".pdf"):
            p = gold.with_name(stem + ext)
            if p.exists():
                docs[stem] = CorpusDoc(stem, p, gold, json.loads(gold.read_text(encoding="utf-8")))
                break
    return docs


def load_corpus(corpus_dir: str | pathlib.Path = CORPUS_DIR) -> dict[str, CorpusDoc]:
    return _load(str(corpus_dir))


# --- numbers ------------------------------------------------------------------------------------

def fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return ("%.6f" % v).rstrip("0").rstrip(".")
    return str(v)


def _cells(values, n=None, attrs=""):
    vals = list(values) + [None] * ((n or 0) - len(values))
    return "".join(f"<td{attrs}>{html.escape(fmt(v))}</td>" for v in vals)


# --- table 二 -------------------------------------------------------------------------------------

T2_2019 = [
    ("第二十条第（一）项", ["信息内容", "本年新制作数量", "本年新公开数量", "对外公开总数量"],
     [("regulations", "规章"), ("normative_documents", "规范性文件")], ["made", "published", "total_published"]),
    ("第二十条第（五）项", ["信息内容", "上一年项目数量", "本年增/减", "处理决定数量"],
     [("licensing", "行政许可"), ("other_services", "其他对外管理服务事项")], ["previous_items", "change", "decisions"]),
    ("第二十条第（六）项", ["信息内容", "上一年项目数量", "本年增/减", "处理决定数量"],
     [("penalties", "行政处罚"), ("enforcement", "行政强制")], ["previous_items", "change", "decisions"]),
    ("第二十条第（八）项", ["信息内容", "上一年项目数量", "本年增/减"],
     [("fees", "行政事业性收费")], ["previous_items", "change"]),
    ("第二十条第（九）项", ["信息内容", "采购项目数量", "采购总金额"],
     [("procurement", "政府集中采购")], ["items", "amount_wan_yuan"]),
]
T2_2021 = [
    ("第二十条第（一）项", ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"],
     [("regulations", "规章"), ("normative_documents", "行政规范性文件")], ["issued", "repealed", "in_force"]),
    ("第二十条第（五）项", ["信息内容", "本年处理决定数量"], [("licensing", "行政许可")], ["decisions"]),
    ("第二十条第（六）项", ["信息内容", "本年处理决定数量"],
     [("penalties", "行政处罚"), ("enforcement", "行政强制")], ["decisions"]),
    ("第二十条第（八）项", ["信息内容", "本年收费金额（单位：万元）"], [("fees", "行政事业性收费")], ["amount_wan_yuan"]),
]


def table2(data: dict | None, template: str) -> str:
    if not data:
        return ""
    groups = T2_2021 if template == "2021" else T2_2019
    out = ['<table class="MsoNormalTable" border="1" cellspacing="0" cellpadding="0" width="100%">', "<tbody>"]
    for head, labels, rows, fields in groups:
        out.append(f'<tr><td colspan="4" style="text-align:center">{head}</td></tr>')
        span_last = 4 - len(labels) + 1
        out.append("<tr>" + "".join(f"<td>{l}</td>" for l in labels[:-1])
                   + f'<td colspan="{span_last}">{labels[-1]}</td></tr>' if span_last > 1 else
                   "<tr>" + "".join(f"<td>{l}</td>" for l in labels) + "</tr>")
        for key, label in rows:
            row = data.get(key) or {}
            vals = [row.get(f) for f in fields]
            if key == "procurement" and vals[1] is not None:
                vals[1] = fmt(vals[1]) + "万元"
            tds = "".join(f"<td>{html.escape(fmt(v))}</td>" for v in vals[:-1])
            last = html.escape(fmt(vals[-1]))
            tds += f'<td colspan="{span_last}">{last}</td>' if span_last > 1 else f"<td>{last}</td>"
            out.append(f"<tr><td>{label}</td>{tds}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


# --- table 三 -------------------------------------------------------------------------------------

T3_GROUPS = [
    (None, [("granted", "（一）予以公开"),
            ("partly_granted", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）")]),
    ("（三）不予公开", [("denied_state_secret", "1.属于国家秘密"), ("denied_prohibited_by_law", "2.其他法律行政法规禁止公开"),
                   ("denied_security_stability", "3.危及“三安全一稳定”"), ("denied_third_party_rights", "4.保护第三方合法权益"),
                   ("denied_internal_affairs", "5.属于三类内部事务信息"), ("denied_process_information", "6.属于四类过程性信息"),
                   ("denied_enforcement_files", "7.属于行政执法案卷"), ("denied_administrative_query", "8.属于行政查询事项")]),
    ("（四）无法提供", [("unavailable_not_held", "1.本机关不掌握相关政府信息"),
                   ("unavailable_needs_creation", "2.没有现成信息需要另行制作"),
                   ("unavailable_unclear", "3.补正后申请内容仍不明确")]),
    ("（五）不予处理", [("not_processed_petition", "1.信访举报投诉类申请"), ("not_processed_duplicate", "2.重复申请"),
                   ("not_processed_publication", "3.要求提供公开出版物"), ("not_processed_excessive", "4.无正当理由大量反复申请"),
                   ("not_processed_confirm", "5.要求行政机关确认或重新出具已获取信息")]),
]
T3_OTHER_2019 = (None, [("other", "（六）其他处理")])
T3_OTHER_2021 = ("（六）其他处理", [
    ("other_no_correction", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
    ("other_fee_unpaid", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
    ("other_misc", "3.其他")])


def table3(data: dict | None, template: str) -> str:
    if not data:
        return ""
    rows = data.get("rows") or {}
    # the rows the document has decide (a 2021 report may still print the single 2019 其他处理 row)
    other = T3_OTHER_2019 if ("other" in rows or (template != "2021" and "other_misc" not in rows)) else T3_OTHER_2021
    groups = T3_GROUPS + [other, (None, [("total", "（七）总计")])]
    n_results = sum(len(g[1]) for g in groups)
    v = lambda key: _cells(rows.get(key) or [], 7)  # noqa: E731
    out = ['<table class="MsoNormalTable" border="1" cellspacing="0" cellpadding="0" width="100%">', "<tbody>",
           '<tr><td colspan="3" rowspan="3">（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）</td>'
           '<td colspan="7">申请人情况</td></tr>',
           '<tr><td rowspan="2">自然人</td><td colspan="5">法人或其他组织</td><td rowspan="2">总计</td></tr>',
           "<tr><td>商业企业</td><td>科研机构</td><td>社会公益组织</td><td>法律服务机构</td><td>其他</td></tr>",
           f'<tr><td colspan="3">一、本年新收政府信息公开申请数量</td>{v("new")}</tr>',
           f'<tr><td colspan="3">二、上年结转政府信息公开申请数量</td>{v("carried_over")}</tr>']
    first = True
    for head, items in groups:
        for i, (key, label) in enumerate(items):
            lead = f'<td rowspan="{n_results}">三、本年度办理结果</td>' if first else ""
            first = False
            if head is None:
                out.append(f'<tr>{lead}<td colspan="2">{label}</td>{v(key)}</tr>')
            elif i == 0:
                out.append(f'<tr>{lead}<td rowspan="{len(items)}">{head}</td><td>{label}</td>{v(key)}</tr>')
            else:
                out.append(f"<tr><td>{label}</td>{v(key)}</tr>")
    out.append(f'<tr><td colspan="3">四、结转下年度继续办理</td>{v("carried_forward")}</tr>')
    out.append("</tbody></table>")
    return "\n".join(out)


# --- table 四 -------------------------------------------------------------------------------------

def table4(data: dict | None) -> str:
    if not data:
        return ""
    outcomes = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    vals = []
    for key in ("review", "litigation_direct", "litigation_after_review"):
        vals += list(data.get(key) or []) + [None] * (5 - len(data.get(key) or []))
    return "\n".join([
        '<table class="MsoNormalTable" border="1" cellspacing="0" cellpadding="0" width="100%">', "<tbody>",
        '<tr><td colspan="5">行政复议</td><td colspan="10">行政诉讼</td></tr>',
        "<tr>" + "".join(f'<td rowspan="2">{o}</td>' for o in outcomes)
        + '<td colspan="5">未经复议直接起诉</td><td colspan="5">复议后起诉</td></tr>',
        "<tr>" + "".join(f"<td>{o}</td>" for o in outcomes * 2) + "</tr>",
        "<tr>" + _cells(vals, 15) + "</tr>",
        "</tbody></table>"])


# --- narrative ------------------------------------------------------------------------------------

_HEAD = re.compile(r"[一二三四五六七八九十]、")
_TABLE_SECTIONS = [  # (which table, pattern recognising its section heading)
    ("二", re.compile(r"^[一二三四五六]、\s*主动公开政府信息(?:的)?情况")),
    ("三", re.compile(r"^[一二三四五六]、\s*收到和处理政府信息公开申请(?:的)?情况")),
    ("四", re.compile(r"^[一二三四五六]、\s*[^。，]{0,12}(?:行政复议|行政法复议)[^。，]{0,16}(?:情况)")),
]
_INLINE_HEAD = re.compile(r"(?=[一二三四五六]、(?:总体情况|主动公开政府信息|收到和处理|政府信息公开行政复议|因政府信息公开"
                          r"|存在的主要问题|其他需要报告))")


def _doc_lines(doc: CorpusDoc) -> list[str]:
    if doc.ext == ".html":
        import lxml.html
        root = lxml.html.fromstring(doc.data)
        for bad in root.xpath("//script|//style|//table"):
            bad.drop_tree()
        lines = [l.strip() for l in root.text_content().split("\n") if l.strip()]
        start = next((i for i, l in enumerate(lines) if l.startswith("根据") or l.startswith("一、")), 0)
        return lines[start:]
    text = _pdf_text(doc.path) if doc.ext == ".pdf" else doc.path.read_text(encoding="utf-8", errors="replace")
    if doc.ext == ".md":
        paras = []
        for block in re.split(r"\n\s*\n", text):
            ls = [l.strip() for l in block.split("\n") if l.strip() and "|" not in l and not l.startswith("#")]
            if ls:
                paras.append("".join(ls).replace("**", ""))
        return paras
    lines = [l.strip() for l in text.split("\n")]
    if "正文 ====" in text:  # an archiver's dump: header lines, then the body
        lines = lines[next(i for i, l in enumerate(lines) if "正文 ====" in l) + 1:]
    out = []
    for l in lines:
        if not l or "|" in l:
            continue
        out += [p.strip() for p in _INLINE_HEAD.split(l) if p.strip()] if len(l) > 400 else [l]
    return out


def _pdf_text(path: pathlib.Path) -> str:
    """The text layer of a PDF report (its prose; the tables come from the gold record)."""
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def narrative_blocks(doc: CorpusDoc) -> list[tuple[str, str]]:
    """[(kind, text)] with kind "h" (section heading), "p" (paragraph) or "table" (the HTML of a
    table, placed after its section heading). Table sections keep only their heading (their body
    in the source is the table itself, as text)."""
    g = doc.gold
    tables = {"二": table2(g.get("active_disclosure"), g.get("template")),
              "三": table3(g.get("requests"), g.get("template")),
              "四": table4(g.get("review_litigation"))}
    title = g.get("title") or ""
    blocks: list[tuple[str, str]] = []
    in_table_section = False
    placed = set()
    for line in _doc_lines(doc):
        if title and line.replace(" ", "") == title.replace(" ", ""):
            continue
        which = next((t for t, rx in _TABLE_SECTIONS if rx.match(line) and t not in placed), None)
        if which:
            m = re.match(r"^[一二三四五六]、[^。，|0-9]*?情况", line)
            blocks.append(("h", m.group(0) if m else line[:30]))
            if tables[which]:
                blocks.append(("table", tables[which]))
            placed.add(which)
            in_table_section = True
            continue
        if _HEAD.match(line) and len(line) < 40:
            in_table_section = False
            blocks.append(("h", line))
            continue
        if in_table_section:
            # prose inside a table section survives only if it reads like prose
            digits = sum(c.isdigit() for c in line)
            if len(line) < 40 or digits > len(line) * 0.2 or "第二十条" in line or "申请人情况" in line:
                continue
        blocks.append(("p", line))
    defaults = {"二": "二、主动公开政府信息情况", "三": "三、收到和处理政府信息公开申请情况",
                "四": "四、政府信息公开行政复议、行政诉讼情况"}
    for which in ("二", "三", "四"):
        if which not in placed and tables[which]:
            blocks += [("h", defaults[which]), ("table", tables[which])]
    if g.get("script") == "traditional":
        blocks = [(k, to_traditional(t)) for k, t in blocks]
    return blocks


def to_traditional(text: str) -> str:
    try:
        import opencc
    except ImportError:  # the page stays Simplified; the gold's `script` then no longer holds
        return text
    return _s2t()(text)


@functools.lru_cache(maxsize=1)
def _s2t():
    import opencc
    return opencc.OpenCC("s2t").convert


def body_html(doc: CorpusDoc, text_override: str | None = None) -> str:
    """The article body: paragraphs and tables, as a CMS editor would save them."""
    parts = []
    for kind, text in narrative_blocks(doc):
        if kind == "table":
            parts.append(text)
        elif kind == "h":
            parts.append(f'<p style="text-indent:2em"><strong>{html.escape(text)}</strong></p>')
        else:
            parts.append(f'<p style="text-indent:2em">{html.escape(text)}</p>')
    if text_override:
        parts.append(f'<p style="text-indent:2em">{html.escape(text_override)}</p>')
    return "\n".join(parts)


def docx_bytes(doc: CorpusDoc) -> bytes:
    """A Word rendition (paragraphs + the three tables with merged cells), as agencies attach."""
    import docx
    import lxml.html

    d = docx.Document()
    if doc.gold.get("title"):
        d.add_heading(doc.gold["title"], level=1)
    for kind, text in narrative_blocks(doc):
        if kind != "table":
            d.add_paragraph(text)
            continue
        grid = lxml.html.fromstring(text)
        rows = grid.xpath(".//tr")
        ncols = max(sum(int(td.get("colspan", 1)) for td in rows[0].xpath("./td")), 1)
        # lay the HTML cells onto a grid, then merge in Word
        occupied: dict[tuple[int, int], bool] = {}
        placements = []
        for r, tr in enumerate(rows):
            c = 0
            for td in tr.xpath("./td"):
                while occupied.get((r, c)):
                    c += 1
                rs, cs = int(td.get("rowspan", 1)), int(td.get("colspan", 1))
                for i in range(rs):
                    for j in range(cs):
                        occupied[(r + i, c + j)] = True
                placements.append((r, c, rs, cs, td.text_content()))
                c += cs
            ncols = max(ncols, c)
        t = d.add_table(rows=len(rows), cols=ncols)
        t.style = "Table Grid"
        for r, c, rs, cs, txt in placements:
            cell = t.cell(r, c)
            if rs > 1 or cs > 1:
                cell = cell.merge(t.cell(min(r + rs, len(rows)) - 1, min(c + cs, ncols) - 1))
            cell.text = txt
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()

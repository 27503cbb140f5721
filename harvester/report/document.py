"""Any input (HTML, text, Markdown, PDF, DOCX) → one intermediate form: lines of cells.

A line is a list of cells; a paragraph is a line of one cell; a table row is a line of several.
`MERGED` (None) marks a position covered by a rowspan/colspan of an earlier cell: it is never a
value, so a merged cell cannot be mistaken for an empty one.
"""
from __future__ import annotations

import functools
import io
import re
import zipfile
from dataclasses import dataclass, field

from harvester.report.normalize import SIMPLIFIED, TRADITIONAL, detect_script, normalize_text, to_simplified

MERGED = None
Cell = str | None
Line = list[Cell]

HTML, TEXT, PDF, DOCX, DOC = "html", "text", "pdf", "docx", "doc"

MAX_INPUT_BYTES = 64 * 1024 * 1024  # a report is a few MB at most; refuse to chew on more
MAX_HTML_DEPTH = 400  # our own walk: deeper elements are read as plain text
MAX_LINES = 100_000  # a report has a few hundred lines; more is noise or an attack
MAX_RAW_LINES = 10 * MAX_LINES  # blank lines included
MAX_HTML_BYTES = 16 * 1024 * 1024  # libxml2 holds ≈ 40 bytes of tree per byte of tag soup
MAX_TABLE_COLUMNS = 64  # the widest statutory table has 16 columns
MAX_PDF_PAGES = 300
MAX_DOCX_XML_BYTES = 64 * 1024 * 1024  # uncompressed word/document.xml: python-docx holds it all in memory
MAX_CONTROL_SHARE = 0.05  # more control characters than this in a text report: binary, not text
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class DocumentError(Exception):
    """The input cannot be read as a document at all (the message says why, in one line)."""


@dataclass
class Document:
    kind: str
    lines: list[Line]
    meta: dict[str, str] = field(default_factory=dict)  # page metadata: title, agency, published
    script: str = SIMPLIFIED
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- sniffing and decoding
def sniff(data: bytes, name: str | None = None, content_type: str | None = None) -> str:
    head = data[:2048].lstrip()
    lower_name = (name or "").lower()
    ctype = (content_type or "").lower()
    if head.startswith(b"%PDF") or "pdf" in ctype:
        return PDF
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return DOC
    if data[:2] == b"PK":
        return DOCX
    if lower_name.endswith((".doc", ".wps")):
        return DOC
    if "html" in ctype or lower_name.endswith((".html", ".htm", ".shtml", ".jsp", ".aspx")):
        return HTML
    if re.search(rb"<(!doctype html|html|body|table|div|p)[\s>]", head[:1024], re.I):
        return HTML
    return TEXT


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_-]+)""", re.I)
_CT_CHARSET = re.compile(r"charset\s*=\s*[\"']?([a-zA-Z0-9_-]+)", re.I)


def decode(data: bytes, content_type: str | None = None, warnings: list[str] | None = None) -> str:
    """Bytes → str: BOM, then the declared charset (header, then <meta>), then UTF-8, then GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):  # before UTF-16: same first bytes
        return data.decode("utf-32", "replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    declared = []
    if content_type and (m := _CT_CHARSET.search(content_type)):
        declared.append(m.group(1))
    if m := _META_CHARSET.search(data[:4096]):
        declared.append(m.group(1).decode("ascii"))
    for enc in declared:
        enc = {"gb2312": "gb18030", "gbk": "gb18030"}.get(enc.lower(), enc)
        try:
            return data.decode(enc)
        except (LookupError, UnicodeDecodeError):
            if warnings is not None:
                warnings.append(f"declared charset {enc!r} does not decode the document; guessed instead")
    for enc in ("utf-8", "gb18030", "big5"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    if warnings is not None:
        warnings.append("undecodable bytes replaced (no charset fits the document)")
    return data.decode("utf-8", "replace")


# ---------------------------------------------------------------- text and Markdown
_MD_RULE = re.compile(r"^\s*\|?[\s:|-]*-[\s:|-]*$")
_MD_MARKUP = re.compile(r"^(?:#{1,6}|>|[*+]\s)\s*|\*\*|__")


def text_lines(text: str, warnings: list[str] | None = None) -> list[Line]:
    """Pipes, tabs, or one cell per line. A blank line is a separator; a line of only
    whitespace that held a tab, NBSP or pipe is an empty cell (it was one in the source)."""
    lines: list[Line] = []
    for n, raw in enumerate(_iter_lines(text)):
        if len(lines) >= MAX_LINES or n >= MAX_RAW_LINES:
            _cap_warning(warnings, "lines")
            break
        stripped = raw.strip(" \t\u00a0\u3000\r")
        if not stripped:
            if raw and any(c in raw for c in "\t\u00a0\u3000"):
                lines.append([""])
            continue
        if stripped[0] in "#>*+" or "**" in stripped or "__" in stripped:
            stripped = _MD_MARKUP.sub("", stripped).strip()  # "# 标题", "**一、总体情况**": markup, not text
            if not stripped:
                continue
        if "|" in stripped:
            if _MD_RULE.match(stripped):
                continue
            body = stripped[1:] if stripped.startswith("|") else stripped
            body = body[:-1] if body.endswith("|") else body
            lines.append([c.strip() for c in body.split("|")])
        elif "\t" in stripped:
            lines.append([c.strip() for c in stripped.split("\t")])
        else:
            lines.append([stripped])
    return lines


def _iter_lines(text: str):
    """The text's lines one at a time: a 64 MiB file of short lines never becomes a list of
    tens of millions of strings."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def _cap_warning(warnings: list[str] | None, what: str, cap: int = MAX_LINES) -> None:
    if warnings is not None:
        warnings.append(f"more than {cap} {what}: the rest of the document is not read")


# ---------------------------------------------------------------- HTML
_BLOCK_TAGS = {
    "p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "section", "article",
    "header", "footer", "blockquote", "pre", "dd", "dt", "dl", "center", "hr", "tr", "tbody", "form",
    "table", "td", "th",
}
_DROP_TAGS = {"script", "style", "noscript", "select", "option", "iframe", "object", "svg", "button", "textarea"}
_CONTENT_XPATHS = (
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' trs_editor_view ')]",
    "//div[contains(@class, 'TRS_Editor')]",
    "//*[@id='zoom']", "//*[@id='UCAP-CONTENT']", "//div[@class='article-content']",
)
_META_NAMES = {
    "articletitle": "title", "title": "title", "dc.title": "title",
    "pubdate": "published", "firstpublishedtime": "published", "publishdate": "published",
    "contentsource": "agency", "author": "agency", "dc.publisher": "agency",
}


_PARSER = None


@functools.lru_cache(maxsize=1)
def _content_xpaths():
    from lxml import etree

    return [etree.XPath(xp) for xp in _CONTENT_XPATHS]


def _html_parser():
    global _PARSER
    if _PARSER is None:
        from lxml import etree

        # plain etree elements: lxml.html's per-element class lookup costs a third of the time
        # huge_tree: libxml2 nests 2048 levels instead of 256 (deeper content is lost: warned)
        _PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, recover=True, huge_tree=True)
    return _PARSER


# Tags kept when a page nests too deep for libxml2: the table and block structure we read.
_FLATTEN = re.compile(r"<(?!/?(?:table|tr|td|th|p|br|meta|title|h[1-6])\b)[a-zA-Z/!][^>]*>")


def _parse_html(html: str, warnings: list[str] | None):
    from lxml import etree

    parser = _html_parser()
    root = etree.fromstring(html or "<html></html>", parser)
    if any("Excessive depth" in e.message for e in parser.error_log):
        if warnings is not None:
            warnings.append("HTML nested deeper than libxml2's limit (2048 levels): read with its inline "
                            "and container tags removed")
        root = etree.fromstring(_FLATTEN.sub(" ", html) or "<html></html>", parser)
    return root


def _drop(el) -> None:
    """Remove an element but keep the text that follows it (its tail)."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def html_document(html: str, warnings: list[str] | None = None) -> tuple[list[Line], dict[str, str]]:
    from lxml import etree

    html = re.sub(r"^\s*<\?xml[^>]*>", "", html)
    try:
        root = _parse_html(html, warnings)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise DocumentError(f"unreadable HTML: {exc}") from exc
    if root is None:
        raise DocumentError("unreadable HTML: no elements")
    meta: dict[str, str] = {}
    for el in root.iter("meta"):
        key = _META_NAMES.get((el.get("name") or "").strip().lower())
        if key and (el.get("content") or "").strip() and key not in meta:
            meta[key] = el.get("content").strip()
    title_el = root.find(".//title")
    if title_el is not None and "".join(title_el.itertext()).strip():
        meta.setdefault("page_title", "".join(title_el.itertext()).strip())
    for el in list(root.iter(*_DROP_TAGS)):
        _drop(el)
    content = root
    for xp in _content_xpaths():
        found = xp(root)
        if found and found[0].xpath("string-length(string())") > 200:
            content = found[0]
            break
    walk = _HtmlWalk(warnings)
    try:
        walk.element(content, 0)
        walk.flush()  # text directly in <body>, after the last block
    except _Full:
        _cap_warning(warnings, "lines")
    return walk.lines, meta


class _Full(Exception):
    """The line cap is reached: stop walking."""


class _HtmlWalk:
    """Block elements → one-cell lines, data tables → rows of cells (spans expanded)."""

    def __init__(self, warnings: list[str] | None):
        self.lines: list[Line] = []
        self.buf: list[str] = []
        self.warnings = warnings
        self.wide_warned = False

    def flush(self) -> None:
        text = "".join(self.buf).strip()
        if text:
            self._add([text])
        self.buf.clear()

    def _add(self, line: Line) -> None:
        if len(self.lines) >= MAX_LINES:
            raise _Full
        self.lines.append(line)

    def element(self, el, depth: int) -> None:
        if depth > MAX_HTML_DEPTH:  # pathological nesting: keep the text, stop descending
            self.buf.append("".join(el.itertext()))
            return
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "table" and next(el.iterdescendants("table"), None) is None:
            self.flush()
            for row in self.table(el):
                self._add(row)
            return
        block = tag in _BLOCK_TAGS
        if block:
            self.flush()
        if el.text and tag:
            self.buf.append(el.text)
        for child in el:
            self.element(child, depth + 1)
            if child.tail:
                self.buf.append(child.tail)
        if block:
            self.flush()

    def table(self, table) -> list[Line]:
        """Rows of a data table with rowspan/colspan expanded: the spanned positions are MERGED.

        Linear in the table's cells: `covered[c]` counts the rows a rowspan from above still
        covers in column c; rows are cut at MAX_TABLE_COLUMNS (a warning says so)."""
        grid: list[Line] = []
        covered: list[int] = []
        rows = list(table.iter("tr"))
        for r, tr in enumerate(rows):
            line: Line = []
            col = 0
            spanned = any(covered)  # a rowspan from above reaches this row
            for td in tr:
                if td.tag != "td" and td.tag != "th":
                    continue
                while spanned and col < len(covered) and covered[col] > 0:  # positions a rowspan covers
                    line.append(MERGED)
                    covered[col] -= 1
                    col += 1
                if col >= MAX_TABLE_COLUMNS:
                    self._too_wide()
                    break
                # Word pastes split a label into one span per glyph run: all inline text joined as is
                text = (td.text or "").strip() if len(td) == 0 else "".join(td.itertext()).strip()
                colspan, rowspan = td.get("colspan"), td.get("rowspan")
                colspan = 1 if colspan is None else min(_span(colspan), MAX_TABLE_COLUMNS - col)
                rowspan = 1 if rowspan is None else min(_span(rowspan), len(rows) - r)
                if len(covered) < col + colspan:
                    covered.extend([0] * (col + colspan - len(covered)))
                if colspan == 1:
                    line.append(text)
                    covered[col] = rowspan - 1
                    col += 1
                    spanned = spanned or rowspan > 1
                    continue
                for c in range(colspan):
                    # an empty cell spanning columns is several empty cells; a filled one is one value
                    line.append(text if c == 0 or not text else MERGED)
                    covered[col] = rowspan - 1
                    col += 1
                spanned = spanned or rowspan > 1
            while col < len(covered) and covered[col] > 0:
                line.append(MERGED)
                covered[col] -= 1
                col += 1
            for c in range(col, len(covered)):  # spans further right that this row never reached
                if covered[c] > 0:
                    covered[c] -= 1
            grid.append(line)
            if len(grid) + len(self.lines) >= MAX_LINES:
                break
        return grid

    def _too_wide(self) -> None:
        if not self.wide_warned and self.warnings is not None:
            self.warnings.append(f"table row wider than {MAX_TABLE_COLUMNS} columns: the cells beyond are not read")
        self.wide_warned = True


def _span(value: str | None) -> int:
    if value is None or value == "1":
        return 1
    try:
        return max(1, min(int(str(value).strip()), 50))
    except (TypeError, ValueError):
        return 1


# ---------------------------------------------------------------- PDF
def pdf_document(data: bytes, warnings: list[str]) -> list[Line]:
    """PDFium first (harvester.report.pdf); pdfplumber when PDFium cannot read the file."""
    from harvester.report.pdf import read_pages

    fast = read_pages(data, MAX_PDF_PAGES, MAX_LINES, warnings)
    if fast is None:
        return pdfplumber_document(data, warnings)
    out, chars, images = fast
    _warn_if_scanned(chars, images, warnings)
    return out


def _warn_if_scanned(chars: int, images: int, warnings: list[str]) -> None:
    if chars < 20 and images:
        warnings.append("scanned (image-only) PDF: no text layer, OCR not attempted; tables not read")


def pdfplumber_document(data: bytes, warnings: list[str]) -> list[Line]:
    """The PDF read by pdfplumber alone (pdfminer's Python interpreter): slower, and reads what
    PDFium cannot open (damaged files: the pages before the damage)."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError

    out: list[Line] = []
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except (PDFSyntaxError, Exception) as exc:  # pdfminer raises a zoo of types on damage
        raise DocumentError(f"unreadable PDF: {type(exc).__name__}: {str(exc)[:120]}") from exc
    chars = images = 0
    with pdf:
        try:
            for n, page in enumerate(pdf.pages):
                if n >= MAX_PDF_PAGES or len(out) >= MAX_LINES:
                    warnings.append(f"PDF longer than {MAX_PDF_PAGES} pages or {MAX_LINES} lines: the rest is not read")
                    break
                chars += len(page.chars)
                images += len(page.images)
                out.extend(_pdf_page_lines(page))
                page.close()  # pdfplumber caches every layout object of a page until closed
        except Exception as exc:  # a truncated PDF fails on the page it breaks: keep the pages before
            warnings.append(f"PDF damaged after {len(out)} lines: {type(exc).__name__}: {str(exc)[:120]}")
        _warn_if_scanned(chars, images, warnings)
    return out


def _pdf_page_lines(page) -> list[Line]:
    tables = page.find_tables()
    placed: list[tuple[float, int, list[Line]]] = []
    for t in tables:
        placed.append((t.bbox[1], 1, [list(row) for row in t.extract()]))
    bboxes = [t.bbox for t in tables]

    def outside(obj) -> bool:
        cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in bboxes)

    free = page.filter(outside) if bboxes else page
    for line in free.extract_text_lines(return_chars=False):
        placed.append((line["top"], 0, [[line["text"]]]))
    placed.sort(key=lambda p: (p[0], p[1]))
    return [row for _, _, rows in placed for row in rows]


# ---------------------------------------------------------------- DOCX
def docx_document(data: bytes, warnings: list[str]) -> list[Line]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            size = sum(i.file_size for i in zf.infolist() if i.filename.startswith("word/"))
        if size > MAX_DOCX_XML_BYTES:  # python-docx would hold all of it as a tree (≈ 20× in memory)
            raise DocumentError(f"DOCX of {size} uncompressed bytes exceeds the {MAX_DOCX_XML_BYTES}-byte cap")
        document = docx.Document(io.BytesIO(data))
    except DocumentError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, Exception) as exc:
        raise DocumentError(f"unreadable DOCX: {type(exc).__name__}: {str(exc)[:120]}") from exc
    lines: list[Line] = []
    for child in document.element.body.iterchildren():
        if len(lines) >= MAX_LINES:
            _cap_warning(warnings, "paragraphs and rows")
            break
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = Paragraph(child, document).text.strip()
            if text:
                lines.append([text])
        elif tag == "tbl":
            above: list = []
            for row in Table(child, document).rows:
                line: Line = []
                seen = set()
                for i, cell in enumerate(row.cells):
                    tc = id(cell._tc)
                    spanned = tc in seen or (i < len(above) and above[i] is cell._tc)
                    seen.add(tc)
                    line.append(MERGED if spanned else cell.text.strip())
                above = [c._tc for c in row.cells]
                lines.append(line)
    return lines


# ---------------------------------------------------------------- entry point
def read_document(data: bytes | str, name: str | None = None, content_type: str | None = None) -> Document:
    """Any supported input → a Document in Simplified script with normalised cells."""
    warnings: list[str] = []
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_INPUT_BYTES:
        raise DocumentError(f"input of {len(data)} bytes exceeds the {MAX_INPUT_BYTES}-byte cap")
    if not data.strip():
        raise DocumentError("empty input")
    kind = sniff(data, name, content_type)
    meta: dict[str, str] = {}
    if kind == PDF:
        lines = pdf_document(data, warnings)
    elif kind == DOCX:
        lines = docx_document(data, warnings)
    elif kind == DOC:
        warnings.append("legacy Word/WPS binary (.doc/.wps) is not parsed: convert it to DOCX or PDF")
        lines = []
    elif kind == HTML:
        if len(data) > MAX_HTML_BYTES:
            warnings.append(f"HTML of {len(data)} bytes: only the first {MAX_HTML_BYTES} are read")
            data = data[:MAX_HTML_BYTES]
        lines, meta = html_document(decode(data, content_type, warnings), warnings)
    else:
        text = decode(data, content_type, warnings)
        head = text[:4096]
        if len(_CONTROL.findall(head)) > MAX_CONTROL_SHARE * len(head):
            raise DocumentError("binary data, not a document (control bytes in the text)")
        if nul := text.count("\x00"):  # a stray NUL in a real report (an editor's artefact)
            warnings.append(f"{nul} NUL character(s) removed from the text")
            text = text.replace("\x00", "")
        lines = text_lines(text, warnings)
    return _normalized(Document(kind, lines, meta, warnings=warnings))


_SEP = "\x1f"


def _normalized(doc: Document) -> Document:
    """NFKC, spaces, cruft and script for every cell in one pass (one OpenCC call per document)."""
    flat = [c for line in doc.lines for c in line if c]
    meta_keys = list(doc.meta)
    joined = _SEP.join(flat + [doc.meta[k] for k in meta_keys])
    joined = normalize_text(joined)
    doc.script = detect_script(joined)
    if doc.script == TRADITIONAL:
        joined = to_simplified(joined)
    parts = joined.split(_SEP)
    it = iter(parts[: len(flat)])
    doc.lines = [[(next(it).strip() if c else c) for c in line] for line in doc.lines]
    doc.meta = dict(zip(meta_keys, (p.strip() for p in parts[len(flat):])))
    return doc

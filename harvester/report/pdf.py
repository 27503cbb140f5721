"""PDF → lines of cells through PDFium (pypdfium2), with pdfplumber's table finder.

pdfplumber reads a page by interpreting its content stream in Python (pdfminer): ≈ 0.15 s per
dense page, nine tenths of a PDF report's parse. PDFium does the same in C. This module hands
pdfplumber's `TableFinder` what it reads from a page — characters with their boxes, and the
ruling lines as edges — taken from PDFium instead, so the tables are found by the same, well-kept
algorithm, and the text outside them is grouped into lines by pdfplumber's own `extract_text`.

`read_pages` returns None when PDFium cannot open the file or a page holds something this path
does not model (form XObjects, rotated text): the caller then reads the PDF with pdfplumber.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any

Line = list  # list[str | None], as in harvester.report.document

DESCENT = -0.12  # of the font size, below the baseline (pdfminer reads it from the font)
LINE_TOLERANCE = 3  # points: characters whose tops differ less are on one line (pdfplumber's y_tolerance)


@dataclass
class _Page:
    """What pdfplumber's TableFinder and Table.extract read from a page."""
    bbox: tuple[float, float, float, float]
    chars: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)


class Unsupported(Exception):
    """A page this path does not model: read the PDF with pdfplumber instead."""


def _chars(textpage, height: float) -> list[dict[str, Any]]:
    import pypdfium2.raw as raw

    out = []
    box = raw.FS_RECTF()
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    matrix = raw.FS_MATRIX()
    ox, oy = ctypes.c_double(), ctypes.c_double()
    tp = textpage.raw
    for i in range(raw.FPDFText_CountChars(tp)):
        code = raw.FPDFText_GetUnicode(tp, i)
        if code in (0, 10, 13, 0xFFFE, 0xFFFF) or raw.FPDFText_IsGenerated(tp, i):
            continue
        if not raw.FPDFText_GetLooseCharBox(tp, i, box) or not raw.FPDFText_GetCharOrigin(tp, i, ox, oy):
            continue
        if abs(raw.FPDFText_GetCharAngle(tp, i)) > 0.01:
            raise Unsupported("rotated text")
        # x: the glyph's advance (loose box); y: the line's, from the baseline and the font size
        # as pdfminer does (descent ≈ 12 %), so digits and CJK of one line share top and bottom
        # (the font size is in text space: scaled by the character's matrix)
        size = raw.FPDFText_GetFontSize(tp, i)
        if raw.FPDFText_GetMatrix(tp, i, matrix):
            size *= abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5
        if not 0 < size < 500:
            size = box.top - box.bottom
        # the loose box's right edge includes character spacing (a vertical label's letters are
        # spread down a column that way): end the character at its ink or one em, whichever is further
        raw.FPDFText_GetCharBox(tp, i, left, right, bottom, top)
        x0, x1 = box.left, min(box.right, max(right.value, box.left + size))
        t, b = height - (oy.value + DESCENT * size + size), height - (oy.value + DESCENT * size)
        if chr(code).isspace():
            continue  # gaps are measured, not read: pdfplumber's extract_text adds its own spaces
        out.append({"text": chr(code), "x0": x0, "x1": x1, "top": t, "bottom": b, "doctop": t,
                    "width": x1 - x0, "height": b - t, "upright": True, "object_type": "char"})
    return out


def _edges(page, height: float) -> tuple[list[dict[str, Any]], int]:
    """Straight horizontal and vertical segments of every path object, in pdfplumber's edge form."""
    import pypdfium2.raw as raw

    edges: list[dict[str, Any]] = []
    x, y = ctypes.c_float(), ctypes.c_float()
    m = raw.FS_MATRIX()
    images = 0
    for index in range(raw.FPDFPage_CountObjects(page.raw)):
        obj = raw.FPDFPage_GetObject(page.raw, index)
        kind = raw.FPDFPageObj_GetType(obj)
        if kind == raw.FPDF_PAGEOBJ_FORM:
            raise Unsupported("form XObject")
        images += kind == raw.FPDF_PAGEOBJ_IMAGE
        if kind != raw.FPDF_PAGEOBJ_PATH or not raw.FPDFPageObj_GetMatrix(obj, m):
            continue
        points: list[tuple[float, float]] = []
        start: tuple[float, float] | None = None
        for s in range(raw.FPDFPath_CountSegments(obj)):
            seg = raw.FPDFPath_GetPathSegment(obj, s)
            raw.FPDFPathSegment_GetPoint(seg, x, y)
            px, py = m.a * x.value + m.c * y.value + m.e, m.b * x.value + m.d * y.value + m.f
            here = (px, height - py)
            if raw.FPDFPathSegment_GetType(seg) == raw.FPDF_SEGMENT_MOVETO or not points:
                points = [here]
                start = here
            else:
                _segment(edges, points[-1], here)
                points.append(here)
            if raw.FPDFPathSegment_GetClose(seg) and start is not None:
                _segment(edges, here, start)
    return edges, images


def _segment(edges: list[dict[str, Any]], p0: tuple[float, float], p1: tuple[float, float]) -> None:
    (ax, ay), (bx, by) = p0, p1
    if abs(ay - by) < 0.01:
        orientation = "h"
    elif abs(ax - bx) < 0.01:
        orientation = "v"
    else:
        return  # a curve or a slanted stroke: not a table rule
    x0, x1, top, bottom = min(ax, bx), max(ax, bx), min(ay, by), max(ay, by)
    edges.append({"object_type": "line", "x0": x0, "x1": x1, "top": top, "bottom": bottom, "doctop": top,
                  "width": x1 - x0, "height": bottom - top, "orientation": orientation})


def _line_text(chars: list[dict[str, Any]]) -> str:
    """One line's characters left to right, a space where a gap wider than 3 points was printed
    (pdfplumber's x_tolerance)."""
    chars = sorted(chars, key=lambda ch: ch["x0"])
    out = [chars[0]["text"]]
    for prev, ch in zip(chars, chars[1:]):
        if ch["x0"] - prev["x1"] > 3:
            out.append(" ")
        out.append(ch["text"])
    return "".join(out).strip()


def _extract(table, chars: list[dict[str, Any]]) -> list[Line]:
    """pdfplumber's `Table.extract()`, same rule (a character belongs to the cell holding its
    midpoint; None for a merged cell; text by pdfplumber's `extract_text`), with the characters
    of each row found by bisection instead of testing every character of the page per row."""
    from bisect import bisect_left
    from pdfplumber.utils import extract_text

    by_mid = sorted(((ch["top"] + ch["bottom"]) / 2, (ch["x0"] + ch["x1"]) / 2, n) for n, ch in enumerate(chars))
    mids = [m[0] for m in by_mid]
    rows: list[Line] = []
    for row in table.rows:
        _, top, _, bottom = row.bbox
        in_row = by_mid[bisect_left(mids, top):bisect_left(mids, bottom)]
        line: Line = []
        for cell in row.cells:
            if cell is None:
                line.append(None)
                continue
            x0, ctop, x1, cbottom = cell
            picked = sorted(n for v, h, n in in_row if x0 <= h < x1 and ctop <= v < cbottom)  # page order
            line.append(extract_text([chars[n] for n in picked]) if picked else "")
        rows.append(line)
    return rows


def _page_lines(plumber_page: _Page) -> list[Line]:
    """Tables (pdfplumber's finder, default settings) and the text lines around them, top to bottom."""
    from pdfplumber.table import TableFinder

    tables = TableFinder(plumber_page).tables if plumber_page.edges else []
    placed: list[tuple[float, int, list[Line]]] = []
    for t in tables:
        placed.append((t.bbox[1], 1, _extract(t, plumber_page.chars)))
    bboxes = [t.bbox for t in tables]

    def outside(ch: dict[str, Any]) -> bool:
        cx, cy = (ch["x0"] + ch["x1"]) / 2, (ch["top"] + ch["bottom"]) / 2
        return not any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in bboxes)

    free = sorted((ch for ch in plumber_page.chars if outside(ch)), key=lambda ch: (ch["top"], ch["x0"]))
    cluster: list[dict[str, Any]] = []
    for ch in free + [None]:  # type: ignore[list-item]
        if cluster and (ch is None or ch["top"] - cluster[0]["top"] > LINE_TOLERANCE):
            text = _line_text(cluster)
            if text:
                placed.append((cluster[0]["top"], 0, [[text]]))
            cluster = []
        if ch is not None:
            cluster.append(ch)
    placed.sort(key=lambda p: (p[0], p[1]))
    return [row for _, _, rows in placed for row in rows]


def read_pages(data: bytes, max_pages: int, max_lines: int, warnings: list[str]) -> tuple[list[Line], int, int] | None:
    """(lines, characters, images) of the PDF, or None when PDFium cannot read it here."""
    try:
        import pypdfium2 as pdfium
    except ImportError:  # pragma: no cover - pypdfium2 comes with pdfplumber
        return None
    try:
        document = pdfium.PdfDocument(data)
    except Exception:  # damaged: pdfplumber keeps the pages before the damage
        return None
    lines: list[Line] = []
    chars = images = 0
    try:
        for n in range(len(document)):
            if n >= max_pages or len(lines) >= max_lines:
                warnings.append(f"PDF longer than {max_pages} pages or {max_lines} lines: the rest is not read")
                break
            page = document[n]
            try:
                width, height = page.get_size()
                textpage = page.get_textpage()
                try:
                    page_chars = _chars(textpage, height)
                finally:
                    textpage.close()
                edges, page_images = _edges(page, height)
                images += page_images
            finally:
                page.close()
            chars += len(page_chars)
            lines.extend(_page_lines(_Page((0, 0, width, height), page_chars, edges)))
    except Unsupported:
        return None
    except Exception:  # anything unexpected: the slower, proven path decides
        return None
    finally:
        document.close()
    return lines, chars, images

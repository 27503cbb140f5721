"""The PDFium path reads every corpus PDF exactly as pdfplumber alone does (same lines, same
cells, merged cells as None), and falls back to pdfplumber for what it cannot open."""
import pytest

from conftest import CORPUS
from harvester.report import parse_document
from harvester.report.document import pdfplumber_document
from harvester.report.pdf import read_pages

PDFS = sorted(CORPUS.glob("*/*.pdf"))


@pytest.mark.parametrize("path", PDFS, ids=[p.name for p in PDFS])
def test_pdfium_lines_equal_pdfplumber_lines(path):
    data = path.read_bytes()
    fast = read_pages(data, 300, 100_000, [])
    assert fast is not None, "PDFium should read the corpus PDFs"
    lines, chars, images = fast
    assert lines == pdfplumber_document(data, [])
    assert chars > 1000 and any(None in line for line in lines)  # tables with merged cells


def test_damaged_pdf_falls_back_to_pdfplumber_and_keeps_the_pages_before_the_damage():
    data = (CORPUS / "real" / "hongze-2024.pdf").read_bytes()
    cut = data[: len(data) * 2 // 3]
    record = parse_document(cut, name="cut.pdf")
    assert record["warnings"]  # damage reported, whichever path read it
    assert read_pages(b"%PDF-1.4 not really", 300, 100_000, []) is None

"""Hostile and unusual inputs: bounded work, a record that always serialises and validates.

Each heavy case runs in a subprocess that reports its own wall time and peak memory; the bounds
are generous (minutes, a gigabyte) and only catch the old failure modes (quadratic time, memory
in the gigabytes), never a tight timing.
"""
import io
import json
import subprocess
import sys
import textwrap
import zipfile

import pytest

from conftest import CORPUS, ROOT, parse_cli
from harvester.report import parse_document
from harvester.report.schema import schema_errors

HEAD = ("某县人民政府2022年政府信息公开工作年度报告\n二、主动公开政府信息情况\n第二十条第(一)项\n"
        "信息内容|本年制发件数|本年废止件数|现行有效件数\n")
GENEROUS_SECONDS = 120
GENEROUS_MB = 1024


def valid(record: dict) -> dict:
    assert schema_errors(record) == [], schema_errors(record)[:3]
    json.dumps(record, ensure_ascii=False, allow_nan=False)  # never a number JSON refuses
    return record


def measured(build: str, call: str = "parse_document(data, name=name)") -> dict:
    """Run `build` (defines data, name) then the parse in a fresh interpreter: seconds, peak MB, record."""
    code = textwrap.dedent(f"""
        import json, resource, sys, time
        from harvester.report import parse_document
        {textwrap.indent(textwrap.dedent(build), '        ').strip()}
        start = time.perf_counter()
        record = {call}
        seconds = time.perf_counter() - start
        # VmHWM: this process's own peak (ru_maxrss also counts the parent's memory at fork time)
        try:
            status = open("/proc/self/status").read()
            peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
        except (OSError, IndexError):
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({{"seconds": seconds, "mb": peak, "record": record}}, ensure_ascii=False, allow_nan=False))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.splitlines()[-1])
    valid(result["record"])
    return result


# ---------------------------------------------------------------- numbers
@pytest.mark.parametrize("number", ["9" * 5000, "9" * 400 + ".5", "12345678901234567890", "1" + "0" * 16 + "元"])
def test_overlong_numbers_are_null_with_a_warning(number):
    record = valid(parse_document((HEAD + f"规章 | {number} | 1 | 2\n").encode()))
    assert record["active_disclosure"]["regulations"] == {"issued": None, "repealed": 1, "in_force": 2}
    assert any("beyond 15 digits" in w for w in record["warnings"])


def test_fifteen_digits_are_still_a_number():
    record = valid(parse_document((HEAD + "规章 | 123456789012345 | 1 | 2\n").encode()))
    assert record["active_disclosure"]["regulations"]["issued"] == 123456789012345


def test_cli_parses_every_file_even_when_one_is_hostile_or_missing(tmp_path, capsys):
    good = CORPUS / "seeds" / "000_71de1068338dadc3.txt"
    hostile = tmp_path / "digits.txt"
    hostile.write_text(HEAD + "规章 | " + "9" * 5000 + ".5 | 1 | 2\n", encoding="utf-8")
    status, records, err = parse_cli(capsys, str(good), str(hostile), str(tmp_path / "missing.txt"), str(good))
    assert len(records) == 3 and records[0]["agency"] == records[2]["agency"] == "上海市嘉定区新成路街道"
    assert records[1]["active_disclosure"]["regulations"]["issued"] is None
    assert status == 2 and err.count("\n") == 1 and "no such file" in err and "Traceback" not in err


def test_cli_oversized_file_costs_no_memory(tmp_path, capsys):
    from harvester.report.document import MAX_INPUT_BYTES

    big = tmp_path / "big.txt"
    with big.open("wb") as f:  # sparse: the size is real, the disk use is not
        f.truncate(MAX_INPUT_BYTES + 4096)
    _, [record], _ = parse_cli(capsys, str(big))
    assert any("exceeds" in w for w in record["warnings"])


# ---------------------------------------------------------------- quadratic paths
@pytest.mark.parametrize("kilobytes", [185, 370])
def test_long_line_of_glued_labels_is_linear(kilobytes):
    result = measured(f"""
        unit = "1.属于国家秘密0000002.其他法律行政法规禁止公开0000003.危及“三安全一稳定”000000"
        data = ("某县2022年政府信息公开工作年度报告\\n一、本年新收政府信息公开申请数量1000001" + unit * ({kilobytes} * 1024 // len(unit.encode()))).encode()
        name = "glued.txt"
    """)
    assert result["seconds"] < GENEROUS_SECONDS / 4  # was 22 s (185 KB) and 89 s (370 KB)


def test_table_of_huge_spans_is_bounded():
    result = measured("""
        cell = '<td rowspan="50" colspan="50">本年新收政府信息公开申请数量</td>'
        row = "<tr>" + cell * 30 + "</tr>"
        data = ("<html><body><table>" + row * (1400 * 1024 // len(row)) + "</table></body></html>").encode()
        name = "spans.html"
    """)
    assert result["seconds"] < GENEROUS_SECONDS and result["mb"] < GENEROUS_MB  # was 170 s and 3.8 GB
    assert any("wider than" in w for w in result["record"]["warnings"])


def test_millions_of_lines_are_capped_with_a_warning():
    result = measured("""
        data = ("某县2022年政府信息公开工作年度报告\\n" + "一段文字。\\n" * 2_000_000).encode()
        name = "lines.txt"
    """)
    assert result["mb"] < GENEROUS_MB
    assert any("more than 100000 lines" in w for w in result["record"]["warnings"])


# ---------------------------------------------------------------- PDF and DOCX
def test_pdf_pages_are_closed_as_read():
    result = measured("""
        import io
        import pypdfium2 as pdfium
        source = pdfium.PdfDocument(open("tests/fixtures/corpus/real/huaian-2024.pdf", "rb").read())
        target = pdfium.PdfDocument.new()
        for _ in range(9):
            target.import_pages(source)
        buf = io.BytesIO()
        target.save(buf)
        data, name = buf.getvalue(), "long.pdf"
    """)
    # 54 dense pages: pages kept open cost ≈ 190 MB each before (a 50-page PDF used 9.6 GB)
    assert result["mb"] < GENEROUS_MB
    assert result["record"]["agency"] == "淮安市人民政府"


def _docx_with_paragraphs(n: int) -> bytes:
    import docx

    buf = io.BytesIO()
    docx.Document().save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    xml = src.read("word/document.xml").decode()
    para = "<w:p><w:r><w:t>一段文字</w:t></w:r></w:p>"
    xml = xml.replace("<w:body>", "<w:body>" + para * n, 1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, xml if item.filename == "word/document.xml" else src.read(item.filename))
    return out.getvalue()


def test_docx_of_two_million_paragraphs_is_refused_quickly():
    record = valid(parse_document(_docx_with_paragraphs(2_000_000), name="huge.docx"))
    assert any("exceeds" in w for w in record["warnings"])  # was 57 s and 1.4 GB


def test_docx_paragraphs_are_capped_with_a_warning():
    record = valid(parse_document(_docx_with_paragraphs(120_000), name="long.docx"))
    assert any("more than 100000 paragraphs" in w for w in record["warnings"])


# ---------------------------------------------------------------- HTML
TITLE = "某县人民政府2022年政府信息公开工作年度报告"


@pytest.mark.parametrize("depth", [300, 2000, 5000])
def test_deep_html_keeps_its_text_or_warns(depth):
    page = f"<html><body>{'<div>' * depth}<p>{TITLE}</p><p>一、总体情况</p>{'</div>' * depth}</body></html>"
    record = valid(parse_document(page.encode(), name="deep.html"))
    assert record["title"] == TITLE and record["year"] == 2022
    assert any("nested deeper" in w for w in record["warnings"]) == (depth > 2048)


def test_text_directly_in_body_is_kept():
    record = valid(parse_document(f"<html><body>{TITLE}</body></html>".encode(), name="bare.html"))
    assert record["title"] == TITLE


# ---------------------------------------------------------------- text encodings and years
def test_one_nul_byte_is_tolerated():
    record = valid(parse_document(f"{TITLE}\n一、总体情况\n\x00本年度……\n".encode()))
    assert record["title"] == TITLE and any("NUL" in w for w in record["warnings"])


@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-be", "utf-16", "utf-16-be"])
def test_byte_order_marks(encoding):
    data = f"{TITLE}\n一、总体情况\n".encode(encoding)
    if encoding.endswith("-be"):
        data = ("\ufeff" + f"{TITLE}\n一、总体情况\n").encode(encoding)
    assert valid(parse_document(data))["title"] == TITLE


def test_years_before_1990_are_rejected():
    record = valid(parse_document("某县人民政府1985年政府信息公开工作年度报告\n一、总体情况\n".encode()))
    assert record["year"] is None


def test_glued_digit_runs_that_fit_nothing_are_bounded():
    # every row of table 三 glued to 60 digits that no split satisfies: each search is cut by its
    # step budget, the cells stay null with a warning
    result = measured("""
        from harvester.sim.layouts import T3_HEADER
        labels = ["一、本年新收政府信息公开申请数量", "二、上年结转政府信息公开申请数量", "(一)予以公开", "(二)部分公开",
                  "1.属于国家秘密", "(七)总计", "四、结转下年度继续办理"] * 4
        rows = "".join(label + "123456789" * 6 + "1" * 6 for label in labels)
        data = ("某县2022年政府信息公开工作年度报告\\n三、收到和处理政府信息公开申请情况申请人情况" + rows).encode()
        name = "glued.txt"
    """)
    assert result["seconds"] < GENEROUS_SECONDS / 2
    assert result["record"]["requests"]["rows"]["new"] == [None] * 7


def test_a_file_of_short_lines_stays_small_in_memory():
    result = measured("""
        data = ("x\\n" * 30_000_000).encode()  # 57 MiB: never split into 30 million strings
        name = "short.txt"
    """)
    assert result["mb"] < GENEROUS_MB // 2
    assert any("more than 100000 lines" in w for w in result["record"]["warnings"])


@pytest.mark.slow
def test_html_tag_soup_is_cut_before_the_tree_outgrows_memory():
    result = measured("""
        data = ("<html><body>" + "<p>x</p>" * 2_300_000 + "</body></html>").encode()  # 17.5 MiB of tags
        name = "soup.html"
    """)
    assert result["mb"] < GENEROUS_MB
    assert any("only the first" in w for w in result["record"]["warnings"])

"""Each input format on its own: HTML grids, DOCX, Markdown, broken and unsupported inputs, the CLI."""
import io
import json
import subprocess
import sys

import pytest

from conftest import CORPUS, parse_cli
from harvester.report import parse_document
from harvester.report.schema import schema_errors
from harvester.report.tables import split_digits

T3_LABELS = ["一、本年新收政府信息公开申请数量", "二、上年结转政府信息公开申请数量", "(一)予以公开",
             "(二)部分公开", "1.属于国家秘密", "2.其他法律行政法规禁止公开", "3.危及“三安全一稳定”",
             "4.保护第三方合法权益", "5.属于三类内部事务信息", "6.属于四类过程性信息", "7.属于行政执法案卷",
             "8.属于行政查询事项", "1.本机关不掌握相关政府信息", "2.没有现成信息需要另行制作",
             "3.补正后申请内容仍不明确", "1.信访举报投诉类申请", "2.重复申请", "3.要求提供公开出版物",
             "4.无正当理由大量反复申请", "5.要求行政机关确认或重新出具已获取信息",
             "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
             "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", "3.其他",
             "(七)总计", "四、结转下年度继续办理"]


def html_report(row_cells) -> str:
    """A 2021-template report as CMS HTML with real rowspan/colspan."""
    t3 = ['<tr><td rowspan="3" colspan="3">(本列数据的勾稽关系为:第一项加第二项之和,等于第三项加第四项之和)</td>'
          '<td colspan="7">申请人情况</td></tr>',
          '<tr><td rowspan="2">自然人</td><td colspan="5">法人或其他组织</td><td rowspan="2">总计</td></tr>',
          "<tr>" + "".join(f"<td>{h}</td>" for h in ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"]) + "</tr>"]
    for i, label in enumerate(T3_LABELS):
        cells = "".join(f"<td>{v}</td>" for v in row_cells(i))
        lead = f'<td rowspan="22">三、本年度办理结果</td>' if i == 2 else ""
        t3.append(f'<tr>{lead}<td colspan="{3 if i < 2 or i > 23 else 2}"><span>{label[:3]}</span><span>{label[3:]}</span></td>{cells}</tr>')
    return f"""<html><head><meta name="ArticleTitle" content="某某县人民政府2022年政府信息公开工作年度报告">
<meta name="PubDate" content="2023-01-18 09:00"></head><body><div class="trs_editor_view">
<p>某某县人民政府2022年政府信息公开工作年度报告</p><p>一、总体情况</p><p>2022年,我县……</p>
<p>二、主动公开政府信息情况</p><table><tr><td colspan="4">第二十条第(一)项</td></tr>
<tr><td>信息内容</td><td>本年制发件数</td><td>本年废止件数</td><td>现行有效件数</td></tr>
<tr><td>规章</td><td>1</td><td>0</td><td>3</td></tr><tr><td>行政规范性文件</td><td>5</td><td>2</td><td>40</td></tr>
<tr><td colspan="4">第二十条第(五)项</td></tr><tr><td>信息内容</td><td colspan="3">本年处理决定数量</td></tr>
<tr><td>行政许可</td><td colspan="3">1,234</td></tr><tr><td colspan="4">第二十条第(六)项</td></tr>
<tr><td>行政处罚</td><td colspan="3">56</td></tr><tr><td>行政强制</td><td colspan="3">/</td></tr>
<tr><td colspan="4">第二十条第(八)项</td></tr><tr><td>行政事业性收费</td><td colspan="3">12.5</td></tr></table>
<p>三、收到和处理政府信息公开申请情况</p><table>{''.join(t3)}</table>
<p>四、政府信息公开行政复议、行政诉讼情况</p><table>
<tr><td colspan="5">行政复议</td><td colspan="10">行政诉讼</td></tr>
<tr><td>结果维持</td><td>结果纠正</td><td>其他结果</td><td>尚未审结</td><td>总计</td><td colspan="5">未经复议直接起诉</td><td colspan="5">复议后起诉</td></tr>
<tr>{''.join(f'<td>{v}</td>' for v in [1, 0, 0, 1, 2, 0, 0, 0, 0, 0, 1, 1, 0, 0, 2])}</tr></table>
<p>五、存在的主要问题及改进情况</p><p>……</p><p>六、其他需要报告的事项</p><p>无。</p></div></body></html>"""


def test_html_grid_with_spans_and_empty_cells():
    # natural person and total filled, the five organisation columns left empty (as real reports do)
    record = parse_document(html_report(lambda i: [i, "", "", "", "", "", i]).encode(), name="r.html")
    rows = record["requests"]["rows"]
    assert rows["new"] == [0, None, None, None, None, None, 0]
    assert rows["other_misc"] == [22, None, None, None, None, None, 22]
    assert rows["carried_forward"] == [24, None, None, None, None, None, 24]
    assert record["active_disclosure"]["licensing"] == {"decisions": 1234}
    assert record["active_disclosure"]["enforcement"] == {"decisions": None}  # "/" is not applicable
    assert record["review_litigation"]["litigation_after_review"] == [1, 1, 0, 0, 2]
    assert (record["agency"], record["year"], record["published"]) == ("某某县人民政府", 2022, "2023-01-18")
    assert record["template"] == "2021" and schema_errors(record) == []
    assert {c["code"] for c in record["checks"]} >= {"T3_RESULTS_TOTAL", "T3_BALANCE"}


def test_docx_tables_are_read(tmp_path):
    docx = pytest.importorskip("docx")
    doc = docx.Document()
    doc.add_paragraph("某某局2021年政府信息公开工作年度报告")
    doc.add_paragraph("三、收到和处理政府信息公开申请情况")
    table = doc.add_table(rows=len(T3_LABELS) + 1, cols=8)
    table.cell(0, 0).text = "申请人情况"
    table.cell(0, 1).merge(table.cell(0, 7))
    for r, label in enumerate(T3_LABELS, start=1):
        table.cell(r, 0).text = label
        for c in range(1, 8):
            table.cell(r, c).text = str(r if c in (1, 7) else 0)
    doc.add_paragraph("四、政府信息公开行政复议、行政诉讼情况")
    t4 = doc.add_table(rows=1, cols=15)
    for c in range(15):
        t4.cell(0, c).text = "0"
    buf = io.BytesIO()
    doc.save(buf)
    record = parse_document(buf.getvalue(), name="r.docx")
    assert record["agency"] == "某某局" and record["year"] == 2021
    assert record["requests"]["rows"]["granted"] == [3, 0, 0, 0, 0, 0, 3]
    assert record["review_litigation"]["review"] == [0, 0, 0, 0, 0]
    assert schema_errors(record) == []


def test_pre2019_free_form_report_has_null_tables():
    text = "某某市人民政府2015年政府信息公开工作年度报告\n一、概述\n2015年,我市主动公开政府信息3000条。\n二、主动公开政府信息情况\n……"
    record = parse_document(text.encode("utf-8"))
    assert record["template"] == "pre2019"
    assert record["requests"] is None and record["checks"] == []


@pytest.mark.parametrize("data,why", [
    (b"", "empty input"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "legacy Word/WPS"),
    (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", "PDF"),
    (b"PK\x03\x04broken zip", "DOCX"),
    (bytes(range(256)) * 4, "binary"),
])
def test_unreadable_inputs_give_a_record_with_warnings(data, why):
    record = parse_document(data)
    assert any(why in w for w in record["warnings"]), record["warnings"]
    assert record["requests"] is None and schema_errors(record) == []


def test_scanned_pdf_is_detected(tmp_path):
    from PIL import Image

    path = tmp_path / "scan.pdf"
    Image.new("RGB", (600, 800), "white").save(path, "PDF")
    record = parse_document(path.read_bytes(), name="scan.pdf")
    assert any("scanned" in w for w in record["warnings"])
    assert record["requests"] is None


def test_truncated_pdf_keeps_what_was_read():
    data = (CORPUS / "real" / "hongze-2024.pdf").read_bytes()
    record = parse_document(data[: len(data) // 2], name="cut.pdf")
    assert record["warnings"] and schema_errors(record) == []


def test_glued_digit_splitting_uses_the_row_sums():
    t3_sum = lambda v: v[6] == sum(v[:6])  # noqa: E731
    assert split_digits(["230", "000023"], 7, t3_sum) == ([23, 0, 0, 0, 0, 0, 23], 1)
    assert split_digits(["000000000000000"], 15, lambda v: True)[0] == [0] * 15
    assert split_digits(["898989"], 3, lambda v: True) == (None, 2)  # 89/89/89? 8/98/989? — ambiguous


def test_cli_reads_stdin_and_reports_missing_files():
    exe = [sys.executable, "-m", "harvester.cli", "parse"]
    doc = (CORPUS / "seeds" / "000_71de1068338dadc3.txt").read_bytes()
    out = subprocess.run(exe + ["-"], input=doc, capture_output=True, timeout=60)
    assert out.returncode == 0 and json.loads(out.stdout)["agency"] == "上海市嘉定区新成路街道"
    missing = subprocess.run(exe + ["/nonexistent/report.pdf"], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "no such file" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_cli_writes_one_line_per_input(capsys):
    paths = [str(p) for p in sorted((CORPUS / "seeds").glob("*.txt"))]
    status, records, _ = parse_cli(capsys, *paths)
    assert status == 0 and len(records) == len(paths)


def test_parser_never_imports_scrapy():
    code = ("import sys, harvester.report as r; r.parse_document(b'x'); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('scrapy', 'twisted')]; print(bad); assert not bad")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr

"""Property-based tests: 10,600 generated inputs, none may crash the parser or give a record that
does not serialise; every tenth record is also validated against the JSON Schema (the validator
costs more than the parse).

The generators build what real reports are made of (statutory labels, digit runs, separators,
HTML tables with any span attributes, every layout of every corpus report, then mutated), so the
examples reach the table readers, not only the sniffing.
"""
import itertools
import json
import math
import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import CORPUS
from harvester.report import parse_document
from harvester.report.schema import schema_errors
from harvester.sim.corpus import load_corpus
from harvester.sim.layouts import LAYOUTS, render

pytestmark = pytest.mark.slow

FAST = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            derandomize=True)
_COUNTER = itertools.count()
KEYS = {"schema_version", "id", "agency", "year", "title", "published", "template", "script", "source",
        "sections", "active_disclosure", "requests", "review_litigation", "checks", "warnings"}


def check(data: bytes, **kw) -> dict:
    record = parse_document(data, **kw)
    assert set(record) >= KEYS
    json.dumps(record, ensure_ascii=False, allow_nan=False)
    assert record["year"] is None or 1990 <= record["year"] <= 2100
    for table in ("active_disclosure", "requests", "review_litigation"):
        for value in _numbers(record[table]):
            assert math.isfinite(value) and abs(value) < 1e15
    if next(_COUNTER) % 10 == 0:
        assert schema_errors(record) == [], schema_errors(record)[:3]
    return record


def _numbers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


LABELS = ["第二十条第(一)项", "规章", "行政规范性文件", "规范性文件", "行政许可", "行政处罚", "行政强制",
          "行政事业性收费", "政府集中采购", "本年制发件数", "本年新制作数量", "一、本年新收政府信息公开申请数量",
          "二、上年结转政府信息公开申请数量", "(一)予以公开", "(二)部分公开", "1.属于国家秘密", "(七)总计",
          "四、结转下年度继续办理", "申请人情况", "数据1", "数据7", "行政复议", "行政诉讼", "结果维持", "总计",
          "某县人民政府2022年政府信息公开工作年度报告", "# ", "**", "/", "—", "(其中修订16件)", "万元", "元"]
DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=40)
PIECE = st.one_of(st.sampled_from(LABELS), DIGITS, st.sampled_from([" ", " | ", "\t", "\n", "|", "\u3000", "１２"]))


@settings(max_examples=3000, **FAST)
@given(st.lists(PIECE, max_size=120))
def test_table_like_text(pieces):
    check("".join(pieces).encode("utf-8"))


@settings(max_examples=1500, **FAST)
@given(st.lists(st.tuples(st.sampled_from(LABELS), st.lists(DIGITS, min_size=0, max_size=9)), max_size=30),
       st.sampled_from([" | ", "\t", "\n", ""]))
def test_rows_of_labels_and_numbers(rows, sep):
    text = "某县人民政府2022年政府信息公开工作年度报告\n二、主动公开政府信息情况\n本年制发件数\n" + "\n".join(
        sep.join([label] + numbers) for label, numbers in rows)
    record = check(text.encode("utf-8"))
    for value in _numbers(record["active_disclosure"]):
        assert abs(value) < 10 ** 15  # a number beyond 15 digits is null, never read


SPAN = st.one_of(st.none(), st.integers(-5, 10_000).map(str), st.sampled_from(["", "abc", "2.5", "１０", "0"]))
CELL = st.tuples(st.one_of(st.sampled_from(LABELS), DIGITS), SPAN, SPAN, st.sampled_from(["td", "th"]))


@settings(max_examples=2000, **FAST)
@given(st.lists(st.lists(CELL, max_size=10), max_size=16), st.integers(0, 40),
       st.sampled_from(["div", "span", "table", "p", "b"]))
def test_html_tables_with_any_spans_and_nesting(rows, depth, wrapper):
    def td(text, rowspan, colspan, tag):
        attrs = "".join(f' {k}="{v}"' for k, v in (("rowspan", rowspan), ("colspan", colspan)) if v is not None)
        return f"<{tag}{attrs}>{text}</{tag}>"

    table = "<table>" + "".join("<tr>" + "".join(td(*c) for c in row) + "</tr>" for row in rows) + "</table>"
    page = f"<html><body>{('<' + wrapper + '>') * depth}{table}{('</' + wrapper + '>') * depth}</body></html>"
    check(page.encode("utf-8"), name="page.html")


DOCS = load_corpus(CORPUS)
RENDERED = {(name, layout): render(doc, layout) for name, doc in DOCS.items() for layout in LAYOUTS}


@settings(max_examples=2500, **FAST)
@given(st.sampled_from(sorted(RENDERED)), st.randoms(use_true_random=False),
       st.lists(st.sampled_from(["drop", "duplicate", "swap", "digit", "junk", "cut", "glue"]), min_size=1, max_size=4))
def test_every_layout_mutated(key, rnd: random.Random, mutations):
    rendered = RENDERED[key]
    lines = rendered.data.decode("utf-8").split("\n")
    for how in mutations:
        if not lines:
            break
        i = rnd.randrange(len(lines))
        if how == "drop":
            del lines[i]
        elif how == "duplicate":
            lines.insert(i, lines[i])
        elif how == "swap":
            j = rnd.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif how == "digit":
            lines[i] = "".join(str(rnd.randrange(10)) if c.isdigit() and rnd.random() < 0.3 else c for c in lines[i])
        elif how == "junk":
            lines[i] = lines[i] + rnd.choice(["9" * 30, "<td rowspan=999>", "|", "\x00", "(其中修订3件)", "数据3"])
        elif how == "cut":
            lines = lines[: i + 1]
        else:
            lines[i:i + 2] = ["".join(lines[i:i + 2])]
    check("\n".join(lines).encode("utf-8"), name=rendered.name)


BOMS = [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"]


@settings(max_examples=1600, **FAST)
@given(st.sampled_from(BOMS), st.sampled_from(["utf-8", "gb18030", "big5", "utf-16", "utf-32", "latin-1"]),
       st.text(max_size=300), st.binary(max_size=64))
def test_encodings_and_bytes(bom, encoding, text, junk):
    data = bom + text.encode(encoding, "ignore") + junk
    check(data)
    check(data, name="x.html")

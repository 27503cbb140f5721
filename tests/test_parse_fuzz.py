"""The parser never raises: random and mutated documents give a valid record every time."""
import random

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import CORPUS
from harvester.report import parse_document
from harvester.report.schema import schema_errors

TEXT_FIXTURES = [p.read_bytes() for p in sorted(CORPUS.glob("*/*")) if p.suffix in (".txt", ".md", ".html")]
PDF_FIXTURE = (CORPUS / "real" / "hongze-2024.pdf").read_bytes()
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_record(data: bytes, **kw) -> dict:
    record = parse_document(data, **kw)
    assert schema_errors(record) == [], schema_errors(record)[:3]
    return record


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    assert_record(data)


@FUZZ
@given(st.text(alphabet=st.sampled_from("0123456789 |\t\n一二三、()总计规章行政许可本年新收政府信息公开申请数量结转下年度"),
               max_size=3000))
def test_random_table_like_text(text):
    assert_record(text.encode("utf-8"))


@FUZZ
@given(st.sampled_from(range(len(TEXT_FIXTURES))), st.randoms(use_true_random=False),
       st.sampled_from(["truncate", "shuffle", "drop", "huge", "duplicate", "bytes"]))
def test_mutated_reports(index, rnd: random.Random, how):
    data = TEXT_FIXTURES[index]
    lines = data.split(b"\n")
    if how == "truncate":
        data = data[: rnd.randrange(len(data))]
    elif how == "shuffle":
        rnd.shuffle(lines)
        data = b"\n".join(lines)
    elif how == "drop":
        data = b"\n".join(line for line in lines if rnd.random() > 0.3)
    elif how == "huge":
        data = b"\n".join(line.replace(b"0", b"9" * rnd.randrange(1, 80)) for line in lines)
    elif how == "duplicate":
        data = b"\n".join(lines + lines)
    else:
        raw = bytearray(data)
        for _ in range(50):
            raw[rnd.randrange(len(raw))] = rnd.randrange(256)
        data = bytes(raw)
    assert_record(data)


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=1, max_value=5000), st.sampled_from(["div", "table", "span", "td"]))
def test_deep_html(depth, tag):
    inner = "<table><tr><td>规章</td><td>1</td></tr></table>"
    data = (f"<html><body>{('<' + tag + '>') * depth}{inner}{('</' + tag + '>') * depth}</body></html>").encode()
    assert_record(data, name="deep.html")


@settings(max_examples=8, deadline=None)
@given(st.floats(min_value=0.02, max_value=1.0), st.binary(min_size=0, max_size=64))
def test_cut_and_corrupted_pdfs(fraction, junk):
    assert_record(PDF_FIXTURE[: int(len(PDF_FIXTURE) * fraction)] + junk, name="x.pdf")

"""WarcWriter without Scrapy: records, pointers, rotation, CDXJ, atomic pairs."""

from __future__ import annotations

import errno
import json
import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harvester.warc.cdxj import read_cdxj, sort_cdxj, surt
from harvester.warc.reader import (
    UnsupportedEncoding,
    decode_content,
    iter_records,
    iter_responses,
    read_record_at,
)
from harvester.warc.writer import RequestData, ResponseData, WarcWriter, reason_phrase

WARCIO = Path(sys.executable).with_name("warcio")
URL = "http://www.example.gov.cn/zfxxgknb/index.html?page=2&x=1"


def _pair(body: bytes = b"<p>hello</p>", status: int = 200, headers=None, target="/zfxxgknb/index.html?page=2&x=1"):
    req = RequestData("GET", target, [("Host", "www.example.gov.cn"), ("Accept-Encoding", "gzip, deflate")])
    resp = ResponseData(status, headers if headers is not None else
                        [("Content-Type", "text/html; charset=utf-8"),
                         ("Content-Length", str(len(body)))], body)
    return req, resp


def _files(d: Path):
    return sorted(p for p in d.iterdir() if ".warc.gz" in p.name)


def _check(path: Path):
    proc = subprocess.run([str(WARCIO), "check", "-v", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_pair_pointer_warcinfo_and_check(tmp_path):
    with WarcWriter(tmp_path, prefix="nb", cdxj_path=tmp_path / "i.cdxj", operator="ops@example",
                    description="test crawl") as w:
        ptr = w.write_exchange(URL, *_pair(), ip_address="10.0.0.1")
        assert w.current_path.endswith(".warc.gz.open")
        assert os.path.exists(w.current_path)
    (f,) = _files(tmp_path)
    assert f.name == ptr.warc_file
    assert re.fullmatch(r"nb-\d{17}-00000-[A-Za-z0-9._-]+\.warc\.gz", f.name)
    out = _check(f)
    assert out.count("digest pass") == 3
    recs = list(iter_records(f))
    assert [r.rec_type for r in recs] == ["warcinfo", "response", "request"]
    info = recs[0].raw_payload.decode()
    for line in ("software: gov-nianbao-harvester/", "hostname: ", "format: WARC File Format 1.1",
                 "operator: ops@example", "description: test crawl"):
        assert line in info
    resp, req = recs[1], recs[2]
    assert (resp.offset, resp.length, resp.record_id) == (ptr.offset, ptr.length, ptr.record_id)
    assert resp.rec_headers.get_header("WARC-Concurrent-To") == req.record_id
    assert req.rec_headers.get_header("WARC-Concurrent-To") == resp.record_id
    assert resp.rec_headers.get_header("WARC-IP-Address") == "10.0.0.1"
    assert resp.rec_headers.get_header("WARC-Date") == req.rec_headers.get_header("WARC-Date") == ptr.warc_date
    assert f"{resp.http_headers.protocol} {resp.http_headers.statusline}" == "HTTP/1.1 200 OK"
    # warcio's parser splits a request line into protocol (the method) and statusline
    assert f"{req.http_headers.protocol} {req.http_headers.statusline}" == \
        "GET /zfxxgknb/index.html?page=2&x=1 HTTP/1.1"
    assert ptr.request_record_id == req.record_id


def test_cdxj_lines_point_at_records(tmp_path):
    idx = tmp_path / "idx" / "index.cdxj"
    with WarcWriter(tmp_path / "w", cdxj_path=idx, max_size=2500) as w:
        ptrs = [w.write_exchange(f"{URL}&n={i}", *_pair(os.urandom(300 + i))) for i in range(12)]
    entries = list(read_cdxj(idx))
    assert len(entries) == 12                        # captures only: request records are not indexed
    assert len(_files(tmp_path / "w")) > 1
    for e in entries:
        rec = read_record_at(tmp_path / "w" / e.filename, e.offset)
        assert rec.pointer.record_id == e.record_id
        assert e.urlkey.startswith("cn,gov,example)/zfxxgknb/index.html?")
        assert len(e.timestamp) == 14
    assert sorted(idx.read_bytes().splitlines()) == idx.read_bytes().splitlines()   # sorted as written
    key = lambda e: (e.filename, e.offset, e.length, e.record_id)  # noqa: E731
    assert sorted(map(key, entries)) == sorted((p.warc_file, p.offset, p.length, p.record_id) for p in ptrs)
    assert all(e.fields["status"] == "200" and e.fields["mime"] == "text/html" for e in entries)
    before = idx.read_bytes()
    sort_cdxj(idx)
    assert idx.read_bytes() == before


def test_rotation_renames_and_starts_each_file_with_warcinfo(tmp_path):
    w = WarcWriter(tmp_path, prefix="rot", max_size=4000)
    names = set()
    for i in range(20):
        names.add(w.write_exchange(f"{URL}&n={i}", *_pair(os.urandom(900))).warc_file)
        # every finished file is renamed immediately, only the current one is .open
        opened = [p for p in tmp_path.iterdir() if p.name.endswith(".open")]
        assert len(opened) == 1
    w.close()
    w.close()  # idempotent
    files = _files(tmp_path)
    assert {f.name for f in files} == names
    assert len(files) >= 5
    assert not [f for f in files if f.name.endswith(".open")]
    assert [int(f.name.split("-")[2]) for f in files] == list(range(len(files)))
    for f in files:
        recs = list(iter_records(f))
        assert recs[0].rec_type == "warcinfo"
        assert recs[0].rec_headers.get_header("WARC-Filename") == f.name
        if len(recs) > 3:
            assert f.stat().st_size <= 4000
        _check(f)
    assert w.finished_files == [str(f) for f in files]


def test_a_pair_bigger_than_max_size_is_written_alone(tmp_path):
    with WarcWriter(tmp_path, max_size=1000) as w:
        w.write_exchange(URL, *_pair(b"small"))
        big = w.write_exchange(URL, *_pair(os.urandom(5000)))
        w.write_exchange(URL, *_pair(b"small again"))
    files = _files(tmp_path)
    assert len(files) == 3
    assert [len(list(iter_records(f))) for f in files] == [3, 3, 3]
    assert big.warc_file == files[1].name


def test_no_file_without_writes(tmp_path):
    with WarcWriter(tmp_path / "w"):
        pass
    assert list((tmp_path / "w").iterdir()) == []


def test_exception_while_building_a_record_appends_nothing(tmp_path):
    idx = tmp_path / "i.cdxj"
    w = WarcWriter(tmp_path, cdxj_path=idx)
    w.write_exchange(URL, *_pair())
    size = os.path.getsize(w.current_path)
    assert not idx.exists()            # a file's captures are indexed when the file is finished
    # a header value that cannot be serialised: fails inside warcio, after the response record
    req = RequestData("GET", "/x", [("Host", "h"), ("X-Bad", "中文")])
    with pytest.raises(UnicodeEncodeError):
        w.write_exchange(URL, req, _pair()[1])
    assert os.path.getsize(w.current_path) == size
    w.write_exchange(URL, *_pair(b"after the failure"))
    w.close()
    (f,) = _files(tmp_path)
    _check(f)
    assert [r.rec_type for r in iter_records(f)] == ["warcinfo", "response", "request"] * 1 + \
        ["response", "request"]
    assert idx.read_text().count("\n") == 2


class _DiskFullAfter:
    """Wraps the open file: accepts ``limit`` more bytes, writes part of the next chunk, then fails
    like a full disk would."""

    def __init__(self, fh, limit):
        self.fh, self.limit = fh, limit

    def write(self, data):
        if len(data) > self.limit:
            self.fh.write(bytes(data[: self.limit]))
            self.limit = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self.limit -= len(data)
        return self.fh.write(data)

    def __getattr__(self, name):
        return getattr(self.fh, name)


def test_failed_append_is_cut_back_no_half_record(tmp_path):
    idx = tmp_path / "i.cdxj"
    w = WarcWriter(tmp_path, cdxj_path=idx)
    first = w.write_exchange(URL, *_pair())
    size = os.path.getsize(w.current_path)
    real = w._current.fh
    w._current.fh = _DiskFullAfter(real, 100)
    with pytest.raises(OSError):
        w.write_exchange(URL, *_pair(os.urandom(20000)))
    w._current.fh = real
    assert os.path.getsize(w.current_path) == size  # the 100 bytes were cut off again
    second = w.write_exchange(URL, *_pair(b"next"))
    assert second.offset == size
    w.close()
    (f,) = _files(tmp_path)
    _check(f)
    assert [r.record_id for r in iter_records(f) if r.rec_type == "response"] == \
        [first.record_id, second.record_id]
    assert len(list(read_cdxj(idx))) == 2


def test_raw_header_bytes_and_binary_bodies_round_trip(tmp_path):
    gbk = 'attachment; filename="年报.pdf"'.encode("gbk")
    body = bytes(range(256)) * 10
    headers = [("Content-Type", "application/pdf"), ("Content-Disposition", gbk),
               ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    with WarcWriter(tmp_path) as w:
        ptr = w.write_exchange(URL, *_pair(body, headers=headers))
    rec = read_record_at(tmp_path / ptr.warc_file, ptr.offset)
    assert rec.raw_payload == rec.payload == body
    assert rec.header("Content-Disposition").encode("latin-1") == gbk
    assert rec.header_list("Set-Cookie") == ["a=1", "b=2"]
    # the stored bytes really are the GBK bytes, not %-encoded
    with gzip.open(tmp_path / ptr.warc_file) as fh:
        assert gbk in fh.read()


def test_gzip_body_is_stored_compressed_and_decoded_on_read(tmp_path):
    plain = "年度报告".encode() * 1000
    comp = gzip.compress(plain)
    with WarcWriter(tmp_path) as w:
        w.write_exchange(URL, *_pair(comp, headers=[("Content-Encoding", "gzip"),
                                                    ("Content-Length", str(len(comp)))]))
    (rec,) = list(iter_responses(tmp_path))
    assert rec.raw_payload == comp
    assert rec.payload == plain
    assert rec.decode_error is None


def test_status_reasons():
    assert reason_phrase(200) == "OK"
    assert reason_phrase(404) == "Not Found"
    assert reason_phrase(599) == ""
    assert ResponseData(599).status_line == "599"
    assert ResponseData(200, reason="Fine").status_line == "200 Fine"


def test_decode_content():
    assert decode_content(b"x", None) == b"x"
    assert decode_content(gzip.compress(b"abc"), "gzip") == b"abc"
    assert decode_content(gzip.compress(gzip.compress(b"abc")), "gzip, gzip") == b"abc"
    import zlib

    assert decode_content(zlib.compress(b"abc"), "deflate") == b"abc"
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    assert decode_content(raw.compress(b"abc") + raw.flush(), "deflate") == b"abc"
    with pytest.raises(UnsupportedEncoding):
        decode_content(b"x", "br")


SURT_CASES = ["http://www.Example.gov.cn:8080/a/B?b=2&a=1", "https://www.gov.cn:443/", "http://127.0.0.1:8000/x",
              "http://127.0.0.2:8000/zwgk/zfxxgknb/index_1.html", "http://www.gd.gov.cn/a/年报.pdf?x=%E5%B9%B4",
              "http://gov.cn/a#frag", "http://WWW2.beijing.gov.cn/", "urn:x"]


def test_surt():
    assert surt("http://www.Example.gov.cn:8080/a/B?b=2&a=1") == "cn,gov,example:8080)/a/b?a=1&b=2"
    assert surt("https://www.gov.cn:443/") == "cn,gov)/"
    assert surt("http://127.0.0.1:8000/x") == "1,0,0,127:8000)/x"


def test_surt_is_pywbs_own_canonicalisation():
    pywb_python = Path(__file__).resolve().parent.parent / ".venv-pywb" / "bin" / "python"
    if not pywb_python.exists():
        pytest.skip("pywb venv missing (make test builds it: tools/pywb-venv.sh)")
    code = ("import json, sys; from pywb.utils.canonicalize import canonicalize; "
            "print(json.dumps([canonicalize(u) for u in json.load(sys.stdin)]))")
    proc = subprocess.run([str(pywb_python), "-c", code], input=json.dumps(SURT_CASES),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert [surt(u) for u in SURT_CASES] == json.loads(proc.stdout)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        WarcWriter(tmp_path, max_size=0)
    with pytest.raises(ValueError):
        WarcWriter(tmp_path, prefix="a/b")
    w = WarcWriter(tmp_path)
    w.close()
    with pytest.raises(ValueError):
        w.write_exchange(URL, *_pair())


_header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                     blacklist_characters="\x7f"), max_size=40).map(str.strip)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=3000),
       values=st.lists(_header_text.filter(bool), max_size=4),
       status=st.sampled_from([200, 201, 301, 404, 500, 503]))
def test_round_trip_property(tmp_path, body, values, status):
    d = tmp_path / os.urandom(6).hex()
    headers = [("X-Value", v) for v in values] + [("Content-Length", str(len(body)))]
    with WarcWriter(d, cdxj_path=d / "i.cdxj") as w:
        ptr = w.write_exchange(URL, *_pair(body, status=status, headers=headers))
    rec = read_record_at(d / ptr.warc_file, ptr.offset)
    assert rec.status == status
    assert rec.raw_payload == body
    got = rec.header_list("X-Value")
    # warcio decodes a header line as UTF-8 when it can, else latin-1: both give the bytes back
    assert [g.encode("utf-8") if _is_utf8_decoded(g, v) else g.encode("latin-1") for g, v in zip(got, values)] == \
        [v.encode("latin-1") for v in values]


def _is_utf8_decoded(got: str, sent: str) -> bool:
    return got != sent


def test_dechunk_undoes_chunked_framing_kept_by_other_tools():
    from harvester.warc.reader import dechunk

    assert dechunk(b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n") == b"Wikipedia"
    assert dechunk(b"not chunked at all") == b"not chunked at all"
    assert dechunk(b"4\r\nWiki\r\n5\r\nped") == b"Wikiped"  # cut short: the beginning is kept


def test_recover_finishes_an_open_file_a_killed_crawl_left(tmp_path):
    live = tmp_path / "live"
    w = WarcWriter(live, cdxj_path=live / "index.cdxj")
    ptrs = [w.write_exchange(f"{URL}&n={i}", *_pair(os.urandom(2000))) for i in range(5)]
    data = Path(w.current_path).read_bytes()
    # a second writer on the same folder leaves the live writer's file alone (flock)
    assert WarcWriter(live, cdxj_path=live / "index.cdxj").recover() == []
    assert os.path.exists(w.current_path)

    # the crash: the file cut in the middle of the last response, an old index line naming it, and
    # a line naming a file that is gone
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    name = ptrs[0].warc_file
    (crashed / (name + ".open")).write_bytes(data[: ptrs[-1].offset + ptrs[-1].length // 2])
    stale = ['cn,gov,example)/gone 20240101000000 {"url": "http://example.gov.cn/gone", "offset": 0, '
             '"length": 10, "filename": "gone.warc.gz", "rectype": "response"}\n']
    (crashed / "index.cdxj").write_text("".join(stale))
    r = WarcWriter(crashed, cdxj_path=crashed / "index.cdxj")
    assert r.recover() == [str(crashed / name)]
    assert sorted(p.name for p in crashed.iterdir()) == sorted(["index.cdxj", name])
    f = crashed / name
    assert f.stat().st_size == ptrs[-1].offset        # cut after the last whole record (the 4th request)
    _check(f)
    entries = list(read_cdxj(crashed / "index.cdxj"))
    raw = (crashed / "index.cdxj").read_bytes().splitlines()
    assert raw == sorted(raw)                          # the gone file's line dropped, the rest sorted
    assert {e.record_id for e in entries} == {p.record_id for p in ptrs[:4]}
    assert all(e.filename == name for e in entries)
    for e in entries:
        assert read_record_at(f, e.offset).pointer.record_id == e.record_id
    w.close()


def test_recover_removes_an_open_file_without_a_whole_capture(tmp_path):
    with WarcWriter(tmp_path / "a") as w:
        w.write_exchange(URL, *_pair())
        data = Path(w.current_path).read_bytes()
        ptr_name = Path(w.current_path).name
    d = tmp_path / "b"
    d.mkdir()
    (d / ptr_name).write_bytes(data[:300])      # only part of warcinfo
    assert WarcWriter(d).recover() == []
    assert list(d.iterdir()) == []


def test_metadata_record_and_warcinfo_ids(tmp_path):
    from harvester.warc.records import parse_warc_fields

    with WarcWriter(tmp_path, operator="ops@example", description="test",
                    warcinfo={"isPartOf": "job-1", "robots": "obey robots.txt"}) as w:
        ptr = w.write_exchange(URL, *_pair())
        meta = w.write_metadata(URL, [("via", "http://example.gov.cn/"), ("hopsFromSeed", "L"),
                                      ("outlink", "http://example.gov.cn/a L detail"),
                                      ("outlink", "http://example.gov.cn/b L list"), ("title", "年报\r\nx")],
                                concurrent_to=ptr.record_id, refers_to="<urn:uuid:x>")
    (f,) = _files(tmp_path)
    _check(f)
    recs = list(iter_records(f))
    info = recs[0]
    fields = dict(parse_warc_fields(info.raw_payload))
    assert fields["operator"] == "ops@example" and fields["isPartOf"] == "job-1"
    assert fields["robots"] == "obey robots.txt" and "scrapy/" in fields["software"]
    for rec in recs[1:]:
        assert rec.rec_headers.get_header("WARC-Warcinfo-ID") == info.record_id
    m = recs[-1]
    assert m.rec_type == "metadata" and m.record_id == meta.record_id
    assert m.rec_headers.get_header("Content-Type") == "application/warc-fields"
    assert m.rec_headers.get_header("WARC-Concurrent-To") == ptr.record_id
    assert m.rec_headers.get_header("WARC-Refers-To") == "<urn:uuid:x>"
    assert parse_warc_fields(m.raw_payload) == [
        ("via", "http://example.gov.cn/"), ("hopsFromSeed", "L"), ("outlink", "http://example.gov.cn/a L detail"),
        ("outlink", "http://example.gov.cn/b L list"), ("title", "年报 x")]

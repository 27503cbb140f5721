"""The fast gzip-member walk replay uses for our own WARCs agrees with warcio, record by record,
on files other tools wrote and on ours; damage stops it after the whole records before it."""
from __future__ import annotations

import gzip
import io
import pathlib

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from harvester.warc.members import MemberError, gzip_members, http_status

FOREIGN = pathlib.Path(__file__).parent / "fixtures" / "foreign"


def _warcio_view(data: bytes) -> list[tuple[int, int, str, str]]:
    out = []
    it = ArchiveIterator(io.BytesIO(data))
    for record in it:
        it.read_to_end(record)
        out.append((it.get_record_offset(), it.get_record_length(), record.rec_type,
                    record.rec_headers.get_header("WARC-Target-URI") or ""))
    return out


def _members_view(data: bytes) -> list[tuple[int, int, str, str]]:
    return [(m.offset, m.length, m.headers["warc-type"], m.headers.get("warc-target-uri", ""))
            for m in gzip_members(io.BytesIO(data))]


@pytest.mark.parametrize("name", ["heritrix-1-14-blackbook-first40.warc.gz", "archivewebpage-0-9-8-example.warc.gz", "pywb-dupes.warc.gz", "pywb-wget-1-14.warc.gz", "pywb-wpull.warc.gz",
                                  "solrwayback-wget-brotli.warc.gz", "warcio-webrecorder-example.warc.gz"])
def test_agrees_with_warcio_on_other_tools_files(name):
    data = (FOREIGN / name).read_bytes()
    assert _members_view(data) == _warcio_view(data)


def _writer_file(records: list[tuple[str, bytes]], *, big: int = 0) -> bytes:
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True, warc_version="WARC/1.1")
    for url, body in records:
        http = StatusAndHeaders("200", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    return buf.getvalue()


def test_large_and_highly_compressible_records_are_walked_not_held():
    # 40 MB of zeros inflates from ~40 KB: walked in steps, the head kept to head_limit
    data = _writer_file([("http://a.example/1", b"x" * 1000), ("http://a.example/big", b"\0" * (40 << 20)),
                         ("http://a.example/3", b"y" * 10)])
    members = list(gzip_members(io.BytesIO(data), head_limit=4096))
    assert [(m.offset, m.length) for m in members] == [(o, n) for o, n, _, _ in _warcio_view(data)]
    assert all(m.whole for m in members)
    assert len(members[1].block_head) < 4096
    assert http_status(members[0].block_head) == 200


def test_a_cut_file_yields_the_whole_records_then_names_the_damage():
    data = _writer_file([(f"http://a.example/{n}", b"z" * 5000 + bytes([n])) for n in range(5)])
    whole = _warcio_view(data)
    cut_at = whole[3][0] + whole[3][1] // 2           # in the middle of the fourth record
    seen = []
    with pytest.raises(MemberError) as err:
        for m in gzip_members(io.BytesIO(data[:cut_at])):
            seen.append(m.offset)
    assert seen == [o for o, *_ in whole[:3]]
    assert err.value.offset == whole[3][0]


def test_garbage_after_records_and_a_member_holding_two_records_are_damage():
    data = _writer_file([("http://a.example/1", b"one"), ("http://a.example/2", b"two")])
    with pytest.raises(MemberError, match="not a gzip member"):
        list(gzip_members(io.BytesIO(data + b"<html>not gzip</html>")))
    plain = gzip.decompress(data)                     # both records in one member
    with pytest.raises(MemberError, match="more than one record"):
        list(gzip_members(io.BytesIO(gzip.compress(plain))))


def test_a_block_shorter_than_its_content_length_is_not_whole():
    record = (b"WARC/1.1\r\nWARC-Type: resource\r\nWARC-Target-URI: http://a.example/\r\n"
              b"Content-Length: 100\r\n\r\nonly a few bytes")
    (m,) = gzip_members(io.BytesIO(gzip.compress(record)))
    assert not m.whole and m.headers["content-length"] == "100"


def test_status_line_without_reason_text():
    assert http_status(b"HTTP/1.0 302 \r\nLocation: /x\r\n\r\n") == 302
    assert http_status(b"garbage") == 0

"""The reader on files other tools wrote (tests/fixtures/foreign, provenance in its README): ARC and
ARC.gz, WARC/0.17 from Heritrix, WARC/1.0 from wget, wpull, Webrecorder and warcprox, WARC/1.1
from ArchiveWeb.page, a status line without reason text,
brotli bodies, chunked framing kept, a truncated file; and zstd bodies."""
from __future__ import annotations

import gzip
import io
import pathlib

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from harvester.warc.cdxj import parse_line
from harvester.warc.reader import (
    UnsupportedEncoding,
    decode_content,
    index_lines,
    iter_responses,
    iter_warc_files,
    whole_records_end,
)

FOREIGN = pathlib.Path(__file__).parent / "fixtures" / "foreign"
SIMPLE_PAGE = b"Extremely simple webpage used for testing GZip and Brotli transmission compression."


def responses(name: str):
    return list(iter_responses(FOREIGN / name))


@pytest.mark.parametrize("name", ["warcio-example.arc", "warcio-example.arc.gz"])
def test_arc_files_read_as_responses(name):
    (r,) = responses(name)
    assert r.url == "http://example.com/" and r.status == 200
    assert b"<title>Example Domain</title>" in r.payload
    assert r.header("Content-Type").startswith("text/html")


def test_folder_listing_finds_arc_and_warc_but_not_open_files(tmp_path):
    for name in ("warcio-example.arc.gz", "pywb-wget-1-14.warc.gz", "pywb-missing-status-text.warc"):
        (tmp_path / name).write_bytes((FOREIGN / name).read_bytes())
    (tmp_path / "x.warc.gz.open").write_bytes(b"")
    assert sorted(p.rsplit("/", 1)[-1] for p in iter_warc_files(tmp_path)) == \
        ["pywb-missing-status-text.warc", "pywb-wget-1-14.warc.gz", "warcio-example.arc.gz"]


def test_brotli_body_from_wget_decodes_like_its_gzip_twin():
    (br,) = responses("solrwayback-wget-brotli.warc.gz")
    (gz,) = responses("solrwayback-wget-gzip.warc.gz")
    assert br.header("Content-Encoding") == "br" and gz.header("Content-Encoding") == "gzip"
    assert br.decode_error is None and br.raw_payload != br.payload
    assert SIMPLE_PAGE in br.payload
    assert br.payload == gz.payload


def test_status_line_without_reason_is_not_damage():
    (r,) = responses("pywb-missing-status-text.warc")
    assert r.status == 302 and r.header("Location") == "http://www.iana.org/badst"
    assert whole_records_end(FOREIGN / "pywb-missing-status-text.warc")[1] == 1


@pytest.mark.parametrize("name,tool", [("pywb-wget-1-14.warc.gz", "Wget/1.14"), ("pywb-wpull.warc.gz", "Wpull"),
                                       ("warcio-webrecorder-example.warc.gz", "Webrecorder")])
def test_other_crawlers_warcs(name, tool):
    rs = [r for r in responses(name) if r.url.startswith("http")]
    assert rs and all(r.status == 200 and b"Example Domain" in r.payload for r in rs)
    with gzip.open(FOREIGN / name) as fh:
        assert tool.encode() in fh.read(2000)


def test_heritrix_warc_0_17_with_dns_and_metadata_records():
    """Heritrix 1.14 (the Internet Archive's crawler): WARC/0.17, a dns: response, request and
    Heritrix's own metadata records (via, hopsFromSeed, outlinks) around every capture."""
    name = "heritrix-1-14-blackbook-first40.warc.gz"
    with gzip.open(FOREIGN / name) as fh:
        assert b"software: Heritrix" in fh.read(2000)
    rs = responses(name)
    assert any(r.url.startswith("dns:") for r in rs)
    http = [r for r in rs if r.url.startswith("http")]
    assert http and all(100 <= r.status < 600 for r in http)
    assert any(r.url == "http://www.archive.org/robots.txt" and b"User-agent" in r.payload for r in http)
    keys = [parse_line(l).urlkey for l in index_lines(FOREIGN / name)]
    assert keys and "org,archive)/robots.txt" in keys


def test_archivewebpage_capture_with_identical_payload_revisits():
    """Webrecorder's ArchiveWeb.page (warcio.js 2.0.1, WARC/1.1): one response and six revisits of
    other URLs with the same payload digest."""
    name = "archivewebpage-0-9-8-example.warc.gz"
    (r,) = responses(name)
    assert r.url == "https://example.com/" and r.status == 200 and b"Example Domain" in r.payload
    entries = [parse_line(l) for l in index_lines(FOREIGN / name)]
    revisits = [e for e in entries if e.fields["rectype"] == "revisit"]
    assert len(revisits) == 6 and len({e.fields["digest"] for e in entries}) == 1   # one payload, sha-256


def test_chunked_framing_kept_by_warcprox_is_undone():
    (r,) = responses("warcio-warcprox-iana-chunked.warc")
    assert r.header("Transfer-Encoding") == "chunked"
    assert r.payload.rstrip().endswith(b"</html>") and b"\r\n0\r\n" not in r.payload[-20:]


def test_truncated_file_ends_before_its_cut_record():
    path = FOREIGN / "solrwayback-wget-truncated.warc.gz"
    end, whole = whole_records_end(path)
    assert 0 < end < path.stat().st_size and whole >= 1


def test_index_lines_of_foreign_files_are_captures_only():
    lines = [parse_line(l) for l in index_lines(FOREIGN / "pywb-dupes.warc.gz")]
    assert {e.fields["rectype"] for e in lines} == {"response", "revisit"}
    assert all(e.fields["filename"] == "pywb-dupes.warc.gz" for e in lines)
    assert any(e.urlkey == "org,iana)/" and e.fields["status"] == "302" for e in lines)


def test_zstd_and_br_content_encodings(tmp_path):
    import brotli
    import zstandard

    body = "<html><title>政府信息公开工作年度报告</title></html>".encode() * 50
    stream = zstandard.ZstdCompressor().compressobj()   # streamed: no content size in the frame
    encoded = {"zstd": stream.compress(body) + stream.flush(), "br": brotli.compress(body),
               "gzip, br": brotli.compress(gzip.compress(body))}
    path = tmp_path / "enc.warc.gz"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for n, (enc, data) in enumerate(encoded.items()):
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                               ("Content-Encoding", enc)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(f"http://x.gov.cn/{n}", "response",
                                                          payload=io.BytesIO(data), length=len(data),
                                                          http_headers=http))
    rs = list(iter_responses(path))
    assert [r.decode_error for r in rs] == [None, None, None]
    assert all(r.payload == body for r in rs)
    with pytest.raises(UnsupportedEncoding):
        decode_content(b"not zstd at all", "zstd")
    with pytest.raises(UnsupportedEncoding):
        decode_content(b"x", "compress")

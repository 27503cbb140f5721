"""`harvester replay` on every common format: the crawl's report pages re-stored the ways other tools
store them — `Content-Encoding: br` in a WARC/1.0, `zstd` in an uncompressed WARC, ARC and ARC.gz
(written here by hand: ARC v1 is a one-line header per record), a status line without reason
text — in one folder with other tools' real files (tests/fixtures/foreign: ARC, Heritrix, wget,
wpull, Webrecorder, a truncated file) and a capture whose br body is corrupt. Every report comes back
with the crawl's values; the damaged file and the undecodable capture are named and counted; the
exit status is 0 because something was replayed."""
from __future__ import annotations

import dataclasses
import gzip
import io
import json
import pathlib
import shutil
import subprocess
import sys

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

ROOT = pathlib.Path(__file__).resolve().parent.parent
FOREIGN = pathlib.Path(__file__).parent / "fixtures" / "foreign"
TIMEOUT = 300


def _headers(stored, **replace) -> list[tuple[str, str]]:
    drop = {"content-encoding", "transfer-encoding", "content-length", *map(str.lower, replace)}
    return [(k, v) for k, v in stored.headers if k.lower() not in drop] + list(replace.items())


def write_warc(path: pathlib.Path, stored, body: bytes, *, gz: bool, version: str = "WARC/1.1",
               status_line: str = "200 OK", **headers: str) -> None:
    http = StatusAndHeaders(status_line, _headers(stored, **headers, **{"Content-Length": str(len(body))}),
                            protocol="HTTP/1.1")
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gz, warc_version=version)
        writer.write_record(writer.create_warc_record(stored.url, "response", payload=io.BytesIO(body),
                                                      length=len(body), http_headers=http))


def write_arc(path: pathlib.Path, stored, *, gz: bool) -> None:
    """ARC v1 (as the Internet Archive's crawlers wrote it): a filedesc record, then one record per
    capture, each `URL IP DATE MIME LENGTH` + the HTTP response; per-record gzip for .arc.gz."""
    date = "20240105120000"
    http = "HTTP/1.1 200 OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in
                                           _headers(stored, **{"Content-Length": str(len(stored.payload))}))
    block = http.encode("latin-1") + b"\r\n" + stored.payload
    desc = b"1 0 harvester-test\nURL IP-address Archive-date Content-type Archive-length\n"
    records = [f"filedesc://{path.name} 0.0.0.0 {date} text/plain {len(desc)}\n".encode() + desc + b"\n",
               f"{stored.url} 127.0.0.1 {date} text/html {len(block)}\n".encode() + block + b"\n"]
    with open(path, "wb") as fh:
        for rec in records:
            fh.write(gzip.compress(rec) if gz else rec)


def comparable(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k not in ("source", "revisions")}


def test_every_format_in_one_folder(sim_crawl, tmp_path):
    import brotli
    import zstandard

    from harvester.warc.reader import read_record_at

    out = sim_crawl["out"]
    recs = [json.loads(l) for l in (out / "reports" / "records.jsonl").read_text("utf-8").splitlines() if l.strip()]
    pages = [r for r in recs if r["source"]["url"].endswith(("html", "htm"))]
    assert len(pages) >= 5
    stored = [read_record_at(out / "warc" / r["source"]["warc_file"], r["source"]["warc_offset"]) for r in pages[:5]]
    folder = tmp_path / "mixed"
    folder.mkdir()
    write_warc(folder / "br.warc.gz", stored[0], brotli.compress(stored[0].payload), gz=True, version="WARC/1.0",
               **{"Content-Encoding": "br"})
    z = zstandard.ZstdCompressor().compressobj()
    write_warc(folder / "zstd.warc", stored[1], z.compress(stored[1].payload) + z.flush(), gz=False,
               **{"Content-Encoding": "zstd"})
    write_arc(folder / "report.arc", stored[2], gz=False)
    write_arc(folder / "report.arc.gz", stored[3], gz=True)
    write_warc(folder / "sloppy.warc.gz", stored[4], stored[4].payload, gz=True, status_line="200")
    broken_url = stored[0].url.rsplit("/", 1)[0] + "/t20240101_999.html"
    write_warc(folder / "broken-br.warc.gz", dataclasses.replace(stored[0], url=broken_url),
               b"\x00not brotli at all" * 20, gz=True, **{"Content-Encoding": "br"})
    for name in ("warcio-example.arc", "pywb-wget-1-14.warc.gz", "pywb-wpull.warc.gz",
                 "warcio-webrecorder-example.warc.gz", "pywb-missing-status-text.warc",
                 "solrwayback-wget-truncated.warc.gz", "heritrix-1-14-blackbook-first40.warc.gz"):
        shutil.copy(FOREIGN / name, folder / name)

    replayed = tmp_path / "replayed"
    # the registry the crawl ran with: its portals' agencies keep the agency-year ids of the crawl
    proc = subprocess.run([sys.executable, "-m", "harvester.cli", "replay", str(folder), "--out", str(replayed),
                           "--registry", str(sim_crawl["registry"])],
                          cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = {r["source"]["url"]: r for r in map(json.loads, (replayed / "reports" / "records.jsonl")
                                               .read_text("utf-8").splitlines())}
    expected_files = ["br.warc.gz", "zstd.warc", "report.arc", "report.arc.gz", "sloppy.warc.gz"]
    for page, s, name in zip(pages, stored, expected_files):
        assert s.url in got, f"{name}: report not replayed\n{proc.stdout}\n{proc.stderr[-2000:]}"
        assert comparable(got[s.url]) == comparable(page), name
        assert got[s.url]["source"]["warc_file"] == name
    assert set(got) == {s.url for s in stored}       # nothing made of example.com pages or junk
    stderr = proc.stderr
    assert "damaged: " in stderr and "solrwayback-wget-truncated.warc.gz" in stderr
    assert "undecodable: " in stderr and broken_url in stderr
    for label, want in (("damaged files", 1), ("undecodable captures", 1), ("WARC files", 13)):
        line = next(l for l in proc.stdout.splitlines() if l.startswith(label))
        assert int(line.split()[-1]) == want, (label, proc.stdout)
    assert "Traceback" not in stderr

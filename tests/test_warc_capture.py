"""End to end: a real HTTP server on 127.0.0.1, a real Scrapy crawl (in a child process) with
WarcCaptureMiddleware on, then every record read back with warcio and `warcio check`."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from harvester.warc.cdxj import read_cdxj
from harvester.warc.reader import iter_records, iter_responses, read_record_at

WARCIO = Path(sys.executable).with_name("warcio")

# -- the test site ----------------------------------------------------------------------------------

HTML = "<html><head><title>政府信息公开工作年度报告</title></head><body><p>2023年度</p></body></html>"
GZIP_PLAIN = ("<html><body>" + "压缩的年报正文。" * 400 + "</body></html>").encode("utf-8")
GZIP_BODY = gzip.compress(GZIP_PLAIN, mtime=0)
CHUNKS = [b"<html><body>", "分块传输的".encode("utf-8") * 300, b"</body></html>"]
GBK_BODY = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    "</head><body>某某县人民政府2022年政府信息公开工作年度报告</body></html>"
).encode("gbk")
PDF_BODY = b"%PDF-1.4\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
GBK_FILENAME = 'attachment; filename="年报2023.pdf"'.encode("gbk")


def _route(path: str):
    """(status, [(header, value)], body chunks or bytes) for a path."""
    if path == "/plain":
        body = HTML.encode("utf-8")
        return 200, [("Content-Type", "text/html; charset=utf-8")], body
    if path.startswith("/plain?"):
        return 200, [("Content-Type", "text/html; charset=utf-8")], b"<p>after redirect</p>"
    if path == "/gzip":
        return 200, [("Content-Type", "text/html; charset=utf-8"),
                     ("Content-Encoding", "gzip")], GZIP_BODY
    if path == "/chunked":
        return 200, [("Content-Type", "text/html; charset=utf-8")], CHUNKS
    if path == "/chunked-gzip":
        comp = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        data = comp.compress(b"".join(CHUNKS)) + comp.flush()
        parts = [data[: len(data) // 2], data[len(data) // 2:]]
        return 200, [("Content-Type", "text/html"), ("Content-Encoding", "gzip")], parts
    if path.startswith("/search?"):
        return 200, [("Content-Type", "text/plain; charset=utf-8")], path.encode()
    if path == "/cookies":
        return 200, [("Content-Type", "text/plain"), ("Set-Cookie", "a=1; Path=/"),
                     ("X-Other", "between"), ("Set-Cookie", "b=2; Path=/; HttpOnly")], b"two cookies"
    if path == "/form":
        return 200, [("Content-Type", "text/plain")], b"form received"
    if path == "/gbk":
        return 200, [("Content-Type", "text/html")], GBK_BODY
    if path == "/report.pdf":
        return 200, [("Content-Type", "application/pdf"),
                     ("Content-Disposition", GBK_FILENAME.decode("latin-1"))], PDF_BODY
    if path in ("/cut-short", "/cut-gzip"):
        return 200, [("Content-Type", "text/html; charset=utf-8")], path   # see _Handler._serve_cut
    if path == "/redirect":
        return 302, [("Location", "/plain?from=redirect"), ("Content-Type", "text/plain")], b"moved"
    return 404, [("Content-Type", "text/plain; charset=utf-8")], b"not here"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _serve(self, body_in: bytes = b""):
        self.server.seen.append({  # type: ignore[attr-defined]
            "requestline": self.requestline,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body_in.decode("latin-1"),
        })
        status, headers, body = _route(self.path)
        if isinstance(body, str):
            return self._serve_cut(headers)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if isinstance(body, list):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in body:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            sent = b"".join(body)
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            sent = body
        self.server.sent[self.path] = sent  # type: ignore[attr-defined]

    def _serve_cut(self, headers):
        """A body that ends early: the connection closes after a tenth of the announced length
        (/cut-short), or a gzip stream cut in half behind a Content-Length that matches (/cut-gzip)."""
        full = gzip.compress(GZIP_PLAIN, mtime=0)
        self.send_response(200)
        for name, value in headers:
            self.send_header(name, value)
        if self.path == "/cut-gzip":
            body = full[: len(full) // 2]
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
        else:
            body = GZIP_PLAIN[: len(GZIP_PLAIN) // 10]
            self.send_header("Content-Length", str(len(GZIP_PLAIN)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True
        self.server.sent[self.path] = body  # type: ignore[attr-defined]

    def do_GET(self):
        self._serve()

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self._serve(self.rfile.read(n))


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.seen, httpd.sent = [], {}
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# -- the crawl (child process: a fresh reactor each time) --------------------------------------------

CRAWL_SCRIPT = textwrap.dedent(
    """
    import hashlib, json, sys
    import scrapy
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    cfg = json.loads(sys.argv[1])

    class Site(scrapy.Spider):
        name = "site"

        async def start(self):
            for url in cfg["urls"]:
                yield scrapy.Request(url, callback=self.parse, errback=self.failed,
                                     dont_filter=True)
            for url in cfg.get("posts", []):
                yield scrapy.FormRequest(url, formdata={"year": "2023", "q": "年报"},
                                         callback=self.parse, dont_filter=True)

        def parse(self, response):
            out.append({"url": response.url, "request_url": response.request.url,
                        "status": response.status, "body_sha1": hashlib.sha1(response.body).hexdigest(),
                        "warc": response.meta.get("warc")})
            yield {"url": response.url, "kind": "page"}

        def failed(self, failure):
            out.append({"url": failure.request.url, "failed": type(failure.value).__name__,
                        "warc": failure.request.meta.get("warc")})

    out, downloaded, scraped = [], {}, []

    def on_downloaded(response, request, spider):
        downloaded[response.url] = hashlib.sha1(response.body).hexdigest()

    process = CrawlerProcess(settings=cfg["settings"])
    crawler = process.create_crawler(Site)
    crawler.signals.connect(on_downloaded, signal=signals.response_downloaded)
    def on_scraped(item, response, spider):
        scraped.append(item)

    crawler.signals.connect(on_scraped, signal=signals.item_scraped)
    process.crawl(crawler)
    process.start()
    stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, (int, float, str))}
    with open(cfg["result"], "w") as fh:
        json.dump({"items": out, "stats": stats, "downloaded": downloaded, "scraped": scraped}, fh)
    """
)


def run_crawl(tmp: Path, urls, extra_settings=None, posts=()):
    tmp.mkdir(parents=True, exist_ok=True)
    script = tmp / "crawl.py"
    script.write_text(CRAWL_SCRIPT)
    settings = {
        "WARC_ENABLED": True,
        "WARC_DIR": str(tmp / "warc"),
        "WARC_PREFIX": "test",
        "WARC_CDXJ_PATH": str(tmp / "warc" / "index.cdxj"),
        "DOWNLOADER_MIDDLEWARES": {"harvester.warc.capture.WarcCaptureMiddleware": 950},
        "REMOTE_CONTROL_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "RETRY_ENABLED": False,
        "HTTPERROR_ALLOW_ALL": True,
        "DOWNLOAD_TIMEOUT": 15,
        "LOG_LEVEL": "INFO",
    }
    settings.update(extra_settings or {})
    cfg = {"urls": list(urls), "posts": list(posts), "settings": settings,
           "result": str(tmp / "result.json")}
    proc = subprocess.run([sys.executable, str(script), json.dumps(cfg)], capture_output=True,
                          text=True, timeout=120, cwd=tmp)
    return proc, cfg


PATHS = ["/plain", "/gzip", "/chunked", "/chunked-gzip", "/search?q=%E5%B9%B4%E6%8A%A5&year=2023&x=1",
         "/cookies", "/missing", "/gbk", "/report.pdf", "/redirect"]


@pytest.fixture(scope="module")
def crawl(server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crawl")
    base = f"http://127.0.0.1:{server.server_port}"
    failing = f"http://127.0.0.1:{_closed_port()}/refused"
    proc, cfg = run_crawl(tmp, [base + p for p in PATHS] + [failing], posts=[base + "/form"])
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads((tmp / "result.json").read_text())
    return {"dir": tmp / "warc", "result": result, "base": base, "server": server,
            "log": proc.stderr, "failing": failing}


def _warc_files(d: Path):
    return sorted(p for p in d.iterdir() if ".warc.gz" in p.name)


# -- tests -----------------------------------------------------------------------------------------

def test_crawl_leaves_no_open_files_and_names_follow_pattern(crawl):
    files = _warc_files(crawl["dir"])
    assert files, crawl["log"][-3000:]
    assert not [f for f in files if f.name.endswith(".open")]
    for f in files:
        assert re.fullmatch(r"test-\d{17}-\d{5}-[A-Za-z0-9._-]+\.warc\.gz", f.name), f.name


def test_warcio_check_passes(crawl):
    for f in _warc_files(crawl["dir"]):
        proc = subprocess.run([str(WARCIO), "check", "-v", str(f)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "digest pass" in proc.stdout


def test_warcinfo_first_and_pairs_linked(crawl):
    for f in _warc_files(crawl["dir"]):
        records = list(iter_records(f))
        assert records[0].rec_type == "warcinfo"
        info = records[0].raw_payload.decode()
        for field in ("software:", "hostname:", "format: WARC File Format 1.1"):
            assert field in info
        assert records[0].rec_headers.get_header("WARC-Filename") == f.name
        by_id = {r.record_id: r for r in records}
        responses = [r for r in records if r.rec_type == "response"]
        requests = [r for r in records if r.rec_type == "request"]
        assert len(responses) == len(requests)
        for resp in responses:
            assert resp.rec_headers.protocol == "WARC/1.1"
            req = by_id[resp.rec_headers.get_header("WARC-Concurrent-To")]
            assert req.rec_type == "request"
            assert req.rec_headers.get_header("WARC-Concurrent-To") == resp.record_id
            uri = resp.rec_headers.get_header("WARC-Target-URI")
            assert req.rec_headers.get_header("WARC-Target-URI") == uri
            assert resp.rec_headers.get_header("WARC-IP-Address") == "127.0.0.1"


def test_every_fetched_url_is_stored_once(crawl):
    base = crawl["base"]
    urls = sorted(r.url for r in iter_responses(crawl["dir"]))
    expected = sorted([base + p for p in PATHS] + [base + "/plain?from=redirect", base + "/form"])
    assert urls == expected


def test_bodies_are_stored_as_sent_and_decode_to_the_original(crawl):
    sent = crawl["server"].sent
    base = crawl["base"]
    for rec in iter_responses(crawl["dir"]):
        path = rec.url[len(base):]
        assert rec.raw_payload == sent[path], path  # byte for byte, still compressed
        length = rec.header("Content-Length")
        if length is not None:
            assert int(length) == len(rec.raw_payload), path
        assert rec.decode_error is None
        if path == "/gzip":
            assert rec.header("Content-Encoding") == "gzip"
            assert rec.raw_payload == GZIP_BODY
            assert rec.payload == GZIP_PLAIN
        elif path == "/chunked-gzip":
            assert rec.payload == b"".join(CHUNKS)
        elif path == "/chunked":
            assert rec.payload == b"".join(CHUNKS)
        elif path == "/gbk":
            assert rec.payload == GBK_BODY
        elif path == "/report.pdf":
            assert rec.payload == PDF_BODY
        else:
            assert rec.payload == rec.raw_payload


def test_chunked_responses_carry_no_transfer_encoding(crawl):
    for rec in iter_responses(crawl["dir"]):
        if "chunked" in rec.url:
            assert rec.header("Transfer-Encoding") is None
            assert rec.header("Content-Length") is None  # not invented either
    # and warcio's own decoding (the path pywb takes) gives the de-chunked, decoded body
    for f in _warc_files(crawl["dir"]):
        with open(f, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "response" and record.rec_headers.get_header(
                        "WARC-Target-URI").endswith("/chunked-gzip"):
                    assert record.content_stream().read() == b"".join(CHUNKS)


def test_status_lines_and_repeated_headers(crawl):
    base = crawl["base"]
    got = {rec.url[len(base):]: rec for rec in iter_responses(crawl["dir"])}
    for f in _warc_files(crawl["dir"]):
        for r in iter_records(f):
            if r.rec_type == "response":
                path = r.rec_headers.get_header("WARC-Target-URI")[len(base):]
                line = f"{r.http_headers.protocol} {r.http_headers.statusline}"
                want = {"/missing": "HTTP/1.1 404 Not Found",
                        "/redirect": "HTTP/1.1 302 Found"}.get(path, "HTTP/1.1 200 OK")
                assert line == want
    assert got["/cookies"].header_list("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly"]
    assert got["/cookies"].header("X-Other") == "between"
    # non-ASCII header bytes (a GBK file name) are kept byte for byte, not %-encoded
    cd = got["/report.pdf"].header("Content-Disposition")
    assert cd.encode("latin-1") == GBK_FILENAME


def test_request_records_match_what_the_server_received(crawl):
    seen = {s["requestline"]: s for s in crawl["server"].seen}
    base = crawl["base"]
    n = 0
    for f in _warc_files(crawl["dir"]):
        for r in iter_records(f):
            if r.rec_type != "request":
                continue
            n += 1
            line = r.http_headers.statusline if not r.http_headers.protocol else \
                f"{r.http_headers.protocol} {r.http_headers.statusline}"
            assert line in seen, (line, list(seen))
            server_view = seen[line]
            # same names (as sent), same values, same order, Host included
            assert [list(h) for h in r.http_headers.headers] == server_view["headers"]
            assert r.http_headers.get_header("Host") == base.split("//", 1)[1]
            assert r.raw_payload.decode("latin-1") == server_view["body"]
            accept = r.http_headers.get_header("Accept-Encoding")
            assert accept == "gzip, deflate"
    assert n == len(PATHS) + 2
    assert "GET /search?q=%E5%B9%B4%E6%8A%A5&year=2023&x=1 HTTP/1.1" in seen
    post = seen["POST /form HTTP/1.1"]
    assert "year=2023" in post["body"]


def test_meta_pointer_and_cdxj_offsets(crawl):
    d = crawl["dir"]
    items = [i for i in crawl["result"]["items"] if "failed" not in i]
    assert len(items) == len(PATHS) + 1  # the redirect is followed; /form added
    for item in items:
        w = item["warc"]
        assert set(w) >= {"warc_file", "warc_offset", "warc_record_id", "fetched_at", "warc_length"}
        rec = read_record_at(d / w["warc_file"], w["warc_offset"])
        assert rec.pointer.record_id == w["warc_record_id"]
        assert rec.pointer.length == w["warc_length"]
        assert rec.url == item["url"]  # after a redirect: the final URL's record
        assert hashlib.sha1(rec.payload).hexdigest() == item["body_sha1"]
    # CDXJ: one line per capture (response/revisit; requests and metadata are not indexed), sorted,
    # offsets and lengths exact
    raw = (d / "index.cdxj").read_bytes().splitlines()
    assert raw == sorted(raw)
    entries = list(read_cdxj(d / "index.cdxj"))
    records = [r for f in _warc_files(d) for r in iter_records(f) if r.rec_type in ("response", "revisit")]
    assert len(entries) == len(records)
    by_id = {r.record_id: r for r in records}
    for e in entries:
        r = by_id[e.record_id]
        assert (e.filename, e.offset, e.length) == (os.path.basename(r.warc_path), r.offset, r.length)
        assert e.fields["rectype"] == r.rec_type
        again = read_record_at(d / e.filename, e.offset)
        again_id = again.pointer.record_id if hasattr(again, "pointer") else \
            again.rec_headers.get_header("WARC-Record-ID")
        assert again_id == e.record_id
        if r.rec_type == "response":
            assert e.fields["status"] == r.http_headers.get_statuscode()
            assert e.fields["url"] == r.rec_headers.get_header("WARC-Target-URI")
            assert e.fields["digest"] == r.rec_headers.get_header("WARC-Payload-Digest")[5:]


def test_failed_fetch_is_counted_not_written(crawl):
    result = crawl["result"]
    failed = [i for i in result["items"] if "failed" in i]
    assert [f["url"] for f in failed] == [crawl["failing"]]
    assert failed[0]["warc"] is None
    stats = result["stats"]
    assert stats["warc/failed"] == 1
    n_resp = len(PATHS) + 2
    assert stats["warc/responses"] == n_resp
    files = _warc_files(crawl["dir"])
    assert stats["warc/records"] == 2 * n_resp + len(files)  # + one warcinfo per file
    assert stats["warc/bytes"] == sum(f.stat().st_size for f in files)
    assert stats["warc/files"] == len(files)
    assert "fetch failed, nothing stored" in crawl["log"]


def test_capture_sees_bytes_before_decompression(crawl):
    """Evidence for the hook choice: the middleware at 950 stores the gzip bytes as sent; the
    spider gets them decoded by HttpCompressionMiddleware; response_downloaded also sees raw."""
    items = {i["url"]: i for i in crawl["result"]["items"] if "failed" not in i}
    url = crawl["base"] + "/gzip"
    assert items[url]["body_sha1"] == hashlib.sha1(GZIP_PLAIN).hexdigest()
    assert crawl["result"]["downloaded"][url] == hashlib.sha1(GZIP_BODY).hexdigest()
    stored = read_record_at(crawl["dir"] / items[url]["warc"]["warc_file"],
                            items[url]["warc"]["warc_offset"])
    assert stored.raw_payload == GZIP_BODY


def test_rotation_by_size(server, tmp_path):
    base = f"http://127.0.0.1:{server.server_port}"
    proc, _ = run_crawl(tmp_path, [base + p for p in PATHS], {"WARC_MAX_SIZE": 3000})
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = _warc_files(tmp_path / "warc")
    assert len(files) >= 4
    assert not [f for f in files if f.name.endswith(".open")]
    serials = [int(f.name.split("-")[2]) for f in files]
    assert sorted(serials) == list(range(len(files)))
    total = 0
    for f in files:
        records = list(iter_records(f))
        assert records[0].rec_type == "warcinfo"
        assert [r.rec_type for r in records[1:]] == ["response", "request"] * ((len(records) - 1) // 2)
        total += (len(records) - 1) // 2
        if len(records) > 3:  # more than one pair: the size limit was respected
            assert f.stat().st_size <= 3000
        assert subprocess.run([str(WARCIO), "check", str(f)]).returncode == 0
    assert total == len(PATHS) + 1


def test_bad_setting_refuses_to_start(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc, cfg = run_crawl(tmp_path, ["http://127.0.0.1:9/never"],
                          {"WARC_DIR": str(blocker / "warc")})
    assert "WARC_DIR cannot be created" in proc.stderr
    assert not (tmp_path / "result.json").exists() or \
        json.loads((tmp_path / "result.json").read_text())["items"] == []


@pytest.mark.parametrize("settings, message", [
    ({"WARC_DIR": ""}, "WARC_DIR is not set"),
    ({"WARC_MAX_SIZE": "lots"}, "WARC_MAX_SIZE must be a number"),
    ({"WARC_MAX_SIZE": 0}, "WARC_MAX_SIZE must be positive"),
    ({"WARC_PREFIX": "a/b"}, "WARC_PREFIX"),
])
def test_setting_errors(tmp_path, settings, message):
    from scrapy.settings import Settings

    from harvester.warc.capture import WarcCaptureMiddleware, WarcSettingsError

    base = {"WARC_ENABLED": True, "WARC_DIR": str(tmp_path / "w")}
    base.update(settings)
    with pytest.raises(WarcSettingsError, match=message):
        WarcCaptureMiddleware.writer_from_settings(Settings(base))


def test_disabled_by_default():
    from scrapy.exceptions import NotConfigured
    from scrapy.utils.test import get_crawler

    from harvester.warc.capture import WarcCaptureMiddleware

    with pytest.raises(NotConfigured):
        WarcCaptureMiddleware.from_crawler(get_crawler())


def test_accept_encoding_never_asks_for_br_or_zstd():
    from harvester.warc.capture import _filter_accept_encoding

    assert _filter_accept_encoding(None) == b"gzip, deflate"
    assert _filter_accept_encoding(b"gzip, deflate, br, zstd") == b"gzip, deflate"
    assert _filter_accept_encoding(b"br") == b"gzip, deflate"
    assert _filter_accept_encoding(b"identity") == b"identity"
    assert _filter_accept_encoding(b"gzip;q=1.0, br;q=0.9") == b"gzip;q=1.0"


def test_http_cache_hits_are_not_archived_again(server, tmp_path):
    base = f"http://127.0.0.1:{server.server_port}"
    cache = {"HTTPCACHE_ENABLED": True, "HTTPCACHE_DIR": str(tmp_path / "cache")}
    first, _ = run_crawl(tmp_path / "one", [base + "/plain", base + "/gzip"], cache)
    assert first.returncode == 0, first.stderr[-3000:]
    second, _ = run_crawl(tmp_path / "two", [base + "/plain", base + "/gzip"], cache)
    assert second.returncode == 0, second.stderr[-3000:]
    stats = json.loads((tmp_path / "two" / "result.json").read_text())["stats"]
    assert stats["warc/skipped_cached"] == 2
    assert "warc/responses" not in stats
    assert len(list(iter_responses(tmp_path / "one" / "warc"))) == 2
    assert not [p for p in (tmp_path / "two" / "warc").iterdir() if ".warc" in p.name]


def test_a_body_that_ended_early_is_flagged(server, tmp_path):
    """Scrapy's `dataloss` (connection closed before Content-Length) and a gzip stream cut short:
    stored whole as received, with `WARC-Truncated: length`; the item carries `truncated`, the
    metadata record and the crawl log say so."""
    base = f"http://127.0.0.1:{server.server_port}"
    proc, cfg = run_crawl(tmp_path, [base + "/cut-short", base + "/cut-gzip", base + "/plain"], extra_settings={
        "DOWNLOAD_FAIL_ON_DATALOSS": False,
        "SPIDER_MIDDLEWARES": {"harvester.warc.discovery.DiscoveryRecordMiddleware": 100}})
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads((tmp_path / "result.json").read_text())
    truncated = {}
    metadata = {}
    for f in _warc_files(tmp_path / "warc"):
        with open(f, "rb") as fh:
            for rec in ArchiveIterator(fh):
                url = rec.rec_headers.get_header("WARC-Target-URI")
                if rec.rec_type == "response":
                    truncated[url] = rec.rec_headers.get_header("WARC-Truncated")
                elif rec.rec_type == "metadata":
                    metadata[url] = rec.content_stream().read().decode()
    assert truncated == {base + "/cut-short": "length", base + "/cut-gzip": "length", base + "/plain": None}
    assert (tmp_path / "warc" / "index.cdxj").exists()
    flags = {i["url"]: i.get("truncated") for i in result["scraped"]}
    assert flags == {base + "/cut-short": "length", base + "/cut-gzip": "length", base + "/plain": None}
    for item in result["items"]:
        assert item["warc"].get("truncated") == flags[item["url"]]
    assert "truncated: length" in metadata[base + "/cut-short"]
    assert "truncated" not in metadata[base + "/plain"]
    log = (tmp_path / "warc" / "crawl.log").read_text()
    cut = [l for l in log.splitlines() if "/cut-" in l]
    assert len(cut) == 2 and all(l.endswith("truncated:length") for l in cut)
    assert result["stats"]["warc/truncated"] == 2

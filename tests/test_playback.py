"""Playback in a real pywb `wayback` (own venv, .venv-pywb: tools/pywb-venv.sh) of a simulator crawl's
WARCs: through `id_` URLs pywb must give back the bytes the simulator serves (report page, GBK page,
gzip page, chunked page, PDF); and `harvester package` builds a WACZ that `wacz validate` accepts.

pywb's `id_` answers with the original payload: a gzip capture comes back gzip-encoded (with its
Content-Encoding), so it is decoded before the comparison; the simulator is asked directly with
`Accept-Encoding: identity`."""
from __future__ import annotations

import gzip
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PYWB = ROOT / ".venv-pywb" / "bin"
TIMEOUT = 120

pytestmark = pytest.mark.skipif(not (PYWB / "wayback").exists(),
                                reason=".venv-pywb/bin/wayback missing: run tools/pywb-venv.sh (make test does)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, timeout: float = 20) -> tuple[bytes, dict]:
    req = urllib.request.Request(url, headers={"Accept-Encoding": "identity"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        body = resp.read()
        headers = {k.lower(): v for k, v in resp.headers.items()}
    if "gzip" in headers.get("content-encoding", ""):
        body = gzip.decompress(body)
    return body, headers


@pytest.fixture(scope="module")
def crawled(sim_crawl):
    return sim_crawl


@pytest.fixture(scope="module")
def wayback(crawled, request):
    # one collection folder per importing module (test_report_page reuses this fixture)
    coll_root = crawled["tmp"] / f"pywb-{request.module.__name__.rsplit('.', 1)[-1]}"
    coll_root.mkdir()
    env = {**os.environ, "PATH": f"{PYWB}{os.pathsep}{os.environ.get('PATH', '')}"}
    warcs = sorted((crawled["out"] / "warc").glob("*.warc.gz"))
    for cmd in (["wb-manager", "init", "coll"], ["wb-manager", "add", "coll", *map(str, warcs)],
                ["wb-manager", "init", "direct"]):
        proc = subprocess.run([str(PYWB / cmd[0]), *cmd[1:]], cwd=coll_root, env=env, capture_output=True,
                              text=True, timeout=TIMEOUT)
        assert proc.returncode == 0, proc.stderr[-2000:]
    # "direct": the crawl's own OUT/index.cdxj as the collection's index, WARCs copied, nothing re-indexed
    direct = coll_root / "collections" / "direct"
    for w in warcs:
        shutil.copy(w, direct / "archive" / w.name)
    shutil.copy(crawled["out"] / "index.cdxj", direct / "indexes" / "index.cdxj")
    port = free_port()
    log = open(coll_root / "wayback.log", "wb")
    server = subprocess.Popen([str(PYWB / "wayback"), "-b", "127.0.0.1", "-p", str(port)], cwd=coll_root,
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("wayback did not start: " + (coll_root / "wayback.log").read_text(errors="replace")[-2000:])
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/coll"
        assert (direct / "indexes" / "index.cdxj").read_bytes() == (crawled["out"] / "index.cdxj").read_bytes()
        assert sorted(p.name for p in (direct / "indexes").iterdir()) == ["index.cdxj"]
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        log.close()


def captures(out: pathlib.Path):
    from harvester.warc.reader import iter_responses

    return [r for r in iter_responses(out / "warc") if r.status == 200]


def timestamp(warc_date: str) -> str:
    return "".join(ch for ch in warc_date if ch.isdigit())[:14]


def pick(crawled) -> dict[str, object]:
    out = crawled["out"]
    caps = captures(out)
    recs = [json.loads(l) for l in (out / "reports" / "records.jsonl").read_text(encoding="utf-8").splitlines()
            if l.strip()]
    by_url = {c.url: c for c in caps}
    gbk_host = crawled["sim"].portal("gbk").host
    chosen = {
        "report": next(by_url[r["source"]["url"]] for r in recs if r["source"]["url"].endswith(("html", "htm"))),
        "gbk": next(c for c in caps if gbk_host in c.url and b"charset=gbk" in c.payload[:2000]),
        "gzip": next(c for c in caps if "gzip" in (c.header("Content-Encoding") or "")),
        "chunked": next(c for c in caps if gbk_host in c.url and "html" in (c.header("Content-Type") or "")
                        and not c.url.endswith("robots.txt")),
        "pdf": next(c for c in caps if c.url.endswith(".pdf")),
    }
    return chosen


def test_pywb_id_playback_gives_the_served_bytes(crawled, wayback):
    chosen = pick(crawled)
    for kind, cap in chosen.items():
        served, served_headers = fetch(cap.url)
        if kind == "chunked":
            assert served_headers.get("transfer-encoding") == "chunked"   # chunked on the wire
        played, headers = fetch(f"{wayback}/{timestamp(cap.pointer.warc_date)}id_/{cap.url}")
        assert played == served, f"{kind}: {cap.url}"
        assert played == cap.payload, kind


def test_package_builds_a_valid_wacz(crawled, tmp_path):
    from harvester.wacz import validate

    wacz = tmp_path / "crawl.wacz"
    proc = subprocess.run([sys.executable, "-m", "harvester.cli", "package", "--out", str(wacz),
                           "--warc", str(crawled["out"] / "warc"),
                           "--dump", str(crawled["out"] / "reports" / "records.jsonl")],
                          cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    v = validate(wacz)
    assert v.returncode == 0, (v.stdout + v.stderr)[-2000:]
    recs = [json.loads(l) for l in (crawled["out"] / "reports" / "records.jsonl").read_text(encoding="utf-8")
            .splitlines() if l.strip()]
    with zipfile.ZipFile(wacz) as z:
        names = z.namelist()
        assert any(n.startswith("archive/") and ".warc" in n for n in names)
        lines = [json.loads(l) for l in z.read("pages/pages.jsonl").decode("utf-8").splitlines() if l.strip()]
        package = json.loads(z.read("datapackage.json"))
        log = z.read("logs/crawl.log")
    assert log == (crawled["out"] / "crawl.log").read_bytes() and log.count(b"\n") > 10
    assert package["title"] and package["description"]
    assert package["mainPageURL"] in {r["source"]["url"] for r in recs} and package["mainPageDate"]
    pages = {p["url"]: p for p in lines[1:]}
    assert lines[0].get("format") == "json-pages-1.0"
    for r in recs:
        p = pages[r["source"]["url"]]
        assert p["title"] and p["ts"]
    assert set(pages) == {r["source"]["url"] for r in recs}


def test_revisit_records_resolve_in_pywb(crawled, wayback):
    """A re-crawl's 304 is a revisit record; pywb plays it back as the original capture's bytes."""
    from warcio.archiveiterator import ArchiveIterator

    originals = {c.url: c for c in captures(crawled["out"])}
    revisits = []
    for path in sorted((crawled["out"] / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_type == "revisit":
                    revisits.append((rec.rec_headers.get_header("WARC-Target-URI"),
                                     rec.rec_headers.get_header("WARC-Date"),
                                     rec.rec_headers.get_header("WARC-Refers-To-Target-URI")))
    assert revisits, "the second crawl wrote no revisit record"
    for url, date, refers_to in revisits:
        assert refers_to == url
        played, _ = fetch(f"{wayback}/{timestamp(date)}id_/{url}")
        assert played == originals[url].payload, url


def test_pywb_serves_the_crawl_from_our_own_cdxj(crawled, wayback):
    """OUT/index.cdxj dropped into a pywb collection as is: every report page, a PDF and every
    revisit play back (pywb needs it sorted, with its own SURT keys, and no request line
    shadowing a response)."""
    from warcio.archiveiterator import ArchiveIterator

    direct = wayback.rsplit("/", 1)[0] + "/direct"
    out = crawled["out"]
    caps = {c.pointer.record_id: c for c in captures(out)}
    recs = [json.loads(l) for l in (out / "reports" / "records.jsonl").read_text(encoding="utf-8").splitlines()
            if l.strip()]
    pages = [r["source"] for r in recs if r["source"]["url"].endswith(("html", "htm"))]
    pdfs = [c for c in caps.values() if c.url.endswith(".pdf")]
    assert len(pages) >= 5 and pdfs
    for src in pages:
        played, _ = fetch(f"{direct}/{timestamp(src['fetched_at'])}id_/{src['url']}")
        assert played == caps[src["warc_record_id"]].payload, src["url"]
    played, headers = fetch(f"{direct}/{timestamp(pdfs[0].pointer.warc_date)}id_/{pdfs[0].url}")
    assert played == pdfs[0].payload and played.startswith(b"%PDF")
    revisits = 0
    by_url = {}
    for c in caps.values():
        by_url.setdefault(c.url, c)
    for path in sorted((out / "warc").glob("*.warc.gz")):
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_type == "revisit":
                    url, date = rec.rec_headers.get_header("WARC-Target-URI"), rec.rec_headers.get_header("WARC-Date")
                    played, _ = fetch(f"{direct}/{timestamp(date)}id_/{url}")
                    assert played == by_url[url].payload, url
                    revisits += 1
    assert revisits, "the second crawl wrote no revisit record"


def test_rendered_capture_replays_in_pywb(crawled, wayback):
    """What the browser fetched (the script-built column page and the script it ran) plays back
    with the served bytes; the browser's records hold decoded bodies, so they need no decoding."""
    portal = crawled["sim"].portal("scripted")
    caps = captures(crawled["out"])
    browser = [c for c in caps if c.header("X-Archive-Orig-Content-Encoding")]
    script = [c for c in caps if c.url == portal.url("/js/list.js")]
    assert browser and script
    for cap in (browser[0], script[0]):
        served, _ = fetch(cap.url)
        played, headers = fetch(f"{wayback}/{timestamp(cap.pointer.warc_date)}id_/{cap.url}")
        assert played == served == cap.payload, cap.url


def test_package_takes_a_crawl_folder_and_leaves_nothing_when_it_fails(crawled, tmp_path):
    wacz = tmp_path / "folder.wacz"
    proc = subprocess.run([sys.executable, "-m", "harvester.cli", "package", "--out", str(wacz),
                           "--warc", str(crawled["out"])], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with zipfile.ZipFile(wacz) as z:          # the crawl folder's WARCs, report pages and crawl log
        assert any(n.startswith("archive/") for n in z.namelist()) and "logs/crawl.log" in z.namelist()
    bad = tmp_path / "bad.wacz"
    proc = subprocess.run([sys.executable, "-m", "harvester.cli", "package", "--out", str(bad),
                           "--warc", "/etc/hostname"], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.wacz"]

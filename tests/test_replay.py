"""`harvester replay`: the WARCs of a simulator crawl give back the crawl's dump exactly; plain,
WARC/1.0, truncated and revisit variants (made with warcio) are read too."""
from __future__ import annotations

import gzip
import json
import pathlib
import shutil
import subprocess
import sys

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

ROOT = pathlib.Path(__file__).resolve().parent.parent
TIMEOUT = 120


def records(out: pathlib.Path) -> list[dict]:
    lines = (out / "reports" / "records.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def replay(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harvester.cli", "replay", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    from harvester.sim import start_simulator

    tmp = tmp_path_factory.mktemp("replay")
    sim = start_simulator()
    try:
        registry = tmp / "registry.jsonl"
        sim.write_registry(registry)
        out = tmp / "crawl"
        proc = subprocess.run([sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry),
                               "--out", str(out), "--loopback"], cwd=ROOT, capture_output=True, text=True,
                              timeout=TIMEOUT)
        assert proc.returncode == 0, proc.stderr[-3000:]
    finally:
        sim.stop()
    recs = records(out)
    assert len(recs) >= 10
    yield {"tmp": tmp, "out": out, "records": recs, "warcs": sorted((out / "warc").glob("*.warc.gz"))}


def summary_value(stdout: str, label: str) -> int:
    line = next(line for line in stdout.splitlines() if line.startswith(label))
    return int(line.split()[-1])


def without_pointer(rec: dict) -> dict:
    src = {k: v for k, v in rec["source"].items() if k not in ("warc_file", "warc_offset")}
    return {**rec, "source": src}


def rewrite(src: pathlib.Path, dst: pathlib.Path, *, gz: bool, version: str | None = None) -> None:
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        writer = WARCWriter(fout, gzip=gz)
        for record in ArchiveIterator(fin):
            if version:
                record.rec_headers.protocol = version
            writer.write_record(record)


def test_replay_reproduces_the_crawl_dump(crawled, tmp_path):
    proc = replay(crawled["out"] / "warc", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = records(tmp_path)
    want = crawled["records"]
    assert [r["id"] for r in got] == [r["id"] for r in want]
    for a, b in zip(want, got):
        assert a == b, a["id"]                       # every field, `source` pointer included
    assert "records (agency-years)" in proc.stdout


def test_uncompressed_and_warc10_copies(crawled, tmp_path):
    want = {r["id"]: without_pointer(r) for r in crawled["records"]}
    for name, gz, version in (("plain.warc", False, None), ("v10.warc.gz", True, "WARC/1.0")):
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        for i, w in enumerate(crawled["warcs"]):
            rewrite(w, folder / f"{i}-{name}", gz=gz, version=version)
        if version:
            with gzip.open(next(folder.iterdir()), "rb") as fh:
                assert fh.read(9) == b"WARC/1.0\r"
        out = tmp_path / f"out-{name}"
        proc = replay(folder, "--out", out)
        assert proc.returncode == 0, proc.stderr
        got = {r["id"]: without_pointer(r) for r in records(out)}
        assert got == want, name
        for r in records(out):
            assert r["source"]["warc_file"].endswith(name) and r["source"]["warc_offset"] is not None


def test_truncated_file_is_used_up_to_the_damage(crawled, tmp_path):
    folder = tmp_path / "cut"
    folder.mkdir()
    src = crawled["warcs"][0]
    data = src.read_bytes()
    (folder / src.name).write_bytes(data[: int(len(data) * 0.7)])
    out = tmp_path / "out"
    proc = replay(folder, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "warning:" in proc.stderr and "damaged" in proc.stderr
    line = [l for l in proc.stdout.splitlines() if l.startswith("damaged files")][0]
    assert line.split()[-1] == "1"
    got = records(out)
    by_id = {r["id"]: r for r in crawled["records"]}
    assert 0 < len(got) < len(by_id)
    for r in got:
        assert r == by_id[r["id"]]


def test_revisit_records_resolve_to_the_original(crawled, tmp_path):
    src = crawled["warcs"][0]
    report = crawled["records"][0]
    with open(src, "rb") as fh:
        orig = next(r for r in ArchiveIterator(fh) if r.rec_type == "response"
                    and r.rec_headers.get_header("WARC-Target-URI") == report["source"]["url"])
        uri = orig.rec_headers.get_header("WARC-Target-URI")
        date = orig.rec_headers.get_header("WARC-Date")
        digest = orig.rec_headers.get_header("WARC-Payload-Digest")
        http_headers = orig.http_headers
    folder = tmp_path / "warc"
    folder.mkdir()
    shutil.copy(src, folder / src.name)
    with open(folder / "zz-revisit.warc.gz", "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        by_uri = writer.create_revisit_record(uri, digest=digest, refers_to_uri=uri, refers_to_date=date,
                                              http_headers=http_headers)
        other = writer.create_revisit_record(uri + "?copy=1", digest=digest, refers_to_uri="urn:x",
                                             refers_to_date="2000-01-01T00:00:00Z", http_headers=http_headers)
        writer.write_record(by_uri)
        writer.write_record(other)
    # the foreign file goes through the real engine; its revisits resolve to our original (by
    # target URI + date, and by payload digest for the copy) and give the same report
    proc = replay(folder, "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    got = {r["id"]: r for r in records(tmp_path / "out")}
    assert set(got) == {r["id"] for r in crawled["records"]}
    assert got[report["id"]]["source"]["warc_file"] == "zz-revisit.warc.gz"
    assert without_pointer(got[report["id"]])["active_disclosure"] == report["active_disclosure"]
    assert summary_value(proc.stdout, "unresolved revisits") == 0


def test_errors_are_one_line(tmp_path):
    proc = replay(tmp_path / "nope", "--out", tmp_path / "o")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("harvester replay:")
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = replay(empty, "--out", tmp_path / "o")
    assert proc.returncode == 2 and "no WARC file" in proc.stderr


def test_rerun_through_the_real_engine_finds_the_same_reports(crawled, tmp_path):
    """`--rerun`: today's spider, middlewares and pipelines over the archive (the download handler
    answers from it; a page the crawl rendered gets its stored DOM) instead of the decisions."""
    proc = replay(crawled["out"] / "warc", "--out", tmp_path, "--rerun")
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = {r["id"]: r for r in records(tmp_path)}
    want = {r["id"]: r for r in crawled["records"]}
    assert set(got) == set(want)
    assert summary_value(proc.stdout, "  by recorded decisions") == 0
    assert summary_value(proc.stdout, "  by the crawl engine") >= len(want) - summary_value(proc.stdout, "  by content rule")
    for rid, rec in want.items():
        assert without_pointer(got[rid])["source"]["url"] == rec["source"]["url"]
        assert {k: v for k, v in got[rid].items() if k != "source"} == {k: v for k, v in rec.items() if k != "source"}
    stats = json.loads((tmp_path / "replay-engine-stats.json").read_text(encoding="utf-8"))["stats"]
    assert stats.get("replay/served", 0) > len(want)
    crawl_stats = json.loads((crawled["out"] / "crawl-stats.json").read_text(encoding="utf-8"))["stats"]
    if crawl_stats.get("render/pages"):
        assert stats.get("replay/rendered", 0) >= 1     # the script-built list read from its stored DOM

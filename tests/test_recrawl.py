"""Re-crawls that cost little and lose nothing: three `harvester crawl` runs into one OUT folder
against the simulator (subprocesses, hard timeouts).

1. unchanged portal: report pages / attachments asked conditionally, answered 304, archived as
   revisit records; nothing parsed; the dump byte-identical;
2. a changed report (sim.update_report): a new response record, the dump line replaced, the earlier
   version kept in `revisions`;
3. a new report in a column (sim.add_report): found and added; apart from list pages every request
   is conditional.
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
TIMEOUT = 60
NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
CHANGED = "pingtan-2019"


def crawl(registry: pathlib.Path, out: pathlib.Path) -> dict:
    proc = subprocess.run([sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry),
                           "--out", str(out), "--loopback"],
                          cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "crawl-stats.json").read_text(encoding="utf-8"))["stats"]


def records(out: pathlib.Path) -> dict[str, dict]:
    lines = (out / "reports" / "records.jsonl").read_text(encoding="utf-8").splitlines()
    return {r["id"]: r for r in map(json.loads, filter(str.strip, lines))}


def state(out: pathlib.Path) -> dict[str, dict]:
    lines = (out / "state.jsonl").read_text(encoding="utf-8").splitlines()
    head, rest = json.loads(lines[0]), [json.loads(x) for x in lines[1:] if x.strip()]
    assert head["state_format"] == "harvester-crawl-state"
    return {e["url"]: e for e in rest}


def warc_records(out: pathlib.Path, skip: set[str]) -> list:
    from warcio.archiveiterator import ArchiveIterator

    recs = []
    for f in sorted((out / "warc").glob("*.warc.gz")):
        if f.name in skip:
            continue
        with open(f, "rb") as fh:
            for rec in ArchiveIterator(fh):
                recs.append((rec.rec_type, dict(rec.rec_headers.headers)))
    return recs


def conditional(entry: dict) -> bool:
    h = entry["headers"]
    return bool(h.get("If-None-Match") or h.get("If-Modified-Since"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from harvester.sim import start_simulator

    tmp = tmp_path_factory.mktemp("recrawl")
    sim = start_simulator()
    try:
        registry = tmp / "registry.jsonl"
        sim.write_registry(registry)
        out = tmp / "out"
        res: dict = {"sim": sim, "out": out}
        t0 = time.monotonic()
        res["stats1"] = crawl(registry, out)
        res["dump1"] = (out / "reports" / "records.jsonl").read_bytes()
        res["records1"], res["state1"] = records(out), state(out)
        res["log1"] = list(sim.request_log)
        res["files1"] = {f.name for f in (out / "warc").glob("*.warc.gz")}

        sim.clear_log()
        res["stats2"] = crawl(registry, out)
        res["dump2"] = (out / "reports" / "records.jsonl").read_bytes()
        res["state2"] = state(out)
        res["log2"] = list(sim.request_log)
        res["warc2"] = warc_records(out, res["files1"])
        res["files2"] = {f.name for f in (out / "warc").glob("*.warc.gz")}

        sim.clear_log()
        res["changed"] = sim.update_report(CHANGED, note="2025年3月更新：补充说明。", mtime=time.time() + 10)
        res["added"] = sim.add_report("gbk", "pingtan-2022", gold_changes={"year": 2021},
                                      title="平潭综合实验区2021年政府信息公开工作年度报告")
        res["stats3"] = crawl(registry, out)
        res["records3"] = records(out)
        res["log3"] = list(sim.request_log)
        res["warc3"] = warc_records(out, res["files2"])
        res["elapsed"] = time.monotonic() - t0
        yield res
    finally:
        sim.stop()


def _url(sim, x: dict) -> str:
    return f"http://{x['host']}:{sim.port}{x['path']}"


def test_unchanged_portal_is_revisited_not_refetched(runs):
    sim, st1 = runs["sim"], runs["state1"]
    reports = {u for u, e in st1.items() if e.get("report")}
    assert reports, "the first crawl recorded no report page in the state"
    seen = {_url(sim, x): x for x in runs["log2"]}
    # every report page / attachment known from crawl 1 was asked conditionally and answered 304
    for url in reports:
        x = seen.get(url)
        assert x is not None, f"not re-checked: {url}"
        assert conditional(x), f"unconditional re-fetch: {url}"
        assert x["status"] == 304, (url, x["status"])
    # the rest are list/navigation pages, robots.txt and non-report pages crawl 1 also fetched
    first = {_url(sim, x) for x in runs["log1"]}
    for url, x in seen.items():
        if not conditional(x):
            assert url in first and not st1.get(url, {}).get("report"), url
    s2 = runs["stats2"]
    assert s2.get("parse/records", 0) == 0, "a report was parsed twice"
    assert s2.get("parse/skipped_unchanged", 0) >= len([u for u in reports if st1[u].get("emitted")])
    assert s2.get("recrawl/not_modified", 0) == len(reports)
    assert runs["dump2"] == runs["dump1"], "the dump changed on an unchanged portal"
    # 304s archived as WARC/1.1 revisit records pointing at the first capture
    revisits = [h for t, h in runs["warc2"] if t == "revisit"]
    assert len(revisits) == len(reports)
    for h in revisits:
        assert h["WARC-Profile"] == NOT_MODIFIED
        prev = st1[h["WARC-Target-URI"]] if h["WARC-Target-URI"] in st1 else None
        assert prev is not None, h["WARC-Target-URI"]
        assert h["WARC-Refers-To-Target-URI"] == h["WARC-Target-URI"]
        assert h["WARC-Refers-To-Date"] == prev["fetched_at"]
        assert h["WARC-Refers-To"] == prev["warc_record_id"]
    assert not [h for t, h in runs["warc2"] if t == "response" and h["WARC-Target-URI"] in reports]
    # the state keeps the last full response and notes the revisit
    st2 = runs["state2"]
    for url in reports:
        assert st2[url]["warc_record_id"] == st1[url]["warc_record_id"]
        assert st2[url]["last_status"] == 304 and st2[url]["last_revisit"]["profile"] == "server-not-modified"


def test_changed_report_replaces_line_and_keeps_revision(runs):
    url = runs["changed"]["url"]
    old = next(r for r in runs["records1"].values() if r["source"]["url"] == url)
    new = runs["records3"][old["id"]]
    assert new["source"]["warc_record_id"] != old["source"]["warc_record_id"]
    assert [r["warc_record_id"] for r in new["revisions"]] == [old["source"]["warc_record_id"]]
    rev = new["revisions"][0]
    assert rev == {k: old["source"][k] for k in ("fetched_at", "warc_file", "warc_record_id", "warc_offset", "url")}
    responses = [h for t, h in runs["warc3"] if t == "response" and h["WARC-Target-URI"] == url]
    assert [h["WARC-Record-ID"] for h in responses] == [new["source"]["warc_record_id"]]
    x = [x for x in runs["log3"] if _url(runs["sim"], x) == url]
    assert x and conditional(x[0]) and x[0]["status"] == 200
    # nothing else got a revision
    assert [r["id"] for r in runs["records3"].values() if r.get("revisions")] == [old["id"]]


def test_new_report_found_nothing_else_refetched(runs):
    sim, st1 = runs["sim"], runs["state1"]
    new_url = runs["added"]["url"]
    recs = runs["records3"]
    assert [r for r in recs.values() if r["source"]["url"] == new_url], "new report not in the dump"
    assert len(recs) == len(runs["records1"]) + 1
    changed = runs["changed"]["url"]
    for x in runs["log3"]:
        url = _url(sim, x)
        if url == new_url:
            assert not conditional(x) and x["status"] == 200
        elif st1.get(url, {}).get("report"):
            assert conditional(x), url
            assert x["status"] == (200 if url == changed else 304), url
        else:   # list/navigation pages, robots.txt, non-report pages: fetched fully as in crawl 1
            assert url in {_url(sim, y) for y in runs["log1"]}, f"unexpected fetch {url}"
    s3 = runs["stats3"]
    assert s3.get("parse/records", 0) == 2   # the changed and the new report, nothing else
    assert runs["elapsed"] < 60

"""Durable output without a crawl: the dump and state journals, hostile records, the trust rule
between state and dump, and the parse pool's limits (real worker processes)."""
from __future__ import annotations

import json
import math
import os
import pathlib
import time

import pytest
from conftest import CORPUS as CORPUS_DIR, hostile_table

from harvester.jsonl import journal_path, read_jsonl
from harvester.pipelines.dump import RecordDump, UNSERIALISABLE
from harvester.state import CrawlState


def record(rid: str, value=1, **extra) -> dict:
    return {"schema_version": 1, "id": rid + "-record", "agency": f"测试{rid}", "year": 2020, "title": f"{rid} 年报",
            "published": None, "template": "2019", "script": "simplified",
            "source": {"url": f"http://127.0.0.9/{rid}.html", "fetched_at": "2026-01-01T00:00:00Z",
                       "content_type": "text/html", "warc_file": "a.warc.gz", "warc_record_id": f"<urn:{rid}>",
                       "warc_offset": 0, "attachments": []},
            "sections": {}, "active_disclosure": {"regulations": {"made": value}}, "requests": None,
            "review_litigation": None, "checks": [], "warnings": [], **extra}


def lines(path: pathlib.Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_a_hostile_number_costs_only_its_own_record(tmp_path, record_schema):
    import jsonschema

    path = tmp_path / "reports" / "records.jsonl"
    dump = RecordDump(path)
    dump.open()
    dump.add(record("a"))
    dump.add(record("b", value=10 ** 5000))        # json.dumps refuses ints over 4,300 digits
    dump.add(record("c", value=math.nan))          # NaN is not JSON
    dump.add(record("d", title="bad \udc80 surrogate"))
    dump.add(record("e"))
    dump.close()
    got = {r["id"].split("-")[0]: r for r in lines(path)}
    assert sorted(got) == ["a", "b", "c", "d", "e"]
    assert dump.unserialisable == 3
    for rid in "bcd":
        assert got[rid]["active_disclosure"] is None and got[rid]["agency"] == f"测试{rid}"
        assert got[rid]["warnings"][0].startswith(UNSERIALISABLE.split("(")[0])
        assert got[rid]["source"]["url"] == f"http://127.0.0.9/{rid}.html"
        jsonschema.validate(got[rid], record_schema)
    assert got["d"]["title"] is None
    assert got["a"]["active_disclosure"] == {"regulations": {"made": 1}}


def test_records_reach_the_journal_as_they_are_added_and_survive_a_kill(tmp_path):
    path = tmp_path / "records.jsonl"
    RecordDump(path).open()
    first = RecordDump(path)
    first.load()
    first.add(record("old"))
    first.write()                                   # an earlier crawl's dump

    run = RecordDump(path, sync_every=1)
    run.open()
    run.add(record("x"))
    changed = record("old", value=2)
    changed["source"]["warc_record_id"] = "<urn:old-2>"
    run.add(changed)                                # changed on the portal: a revision
    # no close(): the process dies here; the journal has both lines already
    assert [r["id"] for r in read_jsonl(journal_path(str(path)))] == ["x-record", "old-record"]
    assert [r["id"] for r in lines(path)] == ["old-record"]

    resumed = RecordDump(path)
    resumed.open()                                  # folds the journal in at once
    assert resumed.recovered == 2
    got = {r["id"].split("-")[0]: r for r in lines(path)}
    assert sorted(got) == ["old", "x"]
    assert got["old"]["active_disclosure"]["regulations"]["made"] == 2
    assert len(got["old"]["revisions"]) == 1
    # the resumed job still knows what came before it: the same record again adds no revision
    resumed.add(changed)
    resumed.close()
    resumed.finish()
    assert len({r["id"]: r for r in lines(path)}["old-record"]["revisions"]) == 1
    assert not os.path.exists(journal_path(str(path))) and not os.path.exists(resumed.base_path)


def test_a_first_crawl_killed_twice_adds_no_revisions(tmp_path):
    path = tmp_path / "records.jsonl"
    for attempt in range(3):                        # killed, killed, then runs to its end
        dump = RecordDump(path)
        dump.open()
        again = record("x")
        again["source"]["warc_record_id"] = f"<urn:x-{attempt}>"   # in flight at the kill: fetched again
        dump.add(again)
        dump.add(record(f"n{attempt}"))
    dump.close()
    dump.finish()
    got = {r["id"]: r for r in lines(path)}
    assert sorted(got) == ["n0-record", "n1-record", "n2-record", "x-record"]
    assert all("revisions" not in r for r in got.values())
    assert dump.new == 4 and dump.updated == 0


def test_a_cut_journal_line_is_dropped_not_fatal(tmp_path):
    path = tmp_path / "records.jsonl"
    dump = RecordDump(path)
    dump.open()
    dump.add(record("a"))
    dump.journal.close()
    with open(journal_path(str(path)), "a", encoding="utf-8") as fh:
        fh.write('{"id": "b", "agency": "cut by kill -')   # what a kill mid-write leaves
    again = RecordDump(path)
    again.open()
    assert list(again.records) == ["a-record"]


class FakeResponse:
    """Just the attributes CrawlState.observe reads (a Scrapy Response works the same)."""

    def __init__(self, url: str, etag: str = '"v1"'):
        from scrapy.http import Headers

        self.url = url
        self.status = 200
        self.headers = Headers({"ETag": etag})
        self.meta = {"warc": {"fetched_at": "2026-01-01T00:00:00Z", "warc_file": "a.warc.gz", "warc_offset": 0,
                              "warc_record_id": "<urn:1>", "payload_digest": "sha1:X"}}


def test_state_is_saved_only_for_records_that_became_durable(tmp_path):
    url_ok, url_lost = "http://127.0.0.9/ok.html", "http://127.0.0.9/lost.html"
    state = CrawlState(tmp_path / "state.jsonl").load()
    state.trust_records([])
    state.observe(url_ok, FakeResponse(url_ok), role="detail", report=True, emitted=True)
    state.observe(url_lost, FakeResponse(url_lost), role="detail", report=True, emitted=True)
    state.record_durable(url_ok, "rid-ok")          # the dump fsynced this one; the other never came
    state.save()
    saved = {e["url"]: e for e in read_jsonl(str(tmp_path / "state.jsonl")) if "url" in e}
    assert set(saved) == {url_ok} and saved[url_ok]["record_id"] == "rid-ok"

    # next crawl: conditional only while the dump really holds the record
    again = CrawlState(tmp_path / "state.jsonl").load()
    again.trust_records(["rid-ok"])
    assert again.conditional(url_ok, "detail")[0] == {"If-None-Match": '"v1"'}
    lost = CrawlState(tmp_path / "state.jsonl").load()
    lost.trust_records([])                          # the dump lost it: fetch and parse again
    assert lost.conditional(url_ok, "detail") is None
    nodump = CrawlState(tmp_path / "state.jsonl").load()   # no dump to confirm: never trusted
    assert nodump.conditional(url_ok, "detail") is None


def test_state_journal_survives_a_kill(tmp_path):
    url = "http://127.0.0.9/list.html"
    state = CrawlState(tmp_path / "state.jsonl").load()
    state.observe(url, FakeResponse(url), role="list")
    state.journal.sync()                            # killed here: no save()
    assert not (tmp_path / "state.jsonl").exists()
    again = CrawlState(tmp_path / "state.jsonl").load()
    assert url in again.entries and (tmp_path / "state.jsonl").exists()
    assert not os.path.exists(journal_path(str(tmp_path / "state.jsonl")))


# --- the parse pool: real worker processes ---------------------------------------------------------
def item(body: bytes, name: str) -> dict:
    return {"url": f"http://127.0.0.9/{name}.html", "body": body, "content_type": "text/html; charset=utf-8",
            "warc": {"warc_file": "a.warc.gz", "warc_offset": 7, "warc_record_id": "<urn:x>"}}


@pytest.fixture(scope="module")
def seed_html():
    from conftest import CORPUS

    return (CORPUS / "real" / "shuyang-fgj-2023.html").read_bytes()


def test_pool_time_limit_gives_a_record_and_a_fresh_worker(seed_html):
    from harvester.parsepool import ParsePool

    pool = ParsePool(1, timeout=1)
    try:
        t0 = time.monotonic()
        slow = pool.submit(item(hostile_table(30000), "slow"))
        normal = pool.submit(item(seed_html, "normal"))     # queued behind it on the one worker
        rec, limit = pool.outcome(item(b"", "slow"), _wait(slow))
        assert limit and "time limit of 1 s" in limit and time.monotonic() - t0 < 120
        assert rec["warnings"][-1].startswith("not parsed: time limit") and rec["source"]["warc_offset"] == 7
        good, limit = pool.outcome(item(seed_html, "normal"), _wait(normal))
        assert limit is None and good["agency"] and good["requests"] is not None
    finally:
        pool.close()


def test_pool_memory_limit_gives_a_record(seed_html):
    from harvester.parsepool import ParsePool

    pool = ParsePool(1, timeout=240, memory=250 * 1024 ** 2)
    try:
        rec, limit = pool.parse(item(hostile_table(12000), "big"))     # needs ≈0.4 GB
        assert any(w.startswith("not parsed") for w in rec["warnings"]), rec["warnings"]   # lxml or Python ran out
        good, limit = pool.parse(item(seed_html, "after"))
        assert limit is None and good["requests"] is not None
    finally:
        pool.close()


def _wait(future):
    try:
        future.result(timeout=300)
    except Exception:
        pass
    return future


def test_truncated_capture_is_warned_and_never_replaces_a_whole_record(tmp_path):
    """A body that ended early (WARC-Truncated, item["truncated"]) is parsed for what it holds,
    warned in the record, and never takes the place of the record of a whole capture."""
    from harvester.pipelines.dump import RecordDump
    from harvester.pipelines.parse import is_truncated, parse_item

    body = (CORPUS_DIR / "real" / "shuyang-fgj-2023.html").read_bytes()
    whole = parse_item({"url": "http://127.0.0.9/t1.html", "body": body, "content_type": "text/html; charset=utf-8",
                        "agency": "沭阳县发展和改革局", "warc": {"warc_record_id": "<urn:uuid:1>"}})
    cut = parse_item({"url": "http://127.0.0.9/t1.html", "body": body[: len(body) // 2],
                      "content_type": "text/html; charset=utf-8", "agency": "沭阳县发展和改革局",
                      "warc": {"warc_record_id": "<urn:uuid:2>", "truncated": "length"}})
    assert not is_truncated(whole) and is_truncated(cut)
    assert whole["id"] == cut["id"]
    first = RecordDump(tmp_path / "records.jsonl")          # the crawl that captured it whole
    first.load()
    assert first.add(whole)
    first.write()
    second = RecordDump(tmp_path / "records.jsonl")         # a re-crawl whose capture was cut short
    second.load()
    assert not second.add(cut)
    assert second.kept_over_truncated == 1
    assert not is_truncated(second.records[whole["id"]])
    assert second.records[whole["id"]]["requests"] == json.loads(json.dumps(whole["requests"]))

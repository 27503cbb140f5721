"""Several crawls, one truth: a folder holding three crawls of the simulator (one report changed
on the portal between the second and the third) replays to exactly the dump the third crawl left:
the changed report's new values with its earlier version in `revisions`, every other record as
the first crawl parsed it (the later crawls only revisited them), the same order; and replaying
twice gives the same bytes."""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import time

import pytest

from conftest import run_cli_crawl

ROOT = pathlib.Path(__file__).resolve().parent.parent
TIMEOUT = 300
CHANGED = "pingtan-2019"


def run(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "harvester.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def three_crawls(tmp_path_factory):
    from harvester.sim import start_simulator

    tmp = tmp_path_factory.mktemp("three")
    sim = start_simulator(base_ip_start=90)
    try:
        registry = tmp / "registry.jsonl"
        sim.write_registry(registry)
        out = tmp / "out"
        dumps = []
        for n in range(3):
            if n == 2:
                changed = sim.update_report(CHANGED, note="2025年3月更新：补充说明。", mtime=time.time() + 10)
            proc = run_cli_crawl(registry, out)
            assert proc.returncode == 0, proc.stderr[-3000:]
            dumps.append((out / "reports" / "records.jsonl").read_bytes())
    finally:
        sim.stop()
    return {"tmp": tmp, "out": out, "dumps": dumps, "changed": changed}


def test_replay_of_three_crawls_equals_the_third_crawls_dump(three_crawls, tmp_path):
    out, dumps = three_crawls["out"], three_crawls["dumps"]
    assert dumps[0] == dumps[1] != dumps[2]          # the change reached the third dump only
    crawl_starts = set()
    for f in (out / "warc").glob("*.warc.gz"):
        from warcio.archiveiterator import ArchiveIterator

        with open(f, "rb") as fh:
            info = next(iter(ArchiveIterator(fh)))
            crawl_starts.add(dict(line.split(": ", 1) for line in
                                  info.content_stream().read().decode().splitlines() if ": " in line)["crawlStart"])
    assert len(crawl_starts) == 3
    proc = run("replay", str(out / "warc"), "--out", str(tmp_path / "a"))
    replayed = (tmp_path / "a" / "reports" / "records.jsonl").read_bytes()
    assert replayed == dumps[2]
    recs = [json.loads(l) for l in replayed.decode("utf-8").splitlines()]
    changed = [r for r in recs if r["source"]["url"] == three_crawls["changed"]["url"]]
    assert len(changed) == 1 and len(changed[0]["revisions"]) == 1
    assert [r["id"] for r in recs if r.get("revisions")] == [changed[0]["id"]]
    assert "unchanged (re-crawls)" in proc.stdout
    # deterministic: the same bytes again, with one worker as with several
    run("replay", str(out / "warc"), "--out", str(tmp_path / "b"), "--workers", "1")
    assert (tmp_path / "b" / "reports" / "records.jsonl").read_bytes() == replayed

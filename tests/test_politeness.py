"""Politeness at scale: with many hosts in flight, each host sees one request at a time, spaced by
its delay, while the crawl as a whole runs the hosts in parallel (benchmarks/scale.py, small)."""
from __future__ import annotations

import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "benchmarks" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_many_hosts_in_parallel_each_at_its_delay(tmp_path):
    delay = 1.0
    r = _bench().run(40, delay, 1, tmp_path)
    assert r["records"] == sum(2 + i % 5 for i in range(40))      # every report of every host
    assert r["largest_host_pages"] == 7
    # one host after the other would take > 40 hosts × 5 pages × 1 s = 200 s; in parallel ≈ 7 s
    assert r["ratio"] > 0.3, r
    # requests to one host leave the crawler ≥ 1 s apart; the server sees them with some jitter
    assert r["min_gap_s"] >= 0.3 * delay, r


@pytest.mark.slow
def test_two_workers_share_each_hosts_delay(tmp_path):
    """Two workers on one Redis frontier: a host still sees one request per delay (the frontier
    hands its next request out only when the delay has passed), and both workers take part."""
    import shutil

    if not shutil.which("redis-server"):
        pytest.skip("redis-server not installed (tools/system-deps.sh)")
    delay = 1.0
    r = _bench().run(30, delay, 2, tmp_path)
    assert r["records"] == sum(2 + i % 5 for i in range(30))
    assert r["ratio"] > 0.3, r
    # uncoordinated workers would each keep the delay on their own and meet at a host (gap ≈ 0)
    assert r["min_gap_s"] >= 0.3 * delay, r

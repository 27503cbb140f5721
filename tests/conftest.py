import json
import pathlib

import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
CORPUS = FIXTURES / "corpus"


@pytest.fixture(scope="session")
def record_schema():
    from harvester.report.schema import load_schema

    return load_schema()


def parse_cli(capsys, *args: str) -> tuple[int, list[dict], str]:
    """Run `harvester parse ARGS` in-process; return (exit status, records, stderr)."""
    from harvester.cli import main

    status = main(["parse", *args])
    out, err = capsys.readouterr()
    return status, [json.loads(line) for line in out.splitlines() if line.strip()], err


# --- markers: `pytest -m "not e2e"` is the fast unit loop ----------------------------------------
# Modules that start servers (the simulator, pywb, Chromium, Redis, scrapyd) or crawl in a subprocess.
E2E_MODULES = {"test_crawl_e2e", "test_replay", "test_replay_foreign", "test_playback", "test_recrawl",
               "test_warc_capture", "test_sim", "test_replay_recrawl", "test_replay_formats",
               "test_warc_discovery", "test_operator_crawl", "test_scrapyd", "test_browser", "test_report_page",
               "test_resume", "test_address_policy_e2e", "test_retry_hosts", "test_faults", "test_redis_workers",
               "test_politeness"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in E2E_MODULES:
            item.add_marker(pytest.mark.e2e)


# --- the one crawled simulator shared by the end-to-end modules ----------------------------------
ROOT = pathlib.Path(__file__).resolve().parent.parent
CRAWL_TIMEOUT = 300   # generous: CI runs on 2 busy cores


def run_cli_crawl(registry: pathlib.Path, out: pathlib.Path, *extra: str):
    """`harvester crawl --loopback` in a subprocess; the finished process."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry),
                           "--out", str(out), "--loopback", *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=CRAWL_TIMEOUT)


def wait_for(condition, cap: float = 120.0, what: str = "condition") -> None:
    """Poll `condition` until true; AssertionError after `cap` seconds (generous: busy CI)."""
    import time

    deadline = time.monotonic() + cap
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {cap:.0f} s waiting for {what}")
        time.sleep(0.05)


def hostile_table(rows: int) -> bytes:
    """A hostile report page: one table of `rows` × 60 number cells (the parser caps width, not
    length; it reads the first 16 MB). Idle core: 12,000 rows (10 MB) ≈ 2.5 s and ≈ 0.4 GB;
    30,000 rows (26 MB) ≈ 2.8 s."""
    body = "".join("<tr>" + "".join(f"<td>{i * j}</td>" for j in range(60)) + "</tr>" for i in range(rows))
    title = "2020年测试县人民政府信息公开工作年度报告"
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1><table>{body}</table></body></html>".encode()


def _records(out: pathlib.Path) -> list[dict]:
    path = out / "reports" / "records.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def sim_crawl(tmp_path_factory):
    """The simulator crawled twice into one folder (the second crawl re-asks conditionally and
    writes revisits). Keys: sim, registry, out, stats/records/log of the first crawl, second (its
    stats), expected (the simulator's report URLs), registry_hosts. Read-only for the tests."""
    from urllib.parse import urlsplit

    from harvester.sim import start_simulator

    tmp = tmp_path_factory.mktemp("sim-crawl")
    sim = start_simulator()
    try:
        registry = tmp / "registry.jsonl"
        sim.write_registry(registry)
        out = tmp / "out"
        crawls = []
        for n in range(2):
            proc = run_cli_crawl(registry, out)
            assert proc.returncode == 0, proc.stderr[-3000:]
            assert "records (agency-years)" in proc.stdout
            crawls.append({"stats": json.loads((out / "crawl-stats.json").read_text(encoding="utf-8")),
                           "records": _records(out), "log": list(sim.request_log)})
        yield {"sim": sim, "tmp": tmp, "registry": registry, "out": out, "stats": crawls[0]["stats"],
               "records": crawls[0]["records"], "log": crawls[0]["log"], "second": crawls[1]["stats"],
               "expected": sim.expected_reports(include_large=False),
               "registry_hosts": {urlsplit(u).hostname for row in sim.registry_rows() for u in row["entry_urls"]}}
    finally:
        sim.stop()

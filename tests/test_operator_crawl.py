"""Crawls as an operator runs them (subprocesses against the simulator on loopback): progress at
LOG_LEVEL=WARNING, the per-portal summary and run-summary.json, SIGTERM/SIGINT mid-crawl,
`scrapy crawl` with default output settings and a feed export, `replay` of a crawl folder."""
from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys

import pytest

from conftest import CRAWL_TIMEOUT, ROOT, run_cli_crawl, wait_for

DEAD_HOST = "127.0.0.254"     # nothing listens there (the simulator uses low 127.0.0.N): a portal that is down


def lines(path: pathlib.Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


@pytest.fixture(scope="module")
def sim():
    from harvester.sim import start_simulator

    with start_simulator(base_ip_start=110) as s:
        yield s


@pytest.fixture(scope="module")
def registry_with_dead_portal(sim, tmp_path_factory):
    from harvester.registry import portal_row, write_registry

    path = tmp_path_factory.mktemp("reg") / "registry.jsonl"
    rows = sim.registry_rows() + [portal_row(agency="已下线的门户", entry_urls=[f"http://{DEAD_HOST}:{sim.port}/"],
                                             allowed_hosts=[DEAD_HOST], hints={"allow_private": True})]
    write_registry(rows, path)
    return path


def test_progress_at_warning_and_per_portal_summary(sim, registry_with_dead_portal, tmp_path):
    out = tmp_path / "out"
    proc = run_cli_crawl(registry_with_dead_portal, out, "-s", "LOG_LEVEL=WARNING", "-s", "PROGRESS_INTERVAL=0.5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    progress = [x for x in proc.stderr.splitlines() if x.startswith("[harvester]")]
    assert len(progress) >= 2, proc.stderr[-2000:]
    n_portals = len(sim.registry_rows()) + 1     # the simulator's portals and the dead one
    assert f"portals {n_portals}/{n_portals} done, " in progress[-1] and "pages/s" in progress[-1] and "ETA" in progress[-1]
    assert " INFO: " not in proc.stderr          # the level held; progress does not depend on it

    summary = json.loads((out / "crawl-stats.json").read_text(encoding="utf-8"))["summary"]
    assert summary == json.loads((out / "run-summary.json").read_text(encoding="utf-8"))
    assert (summary["status"], summary["exit_code"], summary["signal"]) == ("ok", 0, None)
    per = {p["agency"]: p for p in summary["per_portal"]}
    assert len(per) == n_portals
    dead = per["已下线的门户"]
    assert dead["status"] == "failed" and dead["failed_fetches"] >= 1 and dead["pages"] == dead["reports"] == 0
    alive = [p for name, p in per.items() if name != "已下线的门户"]
    assert all(p["pages"] > 0 and p["reports"] > 0 and p["status"] != "failed" for p in alive)
    expected = sim.expected_reports(include_large=False)
    assert summary["reports"] == sum(p["reports"] for p in per.values()) == len(expected)
    assert summary["pages"] == sum(p["pages"] for p in per.values())
    assert summary["portals_failed"] == 1
    records = lines(out / "reports" / "records.jsonl")
    assert summary["records_new"] == summary["records"] == len(records)
    assert summary["warc_bytes_written"] == summary["warc_bytes"] > 0     # first run: the folder is this run

    # printed: this run vs the folder, one line per portal, where the output went
    assert "this run (ok)" in proc.stdout and "(all runs)" in proc.stdout
    assert "已下线的门户" in proc.stdout
    for path in (out / "reports" / "records.jsonl", out / "run-summary.json", out / "warc"):
        assert str(path) in proc.stdout

    # a second run into the same folder: nothing new, the folder counts still whole
    again = run_cli_crawl(registry_with_dead_portal, out, "-s", "LOG_LEVEL=WARNING")
    assert again.returncode == 0, again.stderr[-3000:]
    second = json.loads((out / "run-summary.json").read_text(encoding="utf-8"))
    assert second["records_new"] == 0
    assert second["records_unchanged"] + second["records_changed"] == len(records)
    assert second["records"] == len(records)
    assert second["warc_bytes"] == summary["warc_bytes"] + second["warc_bytes_written"]


@pytest.fixture(scope="module")
def large_sim():
    from harvester.sim import start_simulator

    with start_simulator(base_ip_start=120, large_pages=400) as s:
        yield s


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopped_crawl_exits_128_plus_signal_and_says_interrupted(large_sim, tmp_path, signum):
    registry = tmp_path / "registry.jsonl"
    large_sim.write_registry(registry)
    out = tmp_path / "out"
    before = len(large_sim.request_log)
    # one request at a time per host with a small delay: the large portal takes well over 20 s
    proc = subprocess.Popen([sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry),
                             "--out", str(out), "--loopback", "-s", "LOG_LEVEL=WARNING",
                             "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "DOWNLOAD_DELAY=0.05"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(large_sim.request_log) - before >= 60 or proc.poll() is not None,
                 what="the crawl to be under way")
        assert proc.poll() is None, "the crawl ended before it could be stopped"
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=CRAWL_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + signum, stderr[-3000:]
    summary = json.loads((out / "run-summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "interrupted" and summary["exit_code"] == 128 + signum
    assert summary["signal"] == signal.Signals(signum).name
    assert f"stopped by {signal.Signals(signum).name}" in stdout
    assert summary["pages"] == sum(p["pages"] for p in summary["per_portal"]) > 0
    # nothing lost: what was parsed before the stop is in the dump, whole lines only
    records = lines(out / "reports" / "records.jsonl")
    assert len(records) == summary["records"] > 0
    served = len(large_sim.request_log) - before
    assert served < 400, "the crawl was not stopped early"


def test_a_second_sigint_forces_the_stop_and_the_same_command_resumes(tmp_path):
    """Ctrl-C, then Ctrl-C again while the crawl waits for a slow page: Scrapy stops the reactor
    without closing the spider, so there is no summary; the exit is 130 with one line saying so,
    and the journals let the same command finish the job."""
    import threading

    from harvester.registry import write_registry
    from harvester.sim import start_simulator

    with start_simulator(base_ip_start=140, large_pages=120, slow_seconds=90) as sim:
        large = sim.portal("large")
        slow = large.detail_path(3)
        large.slow_paths.add(slow)           # holds the graceful stop: it waits for this download
        registry = tmp_path / "registry.jsonl"
        write_registry([large.registry_row()], registry)
        out = tmp_path / "out"
        cmd = [sys.executable, "-m", "harvester.cli", "crawl", "--registry", str(registry), "--out", str(out),
               "--loopback", "-s", "LOG_LEVEL=WARNING"]
        proc = subprocess.Popen(cmd + ["-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "DOWNLOAD_DELAY=0.05"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stderr_lines: list[str] = []
        reader = threading.Thread(target=lambda: stderr_lines.extend(proc.stderr), daemon=True)
        reader.start()
        try:
            wait_for(lambda: any(e["path"] == slow for e in sim.request_log) or proc.poll() is not None,
                     cap=300, what="the slow page to be requested")
            assert proc.poll() is None, "".join(stderr_lines)[-3000:]
            proc.send_signal(signal.SIGINT)
            wait_for(lambda: any("stopping after the requests in flight" in l for l in stderr_lines)
                     or proc.poll() is not None, cap=300, what="the graceful stop to begin")
            assert proc.poll() is None, "".join(stderr_lines)[-3000:]
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=CRAWL_TIMEOUT)
            reader.join(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stderr = "".join(stderr_lines)
        assert proc.returncode == 130, stderr[-3000:]
        assert "Traceback" not in stderr, stderr[-3000:]
        assert "forced shutdown" in stderr.strip().splitlines()[-1] and "the same command resumes" in stderr
        large.slow_paths.discard(slow)
        again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=CRAWL_TIMEOUT)
        assert again.returncode == 0, again.stderr[-3000:]
        assert "resumed: requests seen before" in again.stdout
        records = lines(out / "reports" / "records.jsonl")
        assert {e["url"] for e in large.expected()} == {r["source"]["url"] for r in records}


def test_scrapy_crawl_with_default_output_and_feed_export(sim, tmp_path):
    registry = tmp_path / "registry.jsonl"
    sim.write_registry(registry)
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "harvester.settings"}
    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "discovery", "-a", f"registry={registry}",
                           "-o", "items.jsonl", "-s", "LOG_LEVEL=WARNING", "-s", "DOWNLOAD_DELAY=0",
                           "-s", "AUTOTHROTTLE_ENABLED=False"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=CRAWL_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "Error processing" not in proc.stderr, proc.stderr[-3000:]
    out = tmp_path / "out" / "crawl"            # OUTPUT_DIR's default, relative to the working directory
    assert list((out / "warc").glob("*.warc.gz"))
    records = lines(out / "reports" / "records.jsonl")
    n = len(sim.expected_reports(include_large=False))
    assert len(records) == n
    items = lines(tmp_path / "items.jsonl")
    assert len(items) == n and all("body" not in i and i["record"]["id"] for i in items)
    assert {i["record"]["id"] for i in items} == {r["id"] for r in records}
    assert json.loads((out / "run-summary.json").read_text(encoding="utf-8"))["status"] == "ok"


def test_scrapy_crawl_with_an_unreadable_registry_is_one_error_line(tmp_path):
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "harvester.settings"}
    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "discovery", "-a",
                           f"registry={tmp_path / 'missing.jsonl'}", "-s", "LOG_LEVEL=INFO"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=CRAWL_TIMEOUT)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [l for l in proc.stderr.splitlines() if " ERROR: " in l]
    assert len(errors) == 1 and "missing.jsonl: no such file" in errors[0], proc.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "crawl" / "run-summary.json").read_text(encoding="utf-8"))
    assert summary["status"] != "ok" and "registry_error" in json.dumps(summary), summary


def test_replay_reads_a_crawl_folder(sim_crawl, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "harvester.cli", "replay", str(sim_crawl["out"]),
                           "--out", str(tmp_path / "r"), "-q"],
                          cwd=ROOT, capture_output=True, text=True, timeout=CRAWL_TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    replayed = lines(tmp_path / "r" / "reports" / "records.jsonl")
    assert sorted(r["id"] for r in replayed) == sorted(r["id"] for r in sim_crawl["records"])

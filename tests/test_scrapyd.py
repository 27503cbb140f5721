"""The documented scrapyd deployment, for real: a scrapyd on a loopback port in a temporary folder,
`scrapyd-deploy` (builds the egg from a copy of the project), `schedule.json` with the simulator's
registry, `listjobs.json` until the job finished, then the job's WARC and dump are checked."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from warcio.archiveiterator import ArchiveIterator

from conftest import ROOT

CAP = 300    # seconds, for each wait: CI runs on 2 busy cores
BIN = pathlib.Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, endpoint: str, data: list[tuple[str, str]] | None = None) -> dict:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(base + endpoint, data=body, timeout=60) as resp:
        return json.loads(resp.read())


def wait_for(condition, what: str):
    deadline = time.monotonic() + CAP
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {CAP} s waiting for {what}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory):
    if not (BIN / "scrapyd").exists() or not (BIN / "scrapyd-deploy").exists():
        pytest.fail("scrapyd and scrapyd-client come with the test extras: pip install -e '.[test]'")
    home = tmp_path_factory.mktemp("scrapyd")
    port = free_port()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        f"bind_address = 127.0.0.1\nhttp_port = {port}\n"
        f"eggs_dir = {home / 'eggs'}\nlogs_dir = {home / 'logs'}\nitems_dir = {home / 'items'}\n"
        f"dbs_dir = {home / 'dbs'}\npoll_interval = 0.5\nmax_proc = 1\n", encoding="utf-8")
    proc = subprocess.Popen([str(BIN / "scrapyd")], cwd=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"

    def up():
        if proc.poll() is not None:
            raise AssertionError(f"scrapyd exited: {proc.stdout.read().decode(errors='replace')[-3000:]}")
        try:
            return call(base, "daemonstatus.json").get("status") == "ok"
        except OSError:
            return False

    try:
        wait_for(up, "scrapyd to answer")
        yield {"base": base, "home": home}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_deploy_schedule_and_the_job_writes_warc_and_dump(scrapyd, tmp_path):
    from harvester.sim import start_simulator

    # scrapyd-deploy builds in the project folder (it writes setup.py, build/): use a copy
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("harvester", "spiders", "pipelines"):
        shutil.copytree(ROOT / name, project / name, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", project)
    cfg = (ROOT / "scrapy.cfg").read_text(encoding="utf-8")
    assert "\nurl = " in cfg, "scrapy.cfg [deploy] has no url"
    (project / "scrapy.cfg").write_text(
        "\n".join(f"url = {scrapyd['base']}" if line.startswith("url = ") else line for line in cfg.splitlines()),
        encoding="utf-8")
    deploy = subprocess.run([str(BIN / "scrapyd-deploy")], cwd=project, capture_output=True, text=True, timeout=CAP)
    assert deploy.returncode == 0, deploy.stderr[-3000:] + deploy.stdout[-1000:]
    assert json.loads(deploy.stdout)["status"] == "ok"
    assert "discovery" in call(scrapyd["base"], "listspiders.json?project=harvester")["spiders"]

    data = tmp_path / "data"
    with start_simulator(base_ip_start=130) as sim:
        registry = tmp_path / "registry.jsonl"
        sim.write_registry(registry)
        t0 = time.monotonic()
        job = call(scrapyd["base"], "schedule.json", [
            ("project", "harvester"), ("spider", "discovery"), ("registry", str(registry)),
            ("setting", f"OUTPUT_DIR={data}"), ("setting", "DOWNLOAD_DELAY=0"),
            ("setting", "AUTOTHROTTLE_ENABLED=False")])
        assert job["status"] == "ok", job
        jobid = job["jobid"]

        def finished():
            jobs = call(scrapyd["base"], "listjobs.json?project=harvester")
            return next((j for j in jobs["finished"] if j["id"] == jobid), None)

        done = wait_for(finished, "the scrapyd job to finish")
        seconds = time.monotonic() - t0
        expected = sim.expected_reports(include_large=False)
    print(f"scrapyd job: {seconds:.1f} s from schedule.json to listed as finished")

    log = next((scrapyd["home"] / "logs" / "harvester" / "discovery").glob(f"{jobid}.log"), None)
    log_text = log.read_text(encoding="utf-8", errors="replace") if log else "(no log)"
    assert "Traceback" not in log_text, log_text[-3000:]
    summary = json.loads((data / "run-summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "ok", (done, log_text[-3000:])
    records = [json.loads(x) for x in (data / "reports" / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == summary["records"] == len(expected)
    captured = set()
    for warc in (data / "warc").glob("*.warc.gz"):
        with open(warc, "rb") as fh:
            captured |= {r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(fh)
                         if r.rec_type == "response"}
    missing = [e["url"] for e in expected if e["url"] not in captured]
    assert missing == []
    assert {r["source"]["url"] for r in records} <= captured
    assert all(r["source"]["warc_file"] and os.path.exists(data / "warc" / r["source"]["warc_file"])
               for r in records)

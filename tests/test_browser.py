"""Browser failures never stop the crawl: a rendered page that hangs is closed, retried once,
logged and counted, and the rest of the crawl goes on; a page that never settles is read after
the settle cap. Real Chromium against the simulator."""
from __future__ import annotations

import json

import pytest

from conftest import run_cli_crawl


@pytest.mark.parametrize("setting", ["PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT=2000",   # the page never loads
                                     "RENDER_PAGE_TIMEOUT=2"])                        # our own watchdog
def test_a_hanging_render_is_retried_once_then_skipped(tmp_path, setting):
    from harvester.sim import start_simulator

    with start_simulator(base_ip_start=150, slow_seconds=20) as sim:
        scripted, trs = sim.portal("scripted"), sim.portal("trs")
        scripted.slow_paths.add("/js/list.js")      # the list's script never arrives in time
        rows = [r for r in sim.registry_rows() if r["agency"] in (scripted.agency, trs.agency)]
        registry = tmp_path / "registry.jsonl"
        registry.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        out = tmp_path / "out"
        proc = run_cli_crawl(registry, out, "-s", setting)
        assert proc.returncode == 0, proc.stderr[-3000:]
        stats = json.loads((out / "crawl-stats.json").read_text(encoding="utf-8"))["stats"]
        assert stats.get("render/retried") == 1 and stats.get("render/failed") == 1
        assert "render failed twice, page skipped" in proc.stderr
        tries = [x for x in sim.request_log if x["host"] == scripted.host and x["path"] == "/js/list.js"]
        assert len(tries) == 2
        # the crawl went on: the other portal's reports are all there
        records = [json.loads(line) for line in (out / "reports" / "records.jsonl").read_text("utf-8").splitlines()]
        want = {e["url"] for e in sim.expected_reports(False) if e["portal"] == "trs"}
        assert want <= {r["source"]["url"] for r in records}


def test_a_page_that_never_settles_is_read_after_the_settle_cap(tmp_path):
    """A clock that mutates the DOM forever: the render ends at RENDER_SETTLE_MAX_MS and its links
    are followed; nothing fails."""
    from harvester.sim import start_simulator

    with start_simulator(base_ip_start=160) as sim:
        portal = sim.portal("scripted")
        [row] = [r for r in sim.registry_rows() if r["agency"] == portal.agency]
        row["entry_urls"] = [portal.url("/xxgk/nbzl/live.html")]
        registry = tmp_path / "registry.jsonl"
        registry.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
        out = tmp_path / "out"
        proc = run_cli_crawl(registry, out, "-s", "RENDER_SETTLE_MAX_MS=1500")
        assert proc.returncode == 0, proc.stderr[-3000:]
        stats = json.loads((out / "crawl-stats.json").read_text(encoding="utf-8"))["stats"]
        assert stats.get("render/pages") == 1 and not stats.get("render/failed") and not stats.get("render/timeouts")
        records = [json.loads(line) for line in (out / "reports" / "records.jsonl").read_text("utf-8").splitlines()]
        want = {e["url"] for e in sim.expected_reports(False) if e["portal"] == "scripted"}
        assert want == {r["source"]["url"] for r in records}

"""Addresses, not spellings, end to end: a real crawl against a real server on loopback; a DNS name
resolving to loopback (and numeric loopback spellings, with the registry bypassed) are refused at
connection time without allow_private, fetched with it."""
from __future__ import annotations

import json
import socket

import pytest

from conftest import run_cli_crawl
from harvester import netpolicy
from loopserver import LoopServer


# --- end to end: a real crawl, a real server on loopback, a DNS name that resolves to it ---------

def _loopback_name() -> str:
    name = socket.gethostname()
    if not any(a.is_loopback for a in netpolicy.resolve(name)) or netpolicy.is_private_host(name):
        pytest.skip(f"this machine's host name {name!r} does not resolve to loopback")
    return name


def _page(path):
    return 200, {}, "<html><head><title>信息公开</title></head><body>ok</body></html>".encode()


@pytest.mark.parametrize("allow_private", [False, True])
def test_dns_name_resolving_to_loopback_needs_allow_private(tmp_path, allow_private):
    name = _loopback_name()
    with LoopServer(_page) as server:
        row = {"agency": "某县人民政府", "region": "测试", "level": "county",
               "entry_urls": [f"http://{name}:{server.port}/"],
               "hints": {"allow_private": True} if allow_private else {}}
        reg = tmp_path / "reg.jsonl"
        reg.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
        proc = run_cli_crawl(reg, tmp_path / "out")
        stats = json.loads((tmp_path / "out" / "crawl-stats.json").read_text(encoding="utf-8"))["stats"]
        if allow_private:
            assert proc.returncode == 0, proc.stderr[-2000:]
            assert "/" in server.paths()
        else:
            # the name looked public to the registry; the resolver refused it when connecting
            assert server.paths() == []
            assert stats.get("scope/private", 0) >= 1
            assert "refused by address policy" in proc.stderr
            assert stats.get("retry/count", 0) == 0       # a refusal is not retried


def test_the_browser_resolves_before_chromium_connects():
    """Chromium resolves names itself, past the crawl's resolver (a rendered page's host was
    fetched by Scrapy first, but its other hosts and a rebinding name were not): the browser
    middleware resolves every host it lets Chromium reach and refuses private addresses."""
    import asyncio

    from scrapy.utils.test import get_crawler

    from harvester.middlewares.browser import BrowserMiddleware

    name = _loopback_name()
    mw = BrowserMiddleware(get_crawler(settings_dict={"WARC_ENABLED": False}))
    try:
        assert asyncio.run(mw.address_allowed(name)) is False            # resolves to loopback
        assert asyncio.run(mw.address_allowed("0x7f000001")) is False    # a loopback spelling
        assert asyncio.run(mw.address_allowed("93.184.216.34")) is True  # a public literal: no lookup
        netpolicy.POLICY.allow_private([name])                          # the portal's allow_private
        assert asyncio.run(mw.address_allowed(name)) is True
    finally:
        netpolicy.POLICY.reset()


@pytest.mark.parametrize("spelling", ["127.1", "2130706433", "0x7f000001", "017700000001", "localhost"])
def test_numeric_loopback_is_refused_even_when_the_registry_is_bypassed(tmp_path, spelling):
    """The spider is given the portal directly (no lint): the scope check refuses the spelling and,
    with the scope middleware switched off, the resolver still refuses the address."""
    import subprocess
    import sys

    with LoopServer(_page) as server:
        for scope_mw in ("on", "off"):
            script = f"""
import json, sys
from scrapy.crawler import CrawlerProcess
from harvester.crawl import crawl_settings
from harvester.registry import Portal
from harvester.spiders.discovery import DiscoverySpider
s = crawl_settings(sys.argv[1], loopback=True, warc=False)
if {scope_mw!r} == "off":
    mws = dict(s.getdict("DOWNLOADER_MIDDLEWARES"), **{{"harvester.middlewares.scope.ScopeMiddleware": None}})
    s.set("DOWNLOADER_MIDDLEWARES", mws, priority="cmdline")
p = CrawlerProcess(s)
c = p.create_crawler(DiscoverySpider)
p.crawl(c, portals=[Portal("某县", ("http://{spelling}:{server.port}/",), ("{spelling}",))])
p.start()
print(json.dumps(c.stats.get_stats(), default=str))
"""
            proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / scope_mw)], capture_output=True,
                                  text=True, timeout=300)
            assert proc.returncode == 0, proc.stderr[-2000:]
            stats = json.loads(proc.stdout.strip().splitlines()[-1])
            if scope_mw == "on":
                assert stats.get("scope/private", 0) >= 1, stats
            else:
                assert "connection refused by address policy" in proc.stderr
                assert stats.get("retry/count", 0) == 0, stats
        assert server.paths() == []

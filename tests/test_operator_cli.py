"""The commands as an operator meets them: help, --version, one-line errors, file modes, settings."""
from __future__ import annotations

import argparse
import io
import json
import os
import signal
import stat
from importlib.metadata import version

import pytest

from harvester.cli import build_parser, main


def _subparsers(parser: argparse.ArgumentParser, path: str = "harvester"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _subparsers(sub, f"{path} {name}")


def test_every_argument_has_help_and_no_machine_path():
    from harvester.registry import DEFAULT_REGISTRY

    missing = []
    for path, parser in _subparsers(build_parser()):
        for action in parser._actions:
            if not action.help and not isinstance(action, argparse._SubParsersAction):
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
        text = parser.format_help()
        assert str(DEFAULT_REGISTRY.parent) not in text, f"{path} --help prints a machine path"
    assert missing == []


def test_top_level_help_is_for_users_and_version(capsys):
    text = build_parser().format_help()
    assert "harvester.commands" not in text and "argument parsing" not in text
    assert "政府信息公开工作年度报告" in text and "exit status" in text
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"harvester {version('gov-nianbao-harvester')}"


@pytest.fixture
def bad_inputs(tmp_path):
    (tmp_path / "latin1.csv").write_bytes("agency,report_url\n上海,x\n".encode("gb18030"))
    (tmp_path / "ok.csv").write_text("agency,report_url\n上海,http://www.sh.gov.cn/a.html\n", encoding="utf-8")
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    (tmp_path / "kept.jsonl").write_text("{}\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("argv, says", [
    (["crawl", "-s", "LOG_LEVEL=BOGUS"], "LOG_LEVEL must be one of"),
    (["crawl", "-s", "CONCURRENT_REQUESTS=many"], "must be an integer"),
    (["crawl", "-s", "DOWNLOAD_DELAY=-1"], "zero or more"),
    (["crawl", "-s", "ROBOTSTXT_OBEY=perhaps"], "True or False"),
    (["crawl", "-s", "ITEM_PIPELINES=x"], "JSON object"),
    (["crawl", "-s", "PROGRESS=loud"], "auto, bar, lines or off"),
    (["crawl", "-s", "NOVALUE"], "NAME=VALUE"),
    (["crawl", "-s", "OUTPUT_DIR=/tmp/x"], "--out"),
    # (an unusable --registry too: were the -s check missing, no crawl could start)
    (["crawl", "-s", "LOG_FILE=/proc/no/crawl.log", "--registry", "{tmp}/a-file", "--out", "{tmp}/o"],
     "LOG_FILE must be a file in a folder that can be created"),
    (["crawl", "-s", "DUMP_PATH=/proc/no/records.jsonl", "--registry", "{tmp}/a-file", "--out", "{tmp}/o"],
     "DUMP_PATH must be a file in a folder"),
    (["crawl", "-s", "CRAWL_STATE_PATH={tmp}", "--registry", "{tmp}/a-file", "--out", "{tmp}/o"],
     "CRAWL_STATE_PATH must be a file, not a folder"),
    (["crawl", "--registry", "{tmp}", "--out", "{tmp}/o"], "Is a directory"),
    (["registry", "lint", "{tmp}"], "Is a directory"),
    (["registry", "convert", "{tmp}/latin1.csv", "{tmp}/r.jsonl"], "not UTF-8"),
    (["registry", "convert", "{tmp}/ok.csv", "/proc/no/r.jsonl"], "cannot write /proc/no/r.jsonl"),
    (["registry", "convert", "{tmp}", "{tmp}/r.jsonl"], "is a directory"),
    (["registry", "convert", "{tmp}/a-file", "{tmp}/kept.jsonl"], "no portal rows"),
    (["demo", "--out", "{tmp}/a-file"], "is a file"),
    (["demo", "--out", "/proc/no/demo"], "cannot create output folder"),
    (["parse", "{tmp}"], "is a directory"),
    # (with an impossible --base-ip too: were the check missing, no simulator could start and serve forever)
    (["sim", "--large-pages", "-5", "--base-ip", "300"], "zero or more"),
    (["sim", "--slow-seconds", "-1", "--base-ip", "300"], "zero or more"),
    (["replay", "{tmp}", "--out", "{tmp}/r"], "no WARC file"),
])
def test_bad_arguments_give_one_line_and_exit_2(bad_inputs, capsys, argv, says):
    argv = [a.replace("{tmp}", str(bad_inputs)) for a in argv]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"harvester {argv[0]}: "), err
    assert says in lines[0]
    assert "Traceback" not in err + out
    if "kept.jsonl" in argv[-1]:
        assert (bad_inputs / "kept.jsonl").read_text(encoding="utf-8") == "{}\n"   # not emptied


def test_a_reader_that_leaves_early_gets_no_traceback():
    """`harvester parse *.pdf | head -1`: the pipe closes under the writer; exit 141 like other tools."""
    import subprocess
    import sys

    from conftest import CORPUS

    docs = sorted(str(p) for p in CORPUS.glob("*/*") if not p.name.endswith((".json", ".jsonl", ".md")))
    proc = subprocess.Popen([sys.executable, "-m", "harvester.cli", "parse", *docs, *docs], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("{")
    proc.stdout.close()                   # far more than a pipe's buffer is still to be written
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_replay_takes_a_crawl_folder_for_its_warc_folder(tmp_path):
    from harvester.commands.replay import warc_folder

    crawl = tmp_path / "crawl"
    (crawl / "warc").mkdir(parents=True)
    assert warc_folder(str(crawl)) == str(crawl / "warc")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "a.warc.gz").write_bytes(b"")
    assert warc_folder(str(tmp_path / "plain")) == str(tmp_path / "plain")   # WARCs right there: as given
    assert warc_folder(str(tmp_path / "x.warc.gz")) == str(tmp_path / "x.warc.gz")


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_files_get_the_umask_mode(tmp_path, umask, mode):
    from harvester.jsonl import current_umask, write_json_atomic, write_jsonl_atomic

    old = os.umask(umask)
    try:
        assert current_umask() == umask
        write_jsonl_atomic(str(tmp_path / "records.jsonl"), [{"id": "a"}])
        write_json_atomic(str(tmp_path / "run-summary.json"), {"status": "ok"})
    finally:
        os.umask(old)
    for name in ("records.jsonl", "run-summary.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    assert json.loads((tmp_path / "run-summary.json").read_text()) == {"status": "ok"}
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_good_settings_pass_the_check():
    from harvester.crawl import parse_setting_overrides

    got = parse_setting_overrides(["LOG_LEVEL=warning", "CONCURRENT_REQUESTS=4", "DOWNLOAD_DELAY=0.5",
                                   "ROBOTSTXT_OBEY=False", 'ITEM_PIPELINES={"a.B": 1}', "MY_OWN=anything",
                                   "OUTPUT_DIR=/data/x"])
    assert got["CONCURRENT_REQUESTS"] == "4" and got["MY_OWN"] == "anything"


def test_output_folder_addon_derives_every_path(tmp_path):
    from scrapy.utils.test import get_crawler

    from harvester import settings as module
    from harvester.spiders.discovery import DiscoverySpider

    base = {k: getattr(module, k) for k in dir(module) if k.isupper()}
    crawler = get_crawler(DiscoverySpider, {**base, "OUTPUT_DIR": str(tmp_path / "o")})
    s = crawler.settings
    assert s["WARC_DIR"] == str(tmp_path / "o" / "warc")
    assert s["DUMP_PATH"] == str(tmp_path / "o" / "reports" / "records.jsonl")
    assert s["CRAWL_STATE_PATH"] == str(tmp_path / "o" / "state.jsonl")
    assert s["WARC_CDXJ_PATH"] == str(tmp_path / "o" / "index.cdxj")
    own = get_crawler(DiscoverySpider, {**base, "DUMP_PATH": str(tmp_path / "elsewhere.jsonl")})
    assert own.settings["DUMP_PATH"] == str(tmp_path / "elsewhere.jsonl")    # set on its own: kept
    assert own.settings["WARC_DIR"] == os.path.abspath(os.path.join("out", "crawl", "warc"))


def test_feed_pipeline_makes_items_exportable():
    from scrapy.exporters import JsonLinesItemExporter

    from harvester.pipelines.feed import FeedItemPipeline

    item = {"url": "http://x.gov.cn/a.html", "body": b"<html>\xe4\xb8\xad</html>", "record": {"id": "r1"},
            "warc": {"warc_file": "a.warc.gz", "warc_offset": 0}}
    buf = io.BytesIO()
    exporter = JsonLinesItemExporter(buf)
    exporter.start_exporting()
    exporter.export_item(FeedItemPipeline().process_item(item))
    exporter.finish_exporting()
    line = json.loads(buf.getvalue())
    assert "body" not in line and line["body_length"] == 16 and line["record"] == {"id": "r1"}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_counts_portals_done_and_draws_a_bar_on_a_terminal():
    from scrapy import Request, signals
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from harvester.progress import CrawlProgress
    from harvester.registry import Portal
    from harvester.spiders.discovery import DiscoverySpider

    portals = [Portal("甲", ("http://a.gov.cn/",), ("a.gov.cn",)), Portal("乙", ("http://b.gov.cn/",), ("b.gov.cn",))]
    crawler = get_crawler(DiscoverySpider, {"DUMP_PATH": None, "PROGRESS_INTERVAL": 0})
    ext = CrawlProgress.from_crawler(crawler)
    ext.stream = terminal = _Terminal()
    ext.mode = "bar"
    spider = DiscoverySpider(portals=portals)
    handlers = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM)}
    try:
        ext.spider_opened(spider)      # also notes stop signals: put pytest's handlers back after
    finally:
        for n, h in handlers.items():
            signal.signal(n, h)
    send = crawler.signals.send_catch_log
    a, b, refused = (Request(u, meta={"portal": i}) for u, i in
                     (("http://a.gov.cn/", 0), ("http://b.gov.cn/", 1), ("http://b.gov.cn/private", 1)))
    for r in (a, b, refused):
        send(signals.request_scheduled, request=r, spider=spider)
    assert ext.progress_line()[0].startswith("portals 0/2 done, 0 pages")
    send(signals.request_left_downloader, request=a, spider=spider)
    page = HtmlResponse(a.url, body=b"<html></html>", request=a)
    send(signals.response_received, response=page, request=a, spider=spider)
    send(signals.item_scraped, item={"record": {"id": "r1"}}, response=page, spider=spider)
    send(signals.request_left_downloader, request=b, spider=spider)
    text, fraction = ext.progress_line()
    assert text.startswith("portals 1/2 done, 1 pages, 1 reports") and fraction == 0.5   # b: one still pending
    crawler.stats.inc_value("discovery/refused/portal/1")        # the spider's errback on a refusal
    assert ext.progress_line()[0].startswith("portals 2/2 done") and "ETA 0:00:00" in ext.progress_line()[0]
    ext.show()
    assert terminal.getvalue().startswith("\r\033[K[" + "#" * 24 + "] portals 2/2 done")
    rows = ext.per_portal()
    assert [(r["status"], r["pages"], r["reports"], r["new"], r["refused"]) for r in rows] == \
        [("ok", 1, 1, 1, 0), ("failed", 0, 0, 0, 1)]
    # a stop (signal, CLOSESPIDER_* limit) with requests of a portal still queued: not "ok", not "failed"
    more = Request("http://a.gov.cn/nianbao/", meta={"portal": 0})
    send(signals.request_scheduled, request=more, spider=spider)
    assert [r["status"] for r in ext.per_portal(finished=False)] == ["unfinished", "failed"]
    assert [r["status"] for r in ext.per_portal()] == ["ok", "failed"]


@pytest.mark.parametrize("reason, stop, pages, status, code", [
    ("finished", None, 3, "ok", 0),
    ("closespider_timeout", None, 3, "ok", 0),
    ("finished", None, 0, "failed", 2),
    ("cancelled", None, 3, "failed", 2),
    ("shutdown", signal.SIGTERM, 3, "interrupted", 143),
    ("shutdown", signal.SIGINT, 0, "interrupted", 130),
    ("shutdown", None, 3, "interrupted", 130),     # stopped before the signal could be noted
])
def test_run_status_and_exit_code(tmp_path, reason, stop, pages, status, code):
    import datetime as dt

    from harvester.crawl import build_summary

    portal = {"agency": "甲", "entry": "http://a.gov.cn/", "status": "ok", "pages": pages, "reports": 0,
              "failed_fetches": 0, "refused": 0, "new": 0, "changed": 0, "unchanged": 0}
    s = build_summary({}, [portal], reason=reason, stop_signal=stop, output_dir=str(tmp_path),
                      dump_path=str(tmp_path / "none.jsonl"), warc_dir=None,
                      started_at=dt.datetime.now(dt.timezone.utc), elapsed=1.0)
    assert (s["status"], s["exit_code"]) == (status, code)
    assert s["signal"] == (signal.Signals(stop).name if stop else None)

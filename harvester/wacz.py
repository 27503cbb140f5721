"""WACZ packaging: WARC files + a pages.jsonl of the report pages → one .wacz (py-wacz).

    package("out/run1/package.wacz", warc_dir="out/run1/warc", dump="out/run1/reports/records.jsonl")

py-wacz pins old dependencies, so it runs as the ``wacz`` CLI of the ``.venv-pywb`` venv
(``tools/pywb-venv.sh``); ``$HARVESTER_WACZ`` or a ``wacz`` on PATH are used when that venv is absent.
Our pages.jsonl lists the report pages from the dump (``url``, ``title``, ``ts`` = capture time),
one per report URL, and is handed to ``wacz create --pages``. ``datapackage.json`` gets a title, a
description and a main page (the first report page, at its capture time); the crawl log
(``OUT/crawl.log``, ``harvester.warc.crawllog``) goes in as ``logs/crawl.log``.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import tempfile
from typing import Any

from harvester.errors import CommandError
from harvester.warc.reader import iter_warc_files

ROOT = pathlib.Path(__file__).resolve().parent.parent


class PackageError(CommandError):
    """The WACZ could not be built; one line."""


def wacz_cli() -> str | None:
    env = os.environ.get("HARVESTER_WACZ")
    if env:
        return env
    local = ROOT / ".venv-pywb" / "bin" / "wacz"
    if local.exists():
        return str(local)
    return shutil.which("wacz")


def report_pages(dump: str | os.PathLike) -> list[dict[str, Any]]:
    """pages.jsonl rows for the dump's records: url, title, ts (one per URL, dump order)."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    with open(dump, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            src = rec.get("source") or {}
            url = src.get("url")
            if not url or url in seen:
                continue
            seen.add(url)
            row = {"url": url, "title": rec.get("title") or url}
            if src.get("fetched_at"):
                row["ts"] = src["fetched_at"]
            out.append(row)
    return out


def write_pages(rows: list[dict[str, Any]], path: str | os.PathLike) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "Annual reports"}) + "\n")
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


DEFAULT_TITLE = "Government information-disclosure annual reports (政府信息公开工作年度报告)"


def _ts14(iso: str) -> str:
    return "".join(ch for ch in iso if ch.isdigit())[:14]


def package(out: str | os.PathLike, *, warc_dir: str | os.PathLike, dump: str | os.PathLike | None = None,
            title: str | None = None, description: str | None = None,
            crawl_log: str | os.PathLike | None = None, timeout: float = 1800) -> dict[str, Any]:
    out = pathlib.Path(out)
    if out.suffix != ".wacz":
        raise PackageError(f"--out must name a .wacz file, got {out}")
    if not os.path.isdir(warc_dir) and not os.path.isfile(warc_dir):
        raise PackageError(f"no such WARC folder: {warc_dir}")
    warcs = list(iter_warc_files(warc_dir))
    if not warcs:
        raise PackageError(f"no WARC file in {warc_dir}")
    cli = wacz_cli()
    if not cli:
        raise PackageError("py-wacz not installed: run tools/pywb-venv.sh (or set HARVESTER_WACZ)")
    rows: list[dict[str, Any]] = []
    if dump is not None:
        if not os.path.isfile(dump):
            raise PackageError(f"no such dump: {dump}")
        rows = report_pages(dump)
    if crawl_log is not None and not os.path.isfile(crawl_log):
        raise PackageError(f"no such crawl log: {crawl_log}")
    out.parent.mkdir(parents=True, exist_ok=True)
    description = description or (f"{len(rows)} report pages and every capture that led to them, from "
                                   f"{len(warcs)} WARC file(s) written by gov-nianbao-harvester")
    with tempfile.TemporaryDirectory(prefix="wacz-") as tmp:
        # written beside the target and renamed when whole: a failed run leaves no partial .wacz
        partial = out.parent / f".{out.stem}.partial.wacz"
        cmd = [cli, "create", "-o", str(partial), "--title", title or DEFAULT_TITLE, "--desc", description]
        if dump is not None:
            pages_path = pathlib.Path(tmp) / "pages.jsonl"
            write_pages(rows, pages_path)
            cmd += ["-p", str(pages_path)]
        main = next((r for r in rows if r.get("ts")), None)
        if main is not None:
            cmd += ["--url", main["url"], "--ts", _ts14(main["ts"])]
        if crawl_log is not None:
            logs = pathlib.Path(tmp) / "logs"
            logs.mkdir()
            shutil.copyfile(crawl_log, logs / "crawl.log")
            cmd += ["--log-directory", str(logs)]
        cmd += warcs
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            partial.unlink(missing_ok=True)
            raise PackageError(f"wacz create failed: {exc}") from None
    if proc.returncode != 0 or not partial.exists():
        partial.unlink(missing_ok=True)
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        raise PackageError(f"wacz create failed: {tail[-1] if tail else f'exit {proc.returncode}'}")
    os.replace(partial, out)
    return {"wacz": str(out), "warc_files": len(warcs), "pages": len(rows), "bytes": out.stat().st_size,
            "main_page": main["url"] if main else None, "crawl_log": crawl_log is not None}


def validate(path: str | os.PathLike, timeout: float = 600) -> subprocess.CompletedProcess:
    cli = wacz_cli()
    if not cli:
        raise PackageError("py-wacz not installed: run tools/pywb-venv.sh")
    return subprocess.run([cli, "validate", "-f", str(path)], capture_output=True, text=True, timeout=timeout)

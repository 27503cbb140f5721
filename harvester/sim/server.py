"""The simulator: every portal on its own loopback host (127.0.0.N), all on one shared port."""
from __future__ import annotations

import dataclasses
import errno
import http.server
import socket
import threading
import time
from typing import Any

from harvester.sim import corpus
from harvester.sim.attachments import AttachmentPortal
from harvester.sim.base import Handler, SimPortal, SimReport, deep_merge
from harvester.sim.faults import KINDS, FaultPlan
from harvester.sim.foreign import ForeignSite
from harvester.sim.gbk import GbkPortal
from harvester.sim.hanweb import HanwebPortal
from harvester.sim.large import LargePortal
from harvester.sim.shell import ShellPortal
from harvester.sim.trs import TrsPortal
from harvester.sim.beijing import BeijingPortal
from harvester.sim.departments import DepartmentPortal
from harvester.sim.gkmlpt import GkmlptPortal
from harvester.sim.scripted import ScriptedPortal
from harvester.sim.yearform import YearFormPortal
from harvester.sim.yearmodule import YearModulePortal

PORTAL_CLASSES: list[type[SimPortal]] = [TrsPortal, HanwebPortal, GbkPortal, AttachmentPortal, ShellPortal]
# Portals of the shapes discovery must handle beyond list links (spiders/pages/): JSON API + hash
# route, year module, year form, script-assembled links (browser), organisation sub-sites, Beijing lists.
PORTAL_CLASSES += [GkmlptPortal, YearModulePortal, YearFormPortal, ScriptedPortal, DepartmentPortal, BeijingPortal]


@dataclasses.dataclass(frozen=True)
class PortalInfo:
    name: str
    family: str
    agency: str
    host: str
    base_url: str
    entry_urls: tuple[str, ...]
    in_registry: bool


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class Simulator:
    """Use `start_simulator()`; also a context manager (stops on exit)."""

    def __init__(self, base_ip_start: int = 2, port: int = 0, *, large_pages: int = 0,
                 slow_seconds: float = 3.0, corpus_dir=corpus.CORPUS_DIR, faults: float = 0.0,
                 fault_seed: int = 0, fault_kinds: tuple[str, ...] = KINDS, fault_hang: float = 10.0,
                 fault_retry_after: int = 1):
        self.corpus = corpus.load_corpus(corpus_dir)
        # server-wide fault injection (harvester.sim.faults): `faults` is the share of requests that fail
        self.faults = FaultPlan(faults, fault_seed, tuple(fault_kinds), fault_hang, fault_retry_after)
        self.slow_seconds = slow_seconds
        self.port = port
        self.request_log: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flaked: set[tuple[str, str]] = set()
        self._bodies: dict[tuple, str] = {}
        self._docx: dict[tuple, bytes] = {}
        self._added = 0
        n = base_ip_start
        self._portals: list[SimPortal] = []
        for cls in PORTAL_CLASSES:
            self._portals.append(cls(self, f"127.0.0.{n}"))
            n += 1
        self.foreign_host = f"127.0.0.{n}"
        self._portals.append(ForeignSite(self, self.foreign_host))
        n += 1
        if large_pages:
            lp = LargePortal(self, f"127.0.0.{n}")
            lp.configure(large_pages)
            self._portals.append(lp)
        self.by_host = {p.host: p for p in self._portals}
        self.by_name = {p.name: p for p in self._portals}
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> "Simulator":
        for attempt in range(20):
            try:
                self._bind_all(self.port)
                break
            except OSError as exc:
                self._close_servers()
                if self.port or exc.errno != errno.EADDRINUSE:
                    raise
        else:
            raise OSError("could not find a port free on every simulator host")
        for srv in self._servers:
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                                 name=f"sim-{srv.server_address[0]}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _bind_all(self, port: int) -> None:
        for p in self._portals:
            srv = _Server((p.host, port), Handler)
            srv.sim = self  # type: ignore[attr-defined]
            self._servers.append(srv)
            port = srv.server_address[1]  # the first host picks the port, the others share it
        self.port = port

    def _close_servers(self) -> None:
        for srv in self._servers:
            srv.server_close()
        self._servers = []

    def stop(self) -> None:
        for srv in self._servers:
            srv.shutdown()
        self._close_servers()
        for t in self._threads:
            t.join(timeout=5)
        self._threads = []

    def __enter__(self) -> "Simulator":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what it serves ------------------------------------------------------------------------
    @property
    def portals(self) -> list[PortalInfo]:
        return [PortalInfo(p.name, p.family, p.agency, p.host, p.base_url, tuple(p.entry_urls()), p.in_registry)
                for p in self._portals]

    def portal(self, name: str) -> SimPortal:
        return self.by_name[name]

    def registry_rows(self) -> list[dict[str, Any]]:
        return [p.registry_row() for p in self._portals if p.in_registry]

    def write_registry(self, path) -> None:
        from harvester.registry import write_registry
        write_registry(self.registry_rows(), path)

    def expected_reports(self, include_large: bool = True) -> list[dict[str, Any]]:
        out = []
        for p in self._portals:
            if isinstance(p, LargePortal):
                if include_large:
                    out += p.expected()
                continue
            for r in p.reports:
                e = {"url": p.url(r.path), "corpus_name": r.doc.name, "gold_path": str(r.doc.gold_path),
                     "kind": r.kind, "portal": p.name, "agency": r.gold.get("agency"), "year": r.gold.get("year"),
                     "twins": [p.url(t) for t in r.twins]}
                if r.detail_path:
                    e["detail_url"] = p.url(r.detail_path)
                if r.gold_override is not None:
                    e["gold"] = r.gold_override
                out.append(e)
        return out

    def doc(self, name: str) -> corpus.CorpusDoc:
        return self.corpus[name]

    def body_for(self, rep: SimReport) -> str:
        key = (rep.doc.name, id(rep.gold_override), rep.note)
        if key not in self._bodies:
            self._bodies[key] = corpus.body_html(rep.view_doc, rep.note)
        return self._bodies[key]

    def docx_for(self, rep: SimReport) -> bytes:
        key = (rep.doc.name, id(rep.gold_override), rep.note)
        if key not in self._docx:
            self._docx[key] = corpus.docx_bytes(rep.view_doc)
        return self._docx[key]

    # --- changes between two crawls --------------------------------------------------------------
    def _find(self, ref: str) -> tuple[SimPortal, SimReport]:
        for p in self._portals:
            for r in p.reports:
                if ref in (r.doc.name, r.path, p.url(r.path)):
                    return p, r
        raise KeyError(f"no served report {ref!r}")

    def update_report(self, ref: str, *, note: str | None = None, gold_changes: dict | None = None,
                      title: str | None = None, mtime: float | None = None) -> dict[str, Any]:
        """Change a served report (by corpus name, path or URL): append a paragraph `note`, and/or
        change numbers (`gold_changes` deep-merged into its gold; tables re-render), and/or title.
        Its Last-Modified moves to `mtime` (default now) and its ETag changes with the bytes."""
        p, r = self._find(ref)
        if note is not None:
            r.note = note
        if gold_changes:
            r.gold_override = deep_merge(r.gold, gold_changes)
        if title is not None:
            r.title_override = title
        r.mtime = float(int(mtime if mtime is not None else time.time()))
        return next(e for e in self.expected_reports(False) if e["url"] == p.url(r.path))

    def add_report(self, portal: str, corpus_name: str, *, path: str | None = None,
                   published: str | None = None, gold_changes: dict | None = None,
                   title: str | None = None) -> dict[str, Any]:
        """Serve another report on `portal` (listed first on its list); returns its expected entry."""
        p = self.by_name[portal]
        doc = self.doc(corpus_name)
        self._added += 1
        path = path or p.new_report_path(doc, self._added)
        kind = "attachment" if isinstance(p, AttachmentPortal) else "page"
        if kind == "attachment" and doc.ext != ".pdf" and path.endswith(".pdf"):
            path = path[:-4] + ".docx"
        rep = SimReport(doc, path, kind, published or doc.gold.get("published") or "2025-02-01",
                        mtime=float(int(time.time())), title_override=title)
        if kind == "attachment":
            rep.detail_path = f"/zwgk/gknb/202502/t20250201_{5000 + self._added}.html"
        if gold_changes:
            rep.gold_override = deep_merge(doc.gold, gold_changes)
        p.reports.insert(0, rep)
        return next(e for e in self.expected_reports(False) if e["url"] == p.url(rep.path))

    def reset_flaky(self) -> None:
        """Make the 500-once pages fail once again."""
        self._flaked.clear()

    # --- the request log -------------------------------------------------------------------------
    def _log(self, host: str, method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
        entry = {"time": time.time(), "host": host, "method": method, "path": path, "headers": headers,
                 "status": None}
        with self._lock:
            self.request_log.append(entry)
        return entry

    def clear_log(self) -> None:
        with self._lock:
            self.request_log.clear()


def start_simulator(base_ip_start: int = 2, port: int = 0, *, large_pages: int = 0,
                    slow_seconds: float = 3.0, **fault_options: Any) -> Simulator:
    """Start serving; returns the running Simulator (stop it with .stop() or a `with` block).
    Hosts: 127.0.0.{base_ip_start}… one per portal (see Simulator.portals), one shared port.
    Fault injection (`harvester.sim.faults`): faults=0.1 makes 10 % of requests fail, decided by
    fault_seed, host, path and attempt; fault_kinds, fault_hang, fault_retry_after (seconds) refine it."""
    return Simulator(base_ip_start, port, large_pages=large_pages, slow_seconds=slow_seconds,
                     **fault_options).start()

"""What every simulated portal shares: the request/response types, the report entry, page chrome,
and the HTTP handler (robots.txt, slow and flaky paths, conditional GET, gzip, chunked)."""
from __future__ import annotations

import copy
import dataclasses
import email.utils
import gzip
import hashlib
import html
import http.server
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from harvester.sim import corpus

if TYPE_CHECKING:
    from harvester.sim.server import Simulator


@dataclasses.dataclass
class Request:
    method: str
    path: str                  # without the query
    query: dict[str, str]
    headers: dict[str, str]
    raw_path: str


@dataclasses.dataclass
class Resp:
    status: int = 200
    body: bytes | str = b""
    ctype: str = "text/html; charset=utf-8"
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    last_modified: float | None = None   # set → ETag + Last-Modified + 304 handling
    encoding: str = "utf-8"

    def data(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else self.body.encode(self.encoding, "xmlcharrefreplace")


def not_found() -> Resp:
    return Resp(404, "<html><head><title>404 Not Found</title></head><body><h1>页面不存在</h1></body></html>")


@dataclasses.dataclass
class SimReport:
    """One report served by a portal, traceable to its corpus document."""
    doc: corpus.CorpusDoc
    path: str                       # URL path of the report (page or attachment)
    kind: str                       # "page" | "attachment"
    published: str                  # YYYY-MM-DD shown in lists (the gold's date when it has one)
    detail_path: str | None = None  # for attachments: the page linking them
    twins: list[str] = dataclasses.field(default_factory=list)   # other paths serving the same report
    mtime: float = 1_700_000_000.0
    note: str | None = None         # text appended by update_report
    gold_override: dict[str, Any] | None = None
    title_override: str | None = None

    @property
    def gold(self) -> dict[str, Any]:
        return self.gold_override or self.doc.gold

    @property
    def title(self) -> str:
        return self.title_override or self.gold.get("title") or f"{self.gold.get('year') or ''}年度政府信息公开工作年度报告"

    @property
    def view_doc(self) -> corpus.CorpusDoc:
        if self.gold_override is None:
            return self.doc
        return dataclasses.replace(self.doc, gold=self.gold_override)


class SimPortal:
    """A portal on its own host. Subclasses set the class attributes and implement `route`."""
    family = "generic"
    name = "portal"
    agency = ""
    region = ""
    level = ""
    site_name = ""
    robots = "User-agent: *\nAllow: /\n"
    gzip = False            # gzip text responses when the client accepts it
    chunked = False         # Transfer-Encoding: chunked, no Content-Length
    page_encoding = "utf-8"
    in_registry = True
    hints: dict[str, Any] = {}

    def __init__(self, sim: "Simulator", host: str):
        self.sim = sim
        self.host = host
        self.reports: list[SimReport] = []
        self.slow_paths: set[str] = set()
        self.flaky_paths: set[str] = set()   # first request 500, the next ones 200
        self.setup()

    # --- to override ---------------------------------------------------------------------------
    def setup(self) -> None: ...
    def entry_paths(self) -> list[str]: return ["/"]
    def route(self, req: Request) -> Resp | None: return None
    def report_page(self, rep: SimReport, req: Request) -> Resp: raise NotImplementedError
    def new_report_path(self, doc: corpus.CorpusDoc, n: int) -> str: raise NotImplementedError

    # --- shared --------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.sim.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def entry_urls(self) -> list[str]:
        return [self.url(p) for p in self.entry_paths()]

    def report_at(self, path: str) -> SimReport | None:
        for rep in self.reports:
            if path == rep.path or path in rep.twins:
                return rep
        return None

    def serve_report(self, rep: SimReport, req: Request) -> Resp:
        if rep.kind == "attachment" and req.path == rep.path:
            data, ctype = self.attachment_bytes(rep)
            return Resp(200, data, ctype, {"Content-Disposition": f'attachment; filename="{rep.path.rsplit("/", 1)[-1]}"'},
                        last_modified=rep.mtime)
        resp = self.report_page(rep, req)
        resp.last_modified = rep.mtime
        return resp

    def attachment_bytes(self, rep: SimReport) -> tuple[bytes, str]:
        if rep.path.endswith(".docx"):
            return self.sim.docx_for(rep), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        return rep.doc.data, "application/pdf"

    def body_of(self, rep: SimReport) -> str:
        return self.sim.body_for(rep)

    def add(self, rep: SimReport) -> SimReport:
        self.reports.append(rep)
        return rep

    def dispatch(self, req: Request) -> Resp:
        if req.path == "/robots.txt":
            return Resp(200, self.robots, "text/plain; charset=utf-8")
        rep = self.report_at(req.path)
        if rep is not None:
            return self.serve_report(rep, req)
        return self.route(req) or not_found()

    def registry_row(self) -> dict[str, Any]:
        from harvester.registry import portal_row
        return portal_row(agency=self.agency, region=self.region, level=self.level,
                          entry_urls=self.entry_urls(), allowed_hosts=[self.host],
                          hints={"cms": self.family, **self.hints, "allow_private": True,
                                 "notes": f"harvester.sim portal {self.name!r}"},
                          provenance={"source": "harvester.sim", "evidence": "simulated portal", "seen_year": None},
                          verified=False)


def esc(s: Any) -> str:
    return html.escape("" if s is None else str(s))


def list_items(reps_and_traps: list[tuple[str, str, str]]) -> str:
    """<li> rows of a CMS list: (href, title, date)."""
    return "\n".join(f'<li><a href="{esc(h)}" title="{esc(t)}" target="_blank">{esc(t)}</a><span>{esc(d)}</span></li>'
                     for h, t, d in reps_and_traps)


def http_date(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


def etag_for(data: bytes) -> str:
    return '"' + hashlib.sha1(data).hexdigest()[:16] + '"'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle(head=True)

    def do_POST(self) -> None:
        self._handle()

    def _handle(self, head: bool = False) -> None:
        sim: Simulator = self.server.sim  # type: ignore[attr-defined]
        host = self.server.server_address[0]
        portal = sim.by_host[host]
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if self.command == "POST":
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
            query.update({k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()})
        headers = {k: v for k, v in self.headers.items()}
        req = Request(self.command, parts.path, query, headers, self.path)
        entry = sim._log(host, self.command, self.path, headers)
        fault = sim.faults.next_fault(host, self.path) if parts.path != "/robots.txt" else None
        if fault:
            entry["fault"] = fault
            if self._fail(fault, entry):
                return

        if parts.path in portal.slow_paths:
            time.sleep(sim.slow_seconds)
        key = (host, parts.path)
        if fault == "500":
            resp = Resp(500, "<html><body><h1>500 Internal Server Error</h1></body></html>")
        elif parts.path in portal.flaky_paths and key not in sim._flaked:
            sim._flaked.add(key)
            resp = Resp(500, "<html><body><h1>500 Internal Server Error</h1></body></html>")
        elif fault == "429":
            resp = Resp(429, "<html><body><h1>429 Too Many Requests</h1></body></html>",
                        headers={"Retry-After": str(sim.faults.retry_after)})
        else:
            try:
                resp = portal.dispatch(req)
            except Exception as exc:  # a bug in the simulator: show it, as a 500
                resp = Resp(500, f"simulator error: {exc!r}", "text/plain; charset=utf-8")
        data = resp.data()
        hdrs = {"Content-Type": resp.ctype, **resp.headers}
        if resp.last_modified is not None and resp.status == 200:
            etag = etag_for(data)
            hdrs["ETag"] = etag
            hdrs["Last-Modified"] = http_date(resp.last_modified)
            inm = headers.get("If-None-Match")
            ims = headers.get("If-Modified-Since")
            not_modified = False
            if inm is not None:
                not_modified = inm.strip() == "*" or etag in [t.strip() for t in inm.split(",")]
            elif ims:
                try:
                    not_modified = email.utils.parsedate_to_datetime(ims).timestamp() >= int(resp.last_modified)
                except (TypeError, ValueError):
                    pass
            if not_modified:
                resp = Resp(304)
                data = b""
                hdrs = {"ETag": etag, "Last-Modified": hdrs["Last-Modified"]}
        entry["status"] = resp.status

        if (data and portal.gzip and "gzip" in headers.get("Accept-Encoding", "")
                and (resp.ctype.startswith("text/") or "xml" in resp.ctype)):
            data = gzip.compress(data, mtime=0)
            hdrs["Content-Encoding"] = "gzip"
            hdrs["Vary"] = "Accept-Encoding"
        chunked = portal.chunked and resp.status != 304
        full_length = len(data)
        if fault == "truncate":
            data = data[: len(data) // 2]   # headers promise the whole body, half is sent
            self.close_connection = True
        self.send_response(resp.status)
        for k, v in hdrs.items():
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(full_length if fault == "truncate" else len(data)))
        self.end_headers()
        if head or resp.status == 304:
            return
        if chunked:
            for i in range(0, len(data), 4096):
                piece = data[i:i + 4096]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            if fault != "truncate":
                self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(data)

    def _fail(self, fault: str, entry: dict[str, Any]) -> bool:
        """Connection-level faults (reset, hang): done here, True. Response faults: False."""
        from harvester.sim import faults

        sim: Simulator = self.server.sim  # type: ignore[attr-defined]
        if fault not in ("reset", "hang"):
            return False
        if fault == "hang":
            faults.hang(self.connection, sim.faults.hang)
        else:
            faults.reset(self.connection)
        entry["status"] = None
        self.close_connection = True
        return True


def deep_merge(base: dict, changes: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in changes.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out

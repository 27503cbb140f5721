"""A real browser for the pages the spider asks to render, and an archive of what it fetched.

The spider marks a request ``meta["render"] = True`` only where nothing else works (the registry
hint ``browser``, or a list page with signs of a script-built list; see
``DiscoverySpider.should_render``). This downloader middleware (priority 960: after the WARC
capture's ``process_request``, before it on the way back) turns such a request into a
scrapy-playwright one (Debian's ``/usr/bin/chromium``, settings ``PLAYWRIGHT_*``) and:

* keeps the browser in scope: requests to hosts outside the portal's ``allowed_hosts``, and
  images, media and fonts, are aborted in the browser;
* waits until the DOM settles (no mutation for ``RENDER_SETTLE_MS``, at most
  ``RENDER_SETTLE_MAX_MS``), then reads the DOM;
* archives every network response the browser received (document, scripts, XHR/JSON) as a WARC
  request/response pair through the project's writer (``WarcWriter.write_exchange``). The browser
  hands over decoded bodies, so the stored headers drop ``Content-Encoding`` /
  ``Transfer-Encoding`` (kept as ``X-Archive-Orig-…``) and carry the stored length;
* stores the rendered DOM as a ``conversion`` record (``WARC-Target-URI: urn:dom:<url>``,
  ``WARC-Refers-To`` the document's response record), never as a response: the WARC capture
  middleware leaves responses flagged ``playwright`` alone, and ``meta["warc"]`` points at the
  document's real response record;
* bounds the work: a page is closed after ``RENDER_PAGE_TIMEOUT`` seconds whatever it does; a
  failed render (crash, hang, timeout) is retried once, then logged and counted
  (``render/failed``) and the crawl goes on; pages per context and contexts are capped by
  ``PLAYWRIGHT_MAX_PAGES_PER_CONTEXT`` / ``PLAYWRIGHT_MAX_CONTEXTS``.

Stats: ``render/pages``, ``render/exchanges``, ``render/blocked``, ``render/retried``,
``render/failed`` (+ ``render/failed/<Exception>``), ``render/timeouts``, ``render/crashes``.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

logger = logging.getLogger(__name__)

PLAYWRIGHT_HANDLER = "harvester.middlewares.browser.LazyPlaywrightDownloadHandler"
BLOCKED_RESOURCES = {"image", "media", "font"}
ACCEPT_ENCODING = "gzip, deflate"
# headers that describe the transfer, not the decoded body the browser hands over
_TRANSFER_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}

# Resolves when the DOM has been quiet for `quiet` ms, or after `cap` ms whatever happens.
SETTLE_JS = """([quiet, cap]) => new Promise((resolve) => {
  let timer = null;
  const done = () => { observer.disconnect(); resolve(true); };
  const observer = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(done, quiet); });
  observer.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  timer = setTimeout(done, quiet);
  setTimeout(done, cap);
})"""


class LazyPlaywrightDownloadHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's handler, but Playwright's driver starts with the first request that
    needs a browser instead of with every crawl (measured: ≈190 MiB PSS for a crawl that renders
    nothing, benchmarks/crawl.py --render). Requests without meta["playwright"] go through
    Scrapy's HTTP/1.1 handler as before. Relies on scrapy-playwright's `_launch` /
    `_download_request` (pinned < 0.1 in pyproject.toml)."""

    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        for launcher in ("_maybe_launch_in_thread", "_engine_started"):
            crawler.signals.disconnect(getattr(self, launcher), signal=signals.engine_started)
        self._lazy_launch_lock = asyncio.Lock()

    async def _download_request(self, request, spider=None):
        async with self._lazy_launch_lock:
            if getattr(self, "browser_provider", None) is None:
                await self._launch()
        return await super()._download_request(request, spider)


async def request_headers(*, browser_type_name: str, playwright_request, scrapy_request_data: dict) -> dict:
    """PLAYWRIGHT_PROCESS_REQUEST_HEADERS: the Scrapy request's headers for the page itself, the
    crawl's User-Agent on every request, and only codings replay tools can decode. Names are
    de-duplicated without regard to case (Chromium keeps its own lower-case value otherwise)."""
    from scrapy_playwright.headers import use_scrapy_headers

    headers = await use_scrapy_headers(browser_type_name=browser_type_name, playwright_request=playwright_request,
                                       scrapy_request_data=scrapy_request_data)
    scrapy_headers = {k.lower(): v for k, v in scrapy_request_data["headers"].to_unicode_dict().items()}
    user_agent = scrapy_headers.get("user-agent") or next(
        (v for k, v in headers.items() if k.lower() == "user-agent"), None)
    out = {k: v for k, v in headers.items() if k.lower() not in ("user-agent", "accept-encoding")}
    if user_agent:
        out["User-Agent"] = user_agent
    out["Accept-Encoding"] = ACCEPT_ENCODING
    return out


@dataclasses.dataclass
class Exchange:
    url: str
    method: str
    request_headers: list[tuple[str, bytes]]
    request_body: bytes
    status: int
    reason: str
    response_headers: list[tuple[str, bytes]]
    body: bytes
    ip_address: str | None
    navigation: bool


@dataclasses.dataclass
class Session:
    """One render of one request: the page, what it fetched, its watchdog."""
    allowed_hosts: frozenset[str]
    page: Any = None
    tasks: list = dataclasses.field(default_factory=list)
    exchanges: list[Exchange] = dataclasses.field(default_factory=list)
    watchdog: Any = None
    timed_out: bool = False


class BrowserMiddleware:
    def __init__(self, crawler) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.settle = [s.getint("RENDER_SETTLE_MS", 500), s.getint("RENDER_SETTLE_MAX_MS", 5000)]
        self.page_timeout = s.getfloat("RENDER_PAGE_TIMEOUT", 60.0)
        self.nav_timeout_ms = s.getint("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", 30000)
        self.warc_settings = s if s.getbool("WARC_ENABLED") else None
        self._writer = None
        self.sessions: dict[int, Session] = {}
        self.address_verdicts: dict[str, bool] = {}   # host → may Chromium connect to it

    @classmethod
    def from_crawler(cls, crawler) -> "BrowserMiddleware":
        s = crawler.settings
        if not s.getbool("RENDER_ENABLED"):
            raise NotConfigured("RENDER_ENABLED is off")
        from scrapy.utils.misc import load_object

        handler = s.getdict("DOWNLOAD_HANDLERS").get("http")
        if not handler or not issubclass(load_object(handler), ScrapyPlaywrightDownloadHandler):
            raise NotConfigured(f"RENDER_ENABLED needs DOWNLOAD_HANDLERS http/https = {PLAYWRIGHT_HANDLER}")
        return cls(crawler)

    # --- the archive -----------------------------------------------------------------------------
    @property
    def writer(self):
        """The project's WARC writer, opened on the first render (a crawl that renders nothing
        leaves no extra file)."""
        if self._writer is None and self.warc_settings is not None:
            from harvester.warc.capture import WarcCaptureMiddleware
            from harvester.warc.writer import WarcWriter

            capture = self.crawler.get_downloader_middleware(WarcCaptureMiddleware)
            if capture is not None:   # one writer per crawl: same files, warcinfo and index
                self._writer = capture.writer
                return self._writer

            s = self.warc_settings
            self._writer = WarcWriter(s.get("WARC_DIR"), prefix=s.get("WARC_PREFIX") or "harvester",
                                      max_size=s.getint("WARC_MAX_SIZE", 1_000_000_000),
                                      cdxj_path=s.get("WARC_CDXJ_PATH"), operator=s.get("WARC_OPERATOR"),
                                      description=s.get("WARC_DESCRIPTION"))
            self.crawler.signals.connect(self._writer.close, signal=signals.engine_stopped)
        return self._writer

    def archive(self, request: Request, response: Response, session: Session) -> dict[str, Any] | None:
        """Every exchange as a request/response pair; the DOM as a conversion of the page's
        response. Returns meta["warc"] for the page (its real response record)."""
        writer = self.writer
        if writer is None:
            return None
        from harvester.warc.writer import RequestData, ResponseData

        page_pointer = None
        log = self._crawl_log_for(request)
        for ex in session.exchanges:
            parts = urlsplit(ex.url)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            headers = [(n, v) for n, v in ex.response_headers if n.lower() not in _TRANSFER_HEADERS]
            headers += [(f"X-Archive-Orig-{n}", v) for n, v in ex.response_headers
                        if n.lower() in ("content-encoding", "transfer-encoding")]
            headers.append(("Content-Length", str(len(ex.body))))
            try:
                pointer = writer.write_exchange(
                    ex.url.split("#", 1)[0], RequestData(ex.method, target, ex.request_headers, ex.request_body),
                    ResponseData(ex.status, headers, ex.body, reason=ex.reason or None), ip_address=ex.ip_address)
            except OSError:
                raise   # the output is not writable: process_response stops the crawl
            except Exception:
                logger.exception("render: could not archive %s", ex.url)
                self.stats.inc_value("render/write_errors")
                continue
            self.stats.inc_value("render/exchanges")
            log(ex, pointer)
            if ex.navigation and page_pointer is None and ex.url.split("#")[0] == response.url.split("#")[0]:
                page_pointer = pointer
        if page_pointer is None:
            logger.warning("render: the browser's response for %s was not seen; DOM stored unlinked", response.url)
        url = response.url.split("#", 1)[0]
        dom = writer.write_resource(f"urn:dom:{url}", response.body, f"text/html; charset={response.encoding}",
                                    record_type="conversion",
                                    refers_to=page_pointer.record_id if page_pointer else None, refers_to_uri=url)
        meta = page_pointer.to_meta() if page_pointer else {}
        meta["rendered_dom_record_id"] = dom.record_id
        return meta

    def _crawl_log_for(self, request: Request):
        """Writes a crawl.log line per browser fetch, through the capture middleware's log: the
        page itself with the request's discovery path and via; what the page loaded one embed hop
        (``E``) further, via the page. Annotated ``browser``."""
        from harvester.warc.capture import WarcCaptureMiddleware
        from harvester.warc.discovery import Discovery

        capture = self.crawler.get_downloader_middleware(WarcCaptureMiddleware)
        found = Discovery.of(request)

        def log(ex: Exchange, pointer) -> None:
            if capture is None:
                return
            page = ex.navigation and ex.url.split("#")[0] == request.url.split("#")[0]
            ctype = next((v for n, v in ex.response_headers if n.lower() == "content-type"), b"")
            mime = ctype.decode("latin-1").split(";", 1)[0].strip().lower() or None
            capture.log_line(status=ex.status, size=len(ex.body), url=ex.url.split("#", 1)[0],
                             path=found.path if page else found.path + "E",
                             via=found.via if page else request.url, mime=mime, duration_s=None,
                             digest=pointer.payload_digest, source=request.meta.get("portal"),
                             annotations=["browser"])
        return log

    # --- the browser -----------------------------------------------------------------------------
    def _allowed_hosts(self, request: Request) -> frozenset[str]:
        spider = self.crawler.spider
        portal = request.meta.get("portal")
        try:
            return frozenset(h.lower() for h in spider.portals[portal].allowed_hosts)
        except (AttributeError, IndexError, TypeError):
            return frozenset({(urlsplit(request.url).hostname or "").lower()})

    def process_request(self, request: Request, spider=None):
        if not request.meta.get("render"):
            return None
        from scrapy_playwright.page import PageMethod

        session = Session(self._allowed_hosts(request))
        self.sessions[id(request)] = session
        request.meta.update({
            "playwright": True,
            "playwright_include_page": True,      # closed here once its responses are read
            "playwright_page_init_callback": self._page_init(session),
            "playwright_page_goto_kwargs": {"wait_until": "load", "timeout": self.nav_timeout_ms},
            "playwright_page_methods": [PageMethod("evaluate", SETTLE_JS, self.settle)],
        })
        return None

    def _page_init(self, session: Session):
        async def init(page, request: Request) -> None:
            session.page = page
            if session.timed_out:      # a retry of scrapy-playwright's after our watchdog fired
                await page.close()
                return
            page.on("response", lambda r: session.tasks.append(asyncio.ensure_future(self._record(r, session))))
            page.on("crash", lambda _: self.stats.inc_value("render/crashes"))
            # Chromium sets Accept-Encoding below request interception; only extra headers reach it
            await page.set_extra_http_headers({"Accept-Encoding": ACCEPT_ENCODING})
            await page.route("**/*", self._router(session))
            if session.watchdog is None:
                session.watchdog = asyncio.get_running_loop().call_later(self.page_timeout, self._expire, session)
        return init

    def _expire(self, session: Session) -> None:
        """The page took too long in all (a hang, a page that never settles): close it."""
        session.timed_out = True
        self.stats.inc_value("render/timeouts")
        if session.page is not None and not session.page.is_closed():
            asyncio.ensure_future(self._close(session.page))

    def _router(self, session: Session):
        async def route(route, pw_request) -> None:
            host = (urlsplit(pw_request.url).hostname or "").lower()
            web = urlsplit(pw_request.url).scheme in ("http", "https")
            if pw_request.resource_type in BLOCKED_RESOURCES or (web and host not in session.allowed_hosts):
                self.stats.inc_value("render/blocked")
                await route.abort()
                return
            if web and not await self.address_allowed(host):
                self.stats.inc_value("render/refused_private")
                await route.abort("addressunreachable")
                return
            await route.fallback()
        return route

    async def address_allowed(self, host: str) -> bool:
        """The address policy (`harvester.netpolicy`) for what Chromium fetches: it resolves names
        itself, past the crawl's GuardedResolver, so a host is resolved here first and refused
        when any of its addresses is private (unless its portal says allow_private). A name that
        does not resolve is refused too: fail closed. Judged once per host per crawl."""
        from harvester.netpolicy import POLICY, addresses, ip_literal, is_private_host, is_private_ip

        if POLICY.private_allowed(host):
            return True
        verdict = self.address_verdicts.get(host)
        if verdict is None:
            if is_private_host(host):
                verdict = False
            elif ip_literal(host) is not None:
                verdict = True
            else:
                try:
                    found = addresses(await asyncio.get_running_loop().getaddrinfo(
                        host, None, proto=socket.IPPROTO_TCP))
                    verdict = bool(found) and not any(is_private_ip(a) for a in found)
                except (OSError, UnicodeError):
                    verdict = False
            if not verdict:
                logger.warning("render: %s refused by address policy (a private address, or it does not "
                               "resolve; no allow_private hint)", host)
            self.address_verdicts[host] = verdict
        return verdict

    async def _record(self, pw_response, session: Session) -> None:
        try:
            pw_request = pw_response.request
            if urlsplit(pw_response.url).scheme not in ("http", "https"):
                return
            try:
                body = await pw_response.body()
            except Exception:  # redirects and aborted bodies have none
                body = b""
            server = None
            try:
                addr = await pw_response.server_addr()
                server = addr["ipAddress"] if addr else None
            except Exception:
                pass
            # Playwright decodes header bytes as UTF-8; the writer wants the bytes
            req_headers = [(h["name"], h["value"].encode("utf-8")) for h in await pw_request.headers_array()]
            resp_headers = [(h["name"], h["value"].encode("utf-8")) for h in await pw_response.headers_array()]
            session.exchanges.append(Exchange(
                pw_response.url, pw_request.method, req_headers, pw_request.post_data_buffer or b"",
                pw_response.status, pw_response.status_text, resp_headers, body, server,
                pw_request.is_navigation_request()))
        except Exception as exc:  # the page went away mid-read: what was read is kept
            logger.debug("render: response of %s not recorded (%s)", getattr(pw_response, "url", "?"), exc)

    async def _close(self, page) -> None:
        try:
            if not page.is_closed():
                await page.close()
        except Exception:
            pass

    async def _finish(self, request: Request) -> Session | None:
        session = self.sessions.pop(id(request), None)
        page = request.meta.pop("playwright_page", None)
        if session is not None:
            if session.watchdog is not None:
                session.watchdog.cancel()
            if session.tasks:
                await asyncio.wait(session.tasks, timeout=10)
            page = page or session.page
        if page is not None:
            await self._close(page)
        return session

    async def process_response(self, request: Request, response: Response, spider=None):
        if not request.meta.get("render"):
            return response
        session = await self._finish(request)
        self.stats.inc_value("render/pages")
        if session is not None:
            try:
                warc = self.archive(request, response, session)
            except OSError as exc:   # disk full: stop the crawl with one line (harvester.outputfailure)
                from scrapy.exceptions import IgnoreRequest

                from harvester.outputfailure import output_failed

                self.stats.inc_value("render/write_errors")
                output_failed(self.crawler, OSError(f"cannot write WARC records: {exc.strerror or exc}"))
                raise IgnoreRequest(f"not archived: {request.url}") from None
            if warc is not None:
                request.meta["warc"] = warc
        return response

    async def process_exception(self, request: Request, exception: BaseException, spider=None):
        if not request.meta.get("render"):
            return None
        await self._finish(request)
        name = type(exception).__name__
        self.stats.inc_value(f"render/failed/{name}")
        if not request.meta.get("render_retried"):
            self.stats.inc_value("render/retried")
            logger.warning("render failed, retrying once: %s (%s: %s)", request.url, name, str(exception)[:200])
            retry = request.replace(dont_filter=True)
            for key in ("playwright_page", "playwright_page_init_callback"):
                retry.meta.pop(key, None)
            retry.meta["render_retried"] = True
            return retry
        self.stats.inc_value("render/failed")
        logger.error("render failed twice, page skipped: %s (%s: %s)", request.url, name, str(exception)[:200])
        return None

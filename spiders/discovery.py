"""The discovery spider: from each registry portal's entry URLs to its 年报 reports.

Generic for every portal (what a page is and links to lives in `harvester.spiders.pages`, one
page-object module per CMS family behind one listing interface):

* entry / navigation pages: follow 信息公开/政务公开 navigation (two steps at most), organisation
  sub-sites (部门 → XX局, ?branch_id=; a fresh budget each) and any link to a 年报 column;
* list pages (one callback, `parse_listing`, whatever the family): follow what the page object's
  `listing()` names: report links and report candidates (year links, year forms, year modules),
  lists to read (columns, level sub-columns, next pages, list data endpoints of any shape, block
  fragments), `location.replace` / meta-refresh shells; render the page in a browser when the
  registry says so (hint `browser`) or the list is built by script (`should_render`);
* report pages: emitted as items when they read as a report (title, not a list titled like one,
  not a notice or explainer); the PDF/DOC(X) attachments they link are fetched and emitted too;
  a thin page that only points to attachments is not emitted.

Registry hints used here: `cms` (family), `list_endpoint`, `column_url_template` (one column per
year), `known_report_urls`, `browser`; `allow_private` by the scope middleware.

Scope (ScopeMiddleware): only the registry's allowed hosts, on every hop including redirects;
private/loopback/link-local addresses only for portals whose hint ``allow_private`` is true.
Items are plain dicts (keys: url, body, content_type, status, kind, agency, link_title,
detail_url, warc, state_key); the pipelines parse and dump them.

Re-crawls (``harvester.state``, setting ``CRAWL_STATE_PATH``): list/nav pages are always fetched
fully; report pages and attachments seen before are asked for with If-None-Match /
If-Modified-Since (``harvester.middlewares.conditional``). A 304 (or a 200 the capture middleware found payload-identical) yields an item
with ``unchanged: True`` (not parsed, the dump keeps its record) and re-requests the attachments
the page linked last time (conditionally too). Stats: ``recrawl/conditional``,
``recrawl/not_modified``, ``recrawl/identical_payload``, ``recrawl/changed``.
"""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.http import Response, TextResponse

from harvester.registry import Portal, RegistryError, load_registry
from harvester.spiders import pages
from harvester.state import crawl_state

logger = logging.getLogger(__name__)

MAX_NAV_DEPTH = 2        # home → 信息公开 → 年报 column
MAX_LIST_PAGES = 5000    # per portal: list/column pages followed


def column_urls(template: str | None) -> list[str]:
    """The registry hint `column_url_template` (a URL with `{Y}`): one column URL per report year,
    from the first year of the disclosure regulation to this year."""
    if not template or "{Y}" not in template:
        return []
    import datetime

    this_year = datetime.date.today().year
    return [template.replace("{Y}", str(y)) for y in range(this_year, pages.rules.FIRST_REPORT_YEAR - 1, -1)]


class DiscoverySpider(scrapy.Spider):
    name = "discovery"

    def __init__(self, registry: str | None = None, portals: list[Portal] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        # a registry that cannot be read (scrapy crawl / scrapyd: `harvester crawl` checks it first)
        # is one error line and the close reason `registry_error` in start(), not a traceback
        self.registry_error: str | None = None
        try:
            self.portals: list[Portal] = portals if portals is not None else load_registry(registry)
        except RegistryError as exc:
            self.registry_error, self.portals = str(exc), []
        # host → (portal index, allow_private); the first portal naming a host owns it
        self.scope: dict[str, tuple[int, bool]] = {}
        for i, p in enumerate(self.portals):
            for h in p.allowed_hosts:
                self.scope.setdefault(h.lower(), (i, p.allow_private))
        self.list_pages: dict[int, int] = {}

    # --- scope -------------------------------------------------------------------------------------
    def in_scope(self, url: str, portal: int) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return host in {h.lower() for h in self.portals[portal].allowed_hosts}

    def _req(self, url: str, portal: int, role: str, callback=None, **meta: Any) -> scrapy.Request | None:
        url = pages.canonical_url(url)
        if not self.in_scope(url, portal):
            self.crawler.stats.inc_value("discovery/offsite_links")
            return None
        if role in ("list", "nav", "entry"):
            n = self.list_pages.get(portal, 0)
            if n >= MAX_LIST_PAGES:
                return None
            self.list_pages[portal] = n + 1
        meta.update({"portal": portal, "role": role, "state_key": url})
        return scrapy.Request(url, callback=callback or self.parse, meta=meta,
                              errback=self.failed, priority={"attachment": 3, "detail": 2}.get(role, 0))

    # --- start -------------------------------------------------------------------------------------
    async def start(self):
        if self.registry_error:
            logger.error("registry: %s", self.registry_error)
            raise CloseSpider("registry_error")
        for i, portal in enumerate(self.portals):
            for url in portal.entry_urls:
                # a hash-routed column (…/index#2845): the route is read by the page object
                route = urlsplit(url).fragment or None
                r = self._req(url, i, "entry", nav_depth=0, **({"route": route} if route else {}))
                if r:
                    yield r
            endpoint = portal.hints.get("list_endpoint")
            if endpoint:
                r = self._req(pages.first_page_url(endpoint), i, "list")
                if r:
                    yield r
            for url in column_urls(portal.hints.get("column_url_template")):
                r = self._req(url, i, "list")
                if r:
                    yield r
            for url in portal.hints.get("known_report_urls") or []:
                r = self._req(url, i, "detail", link_title=None)
                if r:
                    yield r

    # --- callbacks ---------------------------------------------------------------------------------
    def failed(self, failure):
        """Errback: HTTP errors and network failures are logged and counted; refusals (robots.txt,
        scope) are counted apart, they are not failures."""
        from scrapy.spidermiddlewares.httperror import HttpError

        request = failure.request
        portal = request.meta.get("portal")     # per-portal counts: harvester.progress
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            self.crawler.stats.inc_value("discovery/refused")
            self.crawler.stats.inc_value(f"discovery/refused/portal/{portal}")
            return
        self.crawler.stats.inc_value("discovery/failed_fetches")
        self.crawler.stats.inc_value(f"discovery/failed_fetches/portal/{portal}")
        status = getattr(getattr(failure.value, "response", None), "status", None)
        logger.warning("fetch failed: %s (%s)", request.url,
                       f"HTTP {status}" if status else failure.getErrorMessage() or failure.type.__name__)

    def parse(self, response: Response):
        meta = response.meta
        role = meta.get("role", "list")
        state = crawl_state(getattr(self, "crawler", None))
        if state is None:
            yield from self._parse(response)
            return
        key = meta.get("state_key") or response.url
        if meta.get("prev_capture"):
            revisit = (meta.get("warc") or {}).get("revisit")
            if response.status == 304 or revisit:
                yield from self.unchanged(response, key, "not_modified" if response.status == 304
                                          else "identical_payload")
                return
            self.crawler.stats.inc_value("recrawl/changed")
        children: list[dict[str, Any]] = []
        emitted = False
        for out in self._parse(response):
            if isinstance(out, scrapy.Request) and out.meta.get("role") in ("detail", "attachment"):
                children.append({k: out.meta.get(k) for k in ("link_title", "detail_url", "detail_title")}
                                | {"url": out.meta.get("state_key") or out.url, "role": out.meta["role"]})
            elif isinstance(out, dict):
                emitted = True
            yield out
        if response.status == 200:
            report = bool(meta.get("is_report")) or (role == "attachment" and emitted)
            state.observe(key, response, role=role, report=report, emitted=emitted,
                          children=children if report else [])

    def unchanged(self, response: Response, key: str, why: str):
        """The report page / attachment is as last captured: no parse; its attachments re-asked."""
        self.crawler.stats.inc_value(f"recrawl/{why}")
        state = crawl_state(self.crawler)
        entry = state.get(key) or {}
        state.revisited(key, response)
        portal = response.meta["portal"]
        for child in entry.get("children") or []:
            r = self._req(child["url"], portal, child.get("role") or "attachment",
                          link_title=child.get("link_title"), detail_url=child.get("detail_url"),
                          detail_title=child.get("detail_title"))
            if r:
                yield r
        if entry.get("emitted"):
            self.crawler.stats.inc_value("discovery/reports/unchanged")
            yield {"url": entry.get("final_url") or key, "body": b"", "content_type": None,
                   "status": response.status, "kind": "attachment" if entry.get("role") == "attachment" else "page",
                   "agency": self.portals[portal].agency, "link_title": response.meta.get("link_title"),
                   "detail_url": response.meta.get("detail_url"), "warc": response.meta.get("warc"),
                   "state_key": key, "unchanged": True, "record_id": entry.get("record_id")}

    def _parse(self, response: Response):
        meta = response.meta
        role = meta.get("role", "list")
        if role == "attachment" or not isinstance(response, TextResponse):
            if role in ("attachment", "detail"):
                yield from self.parse_attachment(response)
            return
        ctype = response.headers.get(b"Content-Type")
        page = pages.page_for(response.url, response.text, cms=self.portals[meta["portal"]].hints.get("cms"),
                              content_type=ctype.decode("latin-1") if ctype else None, route=meta.get("route"))
        if role == "detail":
            yield from self.parse_detail(response, page)
        else:
            yield from self.parse_listing(response, page)

    def parse_listing(self, response: TextResponse, page: pages.GenericPage):
        """The one list callback: whatever the family, a page object's `listing()` says what to
        fetch next (reports, lists, navigation, organisation sub-sites) and whether the page must
        be rendered in a browser."""
        portal = response.meta["portal"]
        depth = response.meta.get("nav_depth", MAX_NAV_DEPTH)
        self.crawler.stats.inc_value("discovery/list_pages")
        listing = page.listing(via=response.meta.get("link_title"))
        if listing.shell_target:
            r = self._req(listing.shell_target, portal, response.meta["role"], nav_depth=depth)
            if r:
                yield r
        for link in listing.reports:
            role = "attachment" if pages.is_attachment_url(link.url) else "detail"
            r = self._req(link.url, portal, role, link_title=link.text, detail_url=response.url)
            if r:
                yield r
        for link in listing.columns:
            r = self._req(link.url, portal, "list", nav_depth=MAX_NAV_DEPTH)
            if r:
                yield r
        if depth < MAX_NAV_DEPTH:
            for link in listing.nav:
                r = self._req(link.url, portal, "nav", nav_depth=depth + 1, link_title=link.text)
                if r:
                    yield r
        for link in listing.orgs:
            # an organisation's sub-site: a fresh budget to reach its own 年报 column
            r = self._req(link.url, portal, "nav", nav_depth=1, link_title=link.text)
            if r:
                yield r
        if self.should_render(response, page, listing):
            yield from self.render(response)

    def should_render(self, response: TextResponse, page: pages.GenericPage, listing: pages.Listing) -> bool:
        """A browser only where nothing else works: the registry asks for it on list pages
        (hint `browser`), or a column/list page shows signs of a script-built list."""
        if response.meta.get("rendered") or not self.render_enabled:
            return False
        if self.portals[response.meta["portal"]].hints.get("browser"):
            return response.meta.get("role") in ("list", "entry")
        return listing.render and (response.meta.get("role") == "list" or page.in_report_column())

    def render(self, response: TextResponse):
        """The same page again, through the browser (BrowserMiddleware); links in the rendered DOM
        are followed like static ones."""
        self.crawler.stats.inc_value("discovery/render_requests")
        meta = {k: response.meta[k] for k in ("nav_depth", "link_title", "route") if k in response.meta}
        r = self._req(response.url, response.meta["portal"], "list", rendered=True, render=True, **meta)
        if r:
            url = r.url + (f"#{meta['route']}" if meta.get("route") else "")
            yield r.replace(url=url, dont_filter=True)

    @property
    def render_enabled(self) -> bool:
        settings = getattr(self.crawler, "settings", None)
        return bool(settings and settings.getbool("RENDER_ENABLED"))

    def parse_detail(self, response: TextResponse, page: pages.GenericPage):
        portal = response.meta["portal"]
        title = page.title()
        link_title = response.meta.get("link_title")
        candidate = title if title and pages.REPORT_TITLE.search(title) else (link_title or title)
        if not page.reads_as_report(candidate):
            self.crawler.stats.inc_value("discovery/rejected_pages")
            if not pages.NOTICE.search(candidate or ""):
                # a per-year column or year module behind a report-looking link, or a list titled
                # like a report (2019年政府信息公开年报): read it as a list
                yield from self.parse_listing(response, page)
            return
        title = candidate
        response.meta["is_report"] = True
        attachments = page.attachments()
        for link in attachments:
            r = self._req(link.url, portal, "attachment", link_title=link.text or title, detail_url=response.url,
                          detail_title=title)
            if r:
                yield r
        if attachments and page.text_length() < pages.THIN_PAGE_CHARS:
            self.crawler.stats.inc_value("discovery/thin_pages")
            return   # the report is the attachment
        yield self.item(response, "page", title or link_title)

    def parse_attachment(self, response: Response):
        if response.status != 200 or not response.body:
            return
        yield self.item(response, "attachment", response.meta.get("detail_title") or response.meta.get("link_title"))

    def item(self, response: Response, kind: str, title: str | None) -> dict[str, Any]:
        self.crawler.stats.inc_value(f"discovery/reports/{kind}")
        ctype = response.headers.get(b"Content-Type")
        ctype = ctype.decode("latin-1") if ctype else None
        if isinstance(response, TextResponse) and ctype and "charset" not in ctype.lower():
            ctype = f"{ctype}; charset={response.encoding}"
        portal = self.portals[response.meta["portal"]]
        return {"url": response.url, "body": response.body, "content_type": ctype, "status": response.status,
                "kind": kind, "agency": portal.agency, "link_title": title,
                "detail_url": response.meta.get("detail_url"), "warc": response.meta.get("warc"),
                "state_key": response.meta.get("state_key")}

"""Page objects for the discovery spider: what a page *is* and what it links to, as plain
functions over (url, text). No Scrapy here, so each rule is testable from a saved page.

One module per CMS family, all behind one listing interface (`GenericPage.listing()`):

| module | family | what it adds |
|---|---|---|
| `generic` | any portal | links, year links/forms, level and organisation sub-columns, script pagers, script-fetched lists, hash routes, render signs |
| `trs` | TRS WCM | `createPageHTML(count, current, "index", "html")` |
| `beijing` | Beijing `list.shtml` | `createPageHTML('page_div', count, current, 'list', 'shtml', n)` |
| `hanweb` | Hanweb jcms | `dataproxy.jsp` XML lists, the xxgk annual-report module |
| `gkmlpt` | Guangdong gkmlpt | hash-routed columns → `/gkmlpt/api/all/{id}` |
| `jsonlist` | JSON answers | title/url records of any shape, paging |

The registry's `cms` hint selects a family (`FAMILIES[i].hint`); without one (or an unknown one)
the first family whose `matches(url, text)` holds is used. Data answers (JSON, Hanweb XML) are
read by their own page objects whatever the portal's family. Adding a family: one module with a
`GenericPage` subclass, one line in `FAMILIES`, one simulator portal, one test.
"""
from __future__ import annotations

from harvester.spiders.pages.beijing import BeijingListPage
from harvester.spiders.pages.generic import GenericPage, Link, Listing
from harvester.spiders.pages.gkmlpt import GkmlptPage
from harvester.spiders.pages.hanweb import HanwebPage, HanwebProxyPage
from harvester.spiders.pages.hanweb import page_url as hanweb_page_url
from harvester.spiders.pages.jsonlist import JsonListPage, looks_like_json
from harvester.spiders.pages.rules import (  # the vocabulary, re-exported
    NOTICE, REPORT_TITLE, THIN_PAGE_CHARS, canonical_url, is_attachment_url, is_column_text, is_column_url,
    is_report_title, looks_like_detail, tidy,
)
from harvester.spiders.pages.trs import TrsPage

# Detection order: the most specific signature first; GenericPage is the fallback.
FAMILIES: list[type[GenericPage]] = [GkmlptPage, HanwebPage, BeijingListPage, TrsPage]
DATA_PAGES: list[type[GenericPage]] = [HanwebProxyPage]


def family_for_hint(cms: str | None) -> type[GenericPage] | None:
    """The family a registry `cms` hint names ("TRS", "Hanweb (art/…)", "gkmlpt"…), or None."""
    if not cms:
        return None
    for cls in FAMILIES + [GenericPage]:
        if cls.hint.search(cms.strip()):
            return cls
    return None


def page_for(url: str, text: str, *, cms: str | None = None, content_type: str | None = None,
             route: str | None = None) -> GenericPage:
    """The page object for a fetched page: data answers by content; HTML by the `cms` hint, else
    by detection."""
    if looks_like_json(text, content_type) and JsonListPage.matches(url, text):
        return JsonListPage(url, text, route)
    for cls in DATA_PAGES:
        if cls.matches(url, text):
            return cls(url, text, route)
    cls = family_for_hint(cms) or next((c for c in FAMILIES if c.matches(url, text)), GenericPage)
    return cls(url, text, route)


def first_page_url(endpoint: str) -> str:
    """The first page of a list data endpoint named in the registry (`list_endpoint`)."""
    return hanweb_page_url(endpoint, 1) if "dataproxy.jsp" in endpoint else endpoint


__all__ = ["FAMILIES", "GenericPage", "Link", "Listing", "family_for_hint", "first_page_url", "page_for",
           "BeijingListPage", "GkmlptPage", "HanwebPage", "HanwebProxyPage", "JsonListPage", "TrsPage",
           "NOTICE", "REPORT_TITLE", "THIN_PAGE_CHARS", "canonical_url", "is_attachment_url", "is_column_text",
           "is_column_url", "is_report_title", "looks_like_detail", "tidy", "hanweb_page_url"]

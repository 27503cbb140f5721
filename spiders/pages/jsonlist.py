"""JSON list endpoints of any shape: records with a title-like and a URL-like field, and paging.

Guangdong's gkmlpt API (`{"articles": [{"title", "url"}], "total"}`), TRS search APIs
(`{"data": {"list": [{"DOCTITLE", "DOCPUBURL"}]}, "pageCount"}`) and hand-written ones all read
the same way: every list of objects anywhere in the document is a candidate; a record is a link
when one field reads as a title and another as a URL. Paging: a page count (or a total and a page
size) and the page parameter of the request URL; later pages are asked only from the first.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Iterator
from urllib.parse import parse_qsl, urljoin, urlsplit

from harvester.spiders.pages import rules
from harvester.spiders.pages.generic import GenericPage, Link, Listing, dedupe

TITLE_KEY = re.compile(r"^(title|doc_?title|name|subject|topic|headline|bt|biaoti|wjbt|wjmc|filename|file_name|"
                       r"label|text|标题|名称)$", re.I)
URL_KEY = re.compile(r"^(url|link|href|path|address|doc_?pub_?url|docurl|pub_?url|lj|page_?url|detail_?url|"
                     r"art_?url|post_?url|file_?url|链接|地址)$", re.I)
PAGE_COUNT_KEY = re.compile(r"^(total_?pages?|page_?count|pages|totalpage|page_?total|pagenum_?total|total_?page_?num)$",
                            re.I)
TOTAL_KEY = re.compile(r"^(total|count|total_?count|total_?records?|totalrecord|record_?count|total_?num|total_?size)$",
                       re.I)
PAGE_SIZE_KEY = re.compile(r"^(page_?size|per_?page|rows|limit|size|pagesize)$", re.I)
URLISH = re.compile(r"^(https?://|/|\./|\.\./)|\.(s?html?|jsp|aspx?|php|pdf|docx?)(\?|$)", re.I)


def load(text: str) -> Any | None:
    """The JSON document, also when wrapped as JSONP (`callback({...})`); None if not JSON."""
    s = (text or "").strip().lstrip("\ufeff")
    m = re.fullmatch(r"[\w$.]+\s*\((.*)\)\s*;?", s, re.S)
    if m:
        s = m.group(1)
    try:
        return json.loads(s)
    except ValueError:
        return None


def looks_like_json(text: str, content_type: str | None = None) -> bool:
    if content_type and ("json" in content_type.lower() or "javascript" in content_type.lower()):
        return True
    head = (text or "").lstrip("\ufeff \r\n\t")[:1]
    return head in ("{", "[")


def _walk(node: Any, depth: int = 0) -> Iterator[Any]:
    if depth > 12:
        return
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _walk(v, depth + 1)
    elif isinstance(node, list):
        for v in node[:5000]:
            yield from _walk(v, depth + 1)


def _field(record: dict, key_rx: re.Pattern, value_ok) -> str | None:
    for k, v in record.items():
        if isinstance(v, str) and key_rx.match(str(k)) and value_ok(v):
            return v.strip()
    return None


def records(doc: Any) -> list[tuple[str, str]]:
    """(title, url) of every record of every list of objects in the document."""
    out = []
    for node in _walk(doc):
        if not (isinstance(node, list) and node and all(isinstance(x, dict) for x in node[:20])):
            continue
        for rec in node:
            title = _field(rec, TITLE_KEY, lambda v: bool(rules.tidy(v)))
            url = _field(rec, URL_KEY, lambda v: bool(URLISH.search(v.strip())))
            if title and url:
                out.append((re.sub(r"<[^>]+>", "", title), url))
    return out


def page_count(doc: Any, n_records: int) -> int | None:
    counts, totals, sizes = [], [], []
    for node in _walk(doc):
        if not isinstance(node, dict):
            continue
        for k, v in node.items():
            if isinstance(v, str) and v.isdigit():
                v = int(v)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                continue
            if PAGE_COUNT_KEY.match(str(k)):
                counts.append(v)
            elif TOTAL_KEY.match(str(k)):
                totals.append(v)
            elif PAGE_SIZE_KEY.match(str(k)):
                sizes.append(v)
    if counts:
        return max(counts)
    size = (sizes[0] if sizes else 0) or n_records
    if totals and size:
        return math.ceil(max(totals) / size)
    return None


class JsonListPage(GenericPage):
    """A JSON (or JSONP) answer of a list data endpoint."""
    family = "json"

    def __init__(self, url: str, text: str, route: str | None = None):
        self.url, self.text, self.route = url, text or "", route
        self.doc = load(self.text)
        from lxml.html import document_fromstring
        self.root = document_fromstring("<html></html>")

    @classmethod
    def matches(cls, url: str, text: str) -> bool:
        return load(text) is not None

    def links(self) -> list[Link]:
        return [Link(urljoin(self.url, u), rules.tidy(t)) for t, u in records(self.doc)]

    def title(self) -> str | None:
        return None

    def next_pages(self, n_records: int) -> list[str]:
        n = page_count(self.doc, n_records)
        if not n or n <= 1:
            return []
        query = dict(parse_qsl(urlsplit(self.url).query))
        key = next((k for k in query if k.lower() in rules.PAGE_PARAMS - {"start", "startrecord"}), None)
        current = query.get(key, "1") if key else "1"
        if not current.isdigit() or int(current) > 1:
            return []   # not the first page: the first one asked for the others
        first = int(current)
        key = key or "page"
        n = min(n, rules.MAX_SCRIPT_PAGES)
        return [rules.with_query(self.url, **{key: i}) for i in range(first + 1, first + n)]

    def listing(self, via: str | None = None) -> Listing:
        links = self.links()
        res = Listing(reports=[link for link in links if self.is_report_link(link)])
        res.columns = [Link(u, "") for u in self.next_pages(len(links))]
        res.reports, res.columns = dedupe(res.reports), dedupe(res.columns)
        return res

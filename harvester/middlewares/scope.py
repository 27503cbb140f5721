"""Scope: the crawl fetches only its registry's hosts, and private addresses only where allowed."""
from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

logger = logging.getLogger(__name__)


def _private_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_unspecified


class ScopeMiddleware:
    """Refuse every request (entry, link, redirect hop, robots.txt) outside the registry's hosts, and
    private/loopback/link-local addresses unless the owning portal's hint `allow_private` is true."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request, spider=None):
        spider = self.crawler.spider
        scope = getattr(spider, "scope", None)
        if scope is None:
            return None
        host = (urlsplit(request.url).hostname or "").lower()
        owner = scope.get(host)
        if owner is None:
            self.crawler.stats.inc_value("scope/offsite")
            logger.debug("off scope, not fetched: %s", request.url)
            raise IgnoreRequest(f"off scope: {host}")
        if _private_host(host) and not owner[1]:
            self.crawler.stats.inc_value("scope/private")
            logger.warning("private address refused (no allow_private hint): %s", request.url)
            raise IgnoreRequest(f"private address: {host}")
        return None

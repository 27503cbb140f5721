"""Scope: the crawl fetches only its registry's hosts, and private addresses only where allowed.

Two checks of one rule (`harvester.netpolicy`): here, before any request, a host *spelled* as a
private address (``localhost``, ``127.1``, ``0x7f000001``, ``[::ffff:127.0.0.1]`` …); and at
connection time, in `harvester.resolver.GuardedResolver`, every address a DNS name resolves to. This
middleware tells that resolver which hosts may be private (portals with ``allow_private``) and
turns its refusals into counted, unretried `IgnoreRequest`s.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest

from harvester.netpolicy import POLICY, is_private_host
from harvester.resolver import LOOKUP_ERRORS, unguarded_handlers

logger = logging.getLogger(__name__)


def _host(request) -> str:
    return (urlsplit(request.url).hostname or "").lower()


class ScopeMiddleware:
    """Refuse every request (entry, link, redirect hop, robots.txt) outside the registry's hosts, and
    private/loopback/link-local addresses unless the owning portal's hint `allow_private` is true."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.policy = POLICY

    @classmethod
    def from_crawler(cls, crawler):
        bypass = unguarded_handlers(crawler.settings)
        if bypass or crawler.settings.get("TWISTED_DNS_RESOLVER") != "harvester.resolver.GuardedResolver":
            # fail closed: without the resolver's check, a DNS name could reach a private address
            raise RuntimeError("the address policy needs TWISTED_DNS_RESOLVER = harvester.resolver.GuardedResolver "
                               f"and Twisted download handlers; got {bypass or crawler.settings.get('TWISTED_DNS_RESOLVER')}")
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self, spider=None) -> None:
        scope = getattr(self.crawler.spider, "scope", None) or {}
        self.policy.allow_private(host for host, (_, allowed) in scope.items() if allowed)

    def process_request(self, request, spider=None):
        spider = self.crawler.spider
        scope = getattr(spider, "scope", None)
        if scope is None:
            return None
        host = _host(request)
        owner = scope.get(host)
        if owner is None:
            self.crawler.stats.inc_value("scope/offsite")
            logger.debug("off scope, not fetched: %s", request.url)
            raise IgnoreRequest(f"off scope: {host}")
        if not owner[1] and is_private_host(host):
            self.crawler.stats.inc_value("scope/private")
            logger.warning("private address refused (no allow_private hint): %s", request.url)
            raise IgnoreRequest(f"private address: {host}")
        return None

    def process_exception(self, request, exception, spider=None):
        if isinstance(exception, LOOKUP_ERRORS):
            address = self.policy.refused_address(_host(request))
            if address:
                self.crawler.stats.inc_value("scope/private")
                raise IgnoreRequest(f"private address: {_host(request)} resolves to {address}")
        return None

"""The address policy (`harvester.netpolicy`) at connection time, on Twisted's resolver.

`GuardedResolver` (setting ``TWISTED_DNS_RESOLVER = harvester.resolver.GuardedResolver``) filters
the addresses a name resolves to before Twisted connects, so a name that resolves to a public
address at lint time and to 127.0.0.1 later (DNS rebinding) still cannot reach a private
address. `unguarded_handlers` names configured download handlers that would bypass it.
"""
from __future__ import annotations

import logging

from scrapy.resolver import CachingHostnameResolver
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import implementer, provider

from harvester.netpolicy import POLICY, AddressPolicy

logger = logging.getLogger("harvester.netpolicy")   # one logger name for the policy's messages

# What a refused name looks like to a request: Twisted's DNSLookupError, wrapped by Scrapy 2.19.
try:
    from scrapy.exceptions import CannotResolveHostError
    LOOKUP_ERRORS: tuple[type[BaseException], ...] = (DNSLookupError, CannotResolveHostError)
except ImportError:     # Scrapy < 2.19
    LOOKUP_ERRORS = (DNSLookupError,)

# Download handlers that connect through the reactor's name resolver (so through GuardedResolver).
# The lazy Playwright handler sends every request that is not rendered through HTTP11; what Chromium
# fetches for a rendered page it resolves itself, so BrowserMiddleware.address_allowed checks it.
# The archive handler of `harvester replay` reads WARC files and opens no connection at all.
GUARDED_HANDLERS = {"scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler",
                    "scrapy.core.downloader.handlers.http2.H2DownloadHandler",
                    "harvester.middlewares.browser.LazyPlaywrightDownloadHandler",
                    "harvester.warc.archive.ArchiveDownloadHandler"}


def unguarded_handlers(settings) -> list[str]:
    """http/https download handlers that would bypass the resolver's check (e.g. httpx, aiohttp)."""
    handlers = settings.getwithbase("DOWNLOAD_HANDLERS")
    out = []
    for scheme in ("http", "https"):
        path = handlers.get(scheme)
        name = path if isinstance(path, str) else f"{getattr(path, '__module__', '')}.{getattr(path, '__qualname__', path)}"
        if path is not None and name not in GUARDED_HANDLERS:
            out.append(f"{scheme}: {name}")
    return out


@provider(IResolutionReceiver)
class _GuardedReceiver:
    """Passes on only the addresses POLICY permits for this host."""

    def __init__(self, receiver: IResolutionReceiver, host: str, policy: AddressPolicy):
        self.receiver = receiver
        self.host = host
        self.policy = policy

    def resolutionBegan(self, resolution) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address) -> None:
        if self.policy.permits(self.host, address.host):
            self.receiver.addressResolved(address)
        else:
            logger.warning("connection refused by address policy: %s resolves to private %s "
                           "(no allow_private hint)", self.host, address.host)

    def resolutionComplete(self) -> None:
        self.receiver.resolutionComplete()


@implementer(IHostnameResolver)
class GuardedResolver(CachingHostnameResolver):
    """Scrapy's caching IPv4+IPv6 resolver whose answers pass `POLICY` before any connection."""

    policy = POLICY

    def resolveHostName(self, resolutionReceiver, hostName: str, portNumber: int = 0,
                        addressTypes=None, transportSemantics: str = "TCP"):
        guarded = _GuardedReceiver(resolutionReceiver, hostName, self.policy)
        return super().resolveHostName(guarded, hostName, portNumber, addressTypes, transportSemantics)

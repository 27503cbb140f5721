"""Addresses, not spellings: numeric IPv4 forms, one rule for "private", and the check at
connection time (a DNS name resolving to loopback is refused without allow_private)."""
from __future__ import annotations

import pytest

from harvester import netpolicy
from harvester import resolver as guarded


@pytest.mark.parametrize("spelling", ["127.1", "2130706433", "0x7f000001", "017700000001", "0x7f.1",
                                      "0177.0.0.1", "127.0.0.1.", "[::ffff:127.0.0.1]", "::ffff:7f00:1",
                                      "[::1]", "::7f00:1"])
def test_every_numeric_spelling_of_loopback_is_private(spelling):
    ip = netpolicy.ip_literal(spelling)
    assert ip is not None and netpolicy.is_private_ip(ip)
    assert netpolicy.is_private_host(spelling)


@pytest.mark.parametrize("address", ["10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0",
                                     "100.64.0.1", "224.0.0.1", "240.0.0.1", "fe80::1", "fc00::1", "::"])
def test_private_link_local_reserved_unspecified(address):
    assert netpolicy.is_private_ip(address)


@pytest.mark.parametrize("host", ["8.8.8.8", "0x08080808", "134744072", "www.gov.cn", "::ffff:8.8.8.8", "2001:4860::1"])
def test_public_spellings_are_not_private(host):
    assert not netpolicy.is_private_host(host)


def test_not_numbers_are_names():
    for host in ("www.gov.cn", "1.2.3.4.5", "256.1.1.1", "0xg", "127.0.0.1a", "1..1"):
        assert netpolicy.ip_literal(host) is None


def test_registry_and_crawl_use_the_same_rule():
    from harvester import registry
    from harvester.middlewares import scope

    assert registry.is_private_host is netpolicy.is_private_host
    assert scope.is_private_host is netpolicy.is_private_host


class _Rebinding:
    """A resolver whose answers change between lookups (what DNS rebinding does)."""

    def __init__(self, answers):
        self.answers = list(answers)

    def resolveHostName(self, receiver, hostName, portNumber=0, addressTypes=None, transportSemantics="TCP"):
        from twisted.internet.address import IPv4Address

        receiver.resolutionBegan(object())
        for a in self.answers.pop(0):
            receiver.addressResolved(IPv4Address("TCP", a, portNumber))
        receiver.resolutionComplete()


class _Receiver:
    def __init__(self):
        self.addresses = []
        self.complete = False

    def resolutionBegan(self, r):
        pass

    def addressResolved(self, a):
        self.addresses.append(a.host)

    def resolutionComplete(self):
        self.complete = True


def test_resolver_filters_every_lookup_so_rebinding_cannot_reach_loopback():
    from twisted.internet import reactor

    policy = netpolicy.AddressPolicy()
    resolver = guarded.GuardedResolver(reactor, cache_size=0)
    resolver.policy = policy
    resolver.original_resolver = _Rebinding([["93.184.216.34"], ["127.0.0.1", "93.184.216.34"], ["127.0.0.1"]])
    answers = []
    for _ in range(3):
        r = _Receiver()
        resolver.resolveHostName(r, "rebind.example", 80)
        assert r.complete
        answers.append(r.addresses)
    assert answers == [["93.184.216.34"], ["93.184.216.34"], []]
    assert policy.refused_address("rebind.example") == "127.0.0.1"
    policy.allow_private(["rebind.example"])
    resolver.original_resolver = _Rebinding([["127.0.0.1"]])
    r = _Receiver()
    resolver.resolveHostName(r, "rebind.example", 80)
    assert r.addresses == ["127.0.0.1"]


def test_scope_middleware_fails_closed_without_the_guarded_resolver():
    from scrapy.utils.test import get_crawler

    from harvester.middlewares.scope import ScopeMiddleware

    http11 = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"
    ok = {"TWISTED_DNS_RESOLVER": "harvester.resolver.GuardedResolver",
          "DOWNLOAD_HANDLERS": {"http": http11, "https": http11}}
    assert ScopeMiddleware.from_crawler(get_crawler(settings_dict=ok))
    for bad in ({"TWISTED_DNS_RESOLVER": "scrapy.resolver.CachingThreadedResolver"},
                {**ok, "DOWNLOAD_HANDLERS": {"http": http11, "https": "scrapy.core.downloader.handlers._httpx.HttpxDownloadHandler"}}):
        with pytest.raises(RuntimeError, match="address policy"):
            ScopeMiddleware.from_crawler(get_crawler(settings_dict=bad))

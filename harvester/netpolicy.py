"""Which network addresses the crawl may reach: one definition of "private", for lint and crawl.

A host is judged by the addresses it resolves to, not by how it is spelled:

* `ip_literal(host)` reads every numeric spelling a resolver accepts (``127.1``, ``2130706433``,
  ``0x7f000001``, ``017700000001``, ``[::ffff:127.0.0.1]``) as the address it means;
* `is_private_ip(ip)` is the one rule: anything not globally routable (private, loopback,
  link-local, reserved, unspecified, shared, multicast), IPv4-mapped/compatible IPv6 judged as
  the IPv4 address inside;
* `is_private_host(host)` applies it to a spelling (``localhost`` and numeric forms); with
  ``resolve=True`` it also resolves a DNS name and judges every address it gets;
* `harvester.resolver.GuardedResolver` (setting ``TWISTED_DNS_RESOLVER``; Twisted's side, kept
  apart so lint and replay load no Scrapy) applies it at connection time: the
  addresses a name resolves to are filtered before Twisted connects, so a name that resolves
  to a public address at lint time and to 127.0.0.1 later (DNS rebinding) still cannot reach
  a private address. Hosts whose registry portal says ``allow_private`` are registered in
  `POLICY` by the scope middleware when the spider opens.

The resolver is installed on the reactor, one per process, so the policy it reads is one
per process too (`POLICY`).
"""
from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
from typing import Iterable


logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_IPV4_PART = {16: re.compile(r"[0-9a-f]*"), 8: re.compile(r"[0-7]+"), 10: re.compile(r"[0-9]+")}


def _ipv4_number(part: str) -> int | None:
    """One dot-separated part as inet_aton / the URL standard read it (0x hex, leading-0 octal)."""
    p = part.lower()
    if p.startswith("0x"):
        base, digits = 16, p[2:]
    elif len(p) > 1 and p.startswith("0"):
        base, digits = 8, p[1:]
    else:
        base, digits = 10, p
    if not _IPV4_PART[base].fullmatch(digits):
        return None
    return int(digits or "0", base)


def _ipv4_from_numbers(host: str) -> ipaddress.IPv4Address | None:
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not 1 <= len(parts) <= 4 or any(p == "" for p in parts):
        return None
    numbers = [_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def ip_literal(host: str) -> IPAddress | None:
    """The address a numeric host spelling means (any IPv4 form, IPv6 with or without brackets);
    None for a DNS name."""
    h = host.strip().lower().strip("[]")
    if not h:
        return None
    if ":" in h:
        try:
            return ipaddress.IPv6Address(h.split("%", 1)[0])
        except ValueError:
            return None
    return _ipv4_from_numbers(h.rstrip("."))


def _embedded_ipv4(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if int(ip) >> 32 == 0 and int(ip) > 1:      # deprecated IPv4-compatible ::a.b.c.d
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_private_ip(ip: IPAddress | str) -> bool:
    """True for every address a public crawl must not reach (the one definition of "private")."""
    if isinstance(ip, str):
        parsed = ip_literal(ip)
        if parsed is None:
            raise ValueError(f"not an IP address: {ip!r}")
        ip = parsed
    ip = _embedded_ipv4(ip)
    return (not ip.is_global or ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
            or ip.is_unspecified or ip.is_multicast)


def _spelled_local(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


def resolve(host: str) -> list[IPAddress]:
    """Every address `host` resolves to (blocking getaddrinfo); [] when it does not resolve."""
    try:
        return addresses(socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP))
    except (socket.gaierror, UnicodeError, OSError):
        return []


def addresses(infos) -> list[IPAddress]:
    """The distinct addresses of a getaddrinfo answer (blocking or asyncio's), zone ids dropped."""
    out: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if ip not in out:
            out.append(ip)
    return out


def is_private_host(host: str, *, resolve_names: bool = False) -> bool:
    """True when `host` is, or (with resolve_names) resolves to, a private address. A name that
    does not resolve is not private by this test; the crawl's resolver judges it again when
    it connects."""
    h = host.strip().lower().rstrip(".")
    if _spelled_local(h):
        return True
    ip = ip_literal(h)
    if ip is not None:
        return is_private_ip(ip)
    if resolve_names:
        return any(is_private_ip(a) for a in resolve(h))
    return False


class AddressPolicy:
    """Hosts allowed to reach private addresses, and the refusals made (host → address)."""

    def __init__(self) -> None:
        self._allowed: set[str] = set()
        self._refused: dict[str, str] = {}
        self._lock = threading.Lock()

    def allow_private(self, hosts: Iterable[str]) -> None:
        with self._lock:
            self._allowed.update(h.lower().rstrip(".") for h in hosts)

    def private_allowed(self, host: str) -> bool:
        return host.lower().rstrip(".") in self._allowed

    def permits(self, host: str, address: str) -> bool:
        """May a connection to `host` go to `address`? Records a refusal."""
        try:
            private = is_private_ip(address)
        except ValueError:
            private = True       # an address we cannot read is not trusted
        if not private or self.private_allowed(host):
            return True
        with self._lock:
            self._refused[host.lower().rstrip(".")] = address
        return False

    def refused_address(self, host: str) -> str | None:
        """The private address a connection to `host` was refused, if any."""
        return self._refused.get(host.lower().rstrip("."))

    def reset(self) -> None:
        with self._lock:
            self._allowed.clear()
            self._refused.clear()


POLICY = AddressPolicy()

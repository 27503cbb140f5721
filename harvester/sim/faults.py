"""Fault injection for the simulator: a share of responses fail the way real portals fail.

`FaultPlan(rate, seed)` decides, deterministically from (seed, host, path with query, attempt
number), whether a request fails and how; the same crawl against the same simulator meets the
same faults, and a retry (the next attempt) draws again. Kinds:

* ``500``       an Internal Server Error page;
* ``429``       Too Many Requests with ``Retry-After`` (`retry_after` seconds);
* ``reset``     the connection is reset (TCP RST) before any byte of the response;
* ``hang``      nothing is sent for `hang` seconds (longer than the client's timeout), then close;
* ``truncate``  the response headers promise the whole body, half of it is sent, then close.
"""
from __future__ import annotations

import dataclasses
import hashlib
import socket
import struct
import threading
import time

KINDS = ("500", "429", "reset", "hang", "truncate")


@dataclasses.dataclass
class FaultPlan:
    rate: float = 0.0
    seed: int = 0
    kinds: tuple[str, ...] = KINDS
    hang: float = 10.0
    retry_after: int = 1

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"fault kinds must be among {KINDS}, got {self.kinds}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be within 0..1, got {self.rate}")
        self._attempts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def next_fault(self, host: str, path: str) -> str | None:
        """The fault for this request (counting it as one more attempt at host+path), or None."""
        if not self.rate:
            return None
        with self._lock:
            attempt = self._attempts.get((host, path), 0)
            self._attempts[(host, path)] = attempt + 1
        digest = hashlib.sha256(f"{self.seed}|{host}|{path}|{attempt}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2 ** 64
        if draw >= self.rate:
            return None
        return self.kinds[int.from_bytes(digest[8:12], "big") % len(self.kinds)]


def reset(connection: socket.socket) -> None:
    """Abort the connection with a TCP RST (SO_LINGER 0), as a crashed server or middlebox does."""
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def hang(connection: socket.socket, seconds: float) -> None:
    """Say nothing for `seconds` (or until the client gives up), then close."""
    deadline = time.monotonic() + seconds
    connection.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            if connection.recv(1, socket.MSG_PEEK) == b"":
                break           # the client closed: it timed out
        except (TimeoutError, socket.timeout):
            continue
        except OSError:
            break
        time.sleep(0.2)
    reset(connection)

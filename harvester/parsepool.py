"""Parsing in isolated worker processes: a hostile document costs its own worker, not the crawl.

`ParsePool` runs `harvester.pipelines.parse.parse_item` (the pure parser) in a pebble process pool:
one worker per core by default, each under an address-space limit (``RLIMIT_AS``), each document
under a time limit. A document past either limit becomes a record with a warning (the raw capture
stays in the WARC, so it can be parsed again later with other limits); a worker killed for it is
replaced by the pool. Workers start from a forkserver that has the parser imported, so they share
nothing with the crawl's reactor, threads or sockets.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import resource
from concurrent.futures import Future, TimeoutError as FutureTimeout
from typing import Any

from pebble import ProcessExpired, ProcessPool

DEFAULT_TIMEOUT = 60.0                 # seconds per document; the largest real PDFs parse in < 10 s
DEFAULT_MEMORY = 2 * 1024 ** 3         # bytes of address space per worker

LIMIT_WARNING = "not parsed: {} (the raw capture is in the WARC; parse it again with higher limits)"


def _limit_memory(limit: int) -> None:
    if limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _parse(item: dict[str, Any]) -> dict[str, Any]:
    from harvester.pipelines.parse import parse_item

    return parse_item(item)


def limit_record(item: dict[str, Any], why: str) -> dict[str, Any]:
    """The record of a document that could not be parsed within the limits."""
    from harvester.pipelines.parse import source_of
    from harvester.report.record import blank_record, record_id

    record = blank_record(source_of(item))
    body = item.get("body") or b""
    record["id"] = record_id(None, None, hashlib.sha256(body if isinstance(body, bytes) else body.encode()).hexdigest())
    record["warnings"].append(LIMIT_WARNING.format(why))
    return record


class ParsePool:
    def __init__(self, workers: int = 0, *, timeout: float = DEFAULT_TIMEOUT, memory: int = DEFAULT_MEMORY):
        self.workers = workers or os.cpu_count() or 1
        self.timeout = timeout
        self.memory = memory
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["harvester.pipelines.parse"])
        self.pool = ProcessPool(max_workers=self.workers, initializer=_limit_memory, initargs=(memory,),
                                context=ctx)

    def submit(self, item: dict[str, Any]) -> Future:
        """Parse in a worker; the future's result is the record, or raises (see `outcome`)."""
        slim = {k: item.get(k) for k in ("url", "body", "content_type", "detail_url", "warc")}
        return self.pool.schedule(_parse, args=(slim,), timeout=self.timeout)

    def outcome(self, item: dict[str, Any], future: Future) -> tuple[dict[str, Any], str | None]:
        """(record, limit hit or None) of a finished future."""
        try:
            return future.result(), None
        except FutureTimeout:
            why = f"time limit of {self.timeout:g} s exceeded"
        except (ProcessExpired, MemoryError) as exc:
            why = f"parser process died ({exc}; memory limit {self.memory // 1024 ** 2} MiB)"
        except Exception as exc:   # the parser never raises; a pickling/pool failure still loses nothing
            why = f"{type(exc).__name__}: {str(exc)[:200]}"
        return limit_record(item, why), why

    def parse(self, item: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """Blocking convenience (tests, tools)."""
        future = self.submit(item)
        try:
            future.result()
        except BaseException:
            pass
        return self.outcome(item, future)

    def close(self) -> None:
        self.pool.stop()
        self.pool.join(timeout=10)

"""What the crawl does when its output cannot be written (disk full, folder gone, read-only):
one clear line in the log, ``output/error`` in the stats (the summary and the exit status read it),
and the crawl stopped at once (finish reason ``output_error``) so nothing more is fetched for
nothing. Files already written are left as they are: every writer appends whole lines/records or
replaces a file atomically."""
from __future__ import annotations

import logging

from scrapy.exceptions import DropItem

logger = logging.getLogger(__name__)

FINISH_REASON = "output_error"


def output_failed(crawler, exc: BaseException) -> None:
    """Report an output failure and stop the crawl (the first failure is the one reported)."""
    stats = getattr(crawler, "stats", None)
    first = stats is None or not stats.get_value("output/error")
    if stats is not None:
        stats.inc_value("output/errors")
        if first:
            stats.set_value("output/error", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    if not first:
        return
    logger.error("output failed, stopping the crawl: %s", exc)
    engine = getattr(crawler, "engine", None)
    if engine is not None and engine.running and engine.spider is not None:
        from scrapy.utils.defer import deferred_from_coro

        d = deferred_from_coro(engine.close_spider_async(reason=FINISH_REASON))
        d.addErrback(lambda f: logger.debug("close after output failure: %s", f.getErrorMessage()))


class NotStored(DropItem):
    """An item whose record could not be stored because output failed: dropped quietly (the
    failure was reported once), and its request stays unfinished so a resumed crawl fetches it
    again (`harvester.frontier`)."""

    def __init__(self, message: str = "record not stored: output failed"):
        super().__init__(message, log_level="DEBUG")

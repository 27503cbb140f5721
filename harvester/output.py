"""One output folder per crawl: a Scrapy add-on (``ADDONS`` in harvester.settings).

Every output path derives from ``OUTPUT_DIR`` (default ``out/crawl``, relative to the working
directory) unless it is set on its own: ``WARC_DIR`` = OUT/warc, ``WARC_CDXJ_PATH`` = OUT/index.cdxj,
``DUMP_PATH`` = OUT/reports/records.jsonl, ``CRAWL_STATE_PATH`` = OUT/state.jsonl,
``FRONTIER_DIR`` = OUT/job (`harvester.frontier`). So
``scrapy crawl discovery -a registry=FILE`` and a scrapyd job (``-d setting=OUTPUT_DIR=/data/x``)
write the same layout as ``harvester crawl --out``.
"""
from __future__ import annotations

import os

from scrapy.settings import SETTINGS_PRIORITIES

DEFAULT_OUTPUT_DIR = "out/crawl"
LAYOUT = {"WARC_DIR": "warc", "WARC_CDXJ_PATH": "index.cdxj",
          "DUMP_PATH": os.path.join("reports", "records.jsonl"), "CRAWL_STATE_PATH": "state.jsonl",
          "FRONTIER_DIR": "job"}


class OutputFolder:
    def update_settings(self, settings) -> None:
        out = os.path.abspath(settings.get("OUTPUT_DIR") or DEFAULT_OUTPUT_DIR)
        settings.set("OUTPUT_DIR", out, priority=max(settings.getpriority("OUTPUT_DIR") or 0,
                                                     SETTINGS_PRIORITIES["addon"]))
        for name, relative in LAYOUT.items():
            if not settings.get(name):
                # an unset value may still carry the settings module's priority: keep it
                priority = max(settings.getpriority(name) or 0, SETTINGS_PRIORITIES["addon"])
                settings.set(name, os.path.join(out, relative), priority=priority)

"""Downloader middlewares of the crawl (named in `harvester.settings.DOWNLOADER_MIDDLEWARES`)."""

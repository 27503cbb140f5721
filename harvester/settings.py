"""The one Scrapy settings module (named in scrapy.cfg).

Defaults are polite for real government portals: one request at a time per host, a delay, and
AutoThrottle on top. `LOOPBACK_PROFILE` is what the demo, the tests and the benchmarks lay over it
for the simulator on 127.0.0.0/8 (no delays). `harvester.crawl.crawl_settings` builds the final
settings: this module + profile + the output folder.
"""

BOT_NAME = "harvester"
SPIDER_MODULES = ["harvester.spiders"]
NEWSPIDER_MODULE = "harvester.spiders"

USER_AGENT = "gov-nianbao-harvester/0.1 (+https://github.com/gov-nianbao-harvester; research crawl of 政府信息公开年报)"
ROBOTSTXT_OBEY = True

# Side channels off: no telnet console, no remote control.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# Politeness for real portals, at scale: speed comes from many hosts at once, each host sees at
# most CONCURRENT_REQUESTS_PER_DOMAIN (Scrapy's broad-crawl recipe): a global concurrency far above
# the per-host one, and a scheduler queue that hands out requests for the hosts with the fewest
# downloads in flight (one slow or throttled host never fills the global places).
CONCURRENT_REQUESTS = 128
CONCURRENT_REQUESTS_PER_DOMAIN = 2
SCHEDULER_PRIORITY_QUEUE = "scrapy.pqueues.DownloaderAwarePriorityQueue"
# breadth-first within a priority, and on disk when JOBDIR is set (frontier of a national crawl)
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"
REACTOR_THREADPOOL_MAXSIZE = 20     # DNS lookups of many hosts at once
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5     # ±50 % around DOWNLOAD_DELAY
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Failures: retry transient errors with exponential backoff (BackoffRetryMiddleware).
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_BACKOFF_BASE = 2.0      # seconds; the n-th retry waits BASE * 2**(n-1), capped below
RETRY_BACKOFF_MAX = 60.0
RETRY_AFTER_MAX = 300.0       # a Retry-After longer than this gives the URL up (counted), never holds the crawl
DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024     # reports as PDF can be large; nothing legitimate is bigger
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024
REDIRECT_MAX_TIMES = 10
DEPTH_LIMIT = 12              # a safety net: the spider's own rules stop far earlier
HTTPERROR_ALLOW_ALL = False

# Scrapy 2.18+ asks for br/zstd, which WARC replay tools cannot decode.
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
    "Accept-Encoding": "gzip, deflate",
}

# Addresses, not spellings: every address a host resolves to is checked when connecting
# (harvester.netpolicy); private ones only for portals whose hint allow_private is true.
TWISTED_DNS_RESOLVER = "harvester.resolver.GuardedResolver"
# Outputs of one callback processed in parallel. Scrapy starts this many asyncio tasks for every
# response (default 100: measured 7 s of task creation per 2,000 pages); a list page yields ~20
# requests and a report page one item, and items of different responses run in parallel anyway.
CONCURRENT_ITEMS = 8

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
LOGSTATS_INTERVAL = 30.0      # progress line on long crawls

DOWNLOADER_MIDDLEWARES = {
    # refuse off-scope hosts and private addresses (also on redirects) before anything else
    "harvester.middlewares.scope.ScopeMiddleware": 50,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    # sees every failure no middleware recovered: finishes its request in the frontier journal
    "harvester.frontier.FrontierFailureMiddleware": 1,
    # If-None-Match / If-Modified-Since from the crawl state, after scope and robots.txt (100)
    "harvester.middlewares.conditional.ConditionalRequestMiddleware": 120,
    "harvester.middlewares.retry.BackoffRetryMiddleware": 550,
    # raw bytes to WARC, before HttpCompressionMiddleware (590) decodes them
    "harvester.warc.capture.WarcCaptureMiddleware": 950,
    # pages the spider asks to render: a real browser, and the archive of what it fetched
    "harvester.middlewares.browser.BrowserMiddleware": 960,
}
SPIDER_MIDDLEWARES = {
    # nearest the engine: a request is finished when its callback's output is consumed
    "harvester.frontier.FrontierSpiderMiddleware": 0,
    # via / hops / outlinks of each capture → a WARC metadata record (after depth/offsite filtering)
    "harvester.warc.discovery.DiscoveryRecordMiddleware": 100,
}
# a body cut short reaches the WARC capture (stored with WARC-Truncated) instead of being dropped
DOWNLOAD_FAIL_ON_DATALOSS = False
# Requests accepted and finished are journaled, so `kill -9` + the same command resumes.
SCHEDULER = "harvester.frontier.ResumableScheduler"
FRONTIER_DIR = None           # default OUTPUT_DIR/job (harvester.output.OutputFolder)

ITEM_PIPELINES = {
    "harvester.pipelines.parse.ParsePipeline": 300,
    "harvester.pipelines.dump.DumpPipeline": 800,
    # last: drop raw bytes so feed exports (-o items.jsonl) can write the items
    "harvester.pipelines.feed.FeedItemPipeline": 900,
}

# Output folder (harvester.output): WARC_DIR, WARC_CDXJ_PATH, DUMP_PATH, CRAWL_STATE_PATH derive from
# OUTPUT_DIR unless set on their own; run-summary.json and crawl-stats.json are written into it.
ADDONS = {"harvester.output.OutputFolder": 0}
OUTPUT_DIR = "out/crawl"

# Progress on stderr whatever LOG_LEVEL says, per-portal counts, the run summary (harvester.progress).
EXTENSIONS = {
    "harvester.progress.CrawlProgress": 500,
    "harvester.state.CrawlState": 0,     # re-crawl state; others use crawler.get_extension(CrawlState)
    "harvester.frontier.Frontier": 0,    # crash-safe frontier journal (OUTPUT_DIR/job/)
}
PROGRESS = "auto"             # auto: a live bar on a terminal, plain lines otherwise; bar, lines, off
PROGRESS_INTERVAL = 30.0      # seconds between plain progress lines

# WARC capture (harvester.warc.capture); WARC_DIR / WARC_CDXJ_PATH default to OUTPUT_DIR/warc, /index.cdxj.
WARC_ENABLED = True
WARC_PREFIX = "harvester"
WARC_MAX_SIZE = 1_000_000_000
WARC_OPERATOR = None          # warcinfo `operator`: who runs the crawl (a contact address)
WARC_DESCRIPTION = "Government information-disclosure annual reports (政府信息公开工作年度报告)"
JOB_NAME = "nianbao"          # warcinfo `isPartOf`

# Where the dump goes (harvester.pipelines.dump); default OUTPUT_DIR/reports/records.jsonl.
DUMP_PATH = None

# Dump durability (harvester.pipelines.dump): journal fsync batches.
DUMP_SYNC_EVERY = 256
DUMP_SYNC_SECONDS = 2.0

# Parsing in a process pool (harvester.parsepool): 0 = one worker per core; -1 = in the crawl process.
PARSE_WORKERS = 0
PARSE_TIMEOUT = 60.0                  # seconds per document
PARSE_MEMORY_LIMIT = 2 * 1024 ** 3    # bytes of address space per worker

# Crawl state (harvester.state): conditional re-crawls; default OUTPUT_DIR/state.jsonl.
CRAWL_STATE_PATH = None

# A real browser only where nothing else works (harvester.middlewares.browser): requests without
# meta["render"] go through Scrapy's own HTTP handler; Playwright cannot download browsers here,
# so Debian's chromium is used. Bounded: one context, two pages, a page closed after 60 s.
RENDER_ENABLED = True
RENDER_SETTLE_MS = 500          # the DOM is settled after this long without a mutation…
RENDER_SETTLE_MAX_MS = 5000     # …or after this long whatever happens
RENDER_PAGE_TIMEOUT = 60.0      # seconds per rendered page in all; then it is closed, retried once
DOWNLOAD_HANDLERS = {   # scrapy-playwright's, starting Playwright only when a page is rendered
    "http": "harvester.middlewares.browser.LazyPlaywrightDownloadHandler",
    "https": "harvester.middlewares.browser.LazyPlaywrightDownloadHandler",
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "executable_path": "/usr/bin/chromium",
    "headless": True,
    "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-dev-shm-usage", "--js-flags=--max-old-space-size=256"],
}
PLAYWRIGHT_MAX_CONTEXTS = 1
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 2
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000   # ms
PLAYWRIGHT_PROCESS_REQUEST_HEADERS = "harvester.middlewares.browser.request_headers"

# The demo / test / benchmark profile for the loopback simulator.
LOOPBACK_PROFILE = {
    "DOWNLOAD_DELAY": 0,
    "DOWNLOAD_DELAY_JITTER": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 32,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "RETRY_BACKOFF_BASE": 0.2,
    "RETRY_AFTER_MAX": 30.0,
    "DOWNLOAD_TIMEOUT": 20,
    "LOGSTATS_INTERVAL": 10.0,
    "PROGRESS_INTERVAL": 5.0,
}

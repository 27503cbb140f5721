#!/bin/sh
# Debian packages the tests drive for real (CI installs them itself; nothing is started here):
#   wget          a foreign crawler whose WARC `harvester replay` is tested on
#   chromium      the browser scrapy-playwright drives, and the report page's browser test
#   redis-server  the shared frontier of multi-worker crawls (scrapy-redis); tests start their own
#   nginx-light   serves a static copy of the simulator for throughput benchmarks
set -e
need=""
command -v wget >/dev/null 2>&1 || need="$need wget"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
command -v nginx >/dev/null 2>&1 || need="$need nginx-light"
if [ -n "$need" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi

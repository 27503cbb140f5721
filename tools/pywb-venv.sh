#!/bin/sh
# pywb (wayback, wb-manager) and py-wacz live in their own venv: pywb pins redis-py 2.x, which must
# not leak into the main .venv. Used by tests/test_playback.py and `harvester package`.
set -e
cd "$(dirname "$0")/.."
PY=${PY:-python3}
test -x .venv-pywb/bin/python || $PY -m venv .venv-pywb
.venv-pywb/bin/pip install -q -U pip
.venv-pywb/bin/pip install -q "pywb==2.10.0" "wacz==0.6.0"   # pinned: the playback tests rely on their CLIs
touch .venv-pywb/.installed

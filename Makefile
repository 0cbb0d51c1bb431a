# Two entry points for a fresh clone:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: setup demo test lint types layers unit clean

setup: $(VENV)/.installed

# The dev extra (pytest, hypothesis, ruff, mypy, playwright...) for tests and checks.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The demo needs learningloop alone (what a user installs), never the dev tools.
$(VENV)/.app-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e .
	touch $@

demo: $(VENV)/.app-installed
	$(BIN)/learningloop demo

lint: setup
	$(BIN)/ruff check src cli projections tests benchmarks
	$(BIN)/ruff format --check src cli projections tests benchmarks

types: setup
	$(BIN)/mypy src/learningloop cli

# Imports point down only: the import-linter contracts of pyproject.toml.
layers: setup
	$(BIN)/python .ci/lint_imports.py

# The tests need a PostgreSQL server (.ci/with-postgres starts, and installs, one) and
# Debian's Chromium for the report (.ci/ensure-chromium installs it when missing).
# pytest-xdist runs them on every core (at most 4): each test has its own temporary
# directory and PostgreSQL schema, so they share nothing.
unit: setup
	bash .ci/ensure-chromium
	bash .ci/with-postgres $(BIN)/pytest -q --numprocesses=auto --maxprocesses=4

test: lint types layers unit


clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis

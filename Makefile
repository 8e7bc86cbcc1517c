# Two commands for a fresh machine (Python 3.11+, pip, make):
#   make demo   set up, run `meltano run tap-error-tracking target-duckdb` in sandbox mode,
#               print each DuckDB table's row count
#   make test   set up, then lint and run the whole test suite (what .ci/run runs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TAP ?= tap-error-tracking

.PHONY: setup demo demo-all test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

.meltano/.installed: $(VENV)/.installed meltano.yml
	$(BIN)/meltano install
	touch $@

setup: .meltano/.installed

demo: setup
	$(BIN)/meltano run --full-refresh $(TAP) target-duckdb
	$(BIN)/python scripts/duckdb_counts.py output/warehouse.duckdb

demo-all: setup
	$(BIN)/meltano run --full-refresh \
		$$(for tap in $$($(BIN)/python -m scripts.project_files taps); do echo $$tap target-duckdb; done)
	$(BIN)/python scripts/duckdb_counts.py output/warehouse.duckdb

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup lint
	$(BIN)/pytest -n 2 --dist loadfile

bench: setup
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .meltano output/*.duckdb

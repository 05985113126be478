# gridflow — the two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export GRIDFLOW_LANDING ?= $(CURDIR)/data/landing
export GRIDFLOW_WAREHOUSE ?= $(CURDIR)/data/warehouse
export GRIDFLOW_REPORTS ?= $(CURDIR)/data/reports
DAGSTER_HOST ?= 127.0.0.1
DAGSTER_PORT ?= 3000

.PHONY: demo test test-fast coverage lint dev install instance clean bench dictionary audit

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The embedded Dagster instance (pooled SQLite storage) that the CLI, `make dev`, sensors
# and backfills share, bound to GRIDFLOW_WAREHOUSE: DAGSTER_HOME if set (refused when it
# holds another warehouse's runs), else .dagster_home for data/warehouse and
# <warehouse>/.dagster_home for any other. A dagster.yaml of your own there is kept.
instance: $(STAMP)
	$(BIN)/python -m gridflow_assets.defs.instance

# The demo's drops are of 2025: its clock (GRIDFLOW_NOW, docs/operations.md) is set after
# them, so the months due and missing are the same on any day.
DEMO_NOW ?= 2025-08-15T12:00:00Z
# The three utilities' drops are generated side by side (one process each, both cores);
# `gridflow run` binds the instance itself (`make instance` is for `make dev`).
demo: export GRIDFLOW_NOW ?= $(DEMO_NOW)
demo: $(STAMP)
	$(BIN)/gridflow generate --utility UTILITY1 --start 2025-02 --end 2025-03 & u1=$$!; \
	$(BIN)/gridflow generate --utility UTILITY2 --start 2025-02 --end 2025-03 & u2=$$!; \
	$(BIN)/gridflow generate --utility IESCO --start 2025-06 --end 2025-07 --meters 100 & ie=$$!; \
	wait $$u1 && wait $$u2 && wait $$ie
	$(BIN)/gridflow run
	$(BIN)/gridflow signoff approve IESCO 2025-06 --by "demo steward" \
	  --reason "usual IESCO defects, ticket raised with the utility" \
	  --waive bronze/readings:duplicates__exact_rows --waive silver/intervals:range__values \
	  --waive silver/intervals:vee__validation --waive silver/bills:reconcile__bill_arithmetic \
	  --waive silver/payments:reconcile__payments
	$(BIN)/gridflow publish
	$(BIN)/python -m gridflow_assets_tests.espi $(GRIDFLOW_WAREHOUSE)/external/green_button
	$(BIN)/gridflow dq --brief

# The whole suite on PYTEST_WORKERS processes (pytest-xdist; 0: in this one). A test module
# runs whole in one process (--dist loadfile), so its shared warehouse is built once.
PYTEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

# Unit tests only: pure functions on crafted frames, no Dagster run, server or browser.
test-fast: $(STAMP)
	$(BIN)/python -m pytest gridflow_assets_tests/unit

# The unit suite under coverage: fails below the floor in pyproject.toml ([tool.coverage]).
coverage: $(STAMP)
	$(BIN)/python -m pytest gridflow_assets_tests/unit -n $(PYTEST_WORKERS) --cov --cov-report=term

lint: $(STAMP)
	$(BIN)/ruff check gridflow_assets gridflow_assets_tests benchmarks .ci
	$(BIN)/ruff format --check gridflow_assets gridflow_assets_tests benchmarks .ci

# Dagster's UI (dagster-webserver, on 127.0.0.1 only) and daemon (sensors, schedules) on
# that instance; Ctrl-C stops both.
dev: $(STAMP)
	$(BIN)/python -m gridflow_assets.app.dev --host $(DAGSTER_HOST) --port $(DAGSTER_PORT)

audit: $(STAMP)
	$(BIN)/python .ci/audit.py

# BENCH_CACHE=<folder>: keep each workload's generated drops there and reuse them.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench --workload $(or $(WORKLOAD),reference) --workers $(or $(WORKERS),1) $(if $(BENCH_CACHE),--landing-cache $(BENCH_CACHE))

dictionary: $(STAMP)
	$(BIN)/gridflow dictionary > docs/data-dictionary.md

clean:
	rm -rf data/landing data/warehouse data/reports .dagster_home data/.pii_secret

# Two entry points do all set-up on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test suite lint typecheck bench schema clean

BUNDLED := org complaints suggestions announcements discussions contracts

$(STAMP): pyproject.toml $(foreach p,$(BUNDLED),plugins/$(p)/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet $(foreach p,$(BUNDLED),-e plugins/$(p))  # the bundled plug-ins (D10)
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/rapport serve --demo

lint: $(STAMP)
	$(BIN)/ruff check platform tests bench plugins
	$(BIN)/ruff format --check platform tests bench plugins

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck suite

suite: $(STAMP)  # the tests alone (CI runs them a second time, on PostgreSQL 15)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The committed SDL of the demo tenant (tests/graphql/test_sdl.py fails when it is stale).
schema: $(STAMP)
	$(BIN)/rapport schema print --demo > docs/demo-schema.graphql

bench: $(STAMP)
	$(BIN)/python -m bench.bench_graphql

clean:
	rm -rf $(VENV) .rapport .pytest_cache .mypy_cache

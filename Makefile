# Two entry points do all set-up on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test lint typecheck bench clean

BUNDLED := org complaints suggestions announcements discussions

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

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.bench_graphql

clean:
	rm -rf $(VENV) .rapport .pytest_cache .mypy_cache

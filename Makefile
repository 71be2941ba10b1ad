# Two entry points do all set-up on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test suite lint typecheck bench schema clean console chromium

BUNDLED := org complaints suggestions announcements discussions exits discipline contracts surveys

$(STAMP): pyproject.toml $(foreach p,$(BUNDLED),plugins/$(p)/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet $(foreach p,$(BUNDLED),-e plugins/$(p))  # the bundled plug-ins (D10)
	touch $(STAMP)

# The console's assets, rebuilt from console/ (npm registry only); commit the result
# (tests/console/test_assets.py fails when the committed build is older than the sources).
console:
	cd console && npm ci --no-audit --no-fund && npm run build

# Debian's chromium for the console's browser tests (Playwright drives it; no browser download).
# `make suite` will depend on it once a committed test drives a browser.
chromium:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q chromium; }

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

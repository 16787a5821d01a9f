# The developer interface; CI calls `make test` through .ci/run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP_DEMO := $(VENV)/.installed-demo
STAMP_TEST := $(VENV)/.installed-test

.PHONY: demo test test-fast lint format bench bench-tools clean services browser oidc

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP_DEMO): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[demo]'
	touch $@

# torch first, pinned: 2.13.0 is the CPU build (any other spec can pull a multi-GB CUDA build);
# the test extra's torch range is then already satisfied.
$(STAMP_TEST): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,lint]'
	touch $@ $(STAMP_DEMO)

## make demo: create the virtualenv, install, run the end-to-end demo on the embedded store
demo: $(STAMP_DEMO)
	$(BIN)/modelyard demo

## make services: start the services the suite needs (PostgreSQL); fails loudly if it cannot
services:
	bash .ci/services.sh

## make browser: install Debian's Chromium for the report-page tests; fails loudly if it cannot
browser:
	bash .ci/browser.sh

## make oidc: install the OpenID provider the single sign-on tests start (npm, tests/oidc)
oidc:
	bash .ci/oidc.sh

## make test: install test dependencies, services, the browser and the OpenID provider, run
## the whole suite
test: $(STAMP_TEST) services browser oidc
	$(BIN)/pytest -q -p no:cacheprovider --durations=15

test-fast: $(STAMP_TEST)
	$(BIN)/pytest -q -p no:cacheprovider -m "not slow"

lint: $(STAMP_TEST)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP_TEST)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

## make bench-tools: the load generator the serving benchmark drives (Debian's wrk)
bench-tools:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

## make bench: the benchmarks side by side with the peers (not part of CI)
bench: $(STAMP_TEST) bench-tools
	$(PY) bench/tracking/run.py
	$(PY) bench/data/run.py
	$(PY) bench/models/run.py
	$(PY) bench/monitoring/run.py
	$(PY) bench/serving/run.py
	$(PY) bench/pipelines/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache modelyard-data

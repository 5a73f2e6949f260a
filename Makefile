# The make targets are the interface: run, test, lint, demo, bench.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HYPOTHESIS_PROFILE ?= dev
export HYPOTHESIS_PROFILE

.PHONY: help venv run test test-ci test-slow lint demo bench clean

venv: $(VENV)/.installed  ## create .venv from pyproject.toml + constraints.txt (once; again when they change)

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

run: venv  ## start the ledger locally: SQLite under var/, bundled nats-server, Maildir email
	$(BIN)/ledger serve

test: venv  ## the default test suite
	$(BIN)/pytest -q

test-ci: HYPOTHESIS_PROFILE = ci
test-ci: test  ## the test suite with CI's hypothesis profile (1,000 examples per property)

test-slow: venv  ## long fault-injection and soak runs
	$(BIN)/pytest -q -m slow

lint: venv  ## ruff, and mypy --strict over every package and the tests' helpers
	$(BIN)/ruff check ledger workers replay tests bench
	$(BIN)/mypy

demo: venv  ## walk through the seeds' scenarios
	$(BIN)/python -m ledger.demo

bench: venv  ## every benchmark, as a table against raw baselines
	$(BIN)/python -m bench

help:  ## this list of targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

clean:  ## the venv and caches; var/ holds the local event store and is kept (remove it yourself)
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis

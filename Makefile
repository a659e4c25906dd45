# erp-sync: `make demo` runs a real sync of the demo data; `make test` runs lint and the test suite.
# Both create (once) and reuse the virtual environment in .venv.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv lint format test demo simulator clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "pip==26.3"
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	scripts/ensure_postgres.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: venv
	scripts/ensure_postgres.sh
	$(BIN)/python scripts/demo.py $(DEMO_ARGS)

simulator: venv
	$(BIN)/python -m erp_simulator --port 8765 --username demo --password demo

clean:
	rm -rf .airflow .pytest_cache .ruff_cache

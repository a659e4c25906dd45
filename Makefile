# erp-sync: `make demo` runs a real sync of the demo data; `make test` runs lint and the test suite;
# `make test-unit` runs the fast unit tier alone (no Postgres needed).
# Both create (once) and reuse the virtual environment in .venv.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_SIZES ?= 100000 1000000
BENCH_REPEAT ?= 3

.PHONY: venv lint format test test-unit check-model demo simulator bench bench-scale bench-scale-celery clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "pip==26.3"
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	# The package itself, editable and without dependencies: the `sync` command.
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Two processes, one per core, each taking whole test files (a file's fixtures stay together).
PYTEST_PROCESSES ?= 2

test: lint
	scripts/ensure_postgres.sh
	$(BIN)/python -m pytest -n $(PYTEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

test-unit: venv
	$(BIN)/python -m pytest -m unit $(PYTEST_ARGS)

# The model check: MODEL_HISTORIES random histories (default 1000) from MODEL_SEED (default fresh).
check-model: venv
	scripts/ensure_postgres.sh
	$(BIN)/python scripts/check_model.py

demo: venv
	scripts/ensure_postgres.sh
	$(BIN)/python scripts/demo.py $(DEMO_ARGS)

bench: venv
	scripts/ensure_postgres.sh
	$(BIN)/python benchmarks/bench.py --sizes "$(BENCH_SIZES)" --repeat $(BENCH_REPEAT) $(BENCH_ARGS)

# Parse time of 10, 50 and 200 generated mappings (benchmarks/README.md, "Many mappings").
bench-scale: venv
	$(BIN)/python benchmarks/scale.py $(BENCH_ARGS)

# The nightly DAG with 50 mappings on two Celery workers (needs Postgres and Redis).
bench-scale-celery: venv
	scripts/ensure_postgres.sh
	$(BIN)/python benchmarks/scale.py --celery

simulator: venv
	$(BIN)/python -m erp_simulator --port 8765 --username demo --password demo

clean:
	rm -rf .airflow .pytest_cache .ruff_cache

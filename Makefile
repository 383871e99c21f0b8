# Two commands on a fresh clone: `make demo` (the main job) and `make test` (the whole suite).
# Both create .venv and install dist-bench with its engines and test tools on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The main job: the cutover search, every built-in workload on every backend (Dask and Ray
## embedded), saved as JSON as it goes.
demo: $(STAMP)
	mkdir -p results
	$(BIN)/dist-bench cutover -o results/cutover.json

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## The whole test suite, linters and type checks included (what CI runs).
test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) results .pytest_cache .mypy_cache .ruff_cache

# Quick start: `make demo` runs the demo, `make test` runs the tests.
# Each creates .venv on first use and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench lint clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-test: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install -q -e ".[test,bench,dev]"
	touch $@

demo: $(VENV)/.installed-test
	$(BIN)/python -m paramfit demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run_all.py

lint: $(VENV)/.installed-bench
	$(BIN)/ruff check paramfit tests bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# Quick start: `make demo` runs the demo, `make test` runs the tests.
# Each creates .venv on first use and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# test-min: the minimum numpy and scipy of pyproject.toml, and no optional extras
VENV_MIN := .venv-min
BIN_MIN := $(VENV_MIN)/bin

.PHONY: demo test test-min test-perturbed bench lint clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-test: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install -q -e ".[test,bench,dev]"
	touch $@

# paramfit first (its metadata carries pyproject's floors), then exactly numpy==floor and
# scipy==floor as wheels (a Python without such wheels fails here, fast, instead of compiling)
$(BIN_MIN)/activate:
	$(PYTHON) -m venv $(VENV_MIN)
	$(BIN_MIN)/python -m pip install -q --upgrade pip

$(VENV_MIN)/.installed-min: pyproject.toml ci/min_requirements.py | $(BIN_MIN)/activate
	$(BIN_MIN)/python -m pip install -q -e . --no-deps
	$(BIN_MIN)/python ci/min_requirements.py > $(VENV_MIN)/min-requirements.txt
	$(BIN_MIN)/python -m pip install -q --only-binary=numpy,scipy \
		-r $(VENV_MIN)/min-requirements.txt pytest hypothesis
	touch $@

demo: $(VENV)/.installed-test
	$(BIN)/python -m paramfit demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

test-min: $(VENV_MIN)/.installed-min
	$(BIN_MIN)/python ci/min_requirements.py --check
	$(BIN_MIN)/python -m pytest -q

# the reference suites (NIST, MGH, seed examples: marker 'reference') with every start
# value moved by +2 and by -2 units in the last place (tests/_perturb.py)
test-perturbed: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m reference --perturb-ulps=2
	$(BIN)/python -m pytest -q -m reference --perturb-ulps=-2

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run_all.py

lint: $(VENV)/.installed-bench
	$(BIN)/ruff check paramfit tests bench ci conftest.py

clean:
	rm -rf $(VENV) $(VENV_MIN) build *.egg-info .pytest_cache

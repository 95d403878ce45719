# Every target creates the virtualenv it needs, so a fresh clone needs nothing but python3.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test check lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files record which extras are installed; setup.cfg changes re-run the install.
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-dev: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $@

$(VENV)/.installed-report: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[report]'
	touch $@

# The demo ends with the complaint pack of the flood it played, in demo-report/ (replaced on
# each run): the report extra (Jinja2, matplotlib) comes with it.
demo: $(VENV)/.installed-report
	rm -rf demo-report
	$(BIN)/anti-relous demo --report demo-report

# The suite mostly waits on ptys, subprocesses and timers: four workers on two cores take it
# from about 4 minutes to under 1.5. PYTEST_ARGS adds options (e.g. PYTEST_ARGS="-n0 -x").
PYTEST_ARGS ?=
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n 4 $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

check: lint test

bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

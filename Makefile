# One-command set-up: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DAY ?= 2026-11-24
OUT ?= out

.PHONY: install demo test test-slow lint sample bench bench-matrices clean

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/doorstep demo --day $(DAY) --out $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check optimizer geo doorstep tests benchmarks
	$(BIN)/mypy optimizer geo doorstep

bench: $(STAMP)
	$(BIN)/python -m benchmarks.plan_stages

bench-matrices: $(STAMP)
	$(BIN)/python -m benchmarks.matrices

sample: $(STAMP)
	$(BIN)/doorstep sample --out data/sample

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis
